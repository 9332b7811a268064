//! Receiving an upload's bytes: chunks by stream or one at a time, kept
//! durably before the committed offset moves, and a photo sent whole put
//! straight to its content-addressed key.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::App;
use super::evidence::Verified;
use super::upload_heads::UploadHeads;
use super::upload_writers::Writing;
use crate::blob::PutStream;
use crate::domain::access::Caller;
use crate::domain::evidence::{self, Evidence, Placement, Upload, check_crc32c, original_key};
use crate::error::{Error, Reason, Result};
use crate::media::{HeadReading, read_head};
use crate::store::Segment;

/// One message of bytes.
pub struct Chunk {
    pub upload_id: String,
    pub offset: i64,
    pub data: Bytes,
    pub crc32c: u32,
    /// Finish the upload once it holds all its bytes.
    pub finish: bool,
}

/// What a write left: the committed offset, and the evidence when the
/// write asked to finish and every byte was in.
pub struct Written {
    pub committed_offset: i64,
    pub evidence: Option<Evidence>,
}

impl App {
    pub async fn append_upload(&self, caller: &Caller, chunk: Chunk) -> Result<Written> {
        let up = self.own_upload(caller, &chunk.upload_id).await?;
        check_crc32c(&chunk.data, chunk.crc32c)?;
        // A repeat of the call that finished the upload, whose answer was
        // lost, is answered as that call was.
        if let Some(done) = up.evidence_id {
            up.place(chunk.offset, chunk.data.len(), &self.uploads)?;
            let evidence = self
                .store
                .get_evidence(done)
                .await?
                .ok_or_else(|| Error::internal("finished upload without evidence"))?;
            return Ok(Written {
                committed_offset: up.committed_offset,
                evidence: Some(evidence),
            });
        }
        let mut up = up;
        up.committed_offset = self
            .store_chunk(&up, chunk.offset, vec![chunk.data], None, None)
            .await?;
        self.finish_if_asked(caller, up, chunk.finish).await
    }

    /// Finishes `up` when asked and complete, as FinishUpload would.
    async fn finish_if_asked(&self, caller: &Caller, up: Upload, asked: bool) -> Result<Written> {
        let committed_offset = up.committed_offset;
        let evidence = if asked && up.is_complete() {
            Some(self.finish_open_upload(caller, up).await?)
        } else {
            None
        };
        Ok(Written {
            committed_offset,
            evidence,
        })
    }

