//! Etags: a record's version as the client read it, sent back with every
//! change so that a change based on a stale read is refused.

use crate::error::{Error, Reason, Result};

/// The etag of a record at `version`.
pub fn of(version: i64) -> String {
    format!("\"v{version}\"")
}

/// Refuses `sent` (the request's `field`) unless it is the etag of
/// `version`; `what` names the record, e.g. "campaign 0193…".
pub fn check(what: &str, version: i64, sent: &str, field: &str) -> Result<()> {
    if sent.is_empty() {
        return Err(Error::invalid(
            field,
            "is required: send the etag of the record as last read",
        ));
    }
    let current = of(version);
    if sent != current {
        return Err(Error::conflict(
            Reason::EtagMismatch,
            format!(
                "{what} was changed since it was read (etag {current} is current, {sent} was sent); read it again and reapply the change"
            ),
        )
        .with("current_etag", &current)
        .with("sent_etag", sent));
    }
    Ok(())
}
