//! The yearly comprehensive inspection (生态环境保护综合督查): one a year,
//! with its period, target units, and the teams of the programme's
//! working groups.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::text_enum::text_enum;
use super::validate::{Input, Violations};
use crate::error::{Error, Reason, Result};

pub const TITLE_MAX: usize = 200;
pub const TEAMS_MAX: usize = 50;
pub const MEMBERS_MAX: usize = 100;
pub const TARGETS_MAX: usize = 100;

/// The kind of subject of campaign events.
pub const CAMPAIGN: &str = "campaign";

text_enum! {
    pub enum CampaignStatus {
        Planning = "planning",
        InTheField = "in_the_field",
        Reporting = "reporting",
        /// Final.
        Closed = "closed",
    }
}

impl CampaignStatus {
    pub fn shown(self) -> String {
        self.as_str().to_ascii_uppercase()
    }

    /// The status after this one.
    pub fn next(self) -> Option<CampaignStatus> {
        match self {
            CampaignStatus::Planning => Some(CampaignStatus::InTheField),
            CampaignStatus::InTheField => Some(CampaignStatus::Reporting),
            CampaignStatus::Reporting => Some(CampaignStatus::Closed),
            CampaignStatus::Closed => None,
        }
    }
}

text_enum! {
    /// The programme's working groups (协调联络组 and its three groups).
    pub enum Group {
        /// 综合巡查组.
        Patrol = "patrol",
        /// 信访督办组.
        Petition = "petition",
        /// 督办监察组.
        Supervision = "supervision",
        /// 协调联络组.
        Coordination = "coordination",
    }
}

