//! The overdue scan, one for everything that can lapse: a record past its
//! deadline is marked and gets a supervision case, once, however many
//! server processes scan at the same time (the store's conditional update
//! and the one-case-per-source constraint decide who does it). `SCANNED`
//! lists what it looks at; a new deadline is added there.

use chrono::NaiveDate;
use uuid::Uuid;

use super::App;
use crate::domain::event::Change;
use crate::domain::petition::HistoryEntry;
use crate::domain::petition::PETITION;
use crate::domain::rectification::Action;
use crate::domain::supervision::{Cause, NewCase, SourceKind};
use crate::error::Result;
use crate::store::RECTIFICATION_ITEM;

/// Who the scan acts as in the audit log and the events.
pub const SCANNER: &str = "system:overdue-scan";

/// A deadline the scan watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    /// A rectification item not signed off by its due date.
    ItemDeadline,
    /// A dispatched petition not replied to by its reply date.
    PetitionReply,
}

/// What the scan looks at, in order.
pub const SCANNED: &[Lapse] = &[Lapse::ItemDeadline, Lapse::PetitionReply];

/// Records marked in one pass of a batch.
const BATCH: i64 = 100;

impl App {
    /// One pass of the scan on `today` (China's date): for each lapse in
    /// `SCANNED`, how many cases this call opened.
    pub async fn scan_overdue(&self, today: NaiveDate) -> Vec<(Lapse, Result<usize>)> {
        let mut out = Vec::with_capacity(SCANNED.len());
        for &lapse in SCANNED {
            let opened = match lapse {
                Lapse::ItemDeadline => self.mark_overdue_items(today).await,
                Lapse::PetitionReply => self.mark_overdue_petitions(today).await,
            };
            out.push((lapse, opened));
        }
        out
    }

    /// Marks the items overdue on `today` that no scan has marked yet,
    /// opening a supervision case for each. Returns how many cases this
    /// call opened.
    pub async fn mark_overdue_items(&self, today: NaiveDate) -> Result<usize> {
        let mut opened = 0;
        loop {
            let due = self.store.unmarked_overdue_items(today, BATCH).await?;
            if due.is_empty() {
                return Ok(opened);
            }
            for item in due {
                let now = self.now();
                let marked = Change {
                    at: now,
                    actor: SCANNER.into(),
                    action: Action::MarkOverdue.as_str().into(),
                    subject_kind: RECTIFICATION_ITEM,
                    subject_id: item.id,
                    unit_code: item.unit_code.clone(),
                    data: serde_json::json!({ "due_date": item.due_date, "state": item.state }),
                };
                let case = overdue_case(
                    SourceKind::RectificationItem,
                    item.id,
                    &item.unit_code,
                    format!(
                        "rectification item overdue: due {}, still {}",
                        item.due_date,
                        item.state.shown()
                    ),
                    now,
                );
                if self.store.mark_overdue(&case, &marked).await? {
                    tracing::info!(item = %item.id, unit = %item.unit_code, case = %case.id, "item overdue; supervision case opened");
                    opened += 1;
                }
            }
        }
    }

    /// Marks dispatched petitions whose reply is late on `today`, opening
    /// a supervision case for each, once. Returns how many cases this call
    /// opened.
    pub async fn mark_overdue_petitions(&self, today: NaiveDate) -> Result<usize> {
        let mut opened = 0;
        loop {
            let due = self.store.unmarked_overdue_petitions(today, BATCH).await?;
            if due.is_empty() {
                return Ok(opened);
            }
            for p in due {
                let now = self.now();
                let reply_due = p.reply_due.unwrap_or(today);
                let marked = Change {
                    at: now,
                    actor: SCANNER.into(),
                    action: "reply_overdue".into(),
                    subject_kind: PETITION,
                    subject_id: p.id,
                    unit_code: p.intake.unit_code.clone(),
                    data: serde_json::json!({ "reply_due": reply_due }),
                };
                let entry = HistoryEntry {
                    at: now,
                    actor: SCANNER.into(),
                    action: "reply_overdue".into(),
                    from_state: Some(p.state),
                    to_state: p.state,
                    note: format!("no reply by {reply_due}"),
                };
                let case = overdue_case(
                    SourceKind::Petition,
                    p.id,
                    &p.intake.unit_code,
                    format!("reply to petition overdue: due {reply_due}"),
                    now,
                );
                if self
                    .store
                    .mark_reply_overdue(&case, &entry, &marked)
                    .await?
                {
                    tracing::info!(petition = %p.id, unit = %p.intake.unit_code, case = %case.id, "petition reply overdue; supervision case opened");
                    opened += 1;
                }
            }
        }
    }
}

fn overdue_case(
    source_kind: SourceKind,
    source_id: Uuid,
    unit_code: &str,
    reason: String,
    now: chrono::DateTime<chrono::Utc>,
) -> NewCase {
    NewCase {
        id: Uuid::now_v7(),
        source_kind,
        source_id,
        cause: Cause::Overdue,
        unit_code: unit_code.to_string(),
        reason,
        opened_by: SCANNER.into(),
        opened_at: now,
    }
}
