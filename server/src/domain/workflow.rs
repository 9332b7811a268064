//! What a step on a record does, as one value: the domain decides it, the
//! use case adds who and when, the store commits it in one transaction.

use serde_json::Value;

use super::text_enum::text_enum;

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

text_enum! {
    /// Why a supervision case is opened; a source has at most one case
    /// open per cause.
    pub enum Cause {
        /// Asked for by the patrol or petition group.
        Request = "request",
        /// An item or a petition's reply went overdue.
        Overdue = "overdue",
        /// A complainant was not satisfied with the answer.
        Dissatisfied = "dissatisfied",
        /// A supervisor's spot check of a closed key petition failed.
        SpotCheck = "spot_check",
    }
}
