//! The derivatives job: thumbnail, preview and perceptual hash of each
//! stored photo, made in the background, retried on failure, and the
//! outcome recorded on the content either way.

use std::time::Duration;

use super::App;
use crate::domain::derivative::{
    self, DerivativeState, Derivatives, Maker, Rendition, Variant, retry_delay,
};
use crate::domain::evidence::FileMetadata;
use crate::domain::evidence::original_key;
use crate::error::{Error, Result};
use crate::media::tool::RenderError;
use crate::media::{self, MediaError};
use crate::store::{ClaimedJob, DERIVATIVES_JOB};

/// A claim lasts this long; a process that dies mid-job leaves it to be
/// claimed again after it.
const LEASE: Duration = Duration::from_secs(10 * 60);

/// Why an attempt failed: the picture itself (no retry helps), or
/// something around it (storage, database) that may pass.
enum Failure {
    Picture(MediaError),
    Passing(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Passing(e)
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::Picture(p) => Failure::Picture(p),
            other => Failure::Passing(Error::internal(other.to_string())),
        }
    }
}

impl App {
    /// Why derivatives of this kind cannot be made here, if they cannot.
    pub(super) fn cannot_make(&self, maker: Maker) -> Option<String> {
        let (tool, what) = match maker {
            Maker::Pixels => return None,
            Maker::Heif => (&self.tools.heif_convert, "HEIF pictures"),
            Maker::Video => (&self.tools.ffmpeg, "videos"),
        };
        tool.missing()
            .map(|why| format!("{what} get no thumbnail or preview on this server: {why}"))
    }

    /// Claims up to `limit` due derivative jobs and runs them side by side.
    /// Returns how many were claimed.
    pub async fn run_derivative_jobs(&self, limit: usize) -> Result<usize> {
        let jobs = self
            .store
            .claim_jobs(DERIVATIVES_JOB, self.now(), LEASE, limit as i64)
            .await?;
        let n = jobs.len();
        let runs = jobs.into_iter().map(|job| async move {
            if let Err(e) = self.make_derivatives(&job).await {
                tracing::warn!(sha256 = %job.subject, error = %e, "recording derivatives failed");
            }
        });
        futures::future::join_all(runs).await;
        Ok(n)
    }

    async fn make_derivatives(&self, job: &ClaimedJob) -> Result<()> {
        let sha256 = job.subject.as_str();
        let outcome = match self.store.derivative_source(sha256).await? {
            Some((media_type, meta)) => self.render_and_store(sha256, &media_type, &meta).await,
            None => Err(Failure::Passing(Error::internal(
                "no evidence holds these bytes",
            ))),
        };
        let attempts = job.attempts.max(0) as u32;
        let (d, phash) = match outcome {
            Ok((thumbnail, preview, phash)) => (
                Derivatives {
                    state: DerivativeState::Ready,
                    thumbnail: Some(thumbnail),
                    preview: Some(preview),
                    error: None,
                    attempts,
                },
                Some(phash),
            ),
            Err(Failure::Passing(e)) if attempts < self.jobs.max_attempts => {
                let wait = retry_delay(attempts, self.jobs.retry_delay);
                tracing::warn!(%sha256, attempts, error = %e, ?wait, "derivatives failed; will retry");
                let at = self.now() + chrono::TimeDelta::from_std(wait).unwrap_or_default();
                return self
                    .store
                    .retry_job(DERIVATIVES_JOB, job, at, &e.to_string())
                    .await;
            }
            Err(f) => {
                let error = match f {
                    Failure::Picture(e) => e.to_string(),
                    Failure::Passing(e) => format!("gave up after {attempts} attempts: {e}"),
                };
                tracing::warn!(%sha256, %error, "derivatives cannot be made");
                (
                    Derivatives {
                        state: DerivativeState::Failed,
                        error: Some(error),
                        attempts,
                        ..Derivatives::default()
                    },
                    None,
                )
            }
        };
        self.store
            .record_derivatives(sha256, &d, phash, job)
            .await?;
        if phash.is_some() {
            self.assess_around(sha256).await?;
        }
        Ok(())
    }

    async fn render_and_store(
        &self,
        sha256: &str,
        media_type: &str,
        meta: &FileMetadata,
    ) -> Result<(Rendition, Rendition, u64), Failure> {
        let rendered = match derivative::maker(media_type) {
            Some(Maker::Video) => self.render_video(sha256, meta.duration_ms).await?,
            Some(Maker::Heif) => {
                let bytes = self.original(sha256).await?;
                media::heif::render(&self.tools.heif_convert, bytes)
                    .await
                    .map_err(Failure::from)?
            }
            _ => {
                let bytes = self.original(sha256).await?;
                let media_type = media_type.to_string();
                let orientation = meta.orientation.unwrap_or(1);
                tokio::task::spawn_blocking(move || {
                    media::derive::render_owned(bytes, &media_type, orientation)
                })
                .await
                .map_err(|e| Error::internal(format!("making derivatives: {e}")))?
                .map_err(Failure::Picture)?
            }
        };
        let mut out = Vec::with_capacity(2);
        for (variant, enc) in [
            (Variant::Thumbnail, rendered.thumbnail),
            (Variant::Preview, rendered.preview),
        ] {
            let key = derivative::key(sha256, variant);
            let size_bytes = enc.jpeg.len() as i64;
            self.blobs.put(&key, enc.jpeg.into()).await?;
            out.push(Rendition {
                key,
                width: enc.width,
                height: enc.height,
                size_bytes,
            });
        }
        let preview = out.pop().expect("two renditions");
        let thumbnail = out.pop().expect("two renditions");
        Ok((thumbnail, preview, rendered.phash))
    }

    async fn original(&self, sha256: &str) -> Result<bytes::Bytes> {
        self.blobs
            .get(&original_key(sha256))
            .await?
            .ok_or_else(|| Error::internal(format!("the original of {sha256} is missing")))
    }

    /// A video's poster frame: the original is copied to a temporary file
    /// as it streams in (ffmpeg reads only local files), never held whole.
    async fn render_video(
        &self,
        sha256: &str,
        duration_ms: Option<u64>,
    ) -> Result<media::derive::Rendered, Failure> {
        use futures::TryStreamExt;
        use tokio::io::AsyncWriteExt;
        let dir =
            tempfile::tempdir().map_err(|e| Error::internal(format!("temporary folder: {e}")))?;
        let path = dir.path().join("video");
        let io = |e: std::io::Error| Error::internal(format!("temporary file: {e}"));
        let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut stream = self.blobs.stream(&original_key(sha256)).await?;
        while let Some(chunk) = stream.try_next().await? {
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        drop(file);
        let rendered = media::video::render(&self.tools.ffmpeg, &path, duration_ms).await;
        // Removing a 500 MiB file blocks: not on the runtime's threads.
        tokio::task::spawn_blocking(move || drop(dir));
        Ok(rendered?)
    }
}
