//! Resumable evidence upload and download.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ducha_proto::v1 as pb;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use tonic::Code;
use tonic_types::StatusExt;

use crate::client::Client;
use crate::error::Error;
use crate::error::transient;

/// What the caller tells about the file.
#[derive(Debug, Clone, Default)]
pub struct UploadMetadata {
    pub unit_code: String,
    /// e.g. image/jpeg; the server checks the bytes anyway.
    pub media_type: String,
    pub file_name: String,
    /// Location, device time and device id at the moment of capture.
    pub capture: Option<pb::Capture>,
}

/// Called with (bytes the server holds, total bytes) as the upload advances.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// How hard to try.
#[derive(Clone)]
pub struct UploadOptions {
    /// Bytes per message, at most the server's maximum [default: 256 KiB]:
    /// small enough that a phone loses little when the signal drops, and
    /// that the server holds little of each upload in memory.
    pub chunk_bytes: Option<usize>,
    /// Broken connections tolerated in a row with no byte committed in
    /// between, before giving up. While each attempt moves the upload
    /// forward, there is no limit.
    pub max_retries: u32,
    /// Longest first wait after a broken connection; each wait is a random
    /// part of it, and it doubles with each attempt in a row that moved
    /// nothing, up to 30 s.
    pub first_backoff: Duration,
    pub progress: Option<Progress>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            chunk_bytes: None,
            max_retries: 10,
            first_backoff: Duration::from_millis(200),
            progress: None,
        }
    }
}

const DEFAULT_CHUNK: usize = 256 * 1024;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Bytes to send, read by offset.
enum Source {
    Memory(Bytes),
    File(std::path::PathBuf),
}

impl Source {
    async fn read(&self, offset: u64, len: usize) -> std::io::Result<Bytes> {
        match self {
            Source::Memory(b) => Ok(b.slice(offset as usize..(offset as usize + len).min(b.len()))),
            Source::File(p) => {
                let mut f = tokio::fs::File::open(p).await?;
                f.seek(std::io::SeekFrom::Start(offset)).await?;
                let mut buf = vec![0; len];
                f.read_exact(&mut buf).await?;
                Ok(buf.into())
            }
        }
    }
}

/// An upload's own calls may take longer than the client's deadline of a
/// call (a large file is finished by composing its segments, a status read
/// waits for a broken stream to store what it holds): uploads are exempt
/// from it.
const UPLOAD_CALL_TIMEOUT: Duration = Duration::from_secs(300);

fn upload_call<T>(message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.set_timeout(UPLOAD_CALL_TIMEOUT);
    r
}

fn report(progress: &Option<Progress>, committed: u64, size: u64) {
    if let Some(p) = progress {
        p(committed, size);
    }
}

/// The committed offset an ABORTED answer carries.
fn committed_in(s: &tonic::Status) -> Option<u64> {
    s.get_details_error_info()?
        .metadata
        .get("committed_offset")?
        .parse()
        .ok()
}

