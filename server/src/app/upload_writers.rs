//! The write streams of this process, at most one per upload. A phone that
//! lost its connection comes back with a new stream, often before the
//! server noticed the old one is dead (a frozen link sends no reset). The
//! new stream takes over: the old one stops reading, stores and commits
//! what it holds, and only then does the new one start, from the offset
//! that now holds. A status read waits for a stream whose call is gone or
//! that is storing its last bytes, so that a resume starts from them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The longest a new stream or a status read waits for an old stream to
/// store what it holds; its own store is bounded by the database and
/// object store timeouts, so this is only a backstop, kept under the SDK's
/// deadline of a call.
const SETTLE_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Default)]
pub struct UploadWriters {
    slots: Mutex<HashMap<Uuid, Slot>>,
}

#[derive(Debug, Clone)]
struct Slot {
    /// Tells the stream to stop reading.
    stop: CancellationToken,
    /// True once the stream stopped reading and stores what it holds;
    /// closed when it is done.
    settling: watch::Receiver<bool>,
    /// Cancelled when the stream's call went away (its connection broke):
    /// it will store what it holds as soon as it notices.
    gone: CancellationToken,
    /// Tells this slot from a later one of the same upload.
    serial: u64,
}

/// A stream's hold on its upload; released on drop.
pub struct Writing {
    writers: Arc<UploadWriters>,
    upload: Uuid,
    serial: u64,
    /// Cancelled when another stream takes over or the server stops.
    pub stop: CancellationToken,
    settling: watch::Sender<bool>,
}

impl UploadWriters {
    /// Takes the upload over from any stream of this process that writes
    /// it, once that one has stored what it holds. `stopping` cancels the
    /// new stream as well (the server shuts down); `gone` is cancelled when
    /// its call goes away.
    pub async fn enter(
        self: &Arc<Self>,
        upload: Uuid,
        stopping: &CancellationToken,
        gone: &CancellationToken,
    ) -> Writing {
        loop {
            let old = self
                .slots
                .lock()
                .expect("writers lock")
                .get(&upload)
                .cloned();
            match old {
                Some(old) => {
                    old.stop.cancel();
                    wait_closed(old.settling).await;
                    // Released by its own drop; clear it if that is late.
                    let mut slots = self.slots.lock().expect("writers lock");
                    if slots.get(&upload).is_some_and(|s| s.serial == old.serial) {
                        slots.remove(&upload);
                    }
                }
                None => {
                    let mut slots = self.slots.lock().expect("writers lock");
                    if slots.contains_key(&upload) {
                        continue;
                    }
                    let serial = rand::random();
                    let stop = stopping.child_token();
                    let (settling, watching) = watch::channel(false);
                    slots.insert(
                        upload,
                        Slot {
                            stop: stop.clone(),
                            settling: watching,
                            gone: gone.clone(),
                            serial,
                        },
                    );
                    return Writing {
                        writers: self.clone(),
                        upload,
                        serial,
                        stop,
                        settling,
                    };
                }
            }
        }
    }

    /// Stops the upload's stream in this process, if any, and waits until
    /// it has stored what it holds: its client has started over.
    pub async fn stop(&self, upload: Uuid) {
        let slot = self
            .slots
            .lock()
            .expect("writers lock")
            .get(&upload)
            .cloned();
        if let Some(s) = slot {
            s.stop.cancel();
            wait_closed(s.settling).await;
        }
    }

    /// Waits until a stream of the upload that stopped reading, or whose
    /// call is gone, has stored what it holds; returns at once when there
    /// is none, or it is alive and reading. True when it waited.
    pub async fn settled(&self, upload: Uuid) -> bool {
        let slot = self
            .slots
            .lock()
            .expect("writers lock")
            .get(&upload)
            .cloned();
        match slot {
            Some(s) if *s.settling.borrow() || s.gone.is_cancelled() => {
                wait_closed(s.settling).await;
                true
            }
            _ => false,
        }
    }
}

async fn wait_closed(mut rx: watch::Receiver<bool>) {
    let closed = async { while rx.changed().await.is_ok() {} };
    let _ = tokio::time::timeout(SETTLE_WAIT, closed).await;
}

impl Writing {
    /// The stream stopped reading: what it holds is being stored.
    pub fn settling(&self) {
        self.settling.send_replace(true);
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        let mut slots = self.writers.slots.lock().expect("writers lock");
        if slots
            .get(&self.upload)
            .is_some_and(|s| s.serial == self.serial)
        {
            slots.remove(&self.upload);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_new_stream_starts_once_the_old_one_has_stored_what_it_holds() {
        let writers = Arc::new(UploadWriters::default());
        let stopping = CancellationToken::new();
        let id = Uuid::now_v7();
        let old = writers
            .enter(id, &stopping, &CancellationToken::new())
            .await;
        let fresh = CancellationToken::new();
        let mut taking = Box::pin(writers.enter(id, &stopping, &fresh));
        assert!(futures::poll!(&mut taking).is_pending());
        assert!(old.stop.is_cancelled(), "the old stream was told to stop");
        old.settling();
        assert!(futures::poll!(&mut taking).is_pending(), "it is storing");
        drop(old);
        let new = taking.await;
        assert!(!new.stop.is_cancelled());
        // Another upload is not held up.
        assert!(
            writers
                .enter(Uuid::now_v7(), &stopping, &CancellationToken::new())
                .now_or_never()
                .is_some()
        );
        // The server stopping stops the stream too.
        stopping.cancel();
        assert!(new.stop.is_cancelled());
    }

    #[tokio::test]
    async fn a_status_read_waits_only_for_a_stream_that_is_storing() {
        let writers = Arc::new(UploadWriters::default());
        let stopping = CancellationToken::new();
        let id = Uuid::now_v7();
        let w = writers
            .enter(id, &stopping, &CancellationToken::new())
            .await;
        assert!(
            writers.settled(id).now_or_never().is_some(),
            "still reading"
        );
        w.settling();
        let mut waiting = Box::pin(writers.settled(id));
        assert!(futures::poll!(&mut waiting).is_pending());
        drop(w);
        assert!(waiting.await);
        assert_eq!(writers.settled(id).now_or_never(), Some(false), "none left");
    }

    #[tokio::test]
    async fn a_status_read_waits_for_a_stream_whose_call_is_gone() {
        let writers = Arc::new(UploadWriters::default());
        let (stopping, gone) = (CancellationToken::new(), CancellationToken::new());
        let id = Uuid::now_v7();
        // Busy storing a segment when its connection broke: it has not
        // noticed yet.
        let w = writers.enter(id, &stopping, &gone).await;
        gone.cancel();
        let mut waiting = Box::pin(writers.settled(id));
        assert!(futures::poll!(&mut waiting).is_pending());
        drop(w);
        assert!(waiting.await);
    }
}
