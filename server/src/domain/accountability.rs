//! Accountability (问责): who was held to account, in what form, on what
//! basis. The petition group compiles the records and the supervision group
//! reviews them, so a record entered by one group is confirmed by the
//! other, never by the person who entered it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::access::{Caller, Role};
use super::text_enum::text_enum;
use super::validate::{Input, Violations};
use crate::error::{Error, Reason, Result};

/// The kind of subject of accountability events.
pub const ACCOUNTABILITY: &str = "accountability_record";
pub const TEXT_MAX: usize = 5_000;
pub const CASES_MAX: usize = 50;

/// Who enters records, and who confirms them: someone of the other group.
pub const ENTER: &[Role] = &[Role::PetitionOfficer, Role::Supervisor];

text_enum! {
    pub enum AccountabilityForm {
        /// 通报批评.
        CirculatedCriticism = "circulated_criticism",
        /// 约谈.
        Interview = "interview",
        /// 诫勉谈话.
        Admonition = "admonition",
        /// 组织处理.
        OrganisationalAction = "organisational_action",
        /// 党纪政务处分.
        Disciplinary = "disciplinary",
        /// 移送司法机关.
        JudicialReferral = "judicial_referral",
    }
}

impl AccountabilityForm {
    /// The forms heavy enough to rule a unit out of "excellent" for the
    /// year (一票否优).
    pub fn vetoes(self) -> bool {
        matches!(
            self,
            AccountabilityForm::OrganisationalAction
                | AccountabilityForm::Disciplinary
                | AccountabilityForm::JudicialReferral
        )
    }

    pub fn chinese(self) -> &'static str {
        match self {
            AccountabilityForm::CirculatedCriticism => "通报批评",
            AccountabilityForm::Interview => "约谈",
            AccountabilityForm::Admonition => "诫勉谈话",
            AccountabilityForm::OrganisationalAction => "组织处理",
            AccountabilityForm::Disciplinary => "党纪政务处分",
            AccountabilityForm::JudicialReferral => "移送司法机关",
        }
    }
}

text_enum! {
    pub enum SubjectKind {
        Unit = "unit",
        Official = "official",
    }
}

/// An official held to account: personal information, sealed at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Official {
    pub name: String,
    pub post: String,
}

