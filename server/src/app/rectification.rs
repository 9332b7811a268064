//! Rectification items: assigned for a finding, worked on by the
//! responsible unit's liaison, signed off or sent back by a verifier,
//! extended or cancelled by a coordinator. Which step is allowed from
//! which state, and for whom, is decided in `domain::rectification`.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

use super::idempotency::{Created, Once};
use super::{ANY_ROLE, App, Page};
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::event::Change;
use crate::domain::evidence::{EvidenceLink, EvidenceRole};
use crate::domain::finding;
use crate::domain::page;
use crate::domain::rectification::{
    self, Action, Due, HistoryEntry, ItemCursor, ItemDraft, ItemFilter, ItemState,
    RectificationItem, Step,
};
use crate::error::{Error, Reason, Result};
use crate::store::RECTIFICATION_ITEM;

const ASSIGN: &[Role] = &[Role::Inspector, Role::Coordinator];
const READ: &[Role] = ANY_ROLE;

/// An item with its history and the evidence attached to it.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: RectificationItem,
    pub history: Vec<HistoryEntry>,
    pub evidence: Vec<EvidenceLink>,
    pub overdue: bool,
}

impl App {
    /// Assigns an item of a finding to a unit, or returns the one a retry
    /// of the same request assigned before.
    pub async fn create_item(
        &self,
        caller: &Caller,
        finding_id: &str,
        draft: ItemDraft,
        client_id: &str,
        request_id: &str,
    ) -> Result<ItemView> {
        caller.require(ASSIGN)?;
        let finding_id = crate::domain::id::required("finding_id", finding_id)?;
        let client_id = crate::domain::id::optional("item_id", client_id)?;
        crate::domain::id::optional("request_id", request_id)?;
        let request_id = (!request_id.is_empty()).then_some(request_id);
        let f = self
            .store
            .get_finding(finding_id)
            .await?
            .ok_or_else(|| finding::not_found(finding_id))?
            .finding;
        caller.ensure_sees(&f.content.unit_code, || format!("finding {finding_id}"))?;
        let now = self.now();
        let today = china_date(now);
        let terms = draft.validate(&f.content.unit_code, today)?;
        if !caller.sees_unit(&terms.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may assign items only to your own units, not {}",
                    terms.unit_code
                ),
            ));
        }
        self.active_unit(&terms.unit_code, "item.unit_code").await?;
        let digest = terms.digest(finding_id);
        let once = Once {
            what: "rectification item",
            id_field: "item_id",
            digest: &digest,
            request_id,
        };
        let created: Created<crate::store::StoredItem, _> = once
            .create(caller, &self.store, async {
                let (due_date, working_days) = match terms.due {
                    Due::Date(d) => (d, None),
                    Due::WorkingDays(n) => (self.add_working_days(today, n).await?, Some(n)),
                };
                let item = RectificationItem {
                    id: client_id.unwrap_or_else(Uuid::now_v7),
                    finding_id,
                    campaign_id: f.content.campaign_id,
                    unit_code: terms.unit_code.clone(),
                    requirement: terms.requirement.clone(),
                    assigned_on: today,
                    working_days,
                    due_date,
                    accident: terms.accident,
                    photo_required: terms.photo_required,
                    state: ItemState::Open,
                    overdue_since: None,
                    extension: None,
                    conditions: None,
                    rejections: 0,
                    signed_off_by: None,
                    signed_off_at: None,
                    created_by: caller.subject.clone(),
                    created_at: now,
                    updated_by: caller.subject.clone(),
                    updated_at: now,
                    version: 1,
                };
                let created = HistoryEntry {
                    seq: 1,
                    at: now,
                    actor: caller.subject.clone(),
                    action: Action::Create,
                    from_state: None,
                    to_state: ItemState::Open,
                    note: String::new(),
                    evidence: vec![],
                    due_before: None,
                    due_after: Some(due_date),
                };
                let change = item_change(
                    &item,
                    &created,
                    serde_json::json!({
                        "finding_id": finding_id,
                        "requirement": item.requirement,
                        "due_date": due_date,
                        "accident": item.accident,
                        "photo_required": item.photo_required,
                    }),
                );
                let inserted = self
                    .store
                    .insert_item(&item, &created, &digest, request_id, &change)
                    .await?;
                Ok(if inserted { Ok(item) } else { Err(item.id) })
            })
            .await?;
        let item = match created {
            Created::New(item) => {
                tracing::info!(actor = %caller.subject, id = %item.id, unit = %item.unit_code, due = %item.due_date, "rectification item assigned");
                item
            }
            Created::Earlier(prior) => prior.item,
        };
        self.item_view(item).await
    }

    /// The `n`th working day after `from` by the official calendar.
    pub async fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<NaiveDate> {
        // Long enough for n working days across the longest holidays.
        let until = from + chrono::Days::new(u64::from(n) * 2 + 30);
        let calendar = self.store.calendar(from, until).await?;
        let due = calendar.add_working_days(from, n);
        let missing = calendar.missing_years(from, due);
        if !missing.is_empty() {
            tracing::warn!(
                years = ?missing,
                "no official calendar loaded for these years: working days counted Monday to Friday; load them with `ducha calendar load`"
            );
        }
        Ok(due)
    }

    /// An item the caller may see, with its history and evidence.
    pub async fn get_item(&self, caller: &Caller, id: &str) -> Result<ItemView> {
        caller.require(READ)?;
        let item = self
            .visible_item(caller, crate::domain::id::required("id", id)?)
            .await?;
        self.item_view(item).await
    }

    async fn visible_item(&self, caller: &Caller, id: Uuid) -> Result<RectificationItem> {
        let item = self
            .store
            .get_item(id)
            .await?
            .ok_or_else(|| rectification::not_found(id))?
            .item;
        caller.ensure_sees(&item.unit_code, || format!("rectification item {id}"))?;
        Ok(item)
    }

    pub(super) async fn item_view(&self, item: RectificationItem) -> Result<ItemView> {
        let history = self.store.item_history(item.id).await?;
        let evidence = self
            .store
            .links_of(RECTIFICATION_ITEM, &[item.id])
            .await?
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        Ok(ItemView {
            overdue: item.is_overdue(china_date(self.now())),
            item,
            history,
            evidence,
        })
    }

    /// Items in scope, earliest deadline first, a page at a time; without
    /// history.
    pub async fn list_items(
        &self,
        caller: &Caller,
        mut filter: ItemFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<ItemView>> {
        caller.require(READ)?;
        let limit = page::page_size(page_size)?;
        let query = page::query_digest(&caller.subject, &filter);
        let cursor: Option<ItemCursor> = page::decode_token(page_token, &query)?;
        filter.unit_codes = caller.narrow_units(filter.unit_codes.take());
        let today = china_date(self.now());
        filter.today = Some(today);
        let mut found = self.store.list_items(&filter, cursor, limit + 1).await?;
        let next_page_token = if found.len() > limit {
            found.truncate(limit);
            let last = found.last().expect("page is not empty");
            page::encode_token(
                &query,
                &ItemCursor {
                    due_date: last.due_date,
                    id: last.id,
                },
            )
        } else {
            String::new()
        };
        let ids: Vec<Uuid> = found.iter().map(|i| i.id).collect();
        let mut links: HashMap<Uuid, Vec<EvidenceLink>> = HashMap::new();
        for (subject, link) in self.store.links_of(RECTIFICATION_ITEM, &ids).await? {
            links.entry(subject).or_default().push(link);
        }
        Ok(Page {
            items: found
                .into_iter()
                .map(|item| ItemView {
                    overdue: item.is_overdue(today),
                    evidence: links.remove(&item.id).unwrap_or_default(),
                    history: vec![],
                    item,
                })
                .collect(),
            next_page_token,
        })
    }

    /// Takes a step on an item: checked against the caller's unit and role,
    /// the etag, and the item's state; stored with its history entry, the
    /// evidence attached, an event and an audit entry, all at once.
    pub async fn take_step(
        &self,
        caller: &Caller,
        id: &str,
        etag: &str,
        step: Step,
        evidence_ids: &[String],
    ) -> Result<ItemView> {
        caller.require(READ)?;
        let item = self
            .visible_item(caller, crate::domain::id::required("id", id)?)
            .await?;
        caller.require(step.roles())?;
        item.check_etag(etag)?;
        let attached = self.attachable_evidence(&item, &step, evidence_ids).await?;
        let step = match step {
            Step::Submit { text, .. } => {
                let before = self
                    .store
                    .links_of(RECTIFICATION_ITEM, &[item.id])
                    .await?
                    .into_iter()
                    .filter(|(_, l)| l.role == EvidenceRole::After)
                    .count();
                let new = attached
                    .iter()
                    .filter(|(_, role)| *role == EvidenceRole::After)
                    .count();
                Step::Submit {
                    text,
                    after_photos: before + new,
                }
            }
            s => s,
        };
        let now = self.now();
        let out = rectification::take(
            &item,
            step,
            attached.iter().map(|(id, _)| *id).collect(),
            &caller.subject,
            now,
            china_date(now),
        )?;
        let links: Vec<(Uuid, &str)> = attached.iter().map(|(id, r)| (*id, r.as_str())).collect();
        let (next, entry) = (out.next, out.entry);
        let change = item_change(&next, &entry, out.data);
        super::saved(
            self.store
                .apply_item_step(item.version, &next, &entry, &links, &change)
                .await?,
            || format!("rectification item {}", item.id),
        )?;
        tracing::info!(actor = %caller.subject, id = %item.id, action = %entry.action, state = %next.state, "rectification step");
        self.item_view(next).await
    }

    /// The evidence a progress report or submission attaches: the caller's
    /// unit's evidence, photos as AFTER, other files as DOCUMENT.
    async fn attachable_evidence(
        &self,
        item: &RectificationItem,
        step: &Step,
        ids: &[String],
    ) -> Result<Vec<(Uuid, EvidenceRole)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        if !matches!(step, Step::ReportProgress { .. } | Step::Submit { .. }) {
            return Err(Error::invalid(
                "evidence_ids",
                "evidence is attached with a progress report or a submission",
            ));
        }
        if ids.len() > rectification::EVIDENCE_MAX {
            return Err(Error::invalid(
                "evidence_ids",
                format!("at most {} at once", rectification::EVIDENCE_MAX),
            ));
        }
        let mut out: Vec<(Uuid, EvidenceRole)> = Vec::new();
        for (i, s) in ids.iter().enumerate() {
            let field = format!("evidence_ids[{i}]");
            let id = crate::domain::id::required(&field, s)?;
            let e = self
                .store
                .get_evidence(id)
                .await?
                .filter(|e| e.unit_code == item.unit_code)
                .ok_or_else(|| {
                    Error::invalid(
                        &field,
                        format!("no evidence {id} in unit {}", item.unit_code),
                    )
                })?;
            let role = if e.media_type.starts_with("image/") {
                EvidenceRole::After
            } else {
                EvidenceRole::Document
            };
            if !out.iter().any(|(x, _)| *x == id) {
                out.push((id, role));
            }
        }
        Ok(out)
    }
}

/// The change a step records, for the event feed and the audit log.
pub(super) fn item_change(
    item: &RectificationItem,
    entry: &HistoryEntry,
    data: serde_json::Value,
) -> Change {
    Change {
        at: entry.at,
        actor: entry.actor.clone(),
        action: entry.action.as_str().to_string(),
        subject_kind: RECTIFICATION_ITEM,
        subject_id: item.id,
        unit_code: item.unit_code.clone(),
        data,
    }
}
