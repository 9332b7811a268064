//! SQL of local accounts and failed-login counters.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{Store, Ts, is_unique_violation, on_pool};
use crate::error::{Error, Result};

/// A local account as stored.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub unit_codes: Vec<String>,
    pub disabled: bool,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    username: String,
    password_hash: String,
    role: String,
    unit_codes: Json<Vec<String>>,
    disabled: bool,
}

impl Store {
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: &str,
        unit_codes: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let res = on_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO users (username, password_hash, role, unit_codes, disabled, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, FALSE, $5, $5)",
            )
            .bind(username)
            .bind(password_hash)
            .bind(role)
            .bind(Json(unit_codes))
            .bind(Ts(now))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        });
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists(format!(
                "user {username} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_user(&self, username: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, |p| {
            sqlx::query_as(
                "SELECT username, password_hash, role, unit_codes, disabled FROM users WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(p)
            .await
        })?;
        Ok(row.map(|r| User {
            username: r.username,
            password_hash: r.password_hash,
            role: r.role,
            unit_codes: r.unit_codes.0,
            disabled: r.disabled,
        }))
    }

    /// Returns false when there is no such user.
    pub async fn set_password(
        &self,
        username: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let r = on_pool!(self, |p| {
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE username = $1")
                .bind(username)
                .bind(hash)
                .bind(Ts(now))
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(r == 1)
    }

    /// Returns false when there is no such user.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let r = on_pool!(self, |p| {
            sqlx::query("UPDATE users SET disabled = $2, updated_at = $3 WHERE username = $1")
                .bind(username)
                .bind(disabled)
                .bind(Ts(now))
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(r == 1)
    }

    /// Until when logins of `username` are refused, if they are.
    pub async fn login_locked_until(&self, username: &str) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(Option<Ts>,)> = on_pool!(self, |p| {
            sqlx::query_as("SELECT locked_until FROM login_failures WHERE username = $1")
                .bind(username)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.and_then(|(t,)| t).map(|t| t.0))
    }

    /// Counts a failed login and returns the number of failures in a row;
    /// the count starts again after `quiet` without failures.
    pub async fn record_login_failure(
        &self,
        username: &str,
        now: DateTime<Utc>,
        quiet: chrono::TimeDelta,
    ) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, |p| {
            sqlx::query_as(
                "INSERT INTO login_failures (username, failures, last_failure_at) VALUES ($1, 1, $2)
                 ON CONFLICT (username) DO UPDATE
                 SET failures = CASE WHEN login_failures.last_failure_at < $3 THEN 1
                                     ELSE login_failures.failures + 1 END,
                     last_failure_at = $2
                 RETURNING failures",
            )
            .bind(username)
            .bind(Ts(now))
            .bind(Ts(now - quiet))
            .fetch_one(p)
            .await
        })?;
        Ok(n)
    }

    pub async fn lock_login(&self, username: &str, until: DateTime<Utc>) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query("UPDATE login_failures SET locked_until = $2 WHERE username = $1")
                .bind(username)
                .bind(Ts(until))
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, username: &str) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query("DELETE FROM login_failures WHERE username = $1")
                .bind(username)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
