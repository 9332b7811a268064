//! Campaigns: planned and moved through their stages by coordinators, read
//! by everyone; each target unit gets its feedback report.

use std::collections::HashMap;

use uuid::Uuid;

use super::{ANY_ROLE, App};
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::campaign::{
    self, CAMPAIGN, Campaign, CampaignDraft, CampaignPlan, CampaignStatus,
};
use crate::domain::event::Change;
use crate::domain::feedback::{FeedbackReport, ReportedFinding};
use crate::domain::finding::FindingFilter;
use crate::domain::statistics::{self, UnitStats};
use crate::error::{Error, Result};

const PLAN: &[Role] = &[Role::Coordinator];
/// Events of campaigns concern the whole city.
const CITY: &str = "331100";

fn campaign_change(c: &Campaign, action: &str) -> Change {
    Change {
        at: c.updated_at,
        actor: c.updated_by.clone(),
        action: action.into(),
        subject_kind: CAMPAIGN,
        subject_id: c.id,
        unit_code: CITY.into(),
        data: serde_json::json!({ "plan": c.plan, "status": c.status }),
    }
}

impl App {
    pub async fn create_campaign(&self, caller: &Caller, draft: CampaignDraft) -> Result<Campaign> {
        caller.require(PLAN)?;
        let plan = draft.validate()?;
        self.known_units(&plan).await?;
        let now = self.now();
        let c = Campaign {
            id: Uuid::now_v7(),
            plan,
            status: CampaignStatus::Planning,
            created_by: caller.subject.clone(),
            created_at: now,
            updated_by: caller.subject.clone(),
            updated_at: now,
            version: 1,
        };
        self.store
            .insert_campaign(&c, &campaign_change(&c, "created"))
            .await?;
        tracing::info!(actor = %caller.subject, id = %c.id, year = c.plan.year, "campaign planned");
        Ok(c)
    }

    async fn known_units(&self, plan: &CampaignPlan) -> Result<()> {
        for (i, code) in plan.target_units.iter().enumerate() {
            self.active_unit(code, &format!("campaign.target_unit_codes[{i}]"))
                .await?;
        }
        Ok(())
    }

    pub async fn get_campaign(&self, caller: &Caller, id: &str) -> Result<Campaign> {
        caller.require(ANY_ROLE)?;
        let id = crate::domain::id::optional("id", id)?
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        self.store
            .get_campaign(id)
            .await?
            .ok_or_else(|| campaign::not_found(id))
    }

    pub async fn list_campaigns(&self, caller: &Caller) -> Result<Vec<Campaign>> {
        caller.require(ANY_ROLE)?;
        self.store.list_campaigns().await
    }

    /// Replaces the plan of a campaign that is not closed.
    pub async fn update_campaign(
        &self,
        caller: &Caller,
        id: &str,
        etag: &str,
        draft: CampaignDraft,
    ) -> Result<Campaign> {
        caller.require(PLAN)?;
        let stored = self.get_campaign(caller, id).await?;
        stored.check_etag(etag)?;
        stored.ensure_open()?;
        let plan = draft.validate()?;
        self.known_units(&plan).await?;
        self.save_campaign(caller, stored, |c| c.plan = plan, "updated")
            .await
    }

    /// Moves a campaign to its next stage: planning, in the field,
    /// reporting, closed.
    pub async fn advance_campaign(
        &self,
        caller: &Caller,
        id: &str,
        etag: &str,
    ) -> Result<Campaign> {
        caller.require(PLAN)?;
        let stored = self.get_campaign(caller, id).await?;
        stored.check_etag(etag)?;
        let next = stored.next_stage()?;
        self.save_campaign(caller, stored, |c| c.status = next, next.as_str())
            .await
    }

    async fn save_campaign(
        &self,
        caller: &Caller,
        stored: Campaign,
        change: impl FnOnce(&mut Campaign),
        action: &str,
    ) -> Result<Campaign> {
        let mut c = stored.clone();
        change(&mut c);
        c.version += 1;
        c.updated_at = self.now();
        c.updated_by = caller.subject.clone();
        super::saved(
            self.store
                .update_campaign(&c, &campaign_change(&c, action))
                .await?,
            || format!("campaign {}", c.id),
        )?;
        tracing::info!(actor = %caller.subject, id = %c.id, action, "campaign changed");
        Ok(c)
    }

    /// A campaign a record says it belongs to must exist; `field` names it.
    pub(super) async fn existing_campaign(&self, id: Option<Uuid>, field: &str) -> Result<()> {
        if let Some(id) = id
            && self.store.get_campaign(id).await?.is_none()
        {
            return Err(Error::invalid(field, format!("no campaign {id}")));
        }
        Ok(())
    }

    /// The feedback report of a campaign for one of its target units.
    pub async fn feedback_report(
        &self,
        caller: &Caller,
        campaign_id: &str,
        unit_code: &str,
    ) -> Result<FeedbackReport> {
        let c = self.get_campaign(caller, campaign_id).await?;
        caller.ensure_sees(unit_code, || format!("unit {unit_code}"))?;
        if !c.plan.target_units.iter().any(|u| u == unit_code) {
            return Err(Error::invalid(
                "unit_code",
                format!("unit {unit_code} is not a target of campaign {}", c.id),
            ));
        }
        let unit_name = self
            .store
            .get_unit(unit_code)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let today = china_date(self.now());
        let filter = FindingFilter {
            unit_codes: Some(vec![unit_code.to_string()]),
            campaign_id: Some(c.id),
            today: Some(today),
            ..Default::default()
        };
        let mut found = self.store.list_findings(&filter, None, 10_000).await?;
        // Oldest first, as the report numbers them.
        found.reverse();
        let findings = self.finding_views(found).await?;
        let rows = self
            .store
            .ledger_rows(Some(c.id), Some(&[unit_code.to_string()]))
            .await?;
        let from = rows
            .iter()
            .map(|r| r.item.assigned_on)
            .min()
            .unwrap_or(today);
        let calendar = self.store.calendar(from, today).await?;
        let stats = statistics::tally(&rows, today, &calendar, super::ledger::DUE_SOON_DAYS)
            .pop()
            .unwrap_or_else(|| UnitStats {
                unit_code: unit_code.to_string(),
                unit_name: unit_name.clone(),
                ..Default::default()
            });
        let mut items: HashMap<Uuid, Vec<_>> = HashMap::new();
        for r in rows {
            items.entry(r.item.finding_id).or_default().push(r.item);
        }
        Ok(FeedbackReport {
            unit_code: unit_code.to_string(),
            unit_name,
            as_of: today,
            findings: findings
                .into_iter()
                .map(|f| ReportedFinding {
                    items: items.remove(&f.finding.id).unwrap_or_default(),
                    finding: f,
                })
                .collect(),
            stats,
            campaign: c,
        })
    }
}
