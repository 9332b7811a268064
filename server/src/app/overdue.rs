//! The overdue scan: an item past its deadline and not signed off is
//! marked overdue and gets a supervision case, once, however many server
//! processes scan at the same time (the store's conditional update and
//! the one-case-per-source constraint decide who does it).

use chrono::NaiveDate;
use uuid::Uuid;

use super::App;
use crate::domain::event::Change;
use crate::domain::rectification::Action;
use crate::domain::supervision::{Cause, NewCase, SourceKind};
use crate::error::Result;
use crate::store::RECTIFICATION_ITEM;

/// Who the scan acts as in the audit log and the events.
pub const SCANNER: &str = "system:overdue-scan";

impl App {
    /// Marks the items overdue on `today` (China's date) that no scan has
    /// marked yet, opening a supervision case for each. Returns how many
    /// cases this call opened.
    pub async fn mark_overdue_items(&self, today: NaiveDate) -> Result<usize> {
        let mut opened = 0;
        loop {
            let due = self.store.unmarked_overdue_items(today, 100).await?;
            if due.is_empty() {
                return Ok(opened);
            }
            for item in due {
                let now = self.now();
                let reason = format!(
                    "rectification item overdue: due {}, still {}",
                    item.due_date,
                    item.state.shown()
                );
                let marked = Change {
                    at: now,
                    actor: SCANNER.into(),
                    action: Action::MarkOverdue.as_str().into(),
                    subject_kind: RECTIFICATION_ITEM,
                    subject_id: item.id,
                    unit_code: item.unit_code.clone(),
                    data: serde_json::json!({ "due_date": item.due_date, "state": item.state }),
                };
                let case = NewCase {
                    id: Uuid::now_v7(),
                    source_kind: SourceKind::RectificationItem,
                    source_id: item.id,
                    cause: Cause::Overdue,
                    unit_code: item.unit_code.clone(),
                    reason,
                    opened_by: SCANNER.into(),
                    opened_at: now,
                };
                if self.store.mark_overdue(&case, &marked).await? {
                    tracing::info!(item = %item.id, unit = %item.unit_code, case = %case.id, "item overdue; supervision case opened");
                    opened += 1;
                }
            }
        }
    }
}
