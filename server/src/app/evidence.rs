//! Evidence uploads: declared, sent in chunks that survive broken
//! connections and restarts, verified, and stored once per content.

use bytes::Bytes;
use uuid::Uuid;

use super::upload_heads::HEAD_BYTES;
use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role, Scope};
use crate::domain::derivative::{self, DerivativeState, Variant};
use crate::domain::event::Change;
use crate::domain::evidence::{
    self, Evidence, EvidenceCursor, EvidenceFilter, FileMetadata, Upload, UploadDraft, is_video,
    original_key,
};
use crate::domain::page;
use crate::domain::signals;
use crate::error::{Error, Reason, Result};
use crate::media::{HeadReading, MediaError, read_head, video};
use crate::store::EVIDENCE;

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

/// An upload's bytes, all in and hashed to the declared SHA-256, ready to
/// be recorded.
pub(super) struct Verified {
    /// The committed offset they were verified at.
    pub from: i64,
    /// Where they are stored.
    pub key: String,
    pub sha256: String,
    /// Objects to remove once recorded (the original excepted) or refused.
    pub scratch: Vec<String>,
    /// The file's first bytes, and their reading if it was made.
    pub head: Bytes,
    pub reading: Option<HeadReading>,
}

/// The answer to BeginUpload.
pub enum Begun {
    /// The caller's units already hold these bytes.
    Existing(Box<Evidence>),
    /// Send the bytes here.
    Upload(Box<Upload>),
}

