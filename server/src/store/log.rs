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

/// What the body of `commit_change!` did.
pub(crate) enum Wrote<T> {
    /// Nothing (a stale version, a taken id, a refusal found under the
    /// lock): the transaction rolls back and `T` is the answer.
    Nothing(T),
    /// The record: these changes are appended to the audit log and the
    /// event feed, the transaction commits, and `T` is the answer.
    Changes(T, Vec<crate::domain::event::Change>),
}

impl Wrote<bool> {
    /// For a single-row write: `true` with `change` when it wrote the row,
    /// `false` and nothing when it did not (a stale version, say).
    pub(crate) fn if_written(rows: u64, change: &crate::domain::event::Change) -> Self {
        if rows == 1 {
            Wrote::Changes(true, vec![change.clone()])
        } else {
            Wrote::Nothing(false)
        }
    }
}

/// The one shape of a write that records a change. Begins a transaction on
/// `$store`'s pool, runs `$body` (an expression that may `.await`, use `?`
/// on database errors and `return` early, evaluating to
/// `Result<Wrote<T>, sqlx::Error>`), appends the changes it names and
/// commits, all within the store's timeout; then, and only when something
/// committed, wakes this process's event watchers. Evaluates to
/// `Result<T, sqlx::Error>`, so that a caller can tell a unique violation
/// from other errors.
macro_rules! commit_change {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let store: &$crate::store::Store = $store;
        let postgres = store.is_postgres();
        let done: Result<(_, bool), sqlx::Error> = $crate::store::on_pool!(store, |pool| {
            async {
                let mut $tx = pool.begin().await?;
                let wrote: Result<$crate::store::log::Wrote<_>, sqlx::Error> =
                    async { $body }.await;
                match wrote? {
                    $crate::store::log::Wrote::Nothing(answer) => {
                        $tx.rollback().await?;
                        Ok((answer, false))
                    }
                    $crate::store::log::Wrote::Changes(answer, changes) => {
                        for change in &changes {
                            $crate::store::log::append_change!($tx, postgres, change);
                        }
                        $tx.commit().await?;
                        Ok((answer, !changes.is_empty()))
                    }
                }
            }
            .await
        });
        done.map(|(answer, committed)| {
            if committed {
                store.appended.notify_waiters();
            }
            answer
        })
    }};
}
pub(crate) use commit_change;

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
