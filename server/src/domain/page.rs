//! Paging of lists: sizes and opaque page tokens bound to their query.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

/// 0 means the default; larger than the maximum is capped (AIP-158).
pub fn page_size(requested: i32) -> Result<usize> {
    match requested {
        n if n < 0 => Err(Error::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as usize).min(MAX_PAGE_SIZE)),
    }
}

#[derive(Serialize, Deserialize)]
struct Token<C> {
    /// Digest of the filter the token was made for.
    q: String,
    c: C,
}

/// Digest of a query's caller and filter, so a token cannot be replayed
/// on another query, nor by another caller.
pub fn query_digest<F: Serialize>(caller: &str, filter: &F) -> String {
    let json = serde_json::to_vec(&(caller, filter)).expect("filter serialises");
    hex::encode(&Sha256::digest(json)[..12])
}

pub fn encode_token<C: Serialize>(query: &str, cursor: &C) -> String {
    let json = serde_json::to_vec(&Token {
        q: query.to_string(),
        c: cursor,
    })
    .expect("cursor serialises");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a page token; an empty token means the first page.
pub fn decode_token<C: DeserializeOwned>(token: &str, query: &str) -> Result<Option<C>> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Error::invalid("page_token", "is not a page token of this list");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let t: Token<C> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if t.q != query {
        return Err(Error::invalid(
            "page_token",
            "belongs to another query (other filters, or another caller's); start again without a page token",
        ));
    }
    Ok(Some(t.c))
}
