//! Ed25519 signatures of phones' capture attestations.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};

pub const PUBLIC_KEY_LEN: usize = 32;

/// Whether `signature` is `key`'s Ed25519 signature of `message`.
pub fn verify(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    key.len() == PUBLIC_KEY_LEN
        && UnparsedPublicKey::new(&ED25519, key)
            .verify(message, signature)
            .is_ok()
}
