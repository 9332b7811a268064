//! Findings: raised by inspectors, coordinators and petition officers
//! within their units, from check records, petitions or document reviews.

use std::collections::HashMap;

use uuid::Uuid;

use super::idempotency::{Created, Once};
use super::{ANY_ROLE, App, Page};
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::event::Change;
use crate::domain::finding::{
    self, Finding, FindingCursor, FindingDraft, FindingFilter, FindingView, SourceKind,
};
use crate::domain::page;
use crate::domain::petition::PetitionState;
use crate::error::{Error, Reason, Result};
use crate::store::FINDING;

const RAISE: &[Role] = &[Role::Inspector, Role::Coordinator, Role::PetitionOfficer];
const READ: &[Role] = ANY_ROLE;

impl App {
    /// Raises a finding, or returns the one a retry of the same request
    /// raised before.
    pub async fn create_finding(
        &self,
        caller: &Caller,
        draft: FindingDraft,
        client_id: &str,
        request_id: &str,
    ) -> Result<FindingView> {
        caller.require(RAISE)?;
        let client_id = crate::domain::id::optional("finding_id", client_id)?;
        crate::domain::id::optional("request_id", request_id)?;
        let request_id = (!request_id.is_empty()).then_some(request_id);
        let content = draft.validate()?;
        if !caller.sees_unit(&content.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may raise findings only for your own units, not {}",
                    content.unit_code
                ),
            ));
        }
        self.active_unit(&content.unit_code, "finding.unit_code")
            .await?;
        self.existing_campaign(content.campaign_id, "finding.campaign_id")
            .await?;
        let digest = content.digest();
        let once = Once {
            what: "finding",
            id_field: "finding_id",
            digest: &digest,
            request_id,
        };
        let created: Created<crate::store::StoredFinding, _> = once
            .create(
                caller,
                &self.store,
                async {
                for (i, s) in content.sources.iter().enumerate() {
                    if let (SourceKind::CheckRecord, Some(id)) = (s.kind, s.id) {
                        let field = format!("finding.sources[{i}].id");
                        let check = self
                            .store
                            .get_check(id)
                            .await?
                            .filter(|c| caller.sees_unit(&c.record.content.unit_code));
                        match check {
                            None => {
                                return Err(Error::invalid(
                                    field,
                                    format!("no check record {id} in your units"),
                                ));
                            }
                            Some(c) if c.record.content.unit_code != content.unit_code => {
                                return Err(Error::invalid(
                                    field,
                                    format!(
                                        "check record {id} is of unit {}, not {}",
                                        c.record.content.unit_code, content.unit_code
                                    ),
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                }
                for (i, s) in content.sources.iter().enumerate() {
                    if let (SourceKind::Petition, Some(id)) = (s.kind, s.id) {
                        let field = format!("finding.sources[{i}].id");
                        match self
                            .store
                            .get_petition(id)
                            .await?
                            .filter(|p| caller.sees_unit(&p.intake.unit_code))
                        {
                            None => {
                                return Err(Error::invalid(
                                    field,
                                    format!("no petition {id} in your units"),
                                ));
                            }
                            Some(p) if p.intake.unit_code != content.unit_code => {
                                return Err(Error::invalid(
                                    field,
                                    format!(
                                        "petition {id} is of unit {}, not {}",
                                        p.intake.unit_code, content.unit_code
                                    ),
                                ));
                            }
                            Some(p) if p.state == PetitionState::Declined => {
                                return Err(Error::invalid(
                                    field,
                                    format!("petition {id} is DECLINED: it raises no findings"),
                                ));
                            }
                            Some(p) if p.state == PetitionState::Merged => {
                                return Err(Error::invalid(
                                    field,
                                    format!(
                                        "petition {id} is MERGED into {}: raise the finding from that one",
                                        p.merged_into.map(|m| m.to_string()).unwrap_or_default()
                                    ),
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                }
                self.evidence_of_unit(
                    &content.before_evidence,
                    &content.unit_code,
                    "finding.before_evidence_ids",
                )
                .await?;
                let now = self.now();
                let f = Finding {
                    id: client_id.unwrap_or_else(Uuid::now_v7),
                    content,
                    created_by: caller.subject.clone(),
                    created_at: now,
                    updated_by: caller.subject.clone(),
                    updated_at: now,
                    version: 1,
                };
                let change = Change {
                    at: now,
                    actor: caller.subject.clone(),
                    action: "created".into(),
                    subject_kind: FINDING,
                    subject_id: f.id,
                    unit_code: f.content.unit_code.clone(),
                    data: serde_json::to_value(&f.content).expect("finding content serialises"),
                };
                    let inserted = self.store.insert_finding(&f, request_id, &change).await?;
                    Ok(if inserted { Ok(f) } else { Err(f.id) })
                },
            )
            .await?;
        let f = match created {
            Created::New(f) => {
                tracing::info!(actor = %caller.subject, id = %f.id, unit = %f.content.unit_code, "finding raised");
                f
            }
            Created::Earlier(prior) => prior.finding,
        };
        Ok(self.finding_views(vec![f]).await?.remove(0))
    }

    /// A finding the caller may see.
    pub async fn get_finding(&self, caller: &Caller, id: &str) -> Result<FindingView> {
        caller.require(READ)?;
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        let f = self
            .store
            .get_finding(id)
            .await?
            .ok_or_else(|| finding::not_found(id))?
            .finding;
        caller.ensure_sees(&f.content.unit_code, || format!("finding {id}"))?;
        Ok(self.finding_views(vec![f]).await?.remove(0))
    }

    /// Findings in scope, newest first, a page at a time.
    pub async fn list_findings(
        &self,
        caller: &Caller,
        mut filter: FindingFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<FindingView>> {
        caller.require(READ)?;
        filter.validate()?;
        let limit = page::page_size(page_size)?;
        let query = page::query_digest(&caller.subject, &filter);
        let cursor: Option<FindingCursor> = page::decode_token(page_token, &query)?;
        filter.unit_codes = caller.narrow_units(filter.unit_codes.take());
        filter.today = Some(china_date(self.now()));
        let mut found = self.store.list_findings(&filter, cursor, limit + 1).await?;
        let next_page_token = if found.len() > limit {
            found.truncate(limit);
            let last = found.last().expect("page is not empty");
            page::encode_token(
                &query,
                &FindingCursor {
                    created_at: last.created_at,
                    id: last.id,
                },
            )
        } else {
            String::new()
        };
        Ok(Page {
            items: self.finding_views(found).await?,
            next_page_token,
        })
    }

    /// Findings with how their items stand and their BEFORE evidence.
    pub(super) async fn finding_views(&self, found: Vec<Finding>) -> Result<Vec<FindingView>> {
        let ids: Vec<Uuid> = found.iter().map(|f| f.id).collect();
        let mut counts = self.store.item_counts(&ids, china_date(self.now())).await?;
        let mut links: HashMap<Uuid, Vec<_>> = HashMap::new();
        for (subject, link) in self.store.links_of(FINDING, &ids).await? {
            links.entry(subject).or_default().push(link);
        }
        Ok(found
            .into_iter()
            .map(|f| FindingView {
                items: counts.remove(&f.id).unwrap_or_default(),
                evidence: links.remove(&f.id).unwrap_or_default(),
                finding: f,
            })
            .collect())
    }
}
