//! What a step on a record does, as one value: the domain decides it, the
//! use case adds who and when, the store commits it in one transaction.

use serde_json::Value;

use super::supervision::Cause;

/// The outcome of a step: the record after it, the entry its history
/// gets, what the event feed and the audit log say happened, and the
/// supervision case it opens, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<R, H> {
    pub next: R,
    pub entry: H,
    /// The event's data, beyond who, when and which record.
    pub data: Value,
    pub escalation: Option<Escalation>,
}

/// A supervision case a step opens, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub cause: Cause,
    pub reason: String,
}
