//! Supervision cases (督办): opened by hand or when something goes overdue.
//! Here only their opening; the supervision workflow builds on it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::text_enum::text_enum;

/// The kind of subject of supervision case events.
pub const SUPERVISION_CASE: &str = "supervision_case";

text_enum! {
    pub enum CaseState {
        Open = "open",
        NoticeIssued = "notice_issued",
        Responded = "responded",
        Closed = "closed",
    }
}

/// A case about to be opened for a source (kind and id); one per source.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub id: Uuid,
    pub source_kind: &'static str,
    pub source_id: Uuid,
    pub unit_code: String,
    pub reason: String,
    pub state: CaseState,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
}
