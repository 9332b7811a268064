//! Changes of state, as the event feed and the audit log record them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::{AuditRecord, digest_of};

/// One change of state: what it was, to what, by whom. The event feed
/// shows it as kind `subject_kind.action`; the audit log chains its
/// digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_kind: &'static str,
    pub subject_id: Uuid,
    /// The unit whose people may see the event.
    pub unit_code: String,
    /// The step or new state as stored; never personal data.
    pub data: serde_json::Value,
}

impl Change {
    pub fn event_kind(&self) -> String {
        format!("{}.{}", self.subject_kind, self.action)
    }

    pub fn audit_record(&self) -> AuditRecord {
        AuditRecord {
            at: self.at,
            actor: self.actor.clone(),
            action: self.event_kind(),
            subject_kind: self.subject_kind.to_string(),
            subject_id: self.subject_id.to_string(),
            digest: digest_of(&self.data),
        }
    }
}

/// An event of the feed, numbered in commit order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub unit_code: String,
    pub data: serde_json::Value,
}

impl Event {
    /// Whether someone of `role` in the event's unit is shown it: a
    /// unit's liaison learns of a petition when it is dispatched to the
    /// unit, not while the petition group is still weighing it.
    pub fn shown_to(&self, role: super::access::Role) -> bool {
        role != super::access::Role::UnitLiaison
            || !matches!(
                self.kind.as_str(),
                "petition.received" | "petition.accepted" | "petition.declined" | "petition.merged"
            )
    }
}