impl App {
    pub async fn begin_upload(&self, caller: &Caller, draft: UploadDraft) -> Result<Begun> {
        caller.require(UPLOAD)?;
        let req = draft.validate(&self.uploads)?;
        if !caller.sees_unit(&req.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may add evidence only for your own units, not {}",
                    req.unit_code
                ),
            ));
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
        let now = self.now();
        // The same declaration again (a phone that restarted, or a retry
        // whose answer was lost) resumes the upload it began. A stream of
        // it still open here belongs to the attempt given up: it stores
        // what it holds first.
        if let Some(up) = self
            .store
            .open_uploads_of(&caller.subject, &req.sha256, now)
            .await?
            .into_iter()
            .find(|u| u.request == req)
        {
            self.writers.stop(up.id).await;
            // It has its whole time again from now.
            self.store
                .renew_upload(up.id, self.upload_expiry(now))
                .await?;
            let up = self.store.get_upload(up.id).await?.unwrap_or(up);
            return Ok(Begun::Upload(Box::new(up)));
        }
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
            expires_at: self.upload_expiry(now),
            evidence_id: None,
        };
        self.store.insert_upload(&upload).await?;
        Ok(Begun::Upload(Box::new(upload)))
    }

    /// When an upload begun or resumed `now` expires.
    fn upload_expiry(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now + chrono::TimeDelta::from_std(self.uploads.ttl).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// An upload of the caller's as it stands now; anyone else's is
    /// NOT_FOUND.
    pub(super) async fn own_upload_now(&self, caller: &Caller, id: &str) -> Result<Upload> {
        caller.require(UPLOAD)?;
        let id = crate::domain::id::required("upload_id", id)?;
        let up = self
            .store
            .get_upload(id)
            .await?
            .filter(|u| u.uploader == caller.subject)
            .ok_or_else(|| Error::NotFound(format!("upload {id}")))?;
        if up.evidence_id.is_none() && up.expires_at <= self.now() {
            return Err(Error::NotFound(format!("upload {id} (it expired)")));
        }
        Ok(up)
    }

    /// An upload of the caller's, once a write stream of it in this
    /// process whose call is gone has stored what it holds, so the answer
    /// includes those bytes.
    pub(super) async fn own_upload(&self, caller: &Caller, id: &str) -> Result<Upload> {
        let up = self.own_upload_now(caller, id).await?;
        if up.evidence_id.is_some() || !self.writers.settled(up.id).await {
            return Ok(up);
        }
        self.own_upload_now(caller, id).await
    }

    /// An unfinished upload of the caller's, as it stands now.
    pub(super) fn unfinished(up: Upload) -> Result<Upload> {
        if up.evidence_id.is_some() {
            return Err(Error::refused(
                Reason::UploadFinished,
                format!("upload {} is already finished", up.id),
            ));
        }
        Ok(up)
    }

    pub async fn upload_status(&self, caller: &Caller, id: &str) -> Result<Upload> {
        self.own_upload(caller, id).await
    }

    /// Verifies what arrived and records it as evidence; finishing twice
    /// answers with the same evidence.
    pub async fn finish_upload(&self, caller: &Caller, id: &str) -> Result<Evidence> {
        let up = self.own_upload(caller, id).await?;
        self.finish_open_upload(caller, up).await
    }

    /// Finishes an upload of the caller's, read just before.
    pub(super) async fn finish_open_upload(&self, caller: &Caller, up: Upload) -> Result<Evidence> {
        if let Some(done) = up.evidence_id {
            return self
                .store
                .get_evidence(done)
                .await?
                .ok_or_else(|| Error::internal("finished upload without evidence"));
        }
        if !up.is_complete() {
            return Err(Error::refused(
                Reason::UploadIncomplete,
                format!(
                    "upload {} holds {} of {} bytes; send the rest first",
                    up.id, up.committed_offset, up.request.size_bytes
                ),
            ));
        }
        let segments = self.store.segments(up.id).await?;
        let mut scratch: Vec<String> = segments.iter().map(|s| s.object_key.clone()).collect();
        let (key, sha256) = match segments.as_slice() {
            [only] => (only.object_key.clone(), only.sha256.clone()),
            _ => {
                let whole = format!("uploads/{}/whole-{}", up.id, Uuid::new_v4().simple());
                let sha = match self.blobs.concat(&scratch, &whole).await {
                    Err(Error::NotFound(_)) => return self.after_lost(&up).await,
                    r => r?,
                };
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
        let (head, reading) = match self.upload_heads.take(up.id, head_len) {
            Some(kept) => kept,
            None => match self.blobs.head_bytes(&key, head_len).await {
                Err(Error::NotFound(_)) => return self.after_lost(&up).await,
                r => (r?, None),
            },
        };
        let verified = Verified {
            from: up.committed_offset,
            key,
            sha256,
            scratch,
            head,
            reading,
        };
        self.record_upload(caller, up, verified).await
    }

    /// Reads a stored video's metadata from its index (`moov`), by range:
    /// phones often write it after the frames.
    async fn read_video(&self, key: &str, size: u64) -> Result<Result<FileMetadata, MediaError>> {
        let layout = video::layout(size, |r| self.blobs.range(key, r)).await?;
        let layout = match layout {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        let Some(moov) = layout.moov else {
            return Ok(Err(MediaError::Unreadable(
                "it has no index (moov box): the recording is cut short or was never finished"
                    .into(),
            )));
        };
        let ftyp = match layout.ftyp {
            Some(r) => self.blobs.range(key, r).await?,
            None => bytes::Bytes::new(),
        };
        let moov = self.blobs.range(key, moov).await?;
        match tokio::task::spawn_blocking(move || video::read(&ftyp, &moov)).await {
            Ok(read) => Ok(read),
            // A parser that gave up by panicking gave up on this file.
            Err(e) if e.is_panic() => Ok(Err(MediaError::Unreadable(
                "its index cannot be parsed".into(),
            ))),
            Err(e) => Err(Error::internal(format!("reading the video: {e}"))),
        }
    }

    /// Checks the type and headers of an upload's verified bytes and
    /// records them as evidence, closing the upload. When the upload's
    /// committed offset is no longer `verified.from`, another writer moved
    /// it: its evidence if it finished, ABORTED with the offset otherwise.
    pub(super) async fn record_upload(
        &self,
        caller: &Caller,
        up: Upload,
        verified: Verified,
    ) -> Result<Evidence> {
        let Verified {
            from,
            key,
            sha256,
            mut scratch,
            head,
            reading,
        } = verified;
        let reading = match reading {
            Some(r) => r,
            None => tokio::task::spawn_blocking(move || read_head(&head))
                .await
                .map_err(|e| Error::internal(format!("reading the file: {e}")))?,
        };
        let Some((media_type, inspected)) = reading else {
            self.discard_upload(up.id, &scratch).await?;
            return Err(Error::invalid(
                "data",
                "is not a JPEG, PNG, WebP or HEIF photo, an MP4 or QuickTime video, nor a PDF document; the upload was discarded",
            ));
        };
        let inspected = match inspected {
            Ok(_)
                if !is_video(media_type) && up.request.size_bytes > self.uploads.max_file_bytes =>
            {
                Err(MediaError::Unreadable(format!(
                    "it is a {media_type} file of {} bytes, over the limit of {} bytes for photos and documents (it was declared as {})",
                    up.request.size_bytes, self.uploads.max_file_bytes, up.request.media_type
                )))
            }
            Ok(_) if is_video(media_type) => {
                self.read_video(&key, up.request.size_bytes as u64).await?
            }
            r => r,
        };
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
        let now = self.now();
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
            derivatives: derivative::initial(media_type, |m| self.cannot_make(m)),
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
        let Some((stored, linked)) = self
            .store
            .record_evidence(up.id, from, &e, &original, &change)
            .await?
        else {
            let current = self
                .store
                .get_upload(up.id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("upload {}", up.id)))?;
            return match current.evidence_id {
                Some(done) => self
                    .store
                    .get_evidence(done)
                    .await?
                    .ok_or_else(|| Error::internal("finished upload without evidence")),
                None => Err(Error::UploadOffset {
                    committed: current.committed_offset,
                }),
            };
        };
        if linked > 0 {
            self.assess_around(&stored.sha256).await?;
        }
        for k in &scratch {
            let _ = self.blobs.delete(k).await;
        }
        self.derivatives_due.notify_one();
        tracing::info!(actor = %caller.subject, evidence = %stored.id, sha256 = %stored.sha256, "evidence stored");
        Ok(stored)
    }

    /// An object of the upload was missing as it was being finished.
    /// Either another attempt (a retry) finished it meanwhile, and its
    /// evidence is the answer, or the object store lost committed bytes (a
    /// lifecycle rule, a restore from an older backup): then the offset
    /// goes back to the first segment missing, and the answer asks the
    /// client to send from there.
    async fn after_lost(&self, up: &Upload) -> Result<Evidence> {
        let now = self
            .store
            .get_upload(up.id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("upload {}", up.id)))?;
        if let Some(done) = now.evidence_id {
            return self
                .store
                .get_evidence(done)
                .await?
                .ok_or_else(|| Error::internal("finished upload without evidence"));
        }
        for seg in self.store.segments(up.id).await? {
            if !self.blobs.exists(&seg.object_key).await? {
                tracing::warn!(
                    upload = %up.id,
                    key = seg.object_key,
                    "a segment of an upload is missing from the object store; asking for it again"
                );
                self.store.truncate_upload(up.id, seg.start_offset).await?;
                return Err(Error::UploadOffset {
                    committed: seg.start_offset,
                });
            }
        }
        Err(Error::conflict(
            Reason::UploadChanged,
            format!(
                "upload {} changed while it was being finished; finish it again",
                up.id
            ),
        ))
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
        let id = crate::domain::id::required("id", id)?;
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
        let query = page::query_digest(&caller.subject, &filter);
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
        (state, _) => Err(Error::refused(
            Reason::DerivativesNotReady,
            format!(
                "the {} of evidence {} cannot be downloaded: its derivatives are {}{}",
                variant.as_str(),
                e.id,
                state.as_str(),
                e.derivatives
                    .error
                    .as_deref()
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default()
            ),
        )),
    }
}
