//! Petitions (信访举报): complaints from the public, taken in by petition
//! officers, accepted or declined, dispatched (分办) to the unit concerned,
//! answered by that unit, verified on site when they are key petitions,
//! answered to the complainant and closed. A dissatisfied complainant
//! reopens the petition, and it goes to supervision.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::access::Role;
use super::credit_code;
use super::finding::Medium;
use super::geo::{Location, LocationDraft};
use super::masking::{mask_address, mask_name, mask_phone};
use super::supervision::Cause;
use super::text_enum::text_enum;
use super::validate::{Input, Violations};
use super::workflow::{Escalation, Outcome};
use crate::error::{Error, Reason, Result};

/// The kind of subject of petition events.
pub const PETITION: &str = "petition";
pub const CONTENT_MAX: usize = 20_000;
pub const TEXT_MAX: usize = 5_000;
pub const NAME_MAX: usize = 100;
pub const PHONE_MAX: usize = 30;
pub const ADDRESS_MAX: usize = 500;

text_enum! {
    /// How a petition came in.
    pub enum Channel {
        /// 12345 or 12369 hotline.
        Hotline = "hotline",
        /// Letters to the mailbox.
        Mailbox = "mailbox",
        Online = "online",
        /// In person.
        Visit = "visit",
        /// Transferred from a higher level.
        Transferred = "transferred",
    }
}

text_enum! {
    pub enum PetitionState {
        Received = "received",
        /// Final.
        Declined = "declined",
        Accepted = "accepted",
        Dispatched = "dispatched",
        Replied = "replied",
        /// Verified on site after the reply.
        Verified = "verified",
        /// The complainant was told and is satisfied.
        Answered = "answered",
        /// The complainant was not satisfied; to be dispatched again.
        Reopened = "reopened",
        /// Final: answered together with the petition it was merged into.
        Merged = "merged",
        /// Reopened when a complainant comes back dissatisfied.
        Closed = "closed",
    }
}

impl PetitionState {
    pub fn shown(self) -> String {
        self.as_str().to_ascii_uppercase()
    }

    /// Still being worked on: may be the one a repeat is merged into.
    /// Has been dispatched to a unit: from here on the unit's liaison
    /// sees it.
    pub fn was_dispatched(self) -> bool {
        matches!(
            self,
            PetitionState::Dispatched
                | PetitionState::Replied
                | PetitionState::Verified
                | PetitionState::Answered
                | PetitionState::Reopened
                | PetitionState::Closed
        )
    }

    pub fn is_open(self) -> bool {
        !matches!(
            self,
            PetitionState::Declined | PetitionState::Merged | PetitionState::Closed
        )
    }
}

text_enum! {
    /// How the complainant was told of the outcome.
    pub enum FeedbackMethod {
        Phone = "phone",
        Sms = "sms",
        Letter = "letter",
        InPerson = "in_person",
        Online = "online",
    }
}

/// Who complained: personal information, sealed at rest and masked for
/// everyone but petition officers and supervisors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complainant {
    pub name: String,
    pub phone: String,
    pub address: String,
}

impl Complainant {
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.phone.is_empty() && self.address.is_empty()
    }

    /// What callers who may not see personal information see.
    pub fn masked(&self) -> Complainant {
        Complainant {
            name: mask_name(&self.name),
            phone: mask_phone(&self.phone),
            address: mask_address(&self.address),
        }
    }
}

/// A petition as received, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct PetitionDraft {
    pub campaign_id: String,
    pub channel: Input<Channel>,
    pub received_at: Input<DateTime<Utc>>,
    pub content: String,
    pub category: Input<Medium>,
    pub location: Option<LocationDraft>,
    pub unit_code: String,
    pub credit_code: String,
    pub complainant: Complainant,
}

/// What was taken in: every field the petition officer sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PetitionIntake {
    pub campaign_id: Option<Uuid>,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    pub content: String,
    pub category: Medium,
    pub location: Option<Location>,
    pub unit_code: String,
    pub credit_code: Option<String>,
}

