//! Check records: inspectors record them within their units; every role
//! reads them within its scope.

use uuid::Uuid;

use super::idempotency::{Created, Once};
use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role};
use crate::domain::check::{CheckCursor, CheckDraft, CheckFilter, CheckRecord, CheckView};
use crate::domain::event::Change;
use crate::domain::page;
use crate::error::{Error, Reason, Result};
use crate::store::CHECK_RECORD;

const WRITE: &[Role] = &[Role::Inspector];
const READ: &[Role] = ANY_ROLE;

/// One page of a list.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

fn not_found(id: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("check record {id}"))
}

impl App {
    /// Creates a record, or returns the one a retry of the same request
    /// created before.
    pub async fn create_check(
        &self,
        caller: &Caller,
        draft: CheckDraft,
        client_id: &str,
        request_id: &str,
    ) -> Result<CheckView> {
        let record = self
            .create_check_record(caller, draft, client_id, request_id)
            .await?;
        self.link_and_assess(&record, caller).await?;
        self.view(record).await
    }

    async fn create_check_record(
        &self,
        caller: &Caller,
        draft: CheckDraft,
        client_id: &str,
        request_id: &str,
    ) -> Result<CheckRecord> {
        caller.require(WRITE)?;
        let client_id = crate::domain::id::optional("check_record_id", client_id)?;
        crate::domain::id::optional("request_id", request_id)?;
        let request_id = (!request_id.is_empty()).then_some(request_id);
        let content = draft.validate(&caller.subject)?;
        if !caller.sees_unit(&content.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may record checks only for your own units, not {}",
                    content.unit_code
                ),
            ));
        }
        self.active_unit(&content.unit_code, "check_record.unit_code")
            .await?;
        self.existing_campaign(content.campaign_id, "check_record.campaign_id")
            .await?;
        let digest = content.digest();
        let once = Once {
            what: "check record",
            id_field: "check_record_id",
            digest: &digest,
            request_id,
        };
        let created: Created<crate::store::StoredCheck, _> = once
            .create(caller, &self.store, async {
                let now = self.now();
                let record = CheckRecord {
                    id: client_id.unwrap_or_else(Uuid::now_v7),
                    content,
                    received_at: now,
                    created_by: caller.subject.clone(),
                    updated_at: now,
                    updated_by: caller.subject.clone(),
                    version: 1,
                };
                let change = check_change(&record, "created");
                let inserted = self
                    .store
                    .insert_check(&record, request_id, &change)
                    .await?;
                Ok(if inserted { Ok(record) } else { Err(record.id) })
            })
            .await?;
        Ok(match created {
            Created::New(record) => {
                tracing::info!(actor = %caller.subject, id = %record.id, unit = %record.content.unit_code, "check record created");
                record
            }
            Created::Earlier(prior) => prior.record,
        })
    }

    /// Links the evidence the record expects that its unit already holds,
    /// and works out the signals of its links against what it now says.
    async fn link_and_assess(&self, record: &CheckRecord, caller: &Caller) -> Result<()> {
        self.store
            .link_expected_evidence(
                record.id,
                &record.content.unit_code,
                &caller.subject,
                self.now(),
            )
            .await?;
        let mut shas: Vec<String> = self
            .store
            .links_of(CHECK_RECORD, &[record.id])
            .await?
            .into_iter()
            .map(|(_, l)| l.sha256)
            .collect();
        shas.dedup();
        for sha in shas {
            self.assess_around(&sha).await?;
        }
        Ok(())
    }

    /// A record with its evidence links.
    async fn view(&self, record: CheckRecord) -> Result<CheckView> {
        Ok(self.views(vec![record]).await?.remove(0))
    }

    async fn views(&self, records: Vec<CheckRecord>) -> Result<Vec<CheckView>> {
        let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
        let mut links = self.store.links_of(CHECK_RECORD, &ids).await?;
        Ok(records
            .into_iter()
            .map(|record| {
                let (mine, rest) = links.drain(..).partition(|(s, _)| *s == record.id);
                links = rest;
                CheckView {
                    links: mine.into_iter().map(|(_, l)| l).collect(),
                    record,
                }
            })
            .collect())
    }

    pub async fn get_check(&self, caller: &Caller, id: &str) -> Result<CheckView> {
        let record = self.get_check_record(caller, id).await?;
        self.view(record).await
    }

    pub(super) async fn get_check_record(&self, caller: &Caller, id: &str) -> Result<CheckRecord> {
        caller.require(READ)?;
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        let stored = self
            .store
            .get_check(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        caller.ensure_sees(&stored.record.content.unit_code, || {
            format!("check record {id}")
        })?;
        Ok(stored.record)
    }

    /// Lists records in scope, newest first, a page at a time.
    pub async fn list_checks(
        &self,
        caller: &Caller,
        mut filter: CheckFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<CheckView>> {
        caller.require(READ)?;
        let limit = page::page_size(page_size)?;
        let query = page::query_digest(&caller.subject, &filter);
        let cursor: Option<CheckCursor> = page::decode_token(page_token, &query)?;
        // Narrow to the scope after the digest, so that the token stays
        // bound to what the client asked for.
        filter.unit_codes = caller.narrow_units(filter.unit_codes.take());
        let mut items = self.store.list_checks(&filter, cursor, limit + 1).await?;
        let next_page_token = if items.len() > limit {
            items.truncate(limit);
            let last = items.last().expect("page is not empty");
            page::encode_token(
                &query,
                &CheckCursor {
                    started_at: last.content.started_at,
                    id: last.id,
                },
            )
        } else {
            String::new()
        };
        Ok(Page {
            items: self.views(items).await?,
            next_page_token,
        })
    }

    /// Applies the fields named in `mask` if `etag` is still current.
    pub async fn update_check(
        &self,
        caller: &Caller,
        id: &str,
        draft: CheckDraft,
        mask: &[String],
        etag: &str,
    ) -> Result<CheckView> {
        let record = self
            .update_check_record(caller, id, draft, mask, etag)
            .await?;
        self.link_and_assess(&record, caller).await?;
        self.view(record).await
    }

    async fn update_check_record(
        &self,
        caller: &Caller,
        id: &str,
        draft: CheckDraft,
        mask: &[String],
        etag: &str,
    ) -> Result<CheckRecord> {
        caller.require(WRITE)?;
        let id = crate::domain::id::optional("check_record.id", id)?
            .ok_or_else(|| Error::invalid("check_record.id", "is required"))?;
        let stored = self
            .store
            .get_check(id)
            .await?
            .ok_or_else(|| not_found(id))?
            .record;
        caller.ensure_sees(&stored.content.unit_code, || format!("check record {id}"))?;
        let content = draft
            .merge_onto(&stored.content, mask)?
            .validate(&caller.subject)?;
        stored.check_etag(etag)?;
        if content.campaign_id != stored.content.campaign_id {
            self.existing_campaign(content.campaign_id, "check_record.campaign_id")
                .await?;
        }
        if content == stored.content {
            return Ok(stored);
        }
        let updated = CheckRecord {
            content,
            updated_at: self.now(),
            updated_by: caller.subject.clone(),
            version: stored.version + 1,
            ..stored
        };
        super::saved(
            self.store
                .update_check(&updated, &check_change(&updated, "updated"))
                .await?,
            || format!("check record {id}"),
        )?;
        tracing::info!(actor = %caller.subject, id = %id, version = updated.version, "check record updated");
        Ok(updated)
    }
}

impl App {
    /// A unit that exists and takes new records; `field` names it in the
    /// request.
    pub(super) async fn active_unit(&self, code: &str, field: &str) -> Result<()> {
        match self.store.get_unit(code).await? {
            None => Err(Error::invalid(field, "no unit has this code")),
            Some(u) if !u.active => Err(Error::refused(
                Reason::UnitDeactivated,
                format!("unit {} is deactivated and takes no new records", u.code),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The change a create or update of `record` records.
fn check_change(record: &CheckRecord, action: &str) -> Change {
    Change {
        at: record.updated_at,
        actor: record.updated_by.clone(),
        action: action.into(),
        subject_kind: CHECK_RECORD,
        subject_id: record.id,
        unit_code: record.content.unit_code.clone(),
        data: serde_json::to_value(&record.content).expect("check content serialises"),
    }
}