impl Client {
    /// Uploads a file: hashes it, declares it, sends what the server lacks,
    /// resumes after broken connections, and returns the evidence.
    pub async fn upload_file(
        &self,
        path: impl AsRef<Path>,
        meta: UploadMetadata,
        opts: UploadOptions,
    ) -> Result<pb::Evidence, Error> {
        let path = path.as_ref().to_path_buf();
        let mut f = tokio::fs::File::open(&path).await.map_err(Error::Io)?;
        let mut hash = Sha256::new();
        let mut buf = vec![0; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).await.map_err(Error::Io)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            size += n as u64;
        }
        let sha = hex::encode(hash.finalize());
        self.upload_source(Source::File(path), sha, size, meta, opts)
            .await
    }

    /// Uploads bytes held in memory, like [`Client::upload_file`].
    pub async fn upload_bytes(
        &self,
        bytes: Bytes,
        meta: UploadMetadata,
        opts: UploadOptions,
    ) -> Result<pb::Evidence, Error> {
        let sha = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as u64;
        self.upload_source(Source::Memory(bytes), sha, size, meta, opts)
            .await
    }

    async fn upload_source(
        &self,
        source: Source,
        sha256: String,
        size: u64,
        meta: UploadMetadata,
        opts: UploadOptions,
    ) -> Result<pb::Evidence, Error> {
        let begun = self
            .evidence()
            .begin_upload(upload_call(pb::BeginUploadRequest {
                unit_code: meta.unit_code,
                sha256,
                size_bytes: size as i64,
                media_type: meta.media_type,
                file_name: meta.file_name,
                capture: meta.capture,
            }))
            .await?
            .into_inner();
        if let Some(e) = begun.evidence {
            if let Some(p) = &opts.progress {
                p(size, size);
            }
            return Ok(e);
        }
        let upload = begun.upload.ok_or_else(|| {
            tonic::Status::internal("BeginUpload answered with neither evidence nor upload")
        })?;
        let finished = self
            .resume_upload(&upload, Arc::new(source), size, &opts)
            .await?;
        if let Some(e) = finished {
            return Ok(e);
        }
        self.finish(&upload.id).await
    }

    /// FinishUpload: the evidence, also when another attempt finished it.
    async fn finish(&self, id: &str) -> Result<pb::Evidence, Error> {
        Ok(self
            .evidence()
            .finish_upload(upload_call(pb::FinishUploadRequest {
                upload_id: id.to_string(),
            }))
            .await?
            .into_inner()
            .evidence
            .ok_or_else(|| tonic::Status::internal("FinishUpload answered without evidence"))?)
    }

    /// Sends the upload's bytes from where the server stands, resuming
    /// after broken streams; the evidence if the last write finished it.
    async fn resume_upload(
        &self,
        upload: &pb::Upload,
        source: Arc<Source>,
        size: u64,
        opts: &UploadOptions,
    ) -> Result<Option<pb::Evidence>, Error> {
        let id = upload.id.as_str();
        let chunk = opts
            .chunk_bytes
            .unwrap_or(DEFAULT_CHUNK)
            .clamp(1, (upload.max_chunk_bytes as usize).max(1));
        // A resumed upload (the same file declared again) goes on from
        // what the server already holds.
        let mut committed = upload.committed_offset.max(0) as u64;
        // Broken attempts in a row that moved nothing.
        let mut stalled = 0u32;
        let mut finished = None;
        while committed < size {
            let from = committed;
            let (src, upload_id) = (source.clone(), id.to_string());
            let messages = futures_util::stream::unfold(from, move |offset| {
                let (src, upload_id) = (src.clone(), upload_id.clone());
                async move {
                    if offset >= size {
                        return None;
                    }
                    let len = chunk.min((size - offset) as usize);
                    // An unreadable file ends the stream; the server keeps
                    // what came before and Finish reports the shortfall.
                    let data = src.read(offset, len).await.ok()?;
                    let msg = pb::WriteUploadRequest {
                        upload_id,
                        offset: offset as i64,
                        crc32c: crc32c::crc32c(&data),
                        data,
                        // The last bytes also finish the upload, saving
                        // a round trip; FinishUpload follows otherwise.
                        finish: offset + len as u64 == size,
                    };
                    Some((msg, offset + len as u64))
                }
            });
            let why = match self.evidence().write_upload(messages.boxed()).await {
                Ok(r) => {
                    let r = r.into_inner();
                    committed = r.committed_offset as u64;
                    finished = r.evidence;
                    if committed == from {
                        return Err(tonic::Status::internal("the server took no bytes").into());
                    }
                    report(&opts.progress, committed, size);
                    continue;
                }
                // Another stream of this upload finished it (a second
                // upload of the same file): its evidence is the answer.
                Err(s) if s.code() == Code::FailedPrecondition => {
                    return self.finish(id).await.map(Some).map_err(|_| s.into());
                }
                // A chunk past what the server holds, or another stream of
                // this upload took over; or the connection broke, and the
                // server kept what arrived whole.
                Err(s) if committed_in(&s).is_some() || transient(&s) => s,
                Err(s) => return Err(s.into()),
            };
            // A pause that grows only while nothing moves, random so that
            // two clients do not meet again; the server notices the break
            // meanwhile.
            let ceiling = opts
                .first_backoff
                .saturating_mul(1 << stalled.min(16))
                .min(MAX_BACKOFF);
            let wait = ceiling.mul_f64(rand::random::<f64>());
            tracing::debug!(upload = id, committed, ?wait, error = %why, "upload interrupted; resuming");
            tokio::time::sleep(wait).await;
            let now = match committed_in(&why) {
                Some(at) => Some(at),
                None => match self.upload_status(id).await {
                    Ok(at) => Some(at),
                    Err(e) if e.status().is_some_and(transient) => None,
                    Err(e) => return Err(e),
                },
            };
            let moved = now.is_some_and(|at| at > from);
            committed = now.unwrap_or(committed);
            stalled = if moved { 0 } else { stalled + 1 };
            if stalled > opts.max_retries {
                return Err(why.into());
            }
            report(&opts.progress, committed, size);
        }
        Ok(finished)
    }

    /// The offset the server holds of an upload.
    async fn upload_status(&self, id: &str) -> Result<u64, Error> {
        let st = self
            .evidence()
            .get_upload_status(upload_call(pb::GetUploadStatusRequest {
                upload_id: id.to_string(),
            }))
            .await?;
        let up = st
            .into_inner()
            .upload
            .ok_or_else(|| tonic::Status::internal("GetUploadStatus answered without an upload"))?;
        Ok(up.committed_offset.max(0) as u64)
    }

    /// Writes the original bytes of evidence to `out`; returns how many.
    pub async fn download(
        &self,
        evidence_id: &str,
        out: impl AsyncWrite + Unpin,
    ) -> Result<u64, Error> {
        self.download_variant(evidence_id, pb::EvidenceVariant::Original, out)
            .await
    }

    /// Writes the original, the thumbnail or the preview of evidence to
    /// `out`; returns how many bytes. A derivative not made yet is
    /// FAILED_PRECONDITION.
    pub async fn download_variant(
        &self,
        evidence_id: &str,
        variant: pb::EvidenceVariant,
        mut out: impl AsyncWrite + Unpin,
    ) -> Result<u64, Error> {
        let mut s = self
            .evidence()
            .download_evidence(pb::DownloadEvidenceRequest {
                id: evidence_id.into(),
                variant: variant as i32,
            })
            .await?
            .into_inner();
        let mut n = 0u64;
        while let Some(m) = s.message().await? {
            out.write_all(&m.data).await.map_err(Error::Io)?;
            n += m.data.len() as u64;
        }
        out.flush().await.map_err(Error::Io)?;
        Ok(n)
    }
}

/// The text a phone signs with its device key at the moment of capture,
/// for `Capture.attestation_signature`: the photo's SHA-256 (lowercase
/// hex) with the capture's time, place and device id.
pub fn attestation_payload(sha256: &str, capture: &pb::Capture) -> String {
    let time = capture
        .device_time
        .map(|t| t.seconds.to_string())
        .unwrap_or_default();
    let (lat, lon, datum) = match &capture.location {
        Some(l) => (
            format!("{:.7}", l.latitude),
            format!("{:.7}", l.longitude),
            match pb::Datum::try_from(l.datum) {
                Ok(pb::Datum::Gcj02) => "GCJ02",
                Ok(pb::Datum::Bd09) => "BD09",
                _ => "WGS84",
            }
            .to_string(),
        ),
        None => Default::default(),
    };
    format!(
        "ducha-capture-v1|{sha256}|{time}|{lat}|{lon}|{datum}|{}",
        capture.device_id
    )
}
