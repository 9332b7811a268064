//! SQL of webhooks and their deliveries. A webhook is claimed by one
//! process at a time with a lease, like a job; its cursor moves only past
//! delivered events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Db, Store, Ts, on_pool};
use crate::domain::webhook::{Delivery, Webhook};
use crate::error::Result;

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    url: String,
    event_kinds: Json<Vec<String>>,
    secret: String,
    delivered_through: i64,
    failures: i32,
    next_attempt_at: Ts,
    created_by: String,
    created_at: Ts,
}

const COLUMNS: &str = "id, url, event_kinds, secret, delivered_through, failures, next_attempt_at, created_by, created_at";

impl WebhookRow {
    fn into_parts(self) -> (Webhook, String) {
        (
            Webhook {
                id: self.id,
                url: self.url,
                event_kinds: self.event_kinds.0,
                delivered_through: self.delivered_through,
                failures: self.failures,
                next_attempt_at: self.next_attempt_at.0,
                created_by: self.created_by,
                created_at: self.created_at.0,
            },
            self.secret,
        )
    }
}

fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl Store {
    /// Registers a webhook that receives the events committed from now on.
    pub async fn insert_webhook(&self, w: &Webhook, secret: &str) -> Result<Webhook> {
        let sql = format!(
            "INSERT INTO webhooks ({COLUMNS})
             VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(id), 0) FROM events), 0, $5, $6, $5)
             RETURNING {COLUMNS}"
        );
        let row: WebhookRow = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(w.id)
                .bind(&w.url)
                .bind(Json(&w.event_kinds))
                .bind(secret)
                .bind(Ts(w.created_at))
                .bind(&w.created_by)
                .fetch_one(p)
                .await
        })?;
        Ok(row.into_parts().0)
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks ORDER BY created_at, id");
        let rows: Vec<WebhookRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(|r| r.into_parts().0).collect())
    }

    pub async fn delete_webhook(&self, id: Uuid) -> Result<bool> {
        let n = on_pool!(self, |p| {
            sqlx::query("DELETE FROM webhooks WHERE id = $1")
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    /// Claims one webhook that is due and has events it has not had yet,
    /// with its secret, for `lease`.
    pub async fn claim_webhook(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<(Webhook, String)>> {
        const DUE: &str = "SELECT id FROM webhooks
             WHERE next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
               AND delivered_through < (SELECT COALESCE(MAX(id), 0) FROM events)
             ORDER BY next_attempt_at LIMIT 1";
        // Every process polls each second: a read first, so that an idle
        // feed takes no write lock (SQLite has one writer for everything).
        let due: Option<Uuid> = on_pool!(self, |p| {
            sqlx::query_scalar(DUE)
                .bind(Ts(now))
                .fetch_optional(p)
                .await
        })?;
        if due.is_none() {
            return Ok(None);
        }
        let skip_locked = match &self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE webhooks SET locked_until = $2 WHERE id IN ({DUE}{skip_locked})
             RETURNING {COLUMNS}"
        );
        let row: Option<WebhookRow> = on_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(Ts(now))
                .bind(Ts(now + delta(lease)))
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(WebhookRow::into_parts))
    }

    /// Records an attempt; on success moves the cursor past the event and
    /// clears the failures, on failure counts it and sets the next attempt.
    pub async fn record_delivery(
        &self,
        webhook: Uuid,
        d: &Delivery,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                if d.delivered {
                    sqlx::query(
                        "UPDATE webhooks SET delivered_through = $2, failures = 0, next_attempt_at = $3
                         WHERE id = $1 AND delivered_through < $2",
                    )
                    .bind(webhook)
                    .bind(d.event_id)
                    .bind(Ts(next_attempt_at))
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "UPDATE webhooks SET failures = failures + 1, next_attempt_at = $2,
                            locked_until = NULL
                         WHERE id = $1",
                    )
                    .bind(webhook)
                    .bind(Ts(next_attempt_at))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, event_id, attempt, at, delivered, status_code, error)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(webhook)
                .bind(d.event_id)
                .bind(d.attempt)
                .bind(Ts(d.at))
                .bind(d.delivered)
                .bind(d.status_code)
                .bind(&d.error)
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Moves the cursor past events the webhook does not take.
    pub async fn skip_to(&self, webhook: Uuid, event: i64) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "UPDATE webhooks SET delivered_through = $2 WHERE id = $1 AND delivered_through < $2",
            )
            .bind(webhook)
            .bind(event)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Ends this process's claim on a webhook.
    pub async fn release_webhook(&self, webhook: Uuid) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query("UPDATE webhooks SET locked_until = NULL WHERE id = $1")
                .bind(webhook)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The latest delivery attempts of a webhook, newest first.
    pub async fn webhook_deliveries(&self, webhook: Uuid, limit: i64) -> Result<Vec<Delivery>> {
        let rows: Vec<(i64, Ts, i32, bool, i32, String)> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT event_id, at, attempt, delivered, status_code, error FROM webhook_deliveries
                 WHERE webhook_id = $1 ORDER BY at DESC, event_id DESC, attempt DESC LIMIT $2",
            )
            .bind(webhook)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(event_id, at, attempt, delivered, status_code, error)| Delivery {
                    event_id,
                    at: at.0,
                    attempt,
                    delivered,
                    status_code,
                    error,
                },
            )
            .collect())
    }
}