    /// Takes a stream of chunks, keeping them in segments of up to the chunk
    /// limit. However the stream ends (it ends, breaks, its call is `gone`
    /// because the client cancelled or the deadline passed, another stream
    /// of the upload takes over, the server stops), the chunks that arrived
    /// whole are stored and committed, so a resume sends only what was in
    /// flight. The caller must run this where a dropped call does not drop
    /// it (see `api::DetachLayer`).
    pub async fn write_upload(
        &self,
        caller: &Caller,
        mut chunks: impl Stream<Item = Result<Chunk>> + Unpin,
        gone: CancellationToken,
    ) -> Result<Written> {
        let first = tokio::select! {
            biased;
            c = chunks.next() => match c {
                Some(c) => c?,
                None => return Err(Error::invalid("upload_id", "the stream sent no chunk")),
            },
            () = gone.cancelled() => return Err(Error::conflict(Reason::CallEnded, "the call ended")),
        };
        // Only the uploader's own stream may take an upload over.
        let up = Self::unfinished(self.own_upload_now(caller, &first.upload_id).await?)?;
        let writing = self.writers.enter(up.id, &self.stopping, &gone).await;
        // Where the upload stands once an older stream stored what it held.
        let mut up = Self::unfinished(self.own_upload_now(caller, &first.upload_id).await?)?;
        let max = self.uploads.max_chunk_bytes as usize;
        // A file that starts here and fits one segment (most photos) is
        // also sent on to its content-addressed key as it arrives; its last
        // bytes go once its hash is known to be the declared one.
        let mut streaming =
            if first.offset == 0 && up.committed_offset == 0 && up.request.size_bytes <= max as i64
            {
                self.blobs
                    .put_stream(
                        &original_key(&up.request.sha256),
                        up.request.size_bytes as u64,
                        &up.request.sha256,
                    )
                    .await?
            } else {
                None
            };
        let mut held = Held::default();
        let mut finish = false;
        let mut ended = None;
        let mut next = Some(Ok(first));
        while let Some(item) = next {
            let checked = item.and_then(|c| {
                if !c.upload_id.is_empty() && c.upload_id != up.id.to_string() {
                    return Err(Error::invalid("upload_id", "one stream carries one upload"));
                }
                check_crc32c(&c.data, c.crc32c).map(|()| c)
            });
            let chunk = match checked {
                Ok(c) => {
                    finish |= c.finish;
                    c
                }
                Err(e) => {
                    // Keep what arrived intact before the break or the
                    // damaged chunk, so the client resends only the rest.
                    writing.settling();
                    if !held.is_empty() {
                        let _ = self.store_held(&up, held, streaming).await;
                    }
                    return Err(e);
                }
            };
            // Bytes held across all streams stay within a budget; past it,
            // each chunk is stored as it comes, in smaller segments.
            let budget = self
                .held_upload_bytes
                .clone()
                .try_acquire_many_owned(kib(chunk.data.len()))
                .ok();
            let full = held.len + chunk.data.len() > max || budget.is_none();
            if !held.is_empty() && (chunk.offset != held.end() || full) {
                up.committed_offset = self
                    .store_held(&up, std::mem::take(&mut held), streaming.take())
                    .await?;
            }
            match budget {
                Some(permit) => {
                    if let Some(s) = streaming.as_mut()
                        && chunk.offset as u64 == s.sent()
                    {
                        s.send(chunk.data.clone());
                    }
                    held.push(chunk.offset, chunk.data, permit);
                }
                None => {
                    streaming = None;
                    up.committed_offset = self
                        .store_chunk(&up, chunk.offset, vec![chunk.data], None, None)
                        .await?;
                }
            }
            next = match self.next_chunk(&mut chunks, &writing, &gone).await {
                Ok(next) => next,
                Err(cut) => {
                    ended = Some(cut);
                    None
                }
            };
        }
        writing.settling();
        if let Some(cut) = ended {
            // Not the whole file (the stream did not end): stored as a
            // segment, the put begun on the side broken off.
            drop(streaming);
            if !held.is_empty() {
                up.committed_offset = self.store_held(&up, held, None).await?;
            }
            return Err(cut.answer(up.committed_offset));
        }
        // The budget's permits go once the bytes are stored.
        let Held {
            start,
            parts,
            len,
            hashing,
            permits: _permits,
        } = held;
        if len > 0
            && let Some(kept) = self
                .keep_bytes(&up, start, parts, hashing, streaming)
                .await?
        {
            // A whole, verified file that finishes the upload is recorded
            // as evidence at once, its bytes and the record in one step.
            if finish && kept.is_whole_original(&up) {
                let evidence = self.record_upload(caller, up, kept.verified()).await?;
                return Ok(Written {
                    committed_offset: evidence.size_bytes,
                    evidence: Some(evidence),
                });
            }
            up.committed_offset = self.commit_segment(&up, kept).await?;
        }
        self.finish_if_asked(caller, up, finish).await
    }

    /// The stream's next chunk (None at its end), or why it is no longer
    /// read. A stop (another stream took over, the server stops) is heeded
    /// at once, even while chunks keep coming; when the call is gone, the
    /// chunks that arrived before are taken first.
    async fn next_chunk(
        &self,
        chunks: &mut (impl Stream<Item = Result<Chunk>> + Unpin),
        writing: &Writing,
        gone: &CancellationToken,
    ) -> std::result::Result<Option<Result<Chunk>>, Cut> {
        tokio::select! {
            biased;
            () = writing.stop.cancelled() => Err(if self.stopping.is_cancelled() {
                Cut::ServerStopping
            } else {
                Cut::TakenOver
            }),
            c = chunks.next() => Ok(c),
            () = gone.cancelled() => Err(Cut::CallGone),
        }
    }

    /// Stores held chunks as `store_chunk` does, releasing their share of
    /// the budget once they are stored.
    async fn store_held(
        &self,
        up: &Upload,
        held: Held,
        streamed: Option<PutStream>,
    ) -> Result<i64> {
        let Held {
            start,
            parts,
            hashing,
            permits: _permits,
            ..
        } = held;
        self.store_chunk(up, start, parts, hashing, streamed).await
    }

