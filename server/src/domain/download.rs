//! Time-limited download links for evidence kept in the local folder: the
//! server signs `GET <path> <expiry>` and serves the link itself, so a
//! browser or a report generator fetches a picture with no token.

use std::time::Duration;

use uuid::Uuid;

use super::derivative::Variant;
use crate::error::{Error, Result};

/// Where the server serves signed links.
pub const LINK_PREFIX: &str = "/files/";
/// Lifetime of a URL when the caller names none.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

/// The path of a link to a variant of a piece of evidence.
pub fn link_path(evidence: Uuid, variant: Variant) -> String {
    format!("{LINK_PREFIX}{evidence}/{}", variant.as_str())
}

/// What is signed: the method, the path and the expiry (Unix seconds).
pub fn link_message(path: &str, expires: i64) -> String {
    format!("GET {path} {expires}")
}

/// The evidence and variant a link path names.
pub fn parse_link_path(path: &str) -> Option<(Uuid, Variant)> {
    let (id, variant) = path.strip_prefix(LINK_PREFIX)?.split_once('/')?;
    Some((Uuid::parse_str(id).ok()?, Variant::parse(variant)?))
}

/// The lifetime granted for a requested one: the default when none is
/// asked, otherwise between one second and `max`.
pub fn granted_ttl(requested: Option<Duration>, max: Duration) -> Result<Duration> {
    match requested {
        None => Ok(DEFAULT_TTL.min(max)),
        Some(t) if t < Duration::from_secs(1) => {
            Err(Error::invalid("ttl", "must be at least one second"))
        }
        Some(t) if t > max => Err(Error::invalid(
            "ttl",
            format!("must be at most {}", humantime::format_duration(max)),
        )),
        Some(t) => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let id = Uuid::now_v7();
        let p = link_path(id, Variant::Preview);
        assert_eq!(parse_link_path(&p), Some((id, Variant::Preview)));
        assert_eq!(parse_link_path("/files/nope/preview"), None);
        assert_eq!(parse_link_path(&format!("/files/{id}/exif")), None);
    }

    #[test]
    fn ttl_is_bounded() {
        let max = Duration::from_secs(3600);
        assert_eq!(granted_ttl(None, max).unwrap(), DEFAULT_TTL);
        assert!(granted_ttl(Some(Duration::from_secs(7200)), max).is_err());
        assert!(granted_ttl(Some(Duration::ZERO), max).is_err());
    }
}
