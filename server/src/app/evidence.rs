//! Evidence uploads: declared, sent in chunks that survive broken
//! connections and restarts, verified, and stored once per content.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::upload_heads::HEAD_BYTES;
use super::{ANY_ROLE, App};
use crate::blob::PutStream;
use crate::domain::access::{Caller, Role, Scope};
use crate::domain::derivative::{self, DerivativeState, Variant};
use crate::domain::event::Change;
use crate::domain::evidence::{
    self, Evidence, EvidenceCursor, EvidenceFilter, Placement, Upload, UploadDraft, check_crc32c,
    original_key, sniff_media_type,
};
use crate::domain::page;
use crate::domain::signals;
use crate::error::{Error, Result};
use crate::media;
use crate::store::{EVIDENCE, Segment, time_now};

const UPLOAD: &[Role] = &[
    Role::Inspector,
    Role::UnitLiaison,
    Role::Verifier,
    Role::PetitionOfficer,
    Role::Supervisor,
];
const READ: &[Role] = ANY_ROLE;
/// Roles that upload evidence; also used for device registration.
pub(super) const UPLOAD_ROLES: &[Role] = UPLOAD;

/// The answer to BeginUpload.
pub enum Begun {
    /// The caller's units already hold these bytes.
    Existing(Box<Evidence>),
    /// Send the bytes here.
    Upload(Box<Upload>),
}

/// One message of bytes.
pub struct Chunk {
    pub upload_id: String,
    pub offset: i64,
    pub data: Bytes,
    pub crc32c: u32,
}

fn parse_id(field: &str, s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::invalid(field, "must be a UUID"))
}

impl App {
    pub async fn begin_upload(&self, caller: &Caller, draft: UploadDraft) -> Result<Begun> {
        caller.require(UPLOAD)?;
        let req = draft.validate(&self.uploads)?;
        if !caller.sees_unit(&req.unit_code) {
            return Err(Error::PermissionDenied(format!(
                "you may add evidence only for your own units, not {}",
                req.unit_code
            )));
        }
        self.active_unit(&req.unit_code, "unit_code").await?;
        // Only the caller's own units are searched, so a hash never reveals
        // that a photo exists elsewhere.
        let mine: Option<Vec<String>> = match &caller.scope {
            Scope::All => None,
            Scope::Units(u) => Some(u.iter().cloned().collect()),
        };
        if let Some(e) = self
            .store
            .find_evidence(&req.sha256, mine.as_deref(), &req.unit_code)
            .await?
        {
            return Ok(Begun::Existing(Box::new(e)));
        }
        let now = time_now();
        let open = self.store.count_open_uploads(&caller.subject, now).await?;
        if open >= self.uploads.max_open_per_user {
            return Err(Error::ResourceExhausted {
                message: format!(
                    "you have {open} unfinished uploads, the most allowed; finish them or let them expire"
                ),
                retry_after: None,
            });
        }
        let upload = Upload {
            id: Uuid::now_v7(),
            uploader: caller.subject.clone(),
            request: req,
            committed_offset: 0,
            created_at: now,
            expires_at: now
                + chrono::TimeDelta::from_std(self.uploads.ttl).unwrap_or(chrono::TimeDelta::MAX),
            evidence_id: None,
        };
        self.store.insert_upload(&upload).await?;
        Ok(Begun::Upload(Box::new(upload)))
    }

    /// An upload of the caller's; anyone else's is NOT_FOUND.
    async fn own_upload(&self, caller: &Caller, id: &str) -> Result<Upload> {
        caller.require(UPLOAD)?;
        let id = parse_id("upload_id", id)?;
        let up = self
            .store
            .get_upload(id)
            .await?
            .filter(|u| u.uploader == caller.subject)
            .ok_or_else(|| Error::NotFound(format!("upload {id}")))?;
        if up.evidence_id.is_none() && up.expires_at <= time_now() {
            return Err(Error::NotFound(format!("upload {id} (it expired)")));
        }
        Ok(up)
    }

