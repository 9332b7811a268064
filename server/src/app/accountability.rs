//! Accountability records: entered by a petition officer or a supervisor,
//! confirmed by someone of the other group. An official's name and post
//! are sealed like complainants.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role};
use crate::domain::accountability::{
    self, ACCOUNTABILITY, AccountabilityDraft, AccountabilityRecord, ENTER, Official,
};
use crate::domain::calendar::china_date;
use crate::domain::event::Change;
use crate::error::{Error, Reason, Result};

const SEES_PERSONAL_DATA: &[Role] = &[Role::PetitionOfficer, Role::Supervisor];

/// A record as a caller may see it.
#[derive(Debug, Clone)]
pub struct AccountabilityView {
    pub record: AccountabilityRecord,
    /// In full or masked, by the caller's role; None for a unit.
    pub official: Option<Official>,
    pub official_masked: bool,
}

fn sealed_for(id: Uuid) -> String {
    format!("accountability/{id}")
}

fn record_change(r: &AccountabilityRecord, actor: &str, action: &str) -> Change {
    Change {
        at: r.confirmed_at.unwrap_or(r.entered_at),
        actor: actor.to_string(),
        action: action.into(),
        subject_kind: ACCOUNTABILITY,
        subject_id: r.id,
        unit_code: r.facts.unit_code.clone(),
        // The facts without the official.
        data: serde_json::to_value(&r.facts).expect("facts serialise"),
    }
}

impl App {
    pub async fn record_accountability(
        &self,
        caller: &Caller,
        draft: AccountabilityDraft,
    ) -> Result<AccountabilityView> {
        caller.require(ENTER)?;
        let now = self.now();
        let (facts, official) = draft.validate(china_date(now))?;
        if !caller.sees_unit(&facts.unit_code) {
            return Err(Error::denied(
                Reason::UnitOutOfScope,
                format!(
                    "you may record accountability only for your own units, not {}",
                    facts.unit_code
                ),
            ));
        }
        self.active_unit(&facts.unit_code, "unit_code").await?;
        for (i, id) in facts.case_ids.iter().enumerate() {
            let field = format!("case_ids[{i}]");
            match self.store.get_case(*id).await? {
                Some(c) if !caller.sees_unit(&c.unit_code) => {}
                Some(c) if c.unit_code != facts.unit_code => {
                    return Err(Error::invalid(
                        field,
                        format!(
                            "supervision case {id} is of unit {}, not {}",
                            c.unit_code, facts.unit_code
                        ),
                    ));
                }
                Some(_) => continue,
                None => {}
            }
            return Err(Error::invalid(
                field,
                format!("no supervision case {id} in your units"),
            ));
        }
        let id = Uuid::now_v7();
        let sealed_official = official.map(|o| {
            let json = serde_json::to_string(&o).expect("official serialises");
            self.sealer.seal(&sealed_for(id), &json)
        });
        let r = AccountabilityRecord {
            id,
            facts,
            sealed_official,
            entered_by: caller.subject.clone(),
            entered_role: caller.role,
            entered_at: now,
            confirmed_by: None,
            confirmed_at: None,
            version: 1,
        };
        let change = record_change(&r, &caller.subject, "entered");
        self.store.insert_accountability(&r, &change).await?;
        tracing::info!(actor = %caller.subject, id = %r.id, unit = %r.facts.unit_code, "accountability entered");
        self.accountability_view(caller, r)
    }

    fn accountability_view(
        &self,
        caller: &Caller,
        record: AccountabilityRecord,
    ) -> Result<AccountabilityView> {
        let Some(sealed) = &record.sealed_official else {
            return Ok(AccountabilityView {
                record,
                official: None,
                official_masked: false,
            });
        };
        let fail = |e: String| {
            Error::internal(format!(
                "official of accountability record {}: {e}",
                record.id
            ))
        };
        let json = self
            .sealer
            .open(&sealed_for(record.id), sealed)
            .map_err(|e| fail(e.to_string()))?;
        let o: Official = serde_json::from_str(&json).map_err(|e| fail(e.to_string()))?;
        let full = SEES_PERSONAL_DATA.contains(&caller.role);
        Ok(AccountabilityView {
            official: Some(if full { o } else { o.masked() }),
            official_masked: !full,
            record,
        })
    }

    pub async fn confirm_accountability(
        &self,
        caller: &Caller,
        id: &str,
        etag: &str,
    ) -> Result<AccountabilityView> {
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        let r = self
            .store
            .get_accountability(id)
            .await?
            .filter(|r| caller.sees_unit(&r.facts.unit_code))
            .ok_or_else(|| accountability::not_found(id))?;
        crate::domain::etag::check(
            &format!("accountability record {id}"),
            r.version,
            etag,
            "etag",
        )?;
        let next = r.confirm(caller, self.now())?;
        let change = record_change(&next, &caller.subject, "confirmed");
        super::saved(
            self.store
                .confirm_accountability(r.version, &next, &change)
                .await?,
            || format!("accountability record {id}"),
        )?;
        tracing::info!(actor = %caller.subject, id = %id, "accountability confirmed");
        self.accountability_view(caller, next)
    }

    /// Records of the caller's units decided in `year`.
    pub async fn list_accountability(
        &self,
        caller: &Caller,
        units: Option<Vec<String>>,
        year: i32,
    ) -> Result<Vec<AccountabilityView>> {
        caller.require(ANY_ROLE)?;
        let (from, to) = year_bounds(year)?;
        let units = caller.narrow_units(units);
        self.store
            .list_accountability(units.as_deref(), from, to)
            .await?
            .into_iter()
            .map(|r| self.accountability_view(caller, r))
            .collect()
    }
}

/// The first day of `year` and of the year after.
pub(crate) fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate)> {
    match (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 1, 1, 1),
    ) {
        (Some(a), Some(b)) if (2000..=2100).contains(&year) => Ok((a, b)),
        _ => Err(Error::invalid("year", "must be 2000 to 2100")),
    }
}
