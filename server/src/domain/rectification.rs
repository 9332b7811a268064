//! Rectification items (整改事项): what a unit must fix for a finding, by
//! when, tracked step by step until a verifier signs the fix off (销号).
//! Every step is checked here against the item's state and the caller's
//! role; the app layer only loads, applies and stores.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::access::Role;
use super::text_enum::text_enum;
use super::validate::{Input, Violations};
use super::workflow::Outcome;
use crate::error::{Error, Reason, Result};

pub const REQUIREMENT_MAX: usize = 5_000;
pub const NOTE_MAX: usize = 5_000;
pub const CONDITION_MAX: usize = 2_000;
pub const EVIDENCE_MAX: usize = 50;
/// The longest deadline given in working days (about a year and a half).
pub const WORKING_DAYS_MAX: u32 = 400;

text_enum! {
    pub enum ItemState {
        Open = "open",
        InProgress = "in_progress",
        Submitted = "submitted",
        /// Signed off (销号); final.
        Verified = "verified",
        /// Final.
        Cancelled = "cancelled",
    }
}

impl ItemState {
    pub fn is_final(self) -> bool {
        matches!(self, ItemState::Verified | ItemState::Cancelled)
    }

    /// As the API names it.
    pub fn shown(self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

text_enum! {
    /// A step in an item's history.
    pub enum Action {
        Create = "create",
        Acknowledge = "acknowledge",
        ReportProgress = "report_progress",
        Submit = "submit",
        RequestExtension = "request_extension",
        GrantExtension = "grant_extension",
        RefuseExtension = "refuse_extension",
        RecordConditions = "record_conditions",
        Approve = "approve",
        Reject = "reject",
        Cancel = "cancel",
        MarkOverdue = "mark_overdue",
    }
}

/// A unit's request for a later deadline, waiting for a coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    pub due_date: NaiveDate,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
}

/// The four conditions of 四不放过, each a statement of what was done.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccidentConditions {
    /// 事故原因未查清不放过.
    pub cause_established: String,
    /// 事故责任者未受到处理不放过.
    pub responsible_dealt_with: String,
    /// 事故责任人和广大群众没有受到教育不放过.
    pub people_educated: String,
    /// 事故没有制订切实可行的整改措施不放过.
    pub measures_in_place: String,
}

impl AccidentConditions {
    /// The conditions not yet recorded, by name.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (&self.cause_established, "cause established"),
            (
                &self.responsible_dealt_with,
                "responsible people dealt with",
            ),
            (&self.people_educated, "people educated"),
            (&self.measures_in_place, "measures in place"),
        ]
        .into_iter()
        .filter(|(text, _)| text.trim().is_empty())
        .map(|(_, name)| name)
        .collect()
    }
}

/// How the deadline was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Due {
    Date(NaiveDate),
    /// Working days after the day of assignment.
    WorkingDays(u32),
}

/// An item as received, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemDraft {
    pub unit_code: String,
    pub requirement: String,
    pub due_date: Input<NaiveDate>,
    pub working_days: u32,
    pub accident: bool,
    pub photo_required: bool,
}

/// What an item asks, as its creator set it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemTerms {
    /// The responsible unit; the finding's unit when none is named.
    pub unit_code: String,
    pub requirement: String,
    pub due: Due,
    pub accident: bool,
    pub photo_required: bool,
}

impl ItemDraft {
    /// Validates under the request path `item`; `today` is China's date.
    pub fn validate(self, finding_unit: &str, today: NaiveDate) -> Result<ItemTerms> {
        const P: &str = "item";
        let mut v = Violations::new();
        v.required_text(
            &format!("{P}.requirement"),
            &self.requirement,
            REQUIREMENT_MAX,
        );
        let date = self.due_date.optional(&format!("{P}.due_date"), &mut v);
        let due = match (date, self.working_days) {
            (Some(_), n) if n > 0 => {
                v.add(
                    format!("{P}.working_days"),
                    "give either due_date or working_days, not both",
                );
                None
            }
            (Some(d), _) if d < today => {
                v.add(
                    format!("{P}.due_date"),
                    format!("{d} has passed (today is {today} in China)"),
                );
                None
            }
            (Some(d), _) => Some(Due::Date(d)),
            (None, 0) => {
                v.add(
                    format!("{P}.due_date"),
                    "is required: give due_date or working_days",
                );
                None
            }
            (None, n) if n > WORKING_DAYS_MAX => {
                v.add(
                    format!("{P}.working_days"),
                    format!("is {n}; at most {WORKING_DAYS_MAX}"),
                );
                None
            }
            (None, n) => Some(Due::WorkingDays(n)),
        };
        v.finish()?;
        let unit = self.unit_code.trim();
        Ok(ItemTerms {
            unit_code: if unit.is_empty() { finding_unit } else { unit }.to_string(),
            requirement: self.requirement.trim().to_string(),
            due: due.expect("validated"),
            accident: self.accident,
            photo_required: self.photo_required,
        })
    }
}

