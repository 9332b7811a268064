//! Petitions: taken in by petition officers, answered by the unit they are
//! dispatched to, verified on site by inspectors when they are key
//! petitions, spot-checked by supervisors once closed. The complainant is
//! sealed at rest and shown in full only to petition officers and
//! supervisors; it is never written to logs, events or exports.

use uuid::Uuid;

use super::idempotency::{Created, Once};
use super::{ANY_ROLE, App, Page};
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::event::Change;
use crate::domain::geo::BoundingBox;
use crate::domain::page;
use crate::domain::petition::PetitionFilter;
use crate::domain::petition::{
    self, Complainant, HistoryEntry, PETITION, Petition, PetitionCursor, PetitionDraft,
    PetitionState, PetitionStep, PossibleRepeat, Progress,
};
use crate::domain::supervision::{NewCase, SourceKind};
use crate::error::{Error, Reason, Result};
use crate::store::CHECK_RECORD;

const INTAKE: &[Role] = &[Role::PetitionOfficer];
/// Who sees complainants in full.
const SEES_PERSONAL_DATA: &[Role] = &[Role::PetitionOfficer, Role::Supervisor];
pub(super) const FIGURES: &[Role] = &[
    Role::PetitionOfficer,
    Role::Supervisor,
    Role::Coordinator,
    Role::Admin,
    Role::Viewer,
];

/// A petition as a caller may see it.
#[derive(Debug, Clone)]
pub struct PetitionView {
    pub petition: Petition,
    /// In full or masked, by the caller's role; None when anonymous.
    pub complainant: Option<Complainant>,
    pub complainant_masked: bool,
    pub history: Vec<HistoryEntry>,
    /// Petitions merged into this one, answered with it.
    pub merged: Vec<Uuid>,
    pub possible_repeats: Vec<PossibleRepeat>,
    /// Still to be accepted or declined after its deadline, today.
    pub accept_overdue: bool,
    /// Marked late by the scan, or late today.
    pub reply_overdue: bool,
}

/// What record a petition's complainant is sealed for.
fn sealed_for(id: Uuid) -> String {
    format!("petition/{id}")
}

fn petition_change(p: &Petition, actor: &str, action: &str, data: serde_json::Value) -> Change {
    Change {
        at: p.updated_at,
        actor: actor.to_string(),
        action: action.into(),
        subject_kind: PETITION,
        subject_id: p.id,
        unit_code: p.intake.unit_code.clone(),
        data,
    }
}

/// The box around `p`'s place that holds every point within `m` metres.
fn around(p: &Petition, m: f64) -> Option<BoundingBox> {
    let w = p.intake.location?.to_wgs84();
    let dlat = m / 111_000.0;
    let dlon = m / (111_000.0 * w.latitude.to_radians().cos().max(0.01));
    Some(BoundingBox {
        min_latitude: w.latitude - dlat,
        max_latitude: w.latitude + dlat,
        min_longitude: w.longitude - dlon,
        max_longitude: w.longitude + dlon,
    })
}

