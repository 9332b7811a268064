//! Signing in, keeping a session alive, signing out, and recognising the
//! caller of every other call.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ANY_ROLE, App, Core};
use crate::auth::KeyRing;
use crate::auth::password;
use crate::auth::token::{AccessClaims, TokenKind};
use crate::domain::access::{Caller, Role, Scope};
use crate::error::{Error, Result};
use crate::store::{RefreshUse, User};

/// Failures in a row before logins of a username are slowed down.
const FREE_FAILURES: i64 = 5;
/// The longest a username is locked after repeated failures.
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Failures older than this no longer count.
const FAILURE_MEMORY: Duration = Duration::from_secs(60 * 60);
const BAD_LOGIN: &str = "invalid username or password";

#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct IssuedServiceToken {
    pub jti: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

fn refresh_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Lock after the n-th failure in a row: 1 s, 2 s, 4 s, ... up to MAX_LOCK.
fn lock_for(failures: i64) -> Option<Duration> {
    let over = failures - FREE_FAILURES;
    (over >= 0).then(|| Duration::from_secs(1u64 << over.min(10)).min(MAX_LOCK))
}

pub fn normalise_username(u: &str) -> String {
    u.trim().to_lowercase()
}

impl App {
    /// Exchanges a password for tokens. Unknown users, disabled users and
    /// wrong passwords get the same answer after the same work.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair> {
        let username = normalise_username(username);
        let now = session_clock();
        if let Some(until) = self.store.login_locked_until(&username).await?
            && until > now
        {
            let wait = (until - now).to_std().unwrap_or_default();
            return Err(Error::ResourceExhausted {
                message: format!(
                    "too many failed logins for this username; retry in {} s",
                    wait.as_secs().max(1)
                ),
                retry_after: Some(wait),
            });
        }
        let user = self.store.get_user(&username).await?;
        let pw = password.to_string();
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let matches = tokio::task::spawn_blocking(move || match hash {
            Some(h) => password::verify(&pw, &h),
            None => {
                password::verify_nothing(&pw);
                false
            }
        })
        .await
        .map_err(|e| Error::internal(format!("password check: {e}")))?;
        let user = match user {
            Some(u) if matches && !u.disabled => u,
            _ => {
                let n = self
                    .store
                    .record_login_failure(&username, now, delta(FAILURE_MEMORY))
                    .await?;
                if let Some(lock) = lock_for(n) {
                    self.store.lock_login(&username, now + delta(lock)).await?;
                }
                tracing::info!(username = %username, failures = n, "login refused");
                return Err(Error::Unauthenticated(BAD_LOGIN.into()));
            }
        };
        self.store.clear_login_failures(&username).await?;
        let session = Uuid::now_v7();
        self.store.create_session(session, &username, now).await?;
        tracing::info!(username = %username, session = %session, "signed in");
        self.issue_pair(&user, session, now).await
    }

    /// Rotates a refresh token. A token used twice means it was copied: the
    /// whole session is revoked, the thief's tokens with the owner's.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let now = session_clock();
        let refused = || {
            Error::Unauthenticated(
                "refresh token is invalid, expired or revoked; sign in again".into(),
            )
        };
        match self
            .store
            .use_refresh_token(&refresh_hash(refresh_token), now)
            .await?
        {
            RefreshUse::Refused => Err(refused()),
            RefreshUse::Reused {
                session_id,
                username,
            } => {
                self.store
                    .revoke_session(session_id, "refresh token reused", now)
                    .await?;
                tracing::warn!(username = %username, session = %session_id, "refresh token reused; session revoked");
                Err(Error::Unauthenticated(
                    "refresh token was already used; the session has been revoked, sign in again"
                        .into(),
                ))
            }
            RefreshUse::Fresh {
                session_id,
                username,
            } => match self.store.get_user(&username).await? {
                Some(u) if !u.disabled => self.issue_pair(&u, session_id, now).await,
                _ => {
                    self.store
                        .revoke_session(session_id, "account disabled", now)
                        .await?;
                    Err(refused())
                }
            },
        }
    }

    /// Ends the caller's access token and session, and the session of the
    /// given refresh token if it is the caller's.
    pub async fn logout(&self, caller: &Caller, refresh_token: &str) -> Result<()> {
        caller.require(ANY_ROLE)?;
        let now = session_clock();
        self.store
            .revoke_token_id(&caller.token_id, Some(caller.expires_at), now)
            .await?;
        if let Some(sid) = caller.session_id {
            self.store.revoke_session(sid, "logout", now).await?;
        }
        if !refresh_token.is_empty()
            && let Some((sid, owner)) = self
                .store
                .refresh_token_session(&refresh_hash(refresh_token))
                .await?
            && owner == caller.subject
        {
            self.store.revoke_session(sid, "logout", now).await?;
        }
        tracing::info!(subject = %caller.subject, "signed out");
        Ok(())
    }

    async fn issue_pair(
        &self,
        user: &User,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<TokenPair> {
        let access_expires_at = now + delta(self.access_token_ttl);
        let claims = AccessClaims {
            iss: self.keys.issuer().to_string(),
            sub: user.username.clone(),
            aud: self.keys.audience().to_string(),
            exp: access_expires_at.timestamp(),
            nbf: Some(now.timestamp()),
            iat: Some(now.timestamp()),
            jti: Uuid::now_v7().to_string(),
            role: user.role.clone(),
            units: user.unit_codes.clone(),
            sid: Some(session),
            kind: Some(TokenKind::User),
        };
        let access_token = self.keys.sign(&claims)?;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let refresh_token = URL_SAFE_NO_PAD.encode(secret);
        let refresh_expires_at = now + delta(self.refresh_token_ttl);
        self.store
            .insert_refresh_token(
                &refresh_hash(&refresh_token),
                session,
                now,
                refresh_expires_at,
            )
            .await?;
        Ok(TokenPair {
            access_token,
            access_expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(access_expires_at),
            refresh_token,
            refresh_expires_at,
        })
    }

    /// Establishes the caller from a bearer token: signature and claims,
    /// then the revocation list, the session and the account, on every call.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Caller> {
        let token = bearer.ok_or_else(|| {
            Error::Unauthenticated(
                "missing access token: send 'authorization: Bearer <token>'".into(),
            )
        })?;
        let (claims, own) = self
            .keys
            .verify(token, session_clock())
            .map_err(|e| Error::Unauthenticated(e.0))?;
        let role = Role::parse(&claims.role).ok_or_else(|| {
            Error::Unauthenticated(format!("token carries an unknown role '{}'", claims.role))
        })?;
        let local_user =
            (own && claims.kind == Some(TokenKind::User)).then_some(claims.sub.as_str());
        if self
            .store
            .token_revoked(&claims.jti, claims.sid, local_user)
            .await?
        {
            return Err(Error::Unauthenticated("token has been revoked".into()));
        }
        Ok(Caller {
            subject: claims.sub,
            role,
            scope: Scope::from_claim(&claims.units),
            issuer: claims.iss,
            token_id: claims.jti,
            session_id: claims.sid,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_default(),
        })
    }
}