    /// Keeps `parts` (contiguous, from `offset`) as a segment object, then
    /// advances the committed offset; the offset moves only once the bytes
    /// are stored. `hashing` is the hash of all of `parts` if it was
    /// started as they arrived; `streamed` is the put they were sent on to
    /// as they arrived, used only if they are the whole, verified file.
    async fn store_chunk(
        &self,
        up: &Upload,
        offset: i64,
        parts: Vec<Bytes>,
        hashing: Option<RunningHash>,
        streamed: Option<PutStream>,
    ) -> Result<i64> {
        match self
            .keep_bytes(up, offset, parts, hashing, streamed)
            .await?
        {
            Some(kept) => self.commit_segment(up, kept).await,
            None => Ok(up.committed_offset),
        }
    }

    /// Stores `parts` as `store_chunk` does, without recording them yet;
    /// None when the upload already holds them.
    async fn keep_bytes(
        &self,
        up: &Upload,
        offset: i64,
        parts: Vec<Bytes>,
        hashing: Option<RunningHash>,
        streamed: Option<PutStream>,
    ) -> Result<Option<Kept>> {
        let len: usize = parts.iter().map(Bytes::len).sum();
        let skip = match up.place(offset, len, &self.uploads)? {
            Placement::Covered => return Ok(None),
            Placement::Append { skip } => skip,
        };
        let parts = skip_front(parts, skip);
        let from = up.committed_offset;
        let head = (from == 0).then(|| UploadHeads::head_of(&parts));
        let mut reading = None;
        let hashing = match hashing {
            Some(h) if skip == 0 => h,
            _ => RunningHash::of(&parts),
        };
        let length = (len - skip) as i64;
        let scratch_key = format!("uploads/{}/{from:016}-{}", up.id, Uuid::new_v4().simple());
        let (object_key, sha256) = if from == 0 && length == up.request.size_bytes {
            // The whole file at once, as most photos come: once its hash is
            // the declared one, it goes straight to its content-addressed
            // key, and Finish has nothing to copy.
            let sha256 = hashing.finish().await?;
            if sha256 == up.request.sha256 {
                let key = original_key(&sha256);
                let head = head.clone().expect("a whole file starts at 0");
                reading = self.store_original(up, &key, parts, streamed, head).await?;
                (key, sha256)
            } else {
                drop(streamed);
                self.blobs.put_parts(&scratch_key, parts).await?;
                (scratch_key, sha256)
            }
        } else {
            drop(streamed);
            let stored = self.blobs.put_parts(&scratch_key, parts).await;
            let sha256 = hashing.finish().await?;
            stored?;
            (scratch_key, sha256)
        };
        Ok(Some(Kept {
            offset,
            skip,
            segment: Segment {
                start_offset: from,
                length,
                object_key,
                sha256,
            },
            head,
            reading,
        }))
    }

    /// Records a kept segment and moves the committed offset past it.
    async fn commit_segment(&self, up: &Upload, kept: Kept) -> Result<i64> {
        let Kept {
            offset,
            skip,
            segment,
            head,
            reading,
        } = kept;
        let from = segment.start_offset;
        if self.store.add_segment(up.id, from, &segment).await? {
            if let Some(head) = head {
                self.upload_heads.keep(up.id, head, reading);
            }
            return Ok(from + segment.length);
        }
        // Another writer (a retry, another replica) got there first. A
        // content-addressed original may be what that writer stored, too.
        if evidence::original_sha256(&segment.object_key).is_none() {
            let _ = self.blobs.delete(&segment.object_key).await;
        }
        let now = self
            .store
            .get_upload(up.id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("upload {}", up.id)))?;
        match now.place(offset, skip + segment.length as usize, &self.uploads)? {
            Placement::Covered => Ok(now.committed_offset),
            Placement::Append { .. } => Err(Error::UploadOffset {
                committed: now.committed_offset,
            }),
        }
    }

    /// Stores a whole, verified file at its content-addressed `key`: its
    /// last bytes go on the put it was streamed to, if any, while `head`
    /// is read for Finish; otherwise, or if that put failed, it is put
    /// again from `parts`. Returns the head's reading if it was made.
    async fn store_original(
        &self,
        up: &Upload,
        key: &str,
        parts: Vec<Bytes>,
        streamed: Option<PutStream>,
        head: Bytes,
    ) -> Result<Option<HeadReading>> {
        let Some(put) = streamed else {
            self.blobs.put_new(key, parts).await?;
            return Ok(None);
        };
        let rest = skip_front(parts.clone(), put.sent() as usize);
        let read = tokio::task::spawn_blocking(move || read_head(&head));
        let (stored, read) = tokio::join!(put.finish(rest), read);
        if let Err(e) = stored {
            tracing::warn!(upload = %up.id, "streamed put failed, putting again: {e}");
            self.blobs.put_new(key, parts).await?;
        }
        Ok(read.ok())
    }
}

