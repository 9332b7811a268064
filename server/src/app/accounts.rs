//! Local accounts, managed from the command line (`ducha user ...`).

use super::Core;
use super::sessions::normalise_username;
use crate::auth::password;
use crate::domain::access::{Role, Scope};
use crate::domain::validate::Violations;
use crate::error::{Error, Result};

pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub scope: Scope,
    pub password: String,
}

fn validate_username(v: &mut Violations, u: &str) {
    let ok = (2..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
        && u.as_bytes()[0].is_ascii_alphanumeric();
    if !ok {
        v.add(
            "username",
            "must be 2 to 64 characters: letters, digits, '.', '_', '-', '@', starting with a letter or digit",
        );
    }
}

async fn hash(pw: String) -> Result<String> {
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| Error::internal(format!("hashing: {e}")))?
        .map_err(Error::Internal)
}

impl Core {
    pub async fn add_user(&self, new: NewUser) -> Result<()> {
        let username = normalise_username(&new.username);
        let mut v = Violations::new();
        validate_username(&mut v, &username);
        if let Err(why) = password::check_policy(&new.password) {
            v.add("password", why);
        }
        if let Scope::Units(units) = &new.scope {
            let codes: Vec<String> = units.iter().cloned().collect();
            if codes.is_empty() {
                v.add("unit", "give at least one unit code, or all units");
            }
            let unknown = self.store.unknown_units(&codes).await?;
            if !unknown.is_empty() {
                v.add(
                    "unit",
                    format!("unknown unit codes: {}", unknown.join(", ")),
                );
            }
        }
        v.finish()?;
        let h = hash(new.password).await?;
        self.store
            .insert_user(
                &username,
                &h,
                new.role.as_str(),
                &new.scope.to_claim(),
                self.now(),
            )
            .await
    }

    /// Sets a new password and ends the user's sessions.
    pub async fn set_password(&self, username: &str, new_password: &str) -> Result<()> {
        let username = normalise_username(username);
        password::check_policy(new_password).map_err(|why| Error::invalid("password", why))?;
        let h = hash(new_password.to_string()).await?;
        let now = self.now();
        if !self.store.set_password(&username, &h, now).await? {
            return Err(Error::NotFound(format!("user {username}")));
        }
        self.store
            .revoke_user_sessions(&username, "password changed", now)
            .await
    }

    /// Disables an account: its tokens stop working at once.
    pub async fn disable_user(&self, username: &str) -> Result<()> {
        let username = normalise_username(username);
        let now = self.now();
        if !self.store.set_disabled(&username, true, now).await? {
            return Err(Error::NotFound(format!("user {username}")));
        }
        self.store
            .revoke_user_sessions(&username, "account disabled", now)
            .await
    }
}
