//! The event feed, watched from an event id on, one event at a time.

use std::time::Duration;

use ducha_sdk::{Client, pb};
use futures::StreamExt;

/// A guard against a test hanging when what it awaits never comes.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The events `c` may see after event `after`, of `kinds` (all when empty).
pub async fn watch(c: &Client, after: i64, kinds: &[&str]) -> tonic::Streaming<pb::WatchResponse> {
    c.events()
        .watch(pb::WatchRequest {
            after_id: after,
            event_kinds: kinds.iter().map(|k| k.to_string()).collect(),
            unit_codes: vec![],
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next event of the feed, within the patience.
pub async fn next(s: &mut tonic::Streaming<pb::WatchResponse>) -> pb::Event {
    tokio::time::timeout(PATIENCE, s.next())
        .await
        .expect("an event within the patience")
        .unwrap()
        .unwrap()
        .event
        .unwrap()
}