impl PetitionDraft {
    /// The intake and the complainant (None when anonymous), with every
    /// violation reported at once, named as the request's fields.
    pub fn validate(self, now: DateTime<Utc>) -> Result<(PetitionIntake, Option<Complainant>)> {
        let mut v = Violations::new();
        let campaign_id = super::id::optional_in("campaign_id", &self.campaign_id, &mut v);
        let channel = self.channel.required("channel", &mut v);
        let received_at = self.received_at.required("received_time", &mut v);
        if let Some(t) = received_at
            && t > now + TimeDelta::minutes(5)
        {
            v.add("received_time", "is in the future");
        }
        v.required_text("content", &self.content, CONTENT_MAX);
        let category = self.category.required("category", &mut v);
        let location = self
            .location
            .as_ref()
            .and_then(|l| l.validate("location", &mut v));
        if self.unit_code.trim().is_empty() {
            v.add("unit_code", "is required");
        }
        let credit = self.credit_code.trim().to_ascii_uppercase();
        if !credit.is_empty()
            && let Err(why) = credit_code::validate(&credit)
        {
            v.add("credit_code", why);
        }
        let c = Complainant {
            name: self.complainant.name.trim().to_string(),
            phone: self.complainant.phone.trim().to_string(),
            address: self.complainant.address.trim().to_string(),
        };
        v.max_chars("complainant.name", &c.name, NAME_MAX);
        v.max_chars("complainant.address", &c.address, ADDRESS_MAX);
        if c.phone.chars().count() > PHONE_MAX
            || !c
                .phone
                .chars()
                .all(|ch| ch.is_ascii_digit() || "+- ()".contains(ch))
        {
            v.add(
                "complainant.phone",
                format!("must be digits (with + - ( ) or spaces), at most {PHONE_MAX}"),
            );
        }
        v.finish()?;
        Ok((
            PetitionIntake {
                campaign_id,
                channel: channel.expect("validated"),
                received_at: received_at.expect("validated"),
                content: self.content.trim().to_string(),
                category: category.expect("validated"),
                location,
                unit_code: self.unit_code.trim().to_string(),
                credit_code: (!credit.is_empty()).then_some(credit),
            },
            (!c.is_empty()).then_some(c),
        ))
    }
}

