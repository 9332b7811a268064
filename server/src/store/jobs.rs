//! SQL of the durable job queue: claimed with a lease, at least once, by
//! whichever server process gets there first.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Db, Store, Ts};
use crate::error::Result;

/// A job this process holds until its lease runs out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub subject: String,
    /// Counts this claim; also the token that finishing it must present.
    pub attempts: i32,
}

/// Queues a job ($1 kind, $2 subject, $3 now) unless one is queued already.
pub(super) const ENQUEUE: &str = "INSERT INTO jobs (kind, subject, attempts, run_after, created_at)
     VALUES ($1, $2, 0, $3, $3) ON CONFLICT (kind, subject) DO NOTHING";

/// Removes a finished job ($1 kind, $2 subject, $3 attempts), if this
/// claim still holds it.
pub(super) const FINISH: &str =
    "DELETE FROM jobs WHERE kind = $1 AND subject = $2 AND attempts = $3";

fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl Store {
    /// Claims up to `limit` due jobs of `kind` for `lease`. PostgreSQL skips
    /// rows other processes are claiming; SQLite has one writer at a time.
    pub async fn claim_jobs(
        &self,
        kind: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        const PICK: &str = "SELECT kind, subject FROM jobs
             WHERE kind = $1 AND run_after <= $2 AND (locked_until IS NULL OR locked_until <= $2)
             ORDER BY run_after LIMIT $4";
        // SQLite has one writer at a time and no row locks to skip.
        let skip_locked = match &self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET locked_until = $3, attempts = attempts + 1
             WHERE (kind, subject) IN ({PICK}{skip_locked}) RETURNING subject, attempts"
        );
        let jobs = super::on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(kind)
                .bind(Ts(now))
                .bind(Ts(now + delta(lease)))
                .bind(limit)
                .fetch_all(p)
                .await
        })?;
        Ok(jobs)
    }

    /// Puts a claimed job back to run again at `run_after`, with the reason.
    pub async fn retry_job(
        &self,
        kind: &str,
        job: &ClaimedJob,
        run_after: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        super::on_pool!(self, |p| {
            sqlx::query(
                "UPDATE jobs SET locked_until = NULL, run_after = $4, last_error = $5
                 WHERE kind = $1 AND subject = $2 AND attempts = $3",
            )
            .bind(kind)
            .bind(&job.subject)
            .bind(job.attempts)
            .bind(Ts(run_after))
            .bind(error)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