impl Official {
    pub fn masked(&self) -> Official {
        Official {
            name: super::masking::mask_name(&self.name),
            post: super::masking::mask_address(&self.post),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountabilityDraft {
    pub unit_code: String,
    pub subject_kind: Input<SubjectKind>,
    pub official: Official,
    pub form: Input<AccountabilityForm>,
    pub basis: String,
    pub decided_on: Input<NaiveDate>,
    pub case_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountabilityFacts {
    pub unit_code: String,
    pub subject_kind: SubjectKind,
    pub form: AccountabilityForm,
    pub basis: String,
    pub decided_on: NaiveDate,
    /// Supervision cases the record answers.
    pub case_ids: Vec<Uuid>,
}

impl AccountabilityDraft {
    /// The facts and the official (for an official), every violation at
    /// once, named as the request's fields.
    pub fn validate(self, today: NaiveDate) -> Result<(AccountabilityFacts, Option<Official>)> {
        let mut v = Violations::new();
        if self.unit_code.trim().is_empty() {
            v.add("unit_code", "is required");
        }
        let kind = self.subject_kind.required("subject", &mut v);
        let form = self.form.required("form", &mut v);
        v.required_text("basis", &self.basis, TEXT_MAX);
        let decided_on = self.decided_on.required("decided_on", &mut v);
        if let Some(d) = decided_on
            && d > today
        {
            v.add(
                "decided_on",
                format!("{d} is after today ({today} in China)"),
            );
        }
        let official = Official {
            name: self.official.name.trim().to_string(),
            post: self.official.post.trim().to_string(),
        };
        match kind {
            Some(SubjectKind::Official) => {
                v.required_text("official.name", &official.name, 100);
                v.required_text("official.post", &official.post, 200);
            }
            Some(SubjectKind::Unit) if official != Official::default() => {
                v.add("official", "is only for a record about an official");
            }
            _ => {}
        }
        v.max_items("case_ids", &self.case_ids, CASES_MAX);
        let mut case_ids = Vec::new();
        for (i, s) in self.case_ids.iter().enumerate() {
            let field = format!("case_ids[{i}]");
            match super::id::required_in(&field, s, &mut v) {
                Some(id) if case_ids.contains(&id) => v.add(field, "is named twice"),
                Some(id) => case_ids.push(id),
                None => {}
            }
        }
        v.finish()?;
        let kind = kind.expect("validated");
        Ok((
            AccountabilityFacts {
                unit_code: self.unit_code.trim().to_string(),
                subject_kind: kind,
                form: form.expect("validated"),
                basis: self.basis.trim().to_string(),
                decided_on: decided_on.expect("validated"),
                case_ids,
            },
            (kind == SubjectKind::Official).then_some(official),
        ))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountabilityRecord {
    pub id: Uuid,
    pub facts: AccountabilityFacts,
    /// The sealed official; None for a unit.
    pub sealed_official: Option<String>,
    pub entered_by: String,
    pub entered_role: Role,
    pub entered_at: DateTime<Utc>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl AccountabilityRecord {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    /// The record confirmed by `caller`, or why they may not.
    pub fn confirm(&self, caller: &Caller, now: DateTime<Utc>) -> Result<AccountabilityRecord> {
        caller.require(ENTER)?;
        if let Some(by) = &self.confirmed_by {
            return Err(Error::refused(
                Reason::AlreadyConfirmed,
                format!(
                    "accountability record {} is CONFIRMED already, by {by}",
                    self.id
                ),
            ));
        }
        if caller.subject == self.entered_by {
            return Err(Error::denied(
                Reason::SamePerson,
                format!(
                    "you entered accountability record {}; someone else confirms it",
                    self.id
                ),
            ));
        }
        if caller.role == self.entered_role {
            return Err(Error::denied(
                Reason::SameGroup,
                format!(
                    "accountability record {} was entered by a {}; it is confirmed by the other group",
                    self.id, self.entered_role
                ),
            ));
        }
        let mut next = self.clone();
        next.confirmed_by = Some(caller.subject.clone());
        next.confirmed_at = Some(now);
        next.version += 1;
        Ok(next)
    }
}

pub fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("accountability record {id}"))
}

#[cfg(test)]
mod tests {
    //! Who may confirm an accountability record (问责): someone of the
    //! other group than who entered it, once.

    use chrono::TimeZone;

    use super::*;
    use crate::domain::access::Scope;

    fn caller(subject: &str, role: Role) -> Caller {
        Caller {
            subject: subject.into(),
            role,
            scope: Scope::All,
            issuer: "ducha".into(),
            token_id: "t".into(),
            session_id: None,
            expires_at: Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn confirmed_once_by_the_other_group() {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        let record = AccountabilityRecord {
            id: Uuid::nil(),
            facts: AccountabilityFacts {
                unit_code: "331102".into(),
                subject_kind: SubjectKind::Unit,
                form: AccountabilityForm::Interview,
                basis: "整改不力".into(),
                decided_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                case_ids: vec![],
            },
            sealed_official: None,
            entered_by: "officer-wang".into(),
            entered_role: Role::PetitionOfficer,
            entered_at: at,
            confirmed_by: None,
            confirmed_at: None,
            version: 1,
        };
        let outcome = |c: Caller, r: &AccountabilityRecord| match r.confirm(&c, at) {
            Ok(next) => Ok(next),
            Err(Error::PermissionDenied(r) | Error::FailedPrecondition(r)) => Err(r.reason),
            Err(other) => panic!("{other:?}"),
        };
        let cases = [
            (
                "who entered it",
                caller("officer-wang", Role::PetitionOfficer),
                Err(Reason::SamePerson),
            ),
            (
                "the same group",
                caller("officer-li", Role::PetitionOfficer),
                Err(Reason::SameGroup),
            ),
            (
                "a role that enters none",
                caller("verifier-xu", Role::Verifier),
                Err(Reason::RoleNotAllowed),
            ),
            (
                "the other group",
                caller("supervisor-chen", Role::Supervisor),
                Ok(()),
            ),
        ];
        for (who, c, want) in cases {
            assert_eq!(outcome(c, &record).map(|_| ()), want, "{who}");
        }
        let done = outcome(caller("supervisor-chen", Role::Supervisor), &record).unwrap();
        assert_eq!(done.confirmed_by.as_deref(), Some("supervisor-chen"));
        assert_eq!(
            outcome(caller("supervisor-zhao", Role::Supervisor), &done).map(|_| ()),
            Err(Reason::AlreadyConfirmed)
        );
    }
}