impl App {
    /// Takes a petition in: RECEIVED, to be accepted or declined within
    /// the configured working days. A retry under the same request id
    /// returns the petition the first call took in.
    pub async fn create_petition(
        &self,
        caller: &Caller,
        draft: PetitionDraft,
        request_id: &str,
    ) -> Result<PetitionView> {
        caller.require(INTAKE)?;
        crate::domain::id::optional("request_id", request_id)?;
        let request_id = (!request_id.is_empty()).then_some(request_id);
        let now = self.now();
        let (intake, complainant) = draft.validate(now)?;
        if !caller.sees_unit(&intake.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may take in petitions only for your own units, not {}",
                    intake.unit_code
                ),
            ));
        }
        self.active_unit(&intake.unit_code, "unit_code").await?;
        self.existing_campaign(intake.campaign_id, "campaign_id")
            .await?;
        let digest = intake.digest();
        let once = Once {
            what: "petition",
            id_field: "request_id",
            digest: &digest,
            request_id,
        };
        let created: Created<(crate::domain::petition::Petition, String), _> = once
            .create(caller, &self.store, async {
                let id = Uuid::now_v7();
                let sealed = complainant.map(|c| {
                    let json = serde_json::to_string(&c).expect("complainant serialises");
                    self.sealer.seal(&sealed_for(id), &json)
                });
                let accept_due = self
                    .add_working_days(china_date(intake.received_at), self.petitions.accept_days)
                    .await?;
                let p = Petition {
                    id,
                    intake,
                    sealed_complainant: sealed,
                    is_key: false,
                    state: PetitionState::Received,
                    accept_due,
                    reply_due: None,
                    reply_overdue_since: None,
                    merged_into: None,
                    progress: Progress::default(),
                    received_by: caller.subject.clone(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let entry = HistoryEntry {
                    at: now,
                    actor: caller.subject.clone(),
                    action: "received".into(),
                    from_state: None,
                    to_state: PetitionState::Received,
                    note: format!("by {}", p.intake.channel),
                };
                // Never the complainant: events and the audit log are read widely.
                let change = petition_change(
                    &p,
                    &caller.subject,
                    "received",
                    serde_json::json!({
                        "channel": p.intake.channel,
                        "category": p.intake.category,
                        "credit_code": p.intake.credit_code,
                        "campaign_id": p.intake.campaign_id,
                        "anonymous": p.is_anonymous(),
                        "accept_due": p.accept_due,
                    }),
                );
                let inserted = self
                    .store
                    .insert_petition(&p, request_id, &entry, &change)
                    .await?;
                Ok(if inserted { Ok(p) } else { Err(p.id) })
            })
            .await?;
        let p = match created {
            Created::New(p) => {
                tracing::info!(actor = %caller.subject, id = %p.id, unit = %p.intake.unit_code, "petition received");
                p
            }
            Created::Earlier((prior, _)) => prior,
        };
        self.petition_view(caller, p, true).await
    }

    /// The complainant as `caller` may see it.
    fn complainant_for(
        &self,
        caller: &Caller,
        p: &Petition,
    ) -> Result<(Option<Complainant>, bool)> {
        let Some(sealed) = &p.sealed_complainant else {
            return Ok((None, false));
        };
        let json = self
            .sealer
            .open(&sealed_for(p.id), sealed)
            .map_err(|e| Error::internal(format!("complainant of petition {}: {e}", p.id)))?;
        let c: Complainant = serde_json::from_str(&json)
            .map_err(|e| Error::internal(format!("complainant of petition {}: {e}", p.id)))?;
        if SEES_PERSONAL_DATA.contains(&caller.role) {
            Ok((Some(c), false))
        } else {
            Ok((Some(c.masked()), true))
        }
    }

    pub(super) async fn petition_view(
        &self,
        caller: &Caller,
        p: Petition,
        whole: bool,
    ) -> Result<PetitionView> {
        let (complainant, complainant_masked) = self.complainant_for(caller, &p)?;
        // Repeats and merged petitions were never dispatched: a unit's
        // liaison does not learn of them here.
        let others = caller.role != Role::UnitLiaison;
        let (history, merged, possible_repeats) = if whole {
            let candidates = if others && p.state.is_open() {
                self.store
                    .open_petitions_about(
                        p.intake.credit_code.as_deref(),
                        around(&p, self.petitions.repeat_distance_m),
                    )
                    .await?
            } else {
                vec![]
            };
            let repeats = candidates
                .iter()
                .filter(|o| caller.sees_unit(&o.intake.unit_code))
                .filter_map(|o| petition::possible_repeat(&p, o, self.petitions.repeat_distance_m))
                .collect();
            let merged = if others {
                self.store.merged_petitions(p.id).await?
            } else {
                vec![]
            };
            (self.store.petition_history(p.id).await?, merged, repeats)
        } else {
            (vec![], vec![], vec![])
        };
        let today = china_date(self.now());
        Ok(PetitionView {
            accept_overdue: p.accept_overdue(today),
            reply_overdue: p.reply_overdue_since.is_some() || p.reply_overdue(today),
            petition: p,
            complainant,
            complainant_masked,
            history,
            merged,
            possible_repeats,
        })
    }

    async fn visible_petition(&self, caller: &Caller, id: Uuid) -> Result<Petition> {
        let p = self
            .store
            .get_petition(id)
            .await?
            .ok_or_else(|| petition::not_found(id))?;
        caller.ensure_sees(&p.intake.unit_code, || format!("petition {id}"))?;
        if caller.role == Role::UnitLiaison && !p.state.was_dispatched() {
            return Err(petition::not_found(id));
        }
        Ok(p)
    }

    pub async fn get_petition(&self, caller: &Caller, id: &str) -> Result<PetitionView> {
        caller.require(ANY_ROLE)?;
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        let p = self.visible_petition(caller, id).await?;
        self.petition_view(caller, p, true).await
    }

    /// Petitions in scope, newest first, a page at a time.
    pub async fn list_petitions(
        &self,
        caller: &Caller,
        filter: PetitionFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<PetitionView>> {
        caller.require(ANY_ROLE)?;
        let limit = page::page_size(page_size)?;
        let query = page::query_digest(&caller.subject, &filter);
        let cursor: Option<PetitionCursor> = page::decode_token(page_token, &query)?;
        let mut found = self
            .petitions_in_scope(caller, filter, cursor, limit + 1)
            .await?;
        let next_page_token = if found.len() > limit {
            found.truncate(limit);
            let last = found.last().expect("page is not empty");
            page::encode_token(
                &query,
                &PetitionCursor {
                    received_at: last.intake.received_at,
                    id: last.id,
                },
            )
        } else {
            String::new()
        };
        let mut items = Vec::with_capacity(found.len());
        for p in found {
            items.push(self.petition_view(caller, p, false).await?);
        }
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub(super) async fn petitions_in_scope(
        &self,
        caller: &Caller,
        mut filter: PetitionFilter,
        cursor: Option<PetitionCursor>,
        limit: usize,
    ) -> Result<Vec<Petition>> {
        filter.units = caller.narrow_units(filter.units);
        // A unit learns of a petition when it is dispatched to it.
        filter.dispatched_only |= caller.role == Role::UnitLiaison;
        let today = china_date(self.now());
        self.store
            .list_petitions(&filter, today, cursor, limit as i64)
            .await
    }

    /// Takes a step on a petition: checked against unit, role, etag and
    /// state. Feedback from a dissatisfied complainant and a failed spot
    /// check open a supervision case with the step.
    pub async fn take_petition_step(
        &self,
        caller: &Caller,
        id: &str,
        etag: &str,
        step: PetitionStep,
    ) -> Result<PetitionView> {
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        let p = self.visible_petition(caller, id).await?;
        caller.require(step.roles())?;
        p.check_etag(etag)?;
        let now = self.now();
        let today = china_date(now);
        let step = p.with_defaults(step, today, self.petitions.reply_days);
        let out = p.take(&step, &caller.subject, now, today)?;
        self.check_step_refers(caller, &p, &step).await?;
        let case = out.escalation.map(|e| NewCase {
            id: Uuid::now_v7(),
            source_kind: SourceKind::Petition,
            source_id: p.id,
            cause: e.cause,
            unit_code: out.next.intake.unit_code.clone(),
            reason: e.reason,
            opened_by: caller.subject.clone(),
            opened_at: now,
        });
        let (next, entry) = (out.next, out.entry);
        let change = petition_change(&next, &caller.subject, &entry.action, out.data);
        super::saved(
            self.store
                .save_petition(p.version, &next, &entry, &change, case.as_ref())
                .await?,
            || format!("petition {}", p.id),
        )?;
        tracing::info!(actor = %caller.subject, id = %p.id, action = step.action(), state = %next.state, "petition step");
        self.petition_view(caller, next, true).await
    }

    /// What a step names (a unit, evidence, a check record, a petition)
    /// must exist where the caller and the petition can reach it.
    async fn check_step_refers(
        &self,
        caller: &Caller,
        p: &Petition,
        step: &PetitionStep,
    ) -> Result<()> {
        match step {
            PetitionStep::Dispatch { unit_code, .. } => {
                if !caller.sees_unit(unit_code) {
                    return Err(Error::invalid(
                        "unit_code",
                        format!("unit {unit_code} is not one of yours"),
                    ));
                }
                self.active_unit(unit_code, "unit_code").await?;
            }
            PetitionStep::Reply { evidence, .. } => {
                self.evidence_of_unit(evidence, &p.intake.unit_code, "evidence_ids")
                    .await?;
            }
            PetitionStep::VerifyOnSite {
                check_record_id, ..
            } => {
                let check = self
                    .store
                    .get_check(*check_record_id)
                    .await?
                    .filter(|c| c.record.content.unit_code == p.intake.unit_code)
                    .ok_or_else(|| {
                        Error::invalid(
                            "check_record_id",
                            format!(
                                "no check record {check_record_id} in unit {}",
                                p.intake.unit_code
                            ),
                        )
                    })?;
                // A visit made for this petition, not an older one reused.
                let started = check.record.content.started_at;
                if started < p.intake.received_at {
                    return Err(Error::invalid(
                        "check_record_id",
                        format!(
                            "check record {check_record_id} began at {started}, before the petition was received at {}",
                            p.intake.received_at
                        ),
                    ));
                }
                if self
                    .store
                    .links_of(CHECK_RECORD, &[*check_record_id])
                    .await?
                    .is_empty()
                {
                    return Err(Error::invalid(
                        "check_record_id",
                        format!(
                            "check record {check_record_id} has no evidence; on-site verification needs photos or documents"
                        ),
                    ));
                }
            }
            PetitionStep::Merge { into } => {
                let primary = self
                    .store
                    .get_petition(*into)
                    .await?
                    .filter(|o| caller.sees_unit(&o.intake.unit_code))
                    .ok_or_else(|| {
                        Error::invalid("into_id", format!("no petition {into} in your units"))
                    })?;
                if !primary.state.is_open() {
                    return Err(Error::refused(
                        Reason::MergeTargetNotOpen,
                        format!(
                            "petition {into} is {}; petitions are merged only into open ones",
                            primary.state.shown()
                        ),
                    ));
                }
                // One level: a petition that others were merged into is
                // the one to merge into, not to merge.
                if let Some(first) = self.store.merged_petitions(p.id).await?.first() {
                    return Err(Error::refused(
                        Reason::MergeTargetHasMerges,
                        format!(
                            "petition {} has petitions merged into it ({first} first); merge {into} into it instead",
                            p.id
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
