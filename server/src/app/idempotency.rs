//! Create by request id, the one way every create takes it: a retry of
//! the same request (same request id, or same client-chosen id, and the
//! same content) gets the first answer; a different request under a used
//! id is ALREADY_EXISTS, and says nothing of a record the caller may not
//! see.

use uuid::Uuid;

use crate::domain::access::Caller;
use crate::error::{Error, Result};
use crate::store::Store;

/// A record as it was stored, with the digest of the request that
/// created it.
pub(crate) trait Stored: Sized {
    fn id(&self) -> Uuid;
    fn unit_code(&self) -> &str;
    fn created_digest(&self) -> &str;
    /// The record `creator` created under a request id, or the one with
    /// an id.
    fn find(
        store: &Store,
        creator: &str,
        by: Lookup<'_>,
    ) -> impl Future<Output = Result<Option<Self>>> + Send;
}

/// How an earlier record is looked up: by the caller's request id, or by
/// the id the client chose.
pub(crate) enum Lookup<'a> {
    Request(&'a str),
    Id(Uuid),
}

/// The answer to a create.
pub(crate) enum Created<S, R> {
    /// This request created `R`.
    New(R),
    /// A retry: the record the first request created.
    Earlier(S),
}

/// One create: what is created, the field of its client-chosen id, the
/// digest of the request's content and its request id.
pub(crate) struct Once<'a> {
    pub what: &'static str,
    pub id_field: &'static str,
    pub digest: &'a str,
    pub request_id: Option<&'a str>,
}

impl<'a> Once<'a> {
    /// Looks for an earlier answer with `find`, else runs `insert`, which
    /// returns the new record or, when its insert conflicted, the id it
    /// tried; a conflict is resolved to the earlier record.
    pub async fn create<S: Stored, R>(
        &self,
        caller: &Caller,
        store: &Store,
        insert: impl Future<Output = Result<std::result::Result<R, Uuid>>>,
    ) -> Result<Created<S, R>> {
        let find = |by| S::find(store, &caller.subject, by);
        if let Some(rid) = self.request_id
            && let Some(prior) = find(Lookup::Request(rid)).await?
        {
            return self.same(prior, "request_id").map(Created::Earlier);
        }
        let id = match insert.await? {
            Ok(new) => return Ok(Created::New(new)),
            Err(id) => id,
        };
        // Lost a race with a concurrent retry, or the id is taken.
        let by_request = match self.request_id {
            Some(rid) => find(Lookup::Request(rid)).await?,
            None => None,
        };
        let (prior, field) = match by_request {
            Some(p) => (p, "request_id"),
            None => (
                find(Lookup::Id(id)).await?.ok_or_else(|| {
                    Error::internal(format!(
                        "creating {} {id} conflicted, but none was found",
                        self.what
                    ))
                })?,
                self.id_field,
            ),
        };
        if !caller.sees_unit(prior.unit_code()) {
            return Err(Error::AlreadyExists(format!(
                "{} {} already exists",
                self.what,
                prior.id()
            )));
        }
        self.same(prior, field).map(Created::Earlier)
    }

    fn same<S: Stored>(&self, prior: S, field: &str) -> Result<S> {
        if prior.created_digest() == self.digest {
            Ok(prior)
        } else {
            Err(Error::AlreadyExists(format!(
                "{field} was already used for {} {} with different content",
                self.what,
                prior.id()
            )))
        }
    }
}

impl Stored for crate::store::StoredCheck {
    fn id(&self) -> Uuid {
        self.record.id
    }
    fn unit_code(&self) -> &str {
        &self.record.content.unit_code
    }
    fn created_digest(&self) -> &str {
        &self.created_digest
    }
    async fn find(store: &Store, creator: &str, by: Lookup<'_>) -> Result<Option<Self>> {
        match by {
            Lookup::Request(rid) => store.find_check_by_request(creator, rid).await,
            Lookup::Id(id) => store.get_check(id).await,
        }
    }
}

impl Stored for crate::store::StoredFinding {
    fn id(&self) -> Uuid {
        self.finding.id
    }
    fn unit_code(&self) -> &str {
        &self.finding.content.unit_code
    }
    fn created_digest(&self) -> &str {
        &self.created_digest
    }
    async fn find(store: &Store, creator: &str, by: Lookup<'_>) -> Result<Option<Self>> {
        match by {
            Lookup::Request(rid) => store.find_finding_by_request(creator, rid).await,
            Lookup::Id(id) => store.get_finding(id).await,
        }
    }
}

impl Stored for crate::store::StoredItem {
    fn id(&self) -> Uuid {
        self.item.id
    }
    fn unit_code(&self) -> &str {
        &self.item.unit_code
    }
    fn created_digest(&self) -> &str {
        &self.created_digest
    }
    async fn find(store: &Store, creator: &str, by: Lookup<'_>) -> Result<Option<Self>> {
        match by {
            Lookup::Request(rid) => store.find_item_by_request(creator, rid).await,
            Lookup::Id(id) => store.get_item(id).await,
        }
    }
}

/// A petition with the digest of its intake.
impl Stored for (crate::domain::petition::Petition, String) {
    fn id(&self) -> Uuid {
        self.0.id
    }
    fn unit_code(&self) -> &str {
        &self.0.intake.unit_code
    }
    fn created_digest(&self) -> &str {
        &self.1
    }
    async fn find(store: &Store, creator: &str, by: Lookup<'_>) -> Result<Option<Self>> {
        match by {
            Lookup::Request(rid) => store.find_petition_by_request(creator, rid).await,
            Lookup::Id(id) => {
                let _ = id; // petitions take no client-chosen id
                Ok(None)
            }
        }
    }
}
