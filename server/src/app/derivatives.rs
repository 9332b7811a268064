//! The derivatives job: thumbnail, preview and perceptual hash of each
//! stored photo, made in the background, retried on failure, and the
//! outcome recorded on the content either way.

use std::time::Duration;

use super::App;
use crate::domain::derivative::{
    self, DerivativeState, Derivatives, Rendition, Variant, retry_delay,
};
use crate::domain::evidence::original_key;
use crate::error::{Error, Result};
use crate::media::{self, MediaError};
use crate::store::{ClaimedJob, DERIVATIVES_JOB, time_now};

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

impl App {
    /// Claims up to `limit` due derivative jobs and runs them side by side.
    /// Returns how many were claimed.
    pub async fn run_derivative_jobs(&self, limit: usize) -> Result<usize> {
        let jobs = self
            .store
            .claim_jobs(DERIVATIVES_JOB, time_now(), LEASE, limit as i64)
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
            Some((media_type, meta)) => {
                let orientation = meta.orientation.unwrap_or(1);
                self.render_and_store(sha256, &media_type, orientation)
                    .await
            }
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
                let at = time_now() + chrono::TimeDelta::from_std(wait).unwrap_or_default();
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
        orientation: u16,
    ) -> Result<(Rendition, Rendition, u64), Failure> {
        let bytes = self
            .blobs
            .get(&original_key(sha256))
            .await?
            .ok_or_else(|| Error::internal(format!("the original of {sha256} is missing")))?;
        let media_type = media_type.to_string();
        let rendered = tokio::task::spawn_blocking(move || {
            media::derive::render_owned(bytes, &media_type, orientation)
        })
        .await
        .map_err(|e| Error::internal(format!("making derivatives: {e}")))?
        .map_err(Failure::Picture)?;
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
}
