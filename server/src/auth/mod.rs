//! Tokens and passwords: signing and verifying access tokens (JWT), the
//! server's own key and the keys of trusted external issuers, argon2id
//! password hashes.

pub mod device;
pub mod keys;
pub mod password;
pub mod seal;
pub mod token;

pub use keys::{KeyRing, TrustedIssuer};
pub use token::{AccessClaims, TokenKind};