/// Who wrote something down, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    pub evidence: Vec<Uuid>,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// 现场核实: a check record, with its evidence, made at the place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub check_record_id: Uuid,
    pub conclusion: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub method: FeedbackMethod,
    /// When the complainant was told.
    pub told_at: DateTime<Utc>,
    pub satisfied: bool,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotCheck {
    pub passed: bool,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What happened to a petition after intake, kept as one document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub accepted: Option<Note>,
    pub declined: Option<Note>,
    pub dispatched: Option<Note>,
    pub reply: Option<Reply>,
    pub send_backs: u32,
    pub verification: Option<Verification>,
    pub feedback: Option<Feedback>,
    pub closed: Option<Note>,
    pub spot_check: Option<SpotCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Petition {
    pub id: Uuid,
    pub intake: PetitionIntake,
    /// The sealed complainant; None when anonymous.
    pub sealed_complainant: Option<String>,
    /// A key petition (重点信访) is verified on site before it is answered,
    /// and may be spot-checked once closed.
    pub is_key: bool,
    pub state: PetitionState,
    pub accept_due: NaiveDate,
    pub reply_due: Option<NaiveDate>,
    pub reply_overdue_since: Option<DateTime<Utc>>,
    pub merged_into: Option<Uuid>,
    pub progress: Progress,
    pub received_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A step someone takes on a petition.
#[derive(Debug, Clone, PartialEq)]
pub enum PetitionStep {
    Accept {
        key: bool,
        note: String,
    },
    Decline {
        reason: String,
    },
    /// 分办: to `unit_code`, to be answered by `reply_due`.
    /// An empty unit and no date take the defaults (see `take`).
    Dispatch {
        unit_code: String,
        reply_due: Option<NaiveDate>,
        note: String,
    },
    Reply {
        text: String,
        evidence: Vec<Uuid>,
    },
    /// The reply is inadequate; the unit answers again, by a new deadline
    /// if one is given.
    SendBack {
        reason: String,
        reply_due: Option<NaiveDate>,
    },
    VerifyOnSite {
        check_record_id: Uuid,
        conclusion: String,
    },
    RecordFeedback {
        method: FeedbackMethod,
        told_at: DateTime<Utc>,
        satisfied: bool,
        note: String,
    },
    Close {
        note: String,
    },
    Merge {
        into: Uuid,
    },
    SpotCheck {
        passed: bool,
        note: String,
    },
}

impl PetitionStep {
    pub fn action(&self) -> &'static str {
        match self {
            PetitionStep::Accept { .. } => "accepted",
            PetitionStep::Decline { .. } => "declined",
            PetitionStep::Dispatch { .. } => "dispatched",
            PetitionStep::Reply { .. } => "replied",
            PetitionStep::SendBack { .. } => "sent_back",
            PetitionStep::VerifyOnSite { .. } => "verified_on_site",
            PetitionStep::RecordFeedback { .. } => "feedback_recorded",
            PetitionStep::Close { .. } => "closed",
            PetitionStep::Merge { .. } => "merged",
            PetitionStep::SpotCheck { .. } => "spot_checked",
        }
    }

    pub fn roles(&self) -> &'static [Role] {
        match self {
            PetitionStep::Reply { .. } => &[Role::UnitLiaison],
            PetitionStep::VerifyOnSite { .. } => &[Role::Inspector, Role::PetitionOfficer],
            PetitionStep::SpotCheck { .. } => &[Role::Supervisor],
            _ => &[Role::PetitionOfficer],
        }
    }

    /// The states the step may be taken from, and what it is called in a
    /// refusal.
    fn from(&self) -> (&'static [PetitionState], &'static str) {
        use PetitionState as S;
        match self {
            PetitionStep::Accept { .. } => (&[S::Received], "accepted"),
            PetitionStep::Decline { .. } => (&[S::Received], "declined"),
            PetitionStep::Dispatch { .. } => (&[S::Accepted, S::Reopened], "dispatched"),
            PetitionStep::Reply { .. } => (&[S::Dispatched], "replied to"),
            PetitionStep::SendBack { .. } => (&[S::Replied, S::Verified], "sent back"),
            PetitionStep::VerifyOnSite { .. } => (&[S::Replied], "verified on site"),
            PetitionStep::RecordFeedback { .. } => (
                &[S::Replied, S::Verified, S::Closed],
                "given the complainant's feedback",
            ),
            PetitionStep::Close { .. } => (&[S::Replied, S::Verified, S::Answered], "closed"),
            PetitionStep::Merge { .. } => (&[S::Received, S::Accepted], "merged"),
            PetitionStep::SpotCheck { .. } => (&[S::Closed], "spot-checked"),
        }
    }
}

/// A note that must be given.
fn note(v: &mut Violations, field: &str, text: &str, by: &str, at: DateTime<Utc>) -> Note {
    v.required_text(field, text, TEXT_MAX);
    Note {
        text: text.trim().to_string(),
        by: by.to_string(),
        at,
    }
}

impl Petition {
    pub fn etag(&self) -> String {
        super::etag::of(self.version)
    }

    pub fn check_etag(&self, etag: &str) -> Result<()> {
        super::etag::check(&format!("petition {}", self.id), self.version, etag, "etag")
    }

    pub fn is_anonymous(&self) -> bool {
        self.sealed_complainant.is_none()
    }

    /// Still to be accepted or declined after its deadline.
    pub fn accept_overdue(&self, today: NaiveDate) -> bool {
        self.state == PetitionState::Received && self.accept_due < today
    }

    /// Dispatched, and the unit's reply is late.
    pub fn reply_overdue(&self, today: NaiveDate) -> bool {
        self.state == PetitionState::Dispatched && self.reply_due.is_some_and(|d| d < today)
    }

    fn refuse(&self, reason: Reason, why: impl Into<String>) -> Error {
        Error::refused(reason, format!("petition {} {}", self.id, why.into()))
            .with("state", self.state.shown())
    }

