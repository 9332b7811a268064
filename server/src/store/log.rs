//! SQL of the audit log and the event feed. Both are appended inside the
//! transaction of the change they record, numbered under one lock held to
//! commit: on PostgreSQL a transaction-level advisory lock, on SQLite the
//! database's single writer. So numbers commit in order, a feed reader
//! resuming after event N misses nothing, and each audit entry chains to
//! the one committed before it.

use sqlx::types::Json;
use uuid::Uuid;

use super::{Store, Ts, on_pool};
use crate::domain::audit::{AuditEntry, AuditRecord};
use crate::domain::event::Event;
use crate::error::Result;

/// Key of the advisory lock that orders the log on PostgreSQL.
pub const LOG_LOCK: i64 = 0x6475_6368_615f_6c6f; // "ducha_lo"

/// Appends `$change` (a `Change`) to the audit log and the event feed
/// within transaction `$tx`. On SQLite the transaction must already have
/// written, so that it holds the write lock.
macro_rules! append_change {
    ($tx:expr, $postgres:expr, $change:expr) => {{
        let change: &$crate::domain::event::Change = $change;
        if $postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind($crate::store::log::LOG_LOCK)
                .execute(&mut *$tx)
                .await?;
        }
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *$tx)
                .await?;
        let entry = $crate::domain::audit::AuditEntry::after(
            last.as_ref().map(|(s, h)| (*s, h.as_str())),
            change.audit_record(),
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, subject_kind, subject_id, digest, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(entry.seq)
        .bind($crate::store::Ts(entry.record.at))
        .bind(&entry.record.actor)
        .bind(&entry.record.action)
        .bind(&entry.record.subject_kind)
        .bind(&entry.record.subject_id)
        .bind(&entry.record.digest)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *$tx)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM events")
            .fetch_one(&mut *$tx)
            .await?;
        sqlx::query(
            "INSERT INTO events (id, at, kind, subject_kind, subject_id, unit_code, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind($crate::store::Ts(change.at))
        .bind(change.event_kind())
        .bind(change.subject_kind)
        .bind(change.subject_id)
        .bind(&change.unit_code)
        .bind(sqlx::types::Json(&change.data))
        .execute(&mut *$tx)
        .await?;
        id
    }};
}
pub(crate) use append_change;

#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    at: Ts,
    actor: String,
    action: String,
    subject_kind: String,
    subject_id: String,
    digest: String,
    prev_hash: String,
    hash: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at: Ts,
    kind: String,
    subject_kind: String,
    subject_id: Uuid,
    unit_code: String,
    data: Json<serde_json::Value>,
}

impl Store {
    /// Audit entries after `after`, in order, at most `limit`.
    pub async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT seq, at, actor, action, subject_kind, subject_id, digest, prev_hash, hash
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                record: AuditRecord {
                    at: r.at.0,
                    actor: r.actor,
                    action: r.action,
                    subject_kind: r.subject_kind,
                    subject_id: r.subject_id,
                    digest: r.digest,
                },
                prev_hash: r.prev_hash,
                hash: r.hash,
            })
            .collect())
    }

    /// Events after `after` in `units` (None: all), in order, at most
    /// `limit`.
    pub async fn events_after(
        &self,
        after: i64,
        units: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<Event>> {
        let rows: Vec<EventRow> = on_pool!(self, |p| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, at, kind, subject_kind, subject_id, unit_code, data FROM events WHERE id > ",
            );
            q.push_bind(after);
            super::push_unit_filter!(q, units);
            q.push(" ORDER BY id LIMIT ");
            q.push_bind(limit);
            q.build_query_as().fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| Event {
                id: r.id,
                at: r.at.0,
                kind: r.kind,
                subject_kind: r.subject_kind,
                subject_id: r.subject_id,
                unit_code: r.unit_code,
                data: r.data.0,
            })
            .collect())
    }

    pub(super) fn is_postgres(&self) -> bool {
        matches!(self.db, super::Db::Postgres(_))
    }
}
