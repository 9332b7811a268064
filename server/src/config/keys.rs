//! Keys: the tokens this server signs and accepts, and the master keys
//! that seal personal data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;

use super::duration;
use crate::auth::TrustedIssuer;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Tokens")]
pub struct TokenSettings {
    /// Issuer (iss) of the tokens this server signs
    #[arg(long, env = "DUCHA_TOKEN_ISSUER", default_value = "ducha")]
    pub token_issuer: String,
    /// Audience (aud) that every accepted token must carry
    #[arg(long, env = "DUCHA_TOKEN_AUDIENCE", default_value = "ducha")]
    pub token_audience: String,
    /// PEM file of the Ed25519 token signing key; created when missing;
    /// DATA_DIR/keys/token-signing.pem when unset
    #[arg(long, env = "DUCHA_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// External issuers whose tokens are accepted; settings file only
    /// (`[[trusted_issuers]]` tables).
    #[arg(skip)]
    pub trusted_issuers: Vec<TrustedIssuer>,
}

/// The tokens this server signs, and those it accepts.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    pub issuer: String,
    pub audience: String,
    pub signing_key: PathBuf,
    pub trusted_issuers: Vec<TrustedIssuer>,
}

impl TokenSettings {
    pub fn resolve(&self, data_dir: &Path) -> anyhow::Result<TokenOptions> {
        Ok(TokenOptions {
            issuer: self.token_issuer.clone(),
            audience: self.token_audience.clone(),
            signing_key: self
                .signing_key
                .clone()
                .unwrap_or_else(|| data_dir.join("keys").join("token-signing.pem")),
            trusted_issuers: self.trusted_issuers.clone(),
        })
    }
}

/// How long the sessions of people signing in last; only `serve` signs
/// anyone in.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Sessions")]
pub struct SessionSettings {
    /// Lifetime of access tokens (at most 24h)
    #[arg(long, env = "DUCHA_ACCESS_TOKEN_TTL", default_value = "15m", value_parser = duration)]
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens
    #[arg(long, env = "DUCHA_REFRESH_TOKEN_TTL", default_value = "30d", value_parser = duration)]
    pub refresh_token_ttl: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl SessionSettings {
    pub fn resolve(&self) -> anyhow::Result<SessionOptions> {
        if self.access_token_ttl > Duration::from_secs(24 * 3600) {
            bail!("access_token_ttl: access tokens are meant to be short-lived; at most 24h");
        }
        Ok(SessionOptions {
            access_ttl: self.access_token_ttl,
            refresh_ttl: self.refresh_token_ttl,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Personal data")]
pub struct PersonalDataSettings {
    /// TOML file of the master keys that seal personal data (complainants,
    /// officials held to account); created with one key when missing;
    /// DATA_DIR/keys/personal-data.toml when unset
    #[arg(long, env = "DUCHA_PERSONAL_DATA_KEYS")]
    pub personal_data_keys: Option<PathBuf>,
}

impl PersonalDataSettings {
    /// The key file.
    pub fn resolve(&self, data_dir: &Path) -> PathBuf {
        self.personal_data_keys
            .clone()
            .unwrap_or_else(|| data_dir.join("keys").join("personal-data.toml"))
    }
}
