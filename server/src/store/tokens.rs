//! SQL of sessions, refresh tokens, minted tokens and revocations.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Store, Ts, on_pool};
use crate::error::Result;

/// What presenting a refresh token found.
#[derive(Debug, PartialEq)]
pub enum RefreshUse {
    /// No such token, or it expired, or its session was revoked.
    Refused,
    /// The token had been used before: a sign that it was copied.
    Reused { session_id: Uuid, username: String },
    /// First use; it is now spent.
    Fresh { session_id: Uuid, username: String },
}

impl Store {
    pub async fn create_session(&self, id: Uuid, username: &str, now: DateTime<Utc>) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query("INSERT INTO sessions (id, username, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(username)
                .bind(Ts(now))
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn insert_refresh_token(
        &self,
        token_hash: &str,
        session_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(session_id)
            .bind(Ts(now))
            .bind(Ts(expires_at))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Spends a refresh token. The conditional update makes two concurrent
    /// uses of one token end with exactly one Fresh.
    pub async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshUse> {
        #[derive(sqlx::FromRow)]
        struct Presented {
            session_id: Uuid,
            username: String,
            expires_at: Ts,
            used_at: Option<Ts>,
            revoked_at: Option<Ts>,
        }
        let row: Option<Presented> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT r.session_id, s.username, r.expires_at, r.used_at, s.revoked_at
                 FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
                 WHERE r.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(p)
            .await
        })?;
        let Some(Presented {
            session_id,
            username,
            expires_at,
            used_at,
            revoked_at,
        }) = row
        else {
            return Ok(RefreshUse::Refused);
        };
        if revoked_at.is_some() || expires_at.0 <= now {
            return Ok(RefreshUse::Refused);
        }
        if used_at.is_some() {
            return Ok(RefreshUse::Reused {
                session_id,
                username,
            });
        }
        let r = on_pool!(self, |p| {
            sqlx::query(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(token_hash)
            .bind(Ts(now))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(if r == 1 {
            RefreshUse::Fresh {
                session_id,
                username,
            }
        } else {
            RefreshUse::Reused {
                session_id,
                username,
            }
        })
    }

    /// The session a refresh token belongs to, if the token is known.
    pub async fn refresh_token_session(&self, token_hash: &str) -> Result<Option<(Uuid, String)>> {
        Ok(on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT r.session_id, s.username FROM refresh_tokens r
                 JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(p)
            .await
        })?)
    }

    pub async fn revoke_session(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2, revoked_reason = $3
                 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(Ts(now))
            .bind(reason)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Ends every session of a user (disabled account, changed password).
    pub async fn revoke_user_sessions(
        &self,
        username: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2, revoked_reason = $3
                 WHERE username = $1 AND revoked_at IS NULL",
            )
            .bind(username)
            .bind(Ts(now))
            .bind(reason)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn revoke_token_id(
        &self,
        jti: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO revoked_tokens (jti, revoked_at, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(Ts(now))
            .bind(expires_at.map(Ts))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Whether a token must be refused although its signature is good: its
    /// id was revoked, its session ended, or its local user was disabled.
    pub async fn token_revoked(
        &self,
        jti: &str,
        session_id: Option<Uuid>,
        local_user: Option<&str>,
    ) -> Result<bool> {
        let (revoked,): (bool,) = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)
                     OR EXISTS (SELECT 1 FROM sessions WHERE id = $2 AND revoked_at IS NOT NULL)
                     OR EXISTS (SELECT 1 FROM users WHERE username = $3 AND disabled)",
            )
            .bind(jti)
            .bind(session_id)
            .bind(local_user)
            .fetch_one(p)
            .await
        })?;
        Ok(revoked)
    }

    /// Records a token minted for an app or service account.
    pub async fn insert_issued_token(
        &self,
        jti: &str,
        subject: &str,
        role: &str,
        unit_codes: &[String],
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO issued_tokens (jti, subject, role, unit_codes, issued_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(jti)
            .bind(subject)
            .bind(role)
            .bind(Json(unit_codes))
            .bind(Ts(issued_at))
            .bind(Ts(expires_at))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// When a minted token expires, if it was minted here.
    pub async fn issued_token_expiry(&self, jti: &str) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(Ts,)> = on_pool!(self, |p| {
            sqlx::query_as("SELECT expires_at FROM issued_tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(|(t,)| t.0))
    }
}
