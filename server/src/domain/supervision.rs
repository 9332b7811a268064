//! Supervision cases (督办): opened by hand at the request of the patrol or
//! petition group, or automatically when something goes overdue. A
//! supervisor issues a notice with a deadline (督办通知), the unit
//! responds, and the supervisor closes the case with its outcome.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::access::Role;
use super::event::Change;
use super::text_enum::text_enum;
use super::validate::Violations;
pub use super::workflow::Cause;
use super::workflow::Outcome;
use crate::error::{Error, Reason, Result};

/// The kind of subject of supervision case events.
pub const SUPERVISION_CASE: &str = "supervision_case";
pub const TEXT_MAX: usize = 5_000;

text_enum! {
    pub enum CaseState {
        Open = "open",
        NoticeIssued = "notice_issued",
        Responded = "responded",
        /// Final.
        Closed = "closed",
    }
}

impl CaseState {
    pub fn shown(self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

text_enum! {
    /// What a case is about.
    pub enum SourceKind {
        RectificationItem = "rectification_item",
        Finding = "finding",
        CheckRecord = "check_record",
        Petition = "petition",
    }
}

/// A case about to be opened (OPEN) for a source; one per source.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub id: Uuid,
    pub source_kind: SourceKind,
    pub source_id: Uuid,
    pub cause: Cause,
    pub unit_code: String,
    pub reason: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
}

impl NewCase {
    /// What opening the case records in the event feed and the audit log.
    pub fn change(&self) -> Change {
        Change {
            at: self.opened_at,
            actor: self.opened_by.clone(),
            action: "opened".into(),
            subject_kind: SUPERVISION_CASE,
            subject_id: self.id,
            unit_code: self.unit_code.clone(),
            data: serde_json::json!({
                "source_kind": self.source_kind,
                "source_id": self.source_id,
                "cause": self.cause,
                "reason": self.reason,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub due: NaiveDate,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub text: String,
    pub evidence: Vec<Uuid>,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub outcome: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupervisionCase {
    pub id: Uuid,
    pub source_kind: SourceKind,
    pub source_id: Uuid,
    pub cause: Cause,
    pub unit_code: String,
    pub reason: String,
    pub state: CaseState,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub notice: Option<Notice>,
    pub response: Option<Response>,
    pub closing: Option<Closing>,
    pub version: i64,
}

/// A step someone takes on a case.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseStep {
    IssueNotice { text: String, due: NaiveDate },
    Respond { text: String, evidence: Vec<Uuid> },
    Close { outcome: String },
}

impl CaseStep {
    pub fn action(&self) -> &'static str {
        match self {
            CaseStep::IssueNotice { .. } => "notice_issued",
            CaseStep::Respond { .. } => "responded",
            CaseStep::Close { .. } => "closed",
        }
    }

    pub fn roles(&self) -> &'static [Role] {
        match self {
            CaseStep::IssueNotice { .. } | CaseStep::Close { .. } => &[Role::Supervisor],
            CaseStep::Respond { .. } => &[Role::UnitLiaison],
        }
    }
}

impl SupervisionCase {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    pub fn check_etag(&self, etag: &str) -> Result<()> {
        super::etag::check(
            &format!("supervision case {}", self.id),
            self.version,
            etag,
            "etag",
        )
    }

    /// A notice whose deadline passed without a response.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.state == CaseState::NoticeIssued && self.notice.as_ref().is_some_and(|n| n.due < today)
    }

    /// What `step` does to the case, as one value: the case after it and
    /// the event's data (a case keeps no history of its own: its notice,
    /// response and closing are its record).
    pub fn take(
        &self,
        step: &CaseStep,
        actor: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Outcome<SupervisionCase, ()>> {
        let next = self.apply(step, actor, now, today)?;
        Ok(Outcome {
            data: serde_json::json!({ "from_state": self.state, "to_state": next.state }),
            next,
            entry: (),
            escalation: None,
        })
    }

    /// The case after `step`, or why the step is refused.
    pub fn apply(
        &self,
        step: &CaseStep,
        actor: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<SupervisionCase> {
        let (from, verb): (&[CaseState], &str) = match step {
            CaseStep::IssueNotice { .. } => {
                (&[CaseState::Open, CaseState::Responded], "given a notice")
            }
            CaseStep::Respond { .. } => (&[CaseState::NoticeIssued], "responded to"),
            CaseStep::Close { .. } => (
                &[
                    CaseState::Open,
                    CaseState::NoticeIssued,
                    CaseState::Responded,
                ],
                "closed",
            ),
        };
        if !from.contains(&self.state) {
            let allowed: Vec<String> = from.iter().map(|s| s.shown()).collect();
            return Err(Error::refused(
                Reason::StateDoesNotAllow,
                format!(
                    "supervision case {} is {}; it can be {verb} only when {}",
                    self.id,
                    self.state.shown(),
                    allowed.join(" or ")
                ),
            )
            .with("state", self.state.shown()));
        }
        let mut v = Violations::new();
        let mut next = self.clone();
        match step {
            CaseStep::IssueNotice { text, due } => {
                v.required_text("text", text, TEXT_MAX);
                if *due < today {
                    v.add(
                        "due_date",
                        format!("{due} has passed (today is {today} in China)"),
                    );
                }
                next.notice = Some(Notice {
                    text: text.trim().to_string(),
                    due: *due,
                    by: actor.to_string(),
                    at: now,
                });
                next.response = None;
                next.state = CaseState::NoticeIssued;
            }
            CaseStep::Respond { text, evidence } => {
                v.required_text("text", text, TEXT_MAX);
                next.response = Some(Response {
                    text: text.trim().to_string(),
                    evidence: evidence.clone(),
                    by: actor.to_string(),
                    at: now,
                });
                next.state = CaseState::Responded;
            }
            CaseStep::Close { outcome } => {
                v.required_text("outcome", outcome, TEXT_MAX);
                next.closing = Some(Closing {
                    outcome: outcome.trim().to_string(),
                    by: actor.to_string(),
                    at: now,
                });
                next.state = CaseState::Closed;
            }
        }
        v.finish()?;
        next.version += 1;
        Ok(next)
    }
}

pub fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("supervision case {id}"))
}

#[cfg(test)]
mod tests {
    //! Every step from every state of a supervision case (督办).

