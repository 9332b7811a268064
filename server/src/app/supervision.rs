//! Supervision cases: opened by hand at the request of the patrol or
//! petition group (automatic ones come from the overdue scan), pressed with
//! a notice by a supervisor, answered by the unit, closed with an outcome.

use uuid::Uuid;

use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::event::Change;
use crate::domain::supervision::{
    self, CaseState, CaseStep, Cause, NewCase, SUPERVISION_CASE, SourceKind, SupervisionCase,
};
use crate::error::{Error, Reason, Result};

const OPEN: &[Role] = &[
    Role::Supervisor,
    Role::Inspector,
    Role::PetitionOfficer,
    Role::Coordinator,
];

fn case_change(
    at: chrono::DateTime<chrono::Utc>,
    c: &SupervisionCase,
    actor: &str,
    action: &str,
    data: serde_json::Value,
) -> Change {
    Change {
        at,
        actor: actor.to_string(),
        action: action.into(),
        subject_kind: SUPERVISION_CASE,
        subject_id: c.id,
        unit_code: c.unit_code.clone(),
        data,
    }
}

/// A case as callers see it: with whether its notice is overdue today.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case: SupervisionCase,
    pub overdue: bool,
}

impl App {
    /// Opens a case about a source the caller can see; one per source.
    pub async fn open_case(
        &self,
        caller: &Caller,
        kind: SourceKind,
        source_id: &str,
        reason: &str,
    ) -> Result<CaseView> {
        caller.require(OPEN)?;
        let source_id = crate::domain::id::optional("source_id", source_id)?
            .ok_or_else(|| Error::invalid("source_id", "is required"))?;
        if reason.trim().is_empty() {
            return Err(Error::invalid(
                "reason",
                "is required: say what needs pressing",
            ));
        }
        let unit_code = match kind {
            SourceKind::RectificationItem => self
                .store
                .get_item(source_id)
                .await?
                .map(|s| s.item.unit_code),
            SourceKind::Finding => self
                .store
                .get_finding(source_id)
                .await?
                .map(|s| s.finding.content.unit_code),
            SourceKind::CheckRecord => self
                .store
                .get_check(source_id)
                .await?
                .map(|s| s.record.content.unit_code),
            SourceKind::Petition => match self.store.get_petition(source_id).await? {
                // Supervision presses the unit a petition was dispatched to.
                Some(p) if !p.state.was_dispatched() && caller.sees_unit(&p.intake.unit_code) => {
                    return Err(Error::refused(Reason::PetitionNotDispatched, format!(
                        "petition {source_id} is {}; supervision presses a unit once a petition is dispatched to it",
                        p.state.shown()
                    )));
                }
                found => found.map(|p| p.intake.unit_code),
            },
        }
        .filter(|u| caller.sees_unit(u))
        .ok_or_else(|| {
            Error::NotFound(format!("{} {source_id}", kind.as_str().replace('_', " ")))
        })?;
        // One request per source, and none while another case is open.
        if let Some(existing) = self
            .store
            .cases_of_source(kind, source_id)
            .await?
            .into_iter()
            .find(|c| c.cause == Cause::Request || c.state != CaseState::Closed)
        {
            return Err(Error::AlreadyExists(format!(
                "{} {source_id} has supervision case {} already",
                kind.as_str().replace('_', " "),
                existing.id
            )));
        }
        let now = self.now();
        let new = NewCase {
            id: Uuid::now_v7(),
            source_kind: kind,
            source_id,
            cause: Cause::Request,
            unit_code,
            reason: reason.trim().to_string(),
            opened_by: caller.subject.clone(),
            opened_at: now,
        };
        if !self.store.open_case(&new).await? {
            return Err(Error::AlreadyExists(format!(
                "{} {source_id} has a supervision case already",
                kind.as_str().replace('_', " ")
            )));
        }
        tracing::info!(actor = %caller.subject, case = %new.id, source = %source_id, "supervision case opened");
        self.get_case(caller, &new.id.to_string()).await
    }

    pub async fn get_case(&self, caller: &Caller, id: &str) -> Result<CaseView> {
        Ok(self.case_view(self.visible_case(caller, id).await?))
    }

    fn case_view(&self, case: SupervisionCase) -> CaseView {
        CaseView {
            overdue: case.is_overdue(china_date(self.now())),
            case,
        }
    }

    async fn visible_case(&self, caller: &Caller, id: &str) -> Result<SupervisionCase> {
        caller.require(ANY_ROLE)?;
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        let c = self
            .store
            .get_case(id)
            .await?
            .ok_or_else(|| supervision::not_found(id))?;
        caller.ensure_sees(&c.unit_code, || format!("supervision case {id}"))?;
        Ok(c)
    }

    pub async fn list_cases(
        &self,
        caller: &Caller,
        units: Option<Vec<String>>,
        states: &[CaseState],
    ) -> Result<Vec<CaseView>> {
        caller.require(ANY_ROLE)?;
        let units = caller.narrow_units(units);
        let cases = self.store.list_cases(units.as_deref(), states, 500).await?;
        Ok(cases.into_iter().map(|c| self.case_view(c)).collect())
    }

    /// Takes a step on a case: checked against unit, role, etag and state.
    pub async fn take_case_step(
        &self,
        caller: &Caller,
        id: &str,
        etag: &str,
        step: CaseStep,
    ) -> Result<CaseView> {
        let c = self.visible_case(caller, id).await?;
        caller.require(step.roles())?;
        c.check_etag(etag)?;
        if let CaseStep::Respond { evidence, .. } = &step {
            self.evidence_of_unit(evidence, &c.unit_code, "evidence_ids")
                .await?;
        }
        let now = self.now();
        let out = c.take(&step, &caller.subject, now, china_date(now))?;
        let next = out.next;
        let change = case_change(now, &next, &caller.subject, step.action(), out.data);
        super::saved(
            self.store.save_case(c.version, &next, &change).await?,
            || format!("supervision case {}", c.id),
        )?;
        Ok(self.case_view(next))
    }
}
