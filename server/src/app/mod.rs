//! Use cases: what each call does, in which order, under which rules. Each
//! function states the roles it allows and checks the caller's unit scope.

mod accountability;
mod accounts;
mod assessment;
mod audit;
mod calendar;
mod campaigns;
mod checks;
mod derivatives;
mod devices;
mod downloads;
mod enterprises;
mod events;
mod evidence;
mod findings;
mod idempotency;
mod ledger;
mod links;
pub mod overdue;
mod petition_register;
mod petitions;
mod rectification;
mod sessions;
mod supervision;
mod units;
mod upload_heads;
mod upload_write;
mod upload_writers;
mod verification;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use accountability::AccountabilityView;
pub use accounts::NewUser;
pub use audit::ChainReport;
pub use checks::Page;
pub use downloads::{DownloadUrl, LinkedFile};
pub use evidence::Begun;
pub use petitions::PetitionView;
pub use rectification::ItemView;
pub use sessions::{IssuedServiceToken, TokenPair};
pub use supervision::CaseView;
pub use upload_heads::UploadHeads;
pub use upload_write::{Chunk, Written};
pub use upload_writers::UploadWriters;
pub use verification::{ShownEvidence, VerificationView};
pub use webhooks::TIMEOUT as WEBHOOK_TIMEOUT;

use crate::auth::KeyRing;
use crate::auth::seal::Sealer;
use crate::blob::BlobStore;
use crate::config::{DownloadPolicy, JobPolicy, PetitionPolicy};
use crate::domain::access::Role;
use crate::domain::evidence::UploadLimits;
use crate::domain::signals::SignalPolicy;
use crate::store::Store;

/// Everything a use case needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    /// The database and the clock, which every use case stands on.
    pub core: Core,
    pub blobs: BlobStore,
    pub keys: Arc<KeyRing>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub uploads: UploadLimits,
    pub signals: SignalPolicy,
    pub jobs: JobPolicy,
    pub downloads: DownloadPolicy,
    pub petitions: PetitionPolicy,
    /// Seals and opens personal data.
    pub sealer: Arc<Sealer>,
    /// Kibibytes of upload chunks all streams of this process may hold
    /// before storing them (see `HELD_UPLOAD_BYTES`).
    pub held_upload_bytes: Arc<tokio::sync::Semaphore>,
    pub upload_heads: Arc<UploadHeads>,
    /// The write streams of this process, one per upload.
    pub writers: Arc<UploadWriters>,
    /// The tasks that read write streams; the server waits for them to
    /// store what they hold before it stops.
    pub writes: tokio_util::task::TaskTracker,
    /// Cancelled when the server stops: write streams store what they hold
    /// and end.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Sends webhook deliveries; shares connections across them.
    pub webhook_client: reqwest::Client,
    /// Wakes this process's derivative workers when a photo is stored.
    pub derivatives_due: Arc<tokio::sync::Notify>,
    /// The programs that decode HEIF pictures and videos, as found at start.
    pub tools: Arc<crate::media::tool::Toolbox>,
}

/// What every use case stands on: the database and the clock. The shell
/// commands that work on the database alone (accounts, revoking a token,
/// the calendar, the audit chain) open only this, so they take only the
/// database's settings.
#[derive(Clone, Debug)]
pub struct Core {
    pub store: Store,
    /// The time it goes by (see `clock`).
    pub clock: Arc<dyn crate::clock::Clock>,
}

/// An App is its core and more: `app.store` and `app.now()` are the core's.
impl std::ops::Deref for App {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl Core {
    /// Now, by the server's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Today in China, by the server's clock: the day deadlines count in.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::domain::calendar::china_date(self.now())
    }
}

/// Bytes of uploads held in memory at once, across all streams, while
/// they gather into segments: many phones uploading together get smaller
/// segments instead of a larger server.
pub const HELD_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// The end of every version-checked step: saved, or CHANGED_MEANWHILE
/// naming `what` when another change committed first.
pub(crate) fn saved(saved: bool, what: impl FnOnce() -> String) -> crate::error::Result<()> {
    if saved {
        Ok(())
    } else {
        Err(crate::error::Error::changed_meanwhile(what()))
    }
}

/// Every role: for calls any signed-in caller may make.
pub const ANY_ROLE: &[Role] = &Role::ALL;