impl Core {
    /// Mints a long-lived token for an app or service account (CLI).
    pub async fn issue_service_token(
        &self,
        keys: &KeyRing,
        subject: &str,
        role: Role,
        scope: &Scope,
        ttl: Duration,
    ) -> Result<IssuedServiceToken> {
        if subject.trim().is_empty() {
            return Err(Error::invalid("subject", "is required"));
        }
        if let Scope::Units(u) = scope {
            let codes: Vec<String> = u.iter().cloned().collect();
            let unknown = self.store.unknown_units(&codes).await?;
            if !unknown.is_empty() {
                return Err(Error::invalid(
                    "unit",
                    format!("unknown unit codes: {}", unknown.join(", ")),
                ));
            }
        }
        let now = session_clock();
        let expires_at = now + delta(ttl);
        let jti = Uuid::now_v7().to_string();
        let claims = AccessClaims {
            iss: keys.issuer().to_string(),
            sub: subject.to_string(),
            aud: keys.audience().to_string(),
            exp: expires_at.timestamp(),
            nbf: Some(now.timestamp()),
            iat: Some(now.timestamp()),
            jti: jti.clone(),
            role: role.as_str().to_string(),
            units: scope.to_claim(),
            sid: None,
            kind: Some(TokenKind::Service),
        };
        let token = keys.sign(&claims)?;
        self.store
            .insert_issued_token(
                &jti,
                subject,
                role.as_str(),
                &scope.to_claim(),
                now,
                expires_at,
            )
            .await?;
        Ok(IssuedServiceToken {
            jti,
            token,
            expires_at,
        })
    }

    /// Revokes any token by its id (`jti`); takes effect on the next call.
    /// Returns whether the token was one minted with `issue_service_token`.
    pub async fn revoke_token(&self, jti: &str) -> Result<bool> {
        if jti.trim().is_empty() {
            return Err(Error::invalid("id", "is required"));
        }
        let expires = self.store.issued_token_expiry(jti).await?;
        self.store
            .revoke_token_id(jti, expires, session_clock())
            .await?;
        Ok(expires.is_some())
    }
}

/// Sessions and tokens age in real time, not by the server's clock: a test
/// that moves the calendar past a deadline signs nobody out, and a clock
/// set ahead cannot make a token last longer than it should.
fn session_clock() -> chrono::DateTime<chrono::Utc> {
    crate::store::time_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_and_is_capped() {
        assert_eq!(lock_for(4), None);
        assert_eq!(lock_for(5), Some(Duration::from_secs(1)));
        assert_eq!(lock_for(7), Some(Duration::from_secs(4)));
        assert_eq!(lock_for(100), Some(MAX_LOCK));
    }
}