/// Why a write stream stopped reading before its end.
enum Cut {
    /// A newer stream of the upload took over.
    TakenOver,
    ServerStopping,
    /// The call went away: cancelled, its connection broken, or its
    /// deadline passed.
    CallGone,
}

impl Cut {
    /// The answer of a stream cut short, once what it held is stored at
    /// `committed`.
    fn answer(self, committed: i64) -> Error {
        match self {
            Cut::TakenOver => Error::UploadOffset { committed },
            Cut::ServerStopping => Error::Unavailable(
                "the server is shutting down; resume from the committed offset".into(),
            ),
            Cut::CallGone => Error::conflict(Reason::CallEnded, "the call ended"),
        }
    }
}

/// Chunks of a stream held for its next segment, contiguous from `start`,
/// with the running hash of what they hold and their share of the budget
/// of held bytes.
#[derive(Default)]
struct Held {
    start: i64,
    parts: Vec<Bytes>,
    len: usize,
    hashing: Option<RunningHash>,
    permits: Vec<OwnedSemaphorePermit>,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offset the next contiguous chunk starts at.
    fn end(&self) -> i64 {
        self.start + self.len as i64
    }

    fn push(&mut self, offset: i64, data: Bytes, permit: OwnedSemaphorePermit) {
        if self.is_empty() {
            self.start = offset;
        }
        self.hashing
            .get_or_insert_with(RunningHash::start)
            .update(data.clone());
        self.len += data.len();
        self.parts.push(data);
        self.permits.push(permit);
    }
}

/// Bytes stored for an upload and not recorded yet.
struct Kept {
    /// Where the bytes were sent from, and how many of them the upload
    /// already held.
    offset: i64,
    skip: usize,
    segment: Segment,
    /// The file's first bytes, when the segment starts it.
    head: Option<Bytes>,
    reading: Option<HeadReading>,
}

impl Kept {
    /// Whether this is the whole file, verified and stored under its
    /// content-addressed key.
    fn is_whole_original(&self, up: &Upload) -> bool {
        self.segment.start_offset == 0
            && self.segment.length == up.request.size_bytes
            && self.segment.object_key == original_key(&up.request.sha256)
    }

    fn verified(self) -> Verified {
        Verified {
            from: self.segment.start_offset,
            key: self.segment.object_key.clone(),
            sha256: self.segment.sha256,
            scratch: vec![self.segment.object_key],
            head: self.head.unwrap_or_default(),
            reading: self.reading,
        }
    }
}

/// The SHA-256 of a segment, worked out on blocking threads while its
/// chunks are still arriving, so that a photo sent whole is hashed by the
/// time its last chunk is in.
struct RunningHash {
    feed: tokio::sync::mpsc::UnboundedSender<Bytes>,
    result: tokio::task::JoinHandle<Result<String>>,
}

impl RunningHash {
    fn start() -> Self {
        let (feed, mut chunks) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let result = tokio::spawn(async move {
            let mut hash = Sha256::new();
            while let Some(chunk) = chunks.recv().await {
                hash = tokio::task::spawn_blocking(move || {
                    hash.update(&chunk);
                    hash
                })
                .await
                .map_err(|e| Error::internal(format!("hashing a segment: {e}")))?;
            }
            Ok(hex::encode(hash.finalize()))
        });
        RunningHash { feed, result }
    }

    fn of(parts: &[Bytes]) -> Self {
        let h = Self::start();
        for p in parts {
            h.update(p.clone());
        }
        h
    }

    fn update(&self, chunk: Bytes) {
        // The receiver lives until `finish`.
        let _ = self.feed.send(chunk);
    }

    async fn finish(self) -> Result<String> {
        drop(self.feed);
        self.result
            .await
            .map_err(|e| Error::internal(format!("hashing a segment: {e}")))?
    }
}

/// Kibibytes, rounded up, as the held-bytes budget counts them.
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// `parts` without their first `n` bytes.
fn skip_front(parts: Vec<Bytes>, mut n: usize) -> Vec<Bytes> {
    parts
        .into_iter()
        .filter_map(|p| {
            if n >= p.len() {
                n -= p.len();
                None
            } else {
                let rest = p.slice(n..);
                n = 0;
                Some(rest)
            }
        })
        .collect()
}