impl ItemTerms {
    /// Fingerprint, to tell a retried create from a different one.
    pub fn digest(&self, finding: Uuid) -> String {
        let json = serde_json::to_vec(&(finding, self)).expect("item terms serialise");
        hex::encode(Sha256::digest(json))
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct RectificationItem {
    pub id: Uuid,
    pub finding_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub unit_code: String,
    pub requirement: String,
    pub assigned_on: NaiveDate,
    /// Set when the deadline was given in working days.
    pub working_days: Option<u32>,
    pub due_date: NaiveDate,
    pub accident: bool,
    pub photo_required: bool,
    pub state: ItemState,
    /// When the overdue scan first saw it past its deadline.
    pub overdue_since: Option<DateTime<Utc>>,
    pub extension: Option<ExtensionRequest>,
    pub conditions: Option<AccidentConditions>,
    pub rejections: i32,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    /// 1 at creation, one more with every step; also the step's number in
    /// the history.
    pub version: i64,
}

/// One entry of an item's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: Action,
    pub from_state: Option<ItemState>,
    pub to_state: ItemState,
    /// The reason, progress report or comment given.
    pub note: String,
    /// Evidence attached with the step.
    pub evidence: Vec<Uuid>,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
}

impl RectificationItem {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    /// Refuses a step based on a read older than the stored item.
    pub fn check_etag(&self, etag: &str) -> Result<()> {
        super::etag::check(
            &format!("rectification item {}", self.id),
            self.version,
            etag,
            "etag",
        )
    }

    /// Past its deadline (the end of `due_date` in China) and not final.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        !self.state.is_final() && self.due_date < today
    }

    /// Due within `days` calendar days of `today`, not final, not overdue.
    pub fn is_due_soon(&self, today: NaiveDate, days: u32) -> bool {
        !self.state.is_final()
            && self.due_date >= today
            && (self.due_date - today).num_days() <= i64::from(days)
    }
}

/// A step someone takes on an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Acknowledge,
    ReportProgress {
        text: String,
    },
    /// `after_photos`: how many AFTER photos the item will hold.
    Submit {
        text: String,
        after_photos: usize,
    },
    RequestExtension {
        due_date: NaiveDate,
        reason: String,
    },
    DecideExtension {
        grant: bool,
        reason: String,
    },
    RecordConditions(AccidentConditions),
    Approve {
        comment: String,
    },
    Reject {
        reason: String,
    },
    Cancel {
        reason: String,
    },
}

use ItemState::*;

impl Step {
    pub fn action(&self) -> Action {
        match self {
            Step::Acknowledge => Action::Acknowledge,
            Step::ReportProgress { .. } => Action::ReportProgress,
            Step::Submit { .. } => Action::Submit,
            Step::RequestExtension { .. } => Action::RequestExtension,
            Step::DecideExtension { grant: true, .. } => Action::GrantExtension,
            Step::DecideExtension { grant: false, .. } => Action::RefuseExtension,
            Step::RecordConditions(_) => Action::RecordConditions,
            Step::Approve { .. } => Action::Approve,
            Step::Reject { .. } => Action::Reject,
            Step::Cancel { .. } => Action::Cancel,
        }
    }

    /// Who may take the step (always within their units).
    pub fn roles(&self) -> &'static [Role] {
        match self {
            Step::Acknowledge
            | Step::ReportProgress { .. }
            | Step::Submit { .. }
            | Step::RequestExtension { .. } => &[Role::UnitLiaison],
            Step::RecordConditions(_) => &[Role::UnitLiaison, Role::Verifier],
            Step::Approve { .. } | Step::Reject { .. } => &[Role::Verifier],
            Step::DecideExtension { .. } | Step::Cancel { .. } => &[Role::Coordinator],
        }
    }

    /// The states it may be taken from, and what it is called in an error.
    fn allowed(&self) -> (&'static [ItemState], &'static str) {
        match self {
            Step::Acknowledge => (&[Open], "acknowledged"),
            Step::ReportProgress { .. } => (&[InProgress], "reported on"),
            Step::Submit { .. } => (&[InProgress], "submitted"),
            Step::RequestExtension { .. } => (&[Open, InProgress], "given a later deadline"),
            Step::DecideExtension { .. } => (
                &[Open, InProgress, Submitted],
                "decided on for an extension",
            ),
            Step::RecordConditions(_) => {
                (&[Open, InProgress, Submitted], "given accident conditions")
            }
            Step::Approve { .. } => (&[Submitted], "signed off"),
            Step::Reject { .. } => (&[Submitted], "rejected"),
            Step::Cancel { .. } => (&[Open, InProgress, Submitted], "cancelled"),
        }
    }
}

