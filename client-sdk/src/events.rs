//! Following the event feed across broken connections.

use std::time::Duration;

use futures_util::Stream;

use crate::error::transient;
use crate::{Client, Error, pb};

/// The first wait after a broken connection; it doubles up to
/// `MAX_BACKOFF` and starts again once an event arrives.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

struct Follow {
    client: Client,
    last: i64,
    kinds: Vec<String>,
    stream: Option<tonic::Streaming<pb::WatchResponse>>,
    failures: u32,
    done: bool,
}

impl Follow {
    async fn pause(&mut self) {
        self.stream = None;
        self.failures += 1;
        let wait = FIRST_BACKOFF.saturating_mul(1 << (self.failures - 1).min(8));
        tokio::time::sleep(wait.min(MAX_BACKOFF)).await;
    }
}

impl Client {
    /// The events of the caller's units after `after_id` (0 for all), then
    /// new ones as they happen, for as long as the stream is read. A broken
    /// connection or a restarted server is reconnected with backoff, from
    /// the last event received, so that no event is missed or seen twice.
    /// `kinds` are event kinds or prefixes ending in `.`; all when empty.
    /// The stream ends after an error that retrying cannot cure (such as
    /// a revoked token).
    pub fn follow_events(
        &self,
        after_id: i64,
        kinds: Vec<String>,
    ) -> impl Stream<Item = Result<pb::Event, Error>> + use<> {
        let start = Follow {
            client: self.clone(),
            last: after_id,
            kinds,
            stream: None,
            failures: 0,
            done: false,
        };
        futures_util::stream::unfold(start, |mut f| async move {
            if f.done {
                return None;
            }
            loop {
                if f.stream.is_none() {
                    let watch = f
                        .client
                        .events()
                        .watch(pb::WatchRequest {
                            after_id: f.last,
                            event_kinds: f.kinds.clone(),
                            unit_codes: vec![],
                        })
                        .await;
                    match watch {
                        Ok(r) => f.stream = Some(r.into_inner()),
                        Err(s) if transient(&s) => {
                            tracing::debug!(error = %s, "event feed unreachable; retrying");
                            f.pause().await;
                            continue;
                        }
                        Err(s) => {
                            f.done = true;
                            return Some((Err(s.into()), f));
                        }
                    }
                }
                let next = f.stream.as_mut().expect("connected").message().await;
                match next {
                    Ok(Some(m)) => {
                        let e = m.event.unwrap_or_default();
                        f.last = e.id;
                        f.failures = 0;
                        return Some((Ok(e), f));
                    }
                    // The server ended the stream (it is shutting down).
                    Ok(None) => f.pause().await,
                    Err(s) if transient(&s) => {
                        tracing::debug!(after = f.last, error = %s, "event feed broken; resuming");
                        f.pause().await;
                    }
                    Err(s) => {
                        f.done = true;
                        return Some((Err(s.into()), f));
                    }
                }
            }
        })
    }
}