    use chrono::TimeZone;

    use super::*;

    fn case(state: CaseState) -> SupervisionCase {
        SupervisionCase {
            id: Uuid::nil(),
            source_kind: SourceKind::Finding,
            source_id: Uuid::nil(),
            cause: Cause::Request,
            unit_code: "331102".into(),
            reason: "整改推进缓慢".into(),
            state,
            opened_by: "inspector".into(),
            opened_at: Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap(),
            notice: None,
            response: None,
            closing: None,
            version: 1,
        }
    }

    #[test]
    fn every_step_from_every_state() {
        use CaseState::*;
        let today = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let steps = [
            (
                "notice",
                CaseStep::IssueNotice {
                    text: "限期整改".into(),
                    due: today + chrono::Days::new(10),
                },
                [Some(NoticeIssued), None, Some(NoticeIssued), None],
            ),
            (
                "respond",
                CaseStep::Respond {
                    text: "已整改".into(),
                    evidence: vec![],
                },
                [None, Some(Responded), None, None],
            ),
            (
                "close",
                CaseStep::Close {
                    outcome: "问题已整改到位".into(),
                },
                [Some(Closed), Some(Closed), Some(Closed), None],
            ),
        ];
        //             Open  NoticeIssued  Responded  Closed
        let states = [Open, NoticeIssued, Responded, Closed];
        for (name, step, row) in steps {
            for (from, want) in states.iter().zip(row) {
                let got = case(*from).apply(&step, "someone", Utc::now(), today);
                match (got, want) {
                    (Ok(next), Some(to)) => {
                        assert_eq!(next.state, to, "{name} from {from:?}");
                        assert_eq!(next.version, 2, "{name} from {from:?}");
                    }
                    (Err(Error::FailedPrecondition(r)), None) => {
                        assert_eq!(r.reason, Reason::StateDoesNotAllow, "{name} from {from:?}");
                    }
                    (got, want) => panic!("{name} from {from:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        // A notice's deadline is not in the past.
        let late = CaseStep::IssueNotice {
            text: "限期整改".into(),
            due: today - chrono::Days::new(1),
        };
        assert!(matches!(
            case(Open).apply(&late, "s", Utc::now(), today),
            Err(Error::InvalidArgument(_))
        ));
    }
}
