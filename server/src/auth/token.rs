//! The claims of Ducha's access tokens.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// JWT `typ` header of access tokens (RFC 9068), so an ID token or any other
/// JWT signed by the same key is not taken for an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued by Login or Refresh for a local account.
    User,
    /// Minted by `ducha token issue` for an app or service account.
    Service,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    /// Optional in tokens of external issuers, like `iat` and `jti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default)]
    pub jti: String,
    /// One of the role names (`inspector`, `unit_liaison`, ...).
    pub role: String,
    /// Unit codes, or `["*"]` for all units.
    pub units: Vec<String>,
    /// Session of a user token, so ending the session ends its tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// Absent in tokens of external issuers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TokenKind>,
}
