//! Webhooks: URLs that receive the event feed, in order, signed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::validate::Violations;
use crate::error::Result;

pub const URL_MAX: usize = 2_000;
pub const KINDS_MAX: usize = 50;
/// The longest wait between two attempts at a failing webhook.
pub const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// Kinds, or prefixes ending in `.`; every kind when empty.
    pub event_kinds: Vec<String>,
    pub delivered_through: i64,
    pub failures: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// One attempt at delivering one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub event_id: i64,
    pub at: DateTime<Utc>,
    pub attempt: i32,
    pub delivered: bool,
    /// 0 when the receiver did not answer.
    pub status_code: i32,
    pub error: String,
}

/// Whether `kind` is one of `patterns` (a kind, or a prefix ending in
/// `.`); every kind matches no patterns.
pub fn kind_matches(patterns: &[String], kind: &str) -> bool {
    patterns.is_empty()
        || patterns.iter().any(|p| {
            if p.ends_with('.') {
                kind.starts_with(p.as_str())
            } else {
                kind == p
            }
        })
}

/// Checks a webhook's URL and kinds under the request path `webhook`.
pub fn validate(url: &str, kinds: &[String]) -> Result<()> {
    let mut v = Violations::new();
    v.required_text("webhook.url", url, URL_MAX);
    if url.is_empty() {
        // Reported as required above.
    } else if !(url.starts_with("http://") || url.starts_with("https://")) {
        v.add("webhook.url", "must start with http:// or https://");
    } else if url.parse::<http::Uri>().is_err() {
        v.add("webhook.url", "is not a valid URL");
    }
    v.max_items("webhook.event_kinds", kinds, KINDS_MAX);
    for (i, k) in kinds.iter().enumerate() {
        if k.trim().is_empty() || k.chars().any(char::is_whitespace) {
            v.add(
                format!("webhook.event_kinds[{i}]"),
                "must be an event kind or a prefix ending in '.'",
            );
        }
    }
    v.finish()
}

/// The wait before attempt `failures + 1` after `failures` failures in a
/// row: `base` doubled each time, at most an hour.
pub fn backoff(failures: i32, base: std::time::Duration) -> std::time::Duration {
    let doublings = failures.clamp(1, 20) as u32 - 1;
    base.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_exactly_or_by_prefix() {
        let p = vec![
            "rectification_item.".to_string(),
            "finding.created".to_string(),
        ];
        assert!(kind_matches(&p, "rectification_item.approve"));
        assert!(kind_matches(&p, "finding.created"));
        assert!(!kind_matches(&p, "finding.updated"));
        assert!(kind_matches(&[], "anything"));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = std::time::Duration::from_secs(1);
        assert_eq!(backoff(1, base).as_secs(), 1);
        assert_eq!(backoff(3, base).as_secs(), 4);
        assert_eq!(backoff(30, base), MAX_BACKOFF);
    }
}