/// What `step` does to `item`, with the evidence it attaches, as one
/// value: the item after it, its history entry and the event's data (no
/// step on an item opens a case: the overdue scan does).
pub fn take(
    item: &RectificationItem,
    step: Step,
    attached: Vec<Uuid>,
    actor: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Outcome<RectificationItem, HistoryEntry>> {
    let (next, mut entry) = apply(item, step, actor, now, today)?;
    entry.evidence = attached;
    Ok(Outcome {
        data: serde_json::json!({
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "note": entry.note,
            "evidence": entry.evidence,
            "due_date": next.due_date,
        }),
        next,
        entry,
        escalation: None,
    })
}

/// Takes `step` on `item`: the item after it and the history entry that
/// records it. Refused with FAILED_PRECONDITION naming the current state
/// when the state does not allow it.
pub fn apply(
    item: &RectificationItem,
    step: Step,
    actor: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(RectificationItem, HistoryEntry)> {
    let (from, verb) = step.allowed();
    if !from.contains(&item.state) {
        let allowed: Vec<String> = from.iter().map(|s| s.shown()).collect();
        return Err(Error::refused(
            Reason::StateDoesNotAllow,
            format!(
                "rectification item {} is {}; it can be {verb} only when {}",
                item.id,
                item.state.shown(),
                allowed.join(" or ")
            ),
        )
        .with("state", item.state.shown()));
    }
    let mut v = Violations::new();
    let mut next = item.clone();
    let mut note = String::new();
    let (due_before, mut due_after) = (Some(item.due_date), None);
    match &step {
        Step::Acknowledge => next.state = InProgress,
        Step::ReportProgress { text } => {
            v.required_text("text", text, NOTE_MAX);
            note = text.clone();
        }
        Step::Submit { text, after_photos } => {
            v.max_chars("text", text, NOTE_MAX);
            if item.photo_required && *after_photos == 0 {
                v.add(
                    "evidence_ids",
                    "this item requires photo proof: attach at least one AFTER photo of the fix",
                );
            }
            note = text.clone();
            next.state = Submitted;
        }
        Step::RequestExtension { due_date, reason } => {
            v.required_text("reason", reason, NOTE_MAX);
            if *due_date <= item.due_date {
                v.add(
                    "due_date",
                    format!("must be after the current deadline {}", item.due_date),
                );
            }
            if let Some(pending) = &item.extension {
                return Err(Error::refused(
                    Reason::ExtensionPending,
                    format!(
                        "rectification item {} already has an extension to {} waiting for a decision",
                        item.id, pending.due_date
                    ),
                ));
            }
            next.extension = Some(ExtensionRequest {
                due_date: *due_date,
                reason: reason.trim().to_string(),
                requested_by: actor.to_string(),
                requested_at: now,
            });
            note = reason.clone();
            due_after = Some(*due_date);
        }
        Step::DecideExtension { grant, reason } => {
            let Some(pending) = &item.extension else {
                return Err(Error::refused(
                    Reason::NoExtensionPending,
                    format!(
                        "rectification item {} has no extension request waiting",
                        item.id
                    ),
                ));
            };
            if !grant {
                v.required_text("reason", reason, NOTE_MAX);
            } else {
                v.max_chars("reason", reason, NOTE_MAX);
                next.due_date = pending.due_date;
                next.working_days = None;
                if next.due_date >= today {
                    next.overdue_since = None;
                }
            }
            due_after = Some(next.due_date);
            next.extension = None;
            note = reason.clone();
        }
        Step::RecordConditions(c) => {
            if !item.accident {
                return Err(Error::refused(
                    Reason::NotAnAccident,
                    format!(
                        "rectification item {} does not concern an environmental accident; 四不放过 conditions are recorded only for accidents",
                        item.id
                    ),
                ));
            }
            for (field, text) in [
                ("conditions.cause_established", &c.cause_established),
                (
                    "conditions.responsible_dealt_with",
                    &c.responsible_dealt_with,
                ),
                ("conditions.people_educated", &c.people_educated),
                ("conditions.measures_in_place", &c.measures_in_place),
            ] {
                v.max_chars(field, text, CONDITION_MAX);
            }
            // What is sent adds to what was recorded before.
            let mut merged = item.conditions.clone().unwrap_or_default();
            for (have, new) in [
                (&mut merged.cause_established, &c.cause_established),
                (
                    &mut merged.responsible_dealt_with,
                    &c.responsible_dealt_with,
                ),
                (&mut merged.people_educated, &c.people_educated),
                (&mut merged.measures_in_place, &c.measures_in_place),
            ] {
                if !new.trim().is_empty() {
                    *have = new.trim().to_string();
                }
            }
            if merged == item.conditions.clone().unwrap_or_default() {
                v.add("conditions", "names no condition");
            }
            next.conditions = Some(merged);
        }
        Step::Approve { comment } => {
            v.max_chars("comment", comment, NOTE_MAX);
            if item.accident {
                let missing = item.conditions.clone().unwrap_or_default().missing();
                if !missing.is_empty() {
                    return Err(Error::refused(
                        Reason::AccidentConditionsOpen,
                        format!(
                            "rectification item {} concerns an environmental accident and cannot be signed off until the four conditions (四不放过) are recorded; missing: {}",
                            item.id,
                            missing.join(", ")
                        ),
                    )
                    .with("missing", missing.join(",")));
                }
            }
            next.state = Verified;
            next.extension = None;
            next.signed_off_by = Some(actor.to_string());
            next.signed_off_at = Some(now);
            note = comment.clone();
        }
        Step::Reject { reason } => {
            v.required_text("reason", reason, NOTE_MAX);
            next.state = InProgress;
            next.rejections += 1;
            note = reason.clone();
        }
        Step::Cancel { reason } => {
            v.required_text("reason", reason, NOTE_MAX);
            next.state = Cancelled;
            next.extension = None;
            note = reason.clone();
        }
    }
    v.finish()?;
    next.version += 1;
    next.updated_at = now;
    next.updated_by = actor.to_string();
    let entry = HistoryEntry {
        seq: next.version,
        at: now,
        actor: actor.to_string(),
        action: step.action(),
        from_state: Some(item.state),
        to_state: next.state,
        note: note.trim().to_string(),
        evidence: Vec::new(),
        due_before: due_after.and(due_before),
        due_after,
    };
    Ok((next, entry))
}

/// What a list of items is narrowed to.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ItemFilter {
    /// None: every unit. Some: only these (already narrowed to the scope).
    pub unit_codes: Option<Vec<String>>,
    pub finding_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub states: Vec<ItemState>,
    pub overdue: bool,
    /// Only items due within this many days (and not overdue).
    pub due_within_days: Option<u32>,
    #[serde(skip)]
    pub today: Option<NaiveDate>,
}

/// Position after the last item of a page (earliest deadline first).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemCursor {
    pub due_date: NaiveDate,
    pub id: Uuid,
}