    /// `step` with its defaults: a dispatch without a unit goes to the
    /// unit the petition was taken in for, and without a date is due
    /// `reply_days` from today.
    pub fn with_defaults(
        &self,
        step: PetitionStep,
        today: NaiveDate,
        reply_days: u32,
    ) -> PetitionStep {
        match step {
            PetitionStep::Dispatch {
                unit_code,
                reply_due,
                note,
            } => PetitionStep::Dispatch {
                unit_code: match unit_code.trim() {
                    "" => self.intake.unit_code.clone(),
                    u => u.to_string(),
                },
                reply_due: reply_due
                    .or_else(|| today.checked_add_days(chrono::Days::new(reply_days.into()))),
                note,
            },
            step => step,
        }
    }

    /// What `step` (with its defaults) does to the petition, or why it is
    /// refused: the petition after it, its history entry, the event's data
    /// and the supervision case it opens (a dissatisfied complainant, a
    /// failed spot check).
    pub fn take(
        &self,
        step: &PetitionStep,
        actor: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Outcome<Petition, HistoryEntry>> {
        let next = self.apply(step, actor, now, today)?;
        let escalation = match step {
            PetitionStep::RecordFeedback {
                satisfied: false, ..
            } => Some(Escalation {
                cause: Cause::Dissatisfied,
                reason: "complainant not satisfied with the answer; petition reopened".into(),
            }),
            PetitionStep::SpotCheck {
                passed: false,
                note,
            } => Some(Escalation {
                cause: Cause::SpotCheck,
                reason: format!(
                    "spot check of a closed key petition failed: {}",
                    note.trim()
                ),
            }),
            _ => None,
        };
        let mut data = serde_json::json!({ "from_state": self.state, "to_state": next.state });
        if let PetitionStep::Dispatch {
            unit_code,
            reply_due: Some(due),
            ..
        } = step
        {
            data["dispatched_to"] = unit_code.clone().into();
            data["reply_due"] = due.to_string().into();
        }
        Ok(Outcome {
            entry: HistoryEntry::of(step, self, &next, actor),
            next,
            data,
            escalation,
        })
    }

    /// The petition after `step`, or why the step is refused. A
    /// dissatisfied complainant's feedback reopens it.
    fn apply(
        &self,
        step: &PetitionStep,
        actor: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Petition> {
        use PetitionState as S;
        let (from, verb) = step.from();
        if !from.contains(&self.state) {
            let allowed: Vec<String> = from.iter().map(|s| s.shown()).collect();
            return Err(self.refuse(
                Reason::StateDoesNotAllow,
                format!(
                    "is {}; it can be {verb} only when {}",
                    self.state.shown(),
                    allowed.join(" or ")
                ),
            ));
        }
        let mut v = Violations::new();
        let mut next = self.clone();
        let p = &mut next.progress;
        match step {
            PetitionStep::Accept { key, note: text } => {
                v.max_chars("note", text, TEXT_MAX);
                p.accepted = Some(Note {
                    text: text.trim().to_string(),
                    by: actor.into(),
                    at: now,
                });
                next.is_key = *key;
                next.state = S::Accepted;
            }
            PetitionStep::Decline { reason } => {
                p.declined = Some(note(&mut v, "reason", reason, actor, now));
                next.state = S::Declined;
            }
            PetitionStep::Dispatch {
                unit_code,
                reply_due,
                note: text,
            } => {
                let reply_due = reply_due.unwrap_or(today);
                if reply_due < today {
                    v.add(
                        "reply_due_date",
                        format!("{reply_due} has passed (today is {today} in China)"),
                    );
                }
                v.max_chars("note", text, TEXT_MAX);
                p.dispatched = Some(Note {
                    text: text.trim().to_string(),
                    by: actor.into(),
                    at: now,
                });
                next.intake.unit_code = unit_code.clone();
                next.reply_due = Some(reply_due);
                // A new deadline: lateness is judged afresh (the history
                // keeps the earlier lapse).
                next.reply_overdue_since = None;
                next.state = S::Dispatched;
            }
            PetitionStep::Reply { text, evidence } => {
                v.required_text("text", text, TEXT_MAX);
                p.reply = Some(Reply {
                    text: text.trim().to_string(),
                    evidence: evidence.clone(),
                    by: actor.into(),
                    at: now,
                });
                next.state = S::Replied;
            }
            PetitionStep::SendBack { reason, reply_due } => {
                v.required_text("reason", reason, TEXT_MAX);
                if let Some(d) = reply_due {
                    if *d < today {
                        v.add(
                            "reply_due_date",
                            format!("{d} has passed (today is {today} in China)"),
                        );
                    }
                    next.reply_due = Some(*d);
                    next.reply_overdue_since = None;
                } else if let Some(d) = self.reply_due.filter(|d| *d < today) {
                    v.add(
                        "reply_due_date",
                        format!("is required: the reply deadline {d} has passed"),
                    );
                }
                p.reply = None;
                p.verification = None;
                p.send_backs += 1;
                next.state = S::Dispatched;
            }
            PetitionStep::VerifyOnSite {
                check_record_id,
                conclusion,
            } => {
                v.required_text("conclusion", conclusion, TEXT_MAX);
                p.verification = Some(Verification {
                    check_record_id: *check_record_id,
                    conclusion: conclusion.trim().to_string(),
                    by: actor.into(),
                    at: now,
                });
                next.state = S::Verified;
            }
            PetitionStep::RecordFeedback {
                method,
                told_at,
                satisfied,
                note: text,
            } => {
                if self.is_anonymous() {
                    return Err(self.refuse(
                        Reason::AnonymousPetition,
                        "is anonymous: there is no complainant to answer",
                    ));
                }
                if self.is_key && self.state == S::Replied {
                    return Err(self.refuse(Reason::SiteVisitRequired,
                        "is a key petition: it is verified on site before the complainant is answered",
                    ));
                }
                if self.state == S::Closed && *satisfied {
                    return Err(self.refuse(Reason::StateDoesNotAllow,
                        "is CLOSED; feedback on a closed petition is recorded only when the complainant is dissatisfied",
                    ));
                }
                if *told_at > now + TimeDelta::minutes(5) {
                    v.add("feedback_time", "is in the future");
                }
                v.max_chars("note", text, TEXT_MAX);
                p.feedback = Some(Feedback {
                    method: *method,
                    told_at: *told_at,
                    satisfied: *satisfied,
                    note: text.trim().to_string(),
                    by: actor.into(),
                    at: now,
                });
                if *satisfied {
                    next.state = S::Answered;
                } else {
                    // Back to work: the next reply is a new one.
                    p.reply = None;
                    p.verification = None;
                    p.closed = None;
                    next.state = S::Reopened;
                }
            }
            PetitionStep::Close { note: text } => {
                if self.state != S::Answered && !self.is_anonymous() {
                    return Err(self.refuse(
                        Reason::FeedbackRequired,
                        format!(
                            "is {}; the complainant's feedback is recorded before it is closed",
                            self.state.shown()
                        ),
                    ));
                }
                if self.is_key && self.state == S::Replied {
                    return Err(self.refuse(
                        Reason::SiteVisitRequired,
                        "is a key petition: it is verified on site before it is closed",
                    ));
                }
                v.max_chars("note", text, TEXT_MAX);
                p.closed = Some(Note {
                    text: text.trim().to_string(),
                    by: actor.into(),
                    at: now,
                });
                next.state = S::Closed;
            }
            PetitionStep::Merge { into } => {
                if *into == self.id {
                    v.add("into_id", "is this petition itself");
                }
                next.merged_into = Some(*into);
                next.state = S::Merged;
            }
            PetitionStep::SpotCheck { passed, note: text } => {
                if !self.is_key {
                    return Err(self.refuse(
                        Reason::NotAKeyPetition,
                        "is not a key petition; only key petitions are spot-checked",
                    ));
                }
                if let Some(done) = &self.progress.spot_check {
                    return Err(self.refuse(
                        Reason::AlreadySpotChecked,
                        format!("was spot-checked already, by {} at {}", done.by, done.at),
                    ));
                }
                if !passed {
                    v.required_text("note", text, TEXT_MAX);
                }
                p.spot_check = Some(SpotCheck {
                    passed: *passed,
                    note: text.trim().to_string(),
                    by: actor.into(),
                    at: now,
                });
            }
        }
        v.finish()?;
        next.updated_at = now;
        next.version += 1;
        Ok(next)
    }
}

/// One step in a petition's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_state: Option<PetitionState>,
    pub to_state: PetitionState,
    pub note: String,
}

impl HistoryEntry {
    /// The entry for `step`, taken from `before` to `after`.
    pub fn of(step: &PetitionStep, before: &Petition, after: &Petition, actor: &str) -> Self {
        let note = match step {
            PetitionStep::Accept { key, note } => {
                format!("{}{note}", if *key { "[key] " } else { "" })
            }
            PetitionStep::Decline { reason: t }
            | PetitionStep::SendBack { reason: t, .. }
            | PetitionStep::Reply { text: t, .. }
            | PetitionStep::VerifyOnSite { conclusion: t, .. }
            | PetitionStep::Close { note: t } => t.clone(),
            PetitionStep::Dispatch {
                unit_code,
                reply_due,
                note,
            } => joined(
                format!(
                    "to {unit_code}, reply by {}",
                    reply_due.map(|d| d.to_string()).unwrap_or_default()
                ),
                note,
            ),
            PetitionStep::RecordFeedback {
                method,
                satisfied,
                note,
                ..
            } => joined(
                format!(
                    "{method}: {}",
                    if *satisfied {
                        "satisfied"
                    } else {
                        "dissatisfied"
                    }
                ),
                note,
            ),
            PetitionStep::Merge { into } => format!("into {into}"),
            PetitionStep::SpotCheck { passed, note } => {
                joined(if *passed { "passed" } else { "failed" }.into(), note)
            }
        };
        HistoryEntry {
            at: after.updated_at,
            actor: actor.to_string(),
            action: step.action().to_string(),
            from_state: Some(before.state),
            to_state: after.state,
            note,
        }
    }
}

/// `head`, then `note` after a full stop when there is one.
fn joined(head: String, note: &str) -> String {
    match note.trim() {
        "" => head,
        n => format!("{head}. {n}"),
    }
}

/// A unit's petition figures over a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitFigures {
    pub unit_code: String,
    pub received: i64,
    pub declined: i64,
    pub open: i64,
    pub closed: i64,
    /// Replies that went (or are) late.
    pub reply_overdue: i64,
    pub satisfied: i64,
    pub dissatisfied: i64,
    /// Repeat complaints: petitions merged into another.
    pub repeats: i64,
    pub key: i64,
}