text_enum! {
    pub enum TeamRole {
        Leader = "leader",
        Deputy = "deputy",
        Member = "member",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    pub username: String,
    pub role: TeamRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub group: Group,
    pub name: String,
    pub members: Vec<TeamMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberDraft {
    pub username: String,
    pub role: Input<TeamRole>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamDraft {
    pub group: Input<Group>,
    pub name: String,
    pub members: Vec<MemberDraft>,
}

/// A campaign as received, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDraft {
    pub year: i32,
    pub title: String,
    pub starts_on: Input<NaiveDate>,
    pub ends_on: Input<NaiveDate>,
    pub target_units: Vec<String>,
    pub teams: Vec<TeamDraft>,
}

/// What a campaign plans: every field a coordinator sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignPlan {
    pub year: i32,
    pub title: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target_units: Vec<String>,
    pub teams: Vec<Team>,
}

impl CampaignDraft {
    /// Validates under the request path `campaign`.
    pub fn validate(self) -> Result<CampaignPlan> {
        const P: &str = "campaign";
        let mut v = Violations::new();
        if !(2000..=2100).contains(&self.year) {
            v.add(format!("{P}.year"), "must be a year from 2000 to 2100");
        }
        v.required_text(&format!("{P}.title"), &self.title, TITLE_MAX);
        let starts = self.starts_on.required(&format!("{P}.start_date"), &mut v);
        let ends = self.ends_on.required(&format!("{P}.end_date"), &mut v);
        if let Some(s) = starts
            && s.year() != self.year
        {
            v.add(
                format!("{P}.start_date"),
                format!("{s} is not in {}", self.year),
            );
        }
        if let (Some(s), Some(e)) = (starts, ends)
            && e < s
        {
            v.add(format!("{P}.end_date"), "must not be before start_date");
        }
        if self.target_units.is_empty() {
            v.add(
                format!("{P}.target_unit_codes"),
                "is required: name the units inspected",
            );
        }
        v.max_items(
            &format!("{P}.target_unit_codes"),
            &self.target_units,
            TARGETS_MAX,
        );
        let mut targets: Vec<String> = Vec::new();
        for (i, u) in self.target_units.iter().enumerate() {
            let u = u.trim().to_string();
            if u.is_empty() || targets.contains(&u) {
                v.add(
                    format!("{P}.target_unit_codes[{i}]"),
                    "is empty or named twice",
                );
            } else {
                targets.push(u);
            }
        }
        v.max_items(&format!("{P}.teams"), &self.teams, TEAMS_MAX);
        let mut teams = Vec::new();
        for (i, t) in self.teams.iter().enumerate().take(TEAMS_MAX) {
            let f = format!("{P}.teams[{i}]");
            let group = t.group.required(&format!("{f}.group"), &mut v);
            v.required_text(&format!("{f}.name"), &t.name, TITLE_MAX);
            v.max_items(&format!("{f}.members"), &t.members, MEMBERS_MAX);
            let mut members: Vec<TeamMember> = Vec::new();
            for (j, m) in t.members.iter().enumerate().take(MEMBERS_MAX) {
                let mf = format!("{f}.members[{j}]");
                let username = m.username.trim().to_string();
                if username.is_empty() {
                    v.add(format!("{mf}.username"), "is required");
                } else if members.iter().any(|x| x.username == username) {
                    v.add(format!("{mf}.username"), "is named twice in this team");
                }
                if let Some(role) = m.role.required(&format!("{mf}.role"), &mut v) {
                    members.push(TeamMember { username, role });
                }
            }
            if members
                .iter()
                .filter(|m| m.role == TeamRole::Leader)
                .count()
                > 1
            {
                v.add(format!("{f}.members"), "a team has one leader at most");
            }
            if let Some(group) = group {
                teams.push(Team {
                    group,
                    name: t.name.trim().to_string(),
                    members,
                });
            }
        }
        v.finish()?;
        Ok(CampaignPlan {
            year: self.year,
            title: self.title.trim().to_string(),
            starts_on: starts.expect("validated"),
            ends_on: ends.expect("validated"),
            target_units: targets,
            teams,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: Uuid,
    pub plan: CampaignPlan,
    pub status: CampaignStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Campaign {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    pub fn check_etag(&self, etag: &str) -> Result<()> {
        super::etag::check(&format!("campaign {}", self.id), self.version, etag, "etag")
    }

    /// A closed campaign is a record: it changes no more.
    pub fn ensure_open(&self) -> Result<()> {
        if self.status == CampaignStatus::Closed {
            return Err(Error::refused(
                Reason::CampaignClosed,
                format!("campaign {} is CLOSED and changes no more", self.id),
            ));
        }
        Ok(())
    }

    /// The stage it moves to next, or why it has none.
    pub fn next_stage(&self) -> Result<CampaignStatus> {
        self.status.next().ok_or_else(|| {
            Error::refused(
                Reason::NoFurtherStage,
                format!(
                    "campaign {} is {}: it has no further stage",
                    self.id,
                    self.status.shown()
                ),
            )
            .with("state", self.status.shown())
        })
    }
}

pub fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("campaign {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_goes_through_its_stages_once_and_then_changes_no_more() {
        use CampaignStatus::*;
        for (from, to) in [
            (Planning, Some(InTheField)),
            (InTheField, Some(Reporting)),
            (Reporting, Some(Closed)),
            (Closed, None),
        ] {
            assert_eq!(from.next(), to, "{from:?}");
        }
        let campaign = |status| Campaign {
            id: Uuid::nil(),
            plan: CampaignPlan {
                year: 2026,
                title: "2026年度环保综合督查".into(),
                starts_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                ends_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                target_units: vec![],
                teams: vec![],
            },
            status,
            created_by: "coordinator".into(),
            created_at: Utc::now(),
            updated_by: "coordinator".into(),
            updated_at: Utc::now(),
            version: 3,
        };
        for status in [Planning, InTheField, Reporting] {
            assert!(campaign(status).ensure_open().is_ok(), "{status:?}");
            assert_eq!(campaign(status).next_stage().ok(), status.next());
        }
        match campaign(Closed).next_stage() {
            Err(Error::FailedPrecondition(r)) => {
                assert_eq!(r.reason, Reason::NoFurtherStage);
                assert!(r.metadata.contains(&("state", "CLOSED".into())));
            }
            other => panic!("{other:?}"),
        }
        match campaign(Closed).ensure_open() {
            Err(Error::FailedPrecondition(r)) => assert_eq!(r.reason, Reason::CampaignClosed),
            other => panic!("{other:?}"),
        }
        // A stale etag is told apart from a refusal, with the current one.
        let c = campaign(Planning);
        assert!(c.check_etag(&c.etag()).is_ok());
        match c.check_etag("\"v2\"") {
            Err(Error::Aborted(r)) => {
                assert_eq!(r.reason, Reason::EtagMismatch);
                assert!(r.metadata.contains(&("current_etag", c.etag())));
            }
            other => panic!("{other:?}"),
        }
    }
}
