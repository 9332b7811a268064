//! SQL of phones' attestation keys.

use chrono::{DateTime, Utc};

use super::{Store, Ts, on_pool};
use crate::error::Result;

impl Store {
    /// Registers (or replaces) a device key of a user.
    pub async fn put_device(
        &self,
        username: &str,
        device_id: &str,
        key: &[u8],
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO devices (username, device_id, public_key, registered_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (username, device_id)
                 DO UPDATE SET public_key = excluded.public_key, registered_at = excluded.registered_at",
            )
            .bind(username)
            .bind(device_id)
            .bind(key)
            .bind(Ts(at))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn device_key(&self, username: &str, device_id: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = on_pool!(self, |p| {
            sqlx::query_as("SELECT public_key FROM devices WHERE username = $1 AND device_id = $2")
                .bind(username)
                .bind(device_id)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(|(k,)| k))
    }
}