/// Why a new petition may repeat an open one.
#[derive(Debug, Clone, PartialEq)]
pub struct PossibleRepeat {
    pub petition_id: Uuid,
    pub same_enterprise: bool,
    /// Metres between the two places, when both have one.
    pub distance_m: Option<f64>,
}

/// Whether `other`, an open petition, may be the same complaint as
/// `new`: about the same enterprise, or within `max_distance_m`.
pub fn possible_repeat(
    new: &Petition,
    other: &Petition,
    max_distance_m: f64,
) -> Option<PossibleRepeat> {
    if other.id == new.id || !other.state.is_open() {
        return None;
    }
    let same_enterprise =
        new.intake.credit_code.is_some() && new.intake.credit_code == other.intake.credit_code;
    let distance_m = match (&new.intake.location, &other.intake.location) {
        (Some(a), Some(b)) => Some(a.to_wgs84().distance_m(&b.to_wgs84())),
        _ => None,
    };
    (same_enterprise || distance_m.is_some_and(|d| d <= max_distance_m)).then_some(PossibleRepeat {
        petition_id: other.id,
        same_enterprise,
        distance_m,
    })
}

/// Position after the last petition of a page (newest first, then id).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PetitionCursor {
    pub received_at: DateTime<Utc>,
    pub id: Uuid,
}

