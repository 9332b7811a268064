//! Use cases: what each call does, in which order, under which rules. Each
//! function states the roles it allows and checks the caller's unit scope.

mod accounts;
mod checks;
mod devices;
mod evidence;
mod links;
mod sessions;
mod units;

use std::sync::Arc;
use std::time::Duration;

pub use accounts::NewUser;
pub use checks::Page;
pub use evidence::{Begun, Chunk};
pub use sessions::{IssuedServiceToken, TokenPair};

use crate::auth::KeyRing;
use crate::blob::BlobStore;
use crate::domain::access::Role;
use crate::domain::evidence::UploadLimits;
use crate::domain::signals::SignalPolicy;
use crate::store::Store;

/// Everything a use case needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub blobs: BlobStore,
    pub keys: Arc<KeyRing>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub uploads: UploadLimits,
    pub signals: SignalPolicy,
}

/// Every role: for calls any signed-in caller may make.
pub const ANY_ROLE: &[Role] = &Role::ALL;
