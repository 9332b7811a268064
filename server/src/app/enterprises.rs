//! The enterprise registry, the accident archive and the public list of
//! enterprises with a major accident.

use uuid::Uuid;

use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::enterprise::{
    self, Accident, AccidentDraft, AccidentUpdate, ENTERPRISE, Enterprise, EnterpriseDraft,
};
use crate::domain::event::Change;
use crate::error::{Error, Reason, Result};

const REGISTER: &[Role] = &[
    Role::Inspector,
    Role::PetitionOfficer,
    Role::Supervisor,
    Role::Coordinator,
];
const RECORD_ACCIDENT: &[Role] = &[Role::Inspector, Role::Supervisor, Role::Coordinator];
const LIST_PUBLICLY: &[Role] = &[Role::Coordinator];

fn enterprise_change(
    at: chrono::DateTime<chrono::Utc>,
    e: &Enterprise,
    actor: &str,
    action: &str,
    data: serde_json::Value,
) -> Change {
    Change {
        at,
        actor: actor.to_string(),
        action: action.into(),
        subject_kind: ENTERPRISE,
        subject_id: e.id,
        unit_code: e.info.unit_code.clone(),
        data,
    }
}

impl App {
    pub async fn register_enterprise(
        &self,
        caller: &Caller,
        draft: EnterpriseDraft,
    ) -> Result<Enterprise> {
        caller.require(REGISTER)?;
        let info = draft.validate()?;
        if !caller.sees_unit(&info.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may register enterprises only in your own units, not {}",
                    info.unit_code
                ),
            ));
        }
        self.active_unit(&info.unit_code, "enterprise.unit_code")
            .await?;
        let now = self.now();
        let e = Enterprise {
            id: Uuid::now_v7(),
            info,
            listing: None,
            created_by: caller.subject.clone(),
            created_at: now,
            updated_by: caller.subject.clone(),
            updated_at: now,
            version: 1,
        };
        let change = enterprise_change(
            self.now(),
            &e,
            &caller.subject,
            "registered",
            serde_json::json!({ "credit_code": e.info.credit_code, "name": e.info.name }),
        );
        self.store.insert_enterprise(&e, &change).await?;
        Ok(e)
    }

    /// An enterprise of the caller's units, with its accidents.
    pub async fn get_enterprise(
        &self,
        caller: &Caller,
        code: &str,
    ) -> Result<(Enterprise, Vec<Accident>)> {
        caller.require(ANY_ROLE)?;
        let code = code.trim().to_ascii_uppercase();
        let e = self
            .store
            .get_enterprise(&code)
            .await?
            .ok_or_else(|| enterprise::not_found(&code))?;
        caller.ensure_sees(&e.info.unit_code, || format!("enterprise {code}"))?;
        let accidents = self.store.accidents_of(&code).await?;
        Ok((e, accidents))
    }

    pub async fn list_enterprises(
        &self,
        caller: &Caller,
        units: Option<Vec<String>>,
        listed_only: bool,
    ) -> Result<Vec<Enterprise>> {
        caller.require(ANY_ROLE)?;
        let units = caller.narrow_units(units);
        self.store
            .list_enterprises(units.as_deref(), listed_only)
            .await
    }

    pub async fn record_accident(
        &self,
        caller: &Caller,
        code: &str,
        draft: AccidentDraft,
    ) -> Result<Accident> {
        caller.require(RECORD_ACCIDENT)?;
        let (e, _) = self.get_enterprise(caller, code).await?;
        let now = self.now();
        let evidence = draft.evidence.clone();
        let facts = draft.validate(china_date(now))?;
        self.evidence_of_unit(&evidence, &e.info.unit_code, "accident.evidence_ids")
            .await?;
        let a = Accident {
            id: Uuid::now_v7(),
            credit_code: e.info.credit_code.clone(),
            unit_code: e.info.unit_code.clone(),
            facts,
            evidence,
            recorded_by: caller.subject.clone(),
            recorded_at: now,
            version: 1,
        };
        let change = enterprise_change(
            self.now(),
            &e,
            &caller.subject,
            "accident_recorded",
            serde_json::json!({
                "accident_id": a.id,
                "occurred_on": a.facts.occurred_on,
                "level": a.facts.level,
                "referred": a.facts.referred,
            }),
        );
        self.store.insert_accident(&a, &change).await?;
        tracing::info!(actor = %caller.subject, enterprise = %a.credit_code, level = %a.facts.level, "accident recorded");
        Ok(a)
    }

    /// Adds what the investigation established to an accident on record.
    pub async fn update_accident(
        &self,
        caller: &Caller,
        code: &str,
        accident_id: &str,
        etag: &str,
        update: AccidentUpdate,
    ) -> Result<Accident> {
        caller.require(RECORD_ACCIDENT)?;
        let (e, accidents) = self.get_enterprise(caller, code).await?;
        let id = crate::domain::id::optional("accident_id", accident_id)?
            .ok_or_else(|| Error::invalid("accident_id", "is required"))?;
        let a = accidents
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::NotFound(format!("accident {id} of enterprise {code}")))?;
        a.check_etag(etag)?;
        let (next, added) = a.update(update)?;
        self.evidence_of_unit(&added, &a.unit_code, "add_evidence_ids")
            .await?;
        let change = enterprise_change(
            self.now(),
            &e,
            &caller.subject,
            "accident_updated",
            serde_json::json!({
                "accident_id": a.id,
                "referred": next.facts.referred,
                "conditions_missing": next.facts.conditions.missing(),
                "evidence_added": added,
            }),
        );
        super::saved(
            self.store
                .save_accident(a.version, &next, &added, &change)
                .await?,
            || format!("accident {id}"),
        )?;
        tracing::info!(actor = %caller.subject, accident = %id, "accident updated");
        Ok(next)
    }

    /// Puts an enterprise with a major accident on the public list.
    pub async fn put_on_public_list(
        &self,
        caller: &Caller,
        code: &str,
        reason: &str,
    ) -> Result<Enterprise> {
        caller.require(LIST_PUBLICLY)?;
        if reason.trim().is_empty() {
            return Err(Error::invalid("reason", "is required"));
        }
        let (e, accidents) = self.get_enterprise(caller, code).await?;
        enterprise::check_listable(&e, &accidents)?;
        let change = enterprise_change(
            self.now(),
            &e,
            &caller.subject,
            "listed_publicly",
            serde_json::json!({ "reason": reason.trim() }),
        );
        if !self
            .store
            .list_publicly(
                &e.info.credit_code,
                &caller.subject,
                change.at,
                reason.trim(),
                &change,
            )
            .await?
        {
            return Err(Error::refused(
                Reason::AlreadyOnPublicList,
                format!(
                    "enterprise {} is on the public list already",
                    e.info.credit_code
                ),
            ));
        }
        Ok(self.get_enterprise(caller, code).await?.0)
    }

    /// The public list as CSV (UTF-8 with a byte-order mark): every listed
    /// enterprise, whatever the caller's units, for it is public.
    pub async fn public_list_csv(&self, caller: &Caller) -> Result<Vec<u8>> {
        caller.require(ANY_ROLE)?;
        let listed = self.store.list_enterprises(None, true).await?;
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let fail = |e: csv::Error| Error::internal(format!("writing the public list: {e}"));
        out.write_record([
            "统一社会信用代码",
            "企业名称",
            "地址",
            "所属单位代码",
            "列入日期",
            "列入原因",
            "重大事故日期",
        ])
        .map_err(fail)?;
        for e in listed {
            let majors: Vec<String> = self
                .store
                .accidents_of(&e.info.credit_code)
                .await?
                .iter()
                .filter(|a| a.facts.level.is_major())
                .map(|a| a.facts.occurred_on.to_string())
                .collect();
            let listing = e.listing.clone().unwrap_or_else(|| enterprise::Listing {
                at: e.updated_at,
                by: String::new(),
                reason: String::new(),
            });
            out.write_record([
                e.info.credit_code.clone(),
                e.info.name.clone(),
                e.info.address.clone(),
                e.info.unit_code.clone(),
                china_date(listing.at).to_string(),
                listing.reason,
                majors.join(" "),
            ])
            .map_err(fail)?;
        }
        out.into_inner()
            .map_err(|e| Error::internal(format!("writing the public list: {e}")))
    }
}
