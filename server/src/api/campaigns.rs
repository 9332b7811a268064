//! CampaignService handlers.

use ducha_proto::v1::{self as pb, campaign_service_server::CampaignService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{date_in, date_out, named_enum_in, named_enum_out, time_out};
use super::findings::finding_out;
use super::rectification::{item_out, stats_out};
use crate::app::{App, ItemView};
use crate::domain::campaign::{Campaign, CampaignDraft, Group, MemberDraft, TeamDraft, TeamRole};

pub struct Campaigns {
    pub app: App,
}

fn draft_in(c: pb::Campaign) -> CampaignDraft {
    CampaignDraft {
        year: c.year,
        title: c.title,
        starts_on: date_in(c.start_date.as_ref()),
        ends_on: date_in(c.end_date.as_ref()),
        target_units: c.target_unit_codes,
        teams: c
            .teams
            .into_iter()
            .map(|t| TeamDraft {
                group: named_enum_in!(WorkingGroup, "WORKING_GROUP_", Group, t.group),
                name: t.name,
                members: t
                    .members
                    .into_iter()
                    .map(|m| MemberDraft {
                        username: m.username,
                        role: named_enum_in!(TeamRole, "TEAM_ROLE_", TeamRole, m.role),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn campaign_out(c: Campaign) -> pb::Campaign {
    let etag = c.etag();
    let p = c.plan;
    pb::Campaign {
        id: c.id.to_string(),
        year: p.year,
        title: p.title,
        start_date: date_out(p.starts_on),
        end_date: date_out(p.ends_on),
        target_unit_codes: p.target_units,
        teams: p
            .teams
            .into_iter()
            .map(|t| pb::Team {
                group: named_enum_out!(WorkingGroup, "WORKING_GROUP_", t.group),
                name: t.name,
                members: t
                    .members
                    .into_iter()
                    .map(|m| pb::TeamMember {
                        username: m.username,
                        role: named_enum_out!(TeamRole, "TEAM_ROLE_", m.role),
                    })
                    .collect(),
            })
            .collect(),
        status: named_enum_out!(CampaignStatus, "CAMPAIGN_STATUS_", c.status),
        etag,
        create_user: c.created_by,
        create_time: time_out(c.created_at),
        update_user: c.updated_by,
        update_time: time_out(c.updated_at),
    }
}

#[tonic::async_trait]
impl CampaignService for Campaigns {
    async fn create_campaign(
        &self,
        req: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        let c = caller(&req)?;
        let draft = draft_in(req.into_inner().campaign.unwrap_or_default());
        let campaign = self.app.create_campaign(&c, draft).await?;
        Ok(Response::new(pb::CreateCampaignResponse {
            campaign: Some(campaign_out(campaign)),
        }))
    }

    async fn get_campaign(
        &self,
        req: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        let c = caller(&req)?;
        let campaign = self.app.get_campaign(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetCampaignResponse {
            campaign: Some(campaign_out(campaign)),
        }))
    }

    async fn list_campaigns(
        &self,
        req: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        let c = caller(&req)?;
        let all = self.app.list_campaigns(&c).await?;
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns: all.into_iter().map(campaign_out).collect(),
        }))
    }

    async fn update_campaign(
        &self,
        req: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        let c = caller(&req)?;
        let campaign = req.into_inner().campaign.unwrap_or_default();
        let (id, etag) = (campaign.id.clone(), campaign.etag.clone());
        let updated = self
            .app
            .update_campaign(&c, &id, &etag, draft_in(campaign))
            .await?;
        Ok(Response::new(pb::UpdateCampaignResponse {
            campaign: Some(campaign_out(updated)),
        }))
    }

    async fn advance_campaign(
        &self,
        req: Request<pb::AdvanceCampaignRequest>,
    ) -> Result<Response<pb::AdvanceCampaignResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let campaign = self.app.advance_campaign(&c, &r.id, &r.etag).await?;
        Ok(Response::new(pb::AdvanceCampaignResponse {
            campaign: Some(campaign_out(campaign)),
        }))
    }

    async fn get_feedback_report(
        &self,
        req: Request<pb::GetFeedbackReportRequest>,
    ) -> Result<Response<pb::GetFeedbackReportResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let report = self
            .app
            .feedback_report(&c, &r.campaign_id, &r.unit_code)
            .await?;
        let markdown = report.markdown();
        let as_of = report.as_of;
        Ok(Response::new(pb::GetFeedbackReportResponse {
            unit_code: report.unit_code,
            unit_name: report.unit_name,
            as_of: date_out(as_of),
            findings: report
                .findings
                .into_iter()
                .map(|f| pb::ReportedFinding {
                    finding: Some(finding_out(f.finding)),
                    items: f
                        .items
                        .into_iter()
                        .map(|item| {
                            item_out(ItemView {
                                overdue: item.is_overdue(as_of),
                                item,
                                history: vec![],
                                evidence: vec![],
                            })
                        })
                        .collect(),
                })
                .collect(),
            statistics: Some(stats_out(report.stats)),
            markdown,
            campaign: Some(campaign_out(report.campaign)),
        }))
    }
}