pub fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("rectification item {id}"))
}

#[cfg(test)]
mod tests {
    //! Every step from every state, and each rule that refuses a step.

    use chrono::TimeZone;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn item(state: ItemState) -> RectificationItem {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        RectificationItem {
            id: Uuid::nil(),
            finding_id: Uuid::nil(),
            campaign_id: None,
            unit_code: "331102".into(),
            requirement: "停产整顿".into(),
            assigned_on: day(2),
            working_days: Some(10),
            due_date: day(16),
            accident: false,
            photo_required: false,
            state,
            overdue_since: None,
            extension: None,
            conditions: None,
            rejections: 0,
            signed_off_by: None,
            signed_off_at: None,
            created_by: "coordinator".into(),
            created_at: at,
            updated_by: "coordinator".into(),
            updated_at: at,
            version: 1,
        }
    }

    fn steps() -> Vec<(&'static str, Step)> {
        let text = || "已整改".to_string();
        vec![
            ("acknowledge", Step::Acknowledge),
            ("progress", Step::ReportProgress { text: text() }),
            (
                "submit",
                Step::Submit {
                    text: text(),
                    after_photos: 1,
                },
            ),
            (
                "request extension",
                Step::RequestExtension {
                    due_date: day(30),
                    reason: text(),
                },
            ),
            ("approve", Step::Approve { comment: text() }),
            ("reject", Step::Reject { reason: text() }),
            ("cancel", Step::Cancel { reason: text() }),
        ]
    }

