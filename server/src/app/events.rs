//! The event feed: every change of state, in commit order, to the people
//! of the unit it concerns.

use std::time::Duration;

use futures::Stream;
use tokio_stream::wrappers::ReceiverStream;

use super::{ANY_ROLE, App};
use crate::domain::access::Caller;
use crate::domain::event::Event;
use crate::domain::webhook::kind_matches;
use crate::error::Result;

/// How often a watcher looks for events other processes committed.
const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 200;

impl App {
    /// Events after `after` in the caller's units (narrowed to `units`),
    /// of `kinds`, then new ones as they commit, until the receiver is
    /// dropped.
    pub fn watch_events(
        &self,
        caller: &Caller,
        after: i64,
        kinds: Vec<String>,
        units: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Result<Event>> + use<>> {
        caller.require(ANY_ROLE)?;
        let units = caller.narrow_units(units);
        let role = caller.role;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let app = self.clone();
        tokio::spawn(async move {
            let mut last = after;
            loop {
                // Listening starts before the read, so an event committed
                // in between wakes this watcher.
                let appended = app.store.appended.notified();
                tokio::pin!(appended);
                appended.as_mut().enable();
                let batch = match app.store.events_after(last, units.as_deref(), BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let full = batch.len() as i64 == BATCH;
                for e in batch {
                    last = e.id;
                    if kind_matches(&kinds, &e.kind)
                        && e.shown_to(role)
                        && tx.send(Ok(e)).await.is_err()
                    {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = appended => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}