impl PetitionIntake {
    /// Digest of what was taken in, to tell a retry from a different
    /// petition under the same request id. The complainant is left out:
    /// a digest of a phone number is as good as the number.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("intake serialises");
        hex::encode(Sha256::digest(json))
    }
}

pub fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("petition {id}"))
}

/// Filters of a petition list.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PetitionFilter {
    pub units: Option<Vec<String>>,
    pub states: Vec<PetitionState>,
    pub campaign_id: Option<Uuid>,
    pub key_only: bool,
    pub reply_overdue: bool,
    /// Only petitions that were dispatched to a unit.
    pub dispatched_only: bool,
}

#[cfg(test)]
mod tests {
    //! Every step from every state of a petition (信访), for a named
    //! complainant and an ordinary petition, and the rules for key and
    //! anonymous ones.

    use chrono::TimeZone;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn petition(state: PetitionState) -> Petition {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        Petition {
            id: Uuid::nil(),
            intake: PetitionIntake {
                campaign_id: None,
                channel: Channel::Hotline,
                received_at: at,
                content: "河道发黑发臭".into(),
                category: Medium::Water,
                location: None,
                unit_code: "331102".into(),
                credit_code: None,
            },
            sealed_complainant: Some("sealed".into()),
            is_key: false,
            state,
            accept_due: day(4),
            reply_due: Some(day(30)),
            reply_overdue_since: None,
            merged_into: None,
            progress: Progress::default(),
            received_by: "officer".into(),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn steps() -> Vec<(&'static str, PetitionStep)> {
        let note = || "已核实".to_string();
        vec![
            (
                "accept",
                PetitionStep::Accept {
                    key: false,
                    note: note(),
                },
            ),
            ("decline", PetitionStep::Decline { reason: note() }),
            (
                "dispatch",
                PetitionStep::Dispatch {
                    unit_code: "331102".into(),
                    reply_due: Some(day(20)),
                    note: note(),
                },
            ),
            (
                "reply",
                PetitionStep::Reply {
                    text: note(),
                    evidence: vec![],
                },
            ),
            (
                "send back",
                PetitionStep::SendBack {
                    reason: note(),
                    reply_due: Some(day(25)),
                },
            ),
            (
                "feedback",
                PetitionStep::RecordFeedback {
                    method: FeedbackMethod::Phone,
                    told_at: Utc.with_ymd_and_hms(2026, 11, 3, 1, 0, 0).unwrap(),
                    satisfied: true,
                    note: String::new(),
                },
            ),
            ("close", PetitionStep::Close { note: note() }),
        ]
    }

    #[test]
    fn every_step_from_every_state() {
        use PetitionState::*;
        let states = [
            Received, Declined, Accepted, Dispatched, Replied, Verified, Answered, Reopened,
            Merged, Closed,
        ];
        // The state after each step from each state; None: refused.
        let table: &[(&str, &[(PetitionState, PetitionState)])] = &[
            ("accept", &[(Received, Accepted)]),
            ("decline", &[(Received, Declined)]),
            (
                "dispatch",
                &[(Accepted, Dispatched), (Reopened, Dispatched)],
            ),
            ("reply", &[(Dispatched, Replied)]),
            (
                "send back",
                &[(Replied, Dispatched), (Verified, Dispatched)],
            ),
            ("feedback", &[(Replied, Answered), (Verified, Answered)]),
            ("close", &[(Answered, Closed)]),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap();
        for (name, step) in steps() {
            let allowed = table.iter().find(|(n, _)| *n == name).unwrap().1;
            for from in states {
                let want = allowed.iter().find(|(f, _)| *f == from).map(|(_, to)| *to);
                match (petition(from).apply(&step, "officer", now, day(3)), want) {
                    (Ok(next), Some(to)) => assert_eq!(next.state, to, "{name} from {from:?}"),
                    (Err(Error::FailedPrecondition(r)), None) => {
                        assert!(
                            matches!(
                                r.reason,
                                Reason::StateDoesNotAllow | Reason::FeedbackRequired
                            ),
                            "{name} from {from:?}: {r:?}"
                        );
                        assert!(r.metadata.contains(&("state", from.shown())));
                    }
                    (got, want) => panic!("{name} from {from:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn which_steps_open_a_supervision_case_and_what_they_record() {
        use crate::domain::supervision::Cause;
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap();
        let feedback = |satisfied| PetitionStep::RecordFeedback {
            method: FeedbackMethod::Phone,
            told_at: now,
            satisfied,
            note: String::new(),
        };
        let spot = |passed| PetitionStep::SpotCheck {
            passed,
            note: "现场仍有异味".into(),
        };
        let mut closed_key = petition(PetitionState::Closed);
        closed_key.is_key = true;
        // (from, step, the cause of the case it opens, the state after)
        let table = [
            (
                petition(PetitionState::Replied),
                feedback(true),
                None,
                PetitionState::Answered,
            ),
            (
                petition(PetitionState::Replied),
                feedback(false),
                Some(Cause::Dissatisfied),
                PetitionState::Reopened,
            ),
            (
                petition(PetitionState::Closed),
                feedback(false),
                Some(Cause::Dissatisfied),
                PetitionState::Reopened,
            ),
            (closed_key.clone(), spot(true), None, PetitionState::Closed),
            (
                closed_key,
                spot(false),
                Some(Cause::SpotCheck),
                PetitionState::Closed,
            ),
        ];
        for (p, step, cause, state) in table {
            let out = p.take(&step, "officer", now, day(3)).unwrap();
            assert_eq!(out.escalation.map(|e| e.cause), cause, "{step:?}");
            assert_eq!(out.next.state, state, "{step:?}");
            assert_eq!(out.entry.to_state, state);
            assert_eq!(out.data["to_state"], serde_json::json!(state));
        }
    }

    #[test]
    fn a_dispatch_takes_the_petitions_unit_and_the_default_reply_date() {
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap();
        let p = petition(PetitionState::Accepted);
        let dispatch = |unit: &str, due| PetitionStep::Dispatch {
            unit_code: unit.into(),
            reply_due: due,
            note: String::new(),
        };
        // (unit sent, date sent, the unit and date it is dispatched with)
        let table = [
            ("", None, "331102", day(18)),
            ("  ", Some(day(20)), "331102", day(20)),
            ("331121", None, "331121", day(18)),
        ];
        for (unit, due, want_unit, want_due) in table {
            let step = p.with_defaults(dispatch(unit, due), day(3), 15);
            let out = p.take(&step, "officer", now, day(3)).unwrap();
            assert_eq!(out.next.intake.unit_code, want_unit, "{unit:?}");
            assert_eq!(out.next.reply_due, Some(want_due), "{unit:?} {due:?}");
            assert_eq!(out.data["dispatched_to"], want_unit);
            assert_eq!(out.data["reply_due"], want_due.to_string());
            assert!(out.escalation.is_none());
        }
    }

    #[test]
    fn key_and_anonymous_petitions_have_rules_of_their_own() {
        let now = Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap();
        let reason = |r: Result<Petition>| match r {
            Err(Error::FailedPrecondition(r)) => r.reason,
            other => panic!("{other:?}"),
        };
        let close = PetitionStep::Close {
            note: "办结".into(),
        };
        let feedback = PetitionStep::RecordFeedback {
            method: FeedbackMethod::Phone,
            told_at: now,
            satisfied: true,
            note: String::new(),
        };
        // A key petition is verified on site before the complainant is
        // answered, or, when anonymous, before it is closed.
        let mut key = petition(PetitionState::Replied);
        key.is_key = true;
        assert_eq!(
            reason(key.apply(&feedback, "o", now, day(3))),
            Reason::SiteVisitRequired
        );
        key.sealed_complainant = None;
        assert_eq!(
            reason(key.apply(&close, "o", now, day(3))),
            Reason::SiteVisitRequired
        );
        let mut anonymous = petition(PetitionState::Replied);
        anonymous.sealed_complainant = None;
        assert_eq!(
            reason(anonymous.apply(&feedback, "o", now, day(3))),
            Reason::AnonymousPetition
        );
        // Nobody to tell: an anonymous petition closes after the reply.
        assert_eq!(
            anonymous.apply(&close, "o", now, day(3)).unwrap().state,
            PetitionState::Closed
        );
        let spot = PetitionStep::SpotCheck {
            passed: true,
            note: String::new(),
        };
        assert_eq!(
            reason(petition(PetitionState::Closed).apply(&spot, "s", now, day(3))),
            Reason::NotAKeyPetition
        );
    }
}
