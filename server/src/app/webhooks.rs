//! Webhooks: registered by admins, fed the event feed in order, each
//! delivery signed with HMAC-SHA256 over its body and retried with a
//! doubling delay until the receiver takes it.

use std::time::Duration;

use aws_lc_rs::hmac;
use rand::RngCore;
use uuid::Uuid;

use super::App;
use crate::domain::access::{Caller, Role};
use crate::domain::event::Event;
use crate::domain::webhook::{self, Delivery, Webhook, kind_matches};
use crate::error::{Error, Result};

const ADMIN: &[Role] = &[Role::Admin];
/// How long one process holds a webhook while delivering to it.
const LEASE: Duration = Duration::from_secs(300);
/// Events delivered per claim, so that the lease is never outrun.
const BATCH: i64 = 20;
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The header value that signs `body` with `secret`: `sha256=<hex>`.
fn signature(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    format!("sha256={}", hex::encode(hmac::sign(&key, body)))
}

/// The JSON body a webhook receives for `e`.
fn body(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": e.id,
        "time": e.at,
        "kind": e.kind,
        "subject_kind": e.subject_kind,
        "subject_id": e.subject_id,
        "unit_code": e.unit_code,
        "data": e.data,
    }))
    .expect("events serialise")
}

impl App {
    /// Registers a webhook; returns it with its signing secret, which is
    /// shown only this once.
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        url: &str,
        kinds: Vec<String>,
    ) -> Result<(Webhook, String)> {
        caller.require(ADMIN)?;
        let url = url.trim();
        webhook::validate(url, &kinds)?;
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let secret = hex::encode(raw);
        let now = self.now();
        let w = Webhook {
            id: Uuid::now_v7(),
            url: url.to_string(),
            event_kinds: kinds.iter().map(|k| k.trim().to_string()).collect(),
            delivered_through: 0,
            failures: 0,
            next_attempt_at: now,
            created_by: caller.subject.clone(),
            created_at: now,
        };
        let stored = self.store.insert_webhook(&w, &secret).await?;
        tracing::info!(actor = %caller.subject, id = %w.id, url = %w.url, "webhook registered");
        Ok((stored, secret))
    }

    pub async fn list_webhooks(&self, caller: &Caller) -> Result<Vec<Webhook>> {
        caller.require(ADMIN)?;
        self.store.list_webhooks().await
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(ADMIN)?;
        let id = crate::domain::id::required("id", id)?;
        if !self.store.delete_webhook(id).await? {
            return Err(Error::NotFound(format!("webhook {id}")));
        }
        tracing::info!(actor = %caller.subject, %id, "webhook deleted");
        Ok(())
    }

    pub async fn webhook_deliveries(
        &self,
        caller: &Caller,
        id: &str,
        page_size: i32,
    ) -> Result<Vec<Delivery>> {
        caller.require(ADMIN)?;
        let id = crate::domain::id::required("webhook_id", id)?;
        let limit = crate::domain::page::page_size(page_size)?;
        self.store.webhook_deliveries(id, limit as i64).await
    }

    /// Claims one webhook with events waiting and delivers them in order
    /// until one fails or none is left. Returns how many were delivered.
    pub async fn deliver_webhooks(&self) -> Result<usize> {
        let Some((hook, secret)) = self.store.claim_webhook(self.now(), LEASE).await? else {
            return Ok(0);
        };
        let outcome = self.deliver_to(&hook, &secret).await;
        // A failure already released the claim with its backoff.
        self.store.release_webhook(hook.id).await?;
        outcome
    }

    async fn deliver_to(&self, hook: &Webhook, secret: &str) -> Result<usize> {
        let events = self
            .store
            .events_after(hook.delivered_through, None, BATCH)
            .await?;
        let mut delivered = 0;
        for e in events {
            if !kind_matches(&hook.event_kinds, &e.kind) {
                self.store.skip_to(hook.id, e.id).await?;
                continue;
            }
            let body = body(&e);
            let sent = self
                .webhook_client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("x-ducha-event", &e.kind)
                .header("x-ducha-event-id", e.id.to_string())
                .header("x-ducha-signature", signature(secret, &body))
                .body(body)
                .timeout(TIMEOUT)
                .send()
                .await;
            let (ok, status, error) = match sent {
                Ok(r) if r.status().is_success() => {
                    (true, r.status().as_u16() as i32, String::new())
                }
                Ok(r) => (
                    false,
                    r.status().as_u16() as i32,
                    format!("answered {}", r.status()),
                ),
                Err(err) => (false, 0, err.to_string()),
            };
            let now = self.now();
            let failures = if ok { 0 } else { hook.failures + 1 };
            let next = now
                + chrono::TimeDelta::from_std(webhook::backoff(failures, self.jobs.retry_delay))
                    .unwrap_or(chrono::TimeDelta::MAX);
            let attempt = Delivery {
                event_id: e.id,
                at: now,
                attempt: hook.failures + 1,
                delivered: ok,
                status_code: status,
                error,
            };
            self.store
                .record_delivery(hook.id, &attempt, if ok { now } else { next })
                .await?;
            if !ok {
                tracing::warn!(webhook = %hook.id, event = e.id, status, error = %attempt.error, "webhook delivery failed; will retry");
                return Ok(delivered);
            }
            delivered += 1;
        }
        Ok(delivered)
    }
}