    async fn open_upload(&self, caller: &Caller, id: &str) -> Result<Upload> {
        let up = self.own_upload(caller, id).await?;
        if up.evidence_id.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "upload {} is already finished",
                up.id
            )));
        }
        Ok(up)
    }

    pub async fn upload_status(&self, caller: &Caller, id: &str) -> Result<Upload> {
        self.own_upload(caller, id).await
    }

    pub async fn append_upload(&self, caller: &Caller, chunk: Chunk) -> Result<i64> {
        let up = self.open_upload(caller, &chunk.upload_id).await?;
        check_crc32c(&chunk.data, chunk.crc32c)?;
        self.store_chunk(&up, chunk.offset, vec![chunk.data], None, None)
            .await
    }

    /// Takes a stream of chunks, keeping them in segments of up to the chunk
    /// limit. What arrived before a broken stream is kept. Chunks are held
    /// as received, never copied, so a stream holds at most one segment's
    /// bytes in memory.
    pub async fn write_upload(
        &self,
        caller: &Caller,
        mut chunks: impl Stream<Item = Result<Chunk>> + Unpin,
    ) -> Result<i64> {
        let first = match chunks.next().await {
            Some(c) => c?,
            None => return Err(Error::invalid("upload_id", "the stream sent no chunk")),
        };
        let mut up = self.open_upload(caller, &first.upload_id).await?;
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
                    )
                    .await?
            } else {
                None
            };
        let mut held: Vec<Bytes> = Vec::new();
        let mut held_len = 0usize;
        let mut hashing: Option<RunningHash> = None;
        let mut permits = Vec::new();
        let mut held_start = first.offset;
        let mut next = Some(Ok(first));
        while let Some(item) = next {
            let checked = item.and_then(|c| {
                if !c.upload_id.is_empty() && c.upload_id != up.id.to_string() {
                    return Err(Error::invalid("upload_id", "one stream carries one upload"));
                }
                check_crc32c(&c.data, c.crc32c).map(|()| c)
            });
            let chunk = match checked {
                Ok(c) => c,
                Err(e) => {
                    // Keep what arrived intact before the break or the
                    // damaged chunk, so the client resends only the rest.
                    if held_len > 0 {
                        let _ = self
                            .store_chunk(&up, held_start, held, hashing, streaming)
                            .await;
                    }
                    return Err(e);
                }
            };
            let contiguous = chunk.offset == held_start + held_len as i64;
            // Bytes held across all streams stay within a budget; past it,
            // each chunk is stored as it comes, in smaller segments.
            let budget = self
                .held_upload_bytes
                .clone()
                .try_acquire_many_owned(kib(chunk.data.len()))
                .ok();
            let full = held_len + chunk.data.len() > max || budget.is_none();
            if held_len > 0 && (!contiguous || full) {
                let parts = std::mem::take(&mut held);
                held_len = 0;
                permits.clear();
                up.committed_offset = self
                    .store_chunk(&up, held_start, parts, hashing.take(), streaming.take())
                    .await?;
            }
            match budget {
                Some(permit) => {
                    if held_len == 0 {
                        held_start = chunk.offset;
                    }
                    if let Some(s) = streaming.as_mut()
                        && chunk.offset as u64 == s.sent()
                    {
                        s.send(chunk.data.clone());
                    }
                    hashing
                        .get_or_insert_with(RunningHash::start)
                        .update(chunk.data.clone());
                    held_len += chunk.data.len();
                    held.push(chunk.data);
                    permits.push(permit);
                }
                None => {
                    streaming = None;
                    up.committed_offset = self
                        .store_chunk(&up, chunk.offset, vec![chunk.data], None, None)
                        .await?;
                }
            }
            next = chunks.next().await;
        }
        if held_len > 0 {
            up.committed_offset = self
                .store_chunk(&up, held_start, held, hashing, streaming)
                .await?;
        }
        Ok(up.committed_offset)
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
        let len: usize = parts.iter().map(Bytes::len).sum();
        let skip = match up.place(offset, len, &self.uploads)? {
            Placement::Covered => return Ok(up.committed_offset),
            Placement::Append { skip } => skip,
        };
        let parts = skip_front(parts, skip);
        let parts_head = parts.clone();
        let hashing = match hashing {
            Some(h) if skip == 0 => h,
            _ => RunningHash::of(&parts),
        };
        let from = up.committed_offset;
        let length = (len - skip) as i64;
        let scratch_key = format!("uploads/{}/{from:016}-{}", up.id, Uuid::new_v4().simple());
        let (object_key, sha256) = if from == 0 && length == up.request.size_bytes {
            // The whole file at once, as most photos come: once its hash is
            // the declared one, it goes straight to its content-addressed
            // key, and Finish has nothing to copy.
            let sha256 = hashing.finish().await?;
            if sha256 == up.request.sha256 {
                let key = original_key(&sha256);
                let streamed = match streamed {
                    Some(put) => {
                        let rest = skip_front(parts.clone(), put.sent() as usize);
                        put.finish(rest)
                            .await
                            .inspect_err(|e| {
                                tracing::warn!(upload = %up.id, "streamed put failed, putting again: {e}")
                            })
                            .is_ok()
                    }
                    None => false,
                };
                if !streamed {
                    self.blobs.put_new(&key, parts).await?;
                }
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
        let segment = Segment {
            start_offset: from,
            length,
            object_key,
            sha256,
        };
        if self.store.add_segment(up.id, from, &segment).await? {
            if from == 0 {
                self.upload_heads.keep(up.id, &parts_head);
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

    /// Verifies what arrived and records it as evidence; finishing twice
    /// answers with the same evidence.
    pub async fn finish_upload(&self, caller: &Caller, id: &str) -> Result<Evidence> {
        let up = self.own_upload(caller, id).await?;
        if let Some(done) = up.evidence_id {
            return self
                .store
                .get_evidence(done)
                .await?
                .ok_or_else(|| Error::internal("finished upload without evidence"));
        }
        if !up.is_complete() {
            return Err(Error::FailedPrecondition(format!(
                "upload {} holds {} of {} bytes; send the rest first",
                up.id, up.committed_offset, up.request.size_bytes
            )));
        }
        let segments = self.store.segments(up.id).await?;
        let mut scratch: Vec<String> = segments.iter().map(|s| s.object_key.clone()).collect();
        let (key, sha256) = match segments.as_slice() {
            [only] => (only.object_key.clone(), only.sha256.clone()),
            _ => {
                let whole = format!("uploads/{}/whole-{}", up.id, Uuid::new_v4().simple());
                let sha = self.blobs.concat(&scratch, &whole).await?;
                scratch.push(whole.clone());
                (whole, sha)
            }
        };
        if sha256 != up.request.sha256 {
            self.discard_upload(up.id, &scratch).await?;
            return Err(Error::invalid(
                "sha256",
                format!(
                    "the bytes received hash to {sha256}, not the declared {}; the upload was discarded",
                    up.request.sha256
                ),
            ));
        }
        let head_len = HEAD_BYTES.min(up.request.size_bytes as u64);
        let head = match self.upload_heads.take(up.id, head_len) {
            Some(head) => head,
            None => self.blobs.head_bytes(&key, head_len).await?,
        };
        let Some(media_type) = sniff_media_type(&head) else {
            self.discard_upload(up.id, &scratch).await?;
            return Err(Error::invalid(
                "data",
                "is not a JPEG, PNG, WebP or HEIF photo nor a PDF document; the upload was discarded",
            ));
        };
        let inspected = tokio::task::spawn_blocking(move || media::inspect(&head, media_type))
            .await
            .map_err(|e| Error::internal(format!("reading the file: {e}")))?;
        let metadata = match inspected {
            Ok(m) => m,
            Err(why) => {
                self.discard_upload(up.id, &scratch).await?;
                return Err(Error::invalid(
                    "data",
                    format!("{why}; the upload was discarded"),
                ));
            }
        };
        let original = original_key(&sha256);
        if key != original {
            self.blobs.copy_new(&key, &original).await?;
        }
        scratch.retain(|k| *k != original);
        let now = time_now();
        let file_signals =
            signals::of_file(media_type, &metadata, &up.request.capture, &self.signals);
        let attestation = self.check_attestation(&up).await?;
        let e = Evidence {
            id: Uuid::now_v7(),
            sha256,
            unit_code: up.request.unit_code.clone(),
            uploader: up.uploader.clone(),
            media_type: media_type.to_string(),
            declared_media_type: up.request.media_type.clone(),
            file_name: up.request.file_name.clone(),
            size_bytes: up.request.size_bytes,
            capture: up.request.capture.clone(),
            metadata,
            signals: file_signals,
            attestation,
            created_at: now,
            derivatives: derivative::initial(media_type),
            phash: None,
        };
        let change = Change {
            at: now,
            actor: caller.subject.clone(),
            action: "stored".into(),
            subject_kind: EVIDENCE,
            subject_id: e.id,
            unit_code: e.unit_code.clone(),
            data: serde_json::json!({
                "sha256": e.sha256,
                "media_type": e.media_type,
                "size_bytes": e.size_bytes,
                "signals": e.signals.iter().map(|s| s.kind()).collect::<Vec<_>>(),
            }),
        };
        let stored = self
            .store
            .record_evidence(up.id, &e, &original, &change)
            .await?;
        if self.store.link_expecting_records(&stored, now).await? > 0 {
            self.assess_around(&stored.sha256).await?;
        }
        for k in &scratch {
            let _ = self.blobs.delete(k).await;
        }
        self.derivatives_due.notify_one();
        tracing::info!(actor = %caller.subject, evidence = %stored.id, sha256 = %stored.sha256, "evidence stored");
        Ok(stored)
    }

    /// Removes an upload and its objects. An original it wrote straight
    /// to its content-addressed key stays while evidence or another upload
    /// holds it.
    async fn discard_upload(&self, id: Uuid, objects: &[String]) -> Result<()> {
        for k in objects {
            if let Some(sha) = evidence::original_sha256(k)
                && self.store.original_in_use(sha, k, id).await?
            {
                continue;
            }
            self.blobs.delete(k).await?;
        }
        self.store.delete_upload(id).await
    }

    /// Removes uploads left unfinished past their time, with their bytes.
    /// Returns how many were removed.
    pub async fn clean_expired_uploads(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        let mut removed = 0;
        loop {
            let ids = self.store.expired_uploads(now, 100).await?;
            if ids.is_empty() {
                return Ok(removed);
            }
            for id in ids {
                let keys: Vec<String> = self
                    .store
                    .segments(id)
                    .await?
                    .into_iter()
                    .map(|s| s.object_key)
                    .collect();
                self.discard_upload(id, &keys).await?;
                removed += 1;
            }
        }
    }

    pub async fn get_evidence(&self, caller: &Caller, id: &str) -> Result<Evidence> {
        caller.require(READ)?;
        let id = parse_id("id", id)?;
        let e = self
            .store
            .get_evidence(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("evidence {id}")))?;
        caller.ensure_sees(&e.unit_code, || format!("evidence {id}"))?;
        Ok(e)
    }

    /// The original or a derivative of evidence the caller may see.
    pub async fn download_evidence(
        &self,
        caller: &Caller,
        id: &str,
        variant: Variant,
    ) -> Result<futures::stream::BoxStream<'static, Result<Bytes>>> {
        let e = self.get_evidence(caller, id).await?;
        let key = file_key(&e, variant)?;
        self.blobs.stream(&key).await
    }
}

impl App {
    /// Evidence in scope, newest first, a page at a time.
    pub async fn list_evidence(
        &self,
        caller: &Caller,
        mut filter: EvidenceFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<super::Page<Evidence>> {
        caller.require(READ)?;
        let limit = page::page_size(page_size)?;
        let query = page::query_digest(&filter);
        let cursor: Option<EvidenceCursor> = page::decode_token(page_token, &query)?;
        filter.unit_codes = caller.narrow_units(filter.unit_codes.take());
        let mut items = self.store.list_evidence(&filter, cursor, limit + 1).await?;
        let next_page_token = if items.len() > limit {
            items.truncate(limit);
            let last = items.last().expect("page is not empty");
            page::encode_token(
                &query,
                &EvidenceCursor {
                    created_at: last.created_at,
                    id: last.id,
                },
            )
        } else {
            String::new()
        };
        Ok(super::Page {
            items,
            next_page_token,
        })
    }
}

/// Object key of a variant of `e`; a derivative must have been made.
pub(super) fn file_key(e: &Evidence, variant: Variant) -> Result<String> {
    let made = match variant {
        Variant::Original => return Ok(evidence::original_key(&e.sha256)),
        Variant::Thumbnail => &e.derivatives.thumbnail,
        Variant::Preview => &e.derivatives.preview,
    };
    match (e.derivatives.state, made) {
        (DerivativeState::Ready, Some(r)) => Ok(r.key.clone()),
        (state, _) => Err(Error::FailedPrecondition(format!(
            "the {} of evidence {} cannot be downloaded: its derivatives are {}{}",
            variant.as_str(),
            e.id,
            state.as_str(),
            e.derivatives
                .error
                .as_deref()
                .map(|why| format!(" ({why})"))
                .unwrap_or_default()
        ))),
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