    /// What each step does from each state: the state after it, or None
    /// when the state does not allow it.
    #[test]
    fn every_step_from_every_state() {
        use ItemState::*;
        let table: &[(&str, [Option<ItemState>; 5])] = &[
            //                    Open              InProgress        Submitted         Verified Cancelled
            ("acknowledge", [Some(InProgress), None, None, None, None]),
            ("progress", [None, Some(InProgress), None, None, None]),
            ("submit", [None, Some(Submitted), None, None, None]),
            (
                "request extension",
                [Some(Open), Some(InProgress), None, None, None],
            ),
            ("approve", [None, None, Some(Verified), None, None]),
            ("reject", [None, None, Some(InProgress), None, None]),
            (
                "cancel",
                [
                    Some(Cancelled),
                    Some(Cancelled),
                    Some(Cancelled),
                    None,
                    None,
                ],
            ),
        ];
        let states = [Open, InProgress, Submitted, Verified, Cancelled];
        for (name, step) in steps() {
            let row = table.iter().find(|(n, _)| *n == name).unwrap().1;
            for (from, want) in states.iter().zip(row) {
                let got = apply(&item(*from), step.clone(), "liaison", Utc::now(), day(3));
                match (got, want) {
                    (Ok((next, entry)), Some(to)) => {
                        assert_eq!(next.state, to, "{name} from {from:?}");
                        assert_eq!(
                            (entry.from_state, entry.to_state),
                            (Some(*from), to),
                            "{name} from {from:?}"
                        );
                        assert_eq!(next.version, 2, "{name} from {from:?}");
                    }
                    (Err(Error::FailedPrecondition(r)), None) => {
                        assert_eq!(r.reason, Reason::StateDoesNotAllow, "{name} from {from:?}");
                        assert!(
                            r.metadata.contains(&("state", from.shown())),
                            "{name} from {from:?}"
                        );
                    }
                    (got, want) => panic!("{name} from {from:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn rules_that_refuse_a_step_the_state_allows() {
        let reason = |r: Result<(RectificationItem, HistoryEntry)>| match r {
            Err(Error::FailedPrecondition(r)) => r.reason.as_str().to_string(),
            Err(Error::InvalidArgument(v)) => format!("field {}", v[0].field),
            other => format!("{other:?}"),
        };
        let now = Utc::now();
        // An accident is signed off only with the four conditions.
        let mut accident = item(ItemState::Submitted);
        accident.accident = true;
        let approve = || Step::Approve {
            comment: String::new(),
        };
        assert_eq!(
            reason(apply(&accident, approve(), "v", now, day(3))),
            "ACCIDENT_CONDITIONS_OPEN"
        );
        accident.conditions = Some(AccidentConditions {
            cause_established: "泵故障".into(),
            responsible_dealt_with: "停职".into(),
            people_educated: "全员培训".into(),
            measures_in_place: "更换设备".into(),
        });
        assert!(apply(&accident, approve(), "v", now, day(3)).is_ok());
        // Conditions belong to accidents only.
        let plain = item(ItemState::InProgress);
        let conditions = Step::RecordConditions(accident.conditions.clone().unwrap());
        assert_eq!(
            reason(apply(&plain, conditions, "v", now, day(3))),
            "NOT_AN_ACCIDENT"
        );
        // A fix that needs a photo is submitted with one.
        let mut photo = item(ItemState::InProgress);
        photo.photo_required = true;
        let bare = Step::Submit {
            text: String::new(),
            after_photos: 0,
        };
        assert_eq!(
            reason(apply(&photo, bare, "l", now, day(3))),
            "field evidence_ids"
        );
        // One extension waits at a time; a decision needs one waiting.
        let extend = Step::RequestExtension {
            due_date: day(30),
            reason: "设备到货延迟".into(),
        };
        let (waiting, _) = apply(&plain, extend.clone(), "l", now, day(3)).unwrap();
        assert_eq!(
            reason(apply(&waiting, extend, "l", now, day(3))),
            "EXTENSION_PENDING"
        );
        let decide = Step::DecideExtension {
            grant: true,
            reason: String::new(),
        };
        assert_eq!(
            reason(apply(&plain, decide.clone(), "c", now, day(3))),
            "NO_EXTENSION_PENDING"
        );
        let (granted, _) = apply(&waiting, decide, "c", now, day(3)).unwrap();
        assert_eq!((granted.due_date, granted.extension), (day(30), None));
        // A later deadline only.
        let earlier = Step::RequestExtension {
            due_date: day(10),
            reason: "x".into(),
        };
        assert_eq!(
            reason(apply(&plain, earlier, "l", now, day(3))),
            "field due_date"
        );
    }
}
