//! FindingService handlers.

use ducha_proto::v1::{self as pb, finding_service_server::FindingService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{
    bounding_box_in, link_out, location_in, location_out, named_enum_in, named_enum_out, time_out,
    units_filter_in,
};
use crate::app::App;
use crate::domain::finding::{
    Category, FindingDraft, FindingFilter, FindingStatus, FindingView, Medium, Severity,
    SourceDraft, SourceKind,
};
use crate::domain::validate::Violations;
use crate::error::Error;

pub struct Findings {
    pub app: App,
}

fn draft_in(f: pb::Finding) -> FindingDraft {
    FindingDraft {
        unit_code: f.unit_code,
        campaign_id: f.campaign_id,
        category: named_enum_in!(FindingCategory, "FINDING_CATEGORY_", Category, f.category),
        medium: named_enum_in!(Medium, "MEDIUM_", Medium, f.medium),
        severity: named_enum_in!(Severity, "SEVERITY_", Severity, f.severity),
        title: f.title,
        description: f.description,
        location: f.location.map(location_in),
        credit_code: f.credit_code,
        sources: f
            .sources
            .into_iter()
            .map(|s| SourceDraft {
                kind: named_enum_in!(
                    FindingSourceKind,
                    "FINDING_SOURCE_KIND_",
                    SourceKind,
                    s.kind
                ),
                id: s.id,
                reference: s.reference,
            })
            .collect(),
        before_evidence_ids: f.before_evidence_ids,
    }
}

pub(super) fn finding_out(v: FindingView) -> pb::Finding {
    let f = v.finding;
    let etag = f.etag();
    let c = f.content;
    pb::Finding {
        id: f.id.to_string(),
        unit_code: c.unit_code,
        campaign_id: c.campaign_id.map(|id| id.to_string()).unwrap_or_default(),
        category: named_enum_out!(FindingCategory, "FINDING_CATEGORY_", c.category),
        medium: named_enum_out!(Medium, "MEDIUM_", c.medium),
        severity: named_enum_out!(Severity, "SEVERITY_", c.severity),
        title: c.title,
        description: c.description,
        location_wgs84: c.location.map(|l| {
            let w = l.to_wgs84();
            pb::WgsPoint {
                latitude: w.latitude,
                longitude: w.longitude,
            }
        }),
        location: c.location.map(location_out),
        credit_code: c.credit_code.unwrap_or_default(),
        sources: c
            .sources
            .into_iter()
            .map(|s| pb::FindingSource {
                kind: named_enum_out!(FindingSourceKind, "FINDING_SOURCE_KIND_", s.kind),
                id: s.id.map(|id| id.to_string()).unwrap_or_default(),
                reference: s.reference,
            })
            .collect(),
        before_evidence_ids: c.before_evidence.iter().map(|id| id.to_string()).collect(),
        evidence: v.evidence.into_iter().map(link_out).collect(),
        status: named_enum_out!(FindingStatus, "FINDING_STATUS_", v.items.status()),
        item_count: v.items.total as i32,
        verified_item_count: v.items.verified as i32,
        overdue_item_count: v.items.overdue as i32,
        etag,
        create_user: f.created_by,
        create_time: time_out(f.created_at),
        update_user: f.updated_by,
        update_time: time_out(f.updated_at),
    }
}

fn filter_in(r: &pb::ListFindingsRequest) -> Result<FindingFilter, Error> {
    let mut v = Violations::new();
    let filter = FindingFilter {
        unit_codes: units_filter_in(&r.unit_codes),
        campaign_id: crate::domain::id::optional_in("campaign_id", &r.campaign_id, &mut v),
        category: named_enum_in!(FindingCategory, "FINDING_CATEGORY_", Category, r.category)
            .optional("category", &mut v),
        medium: named_enum_in!(Medium, "MEDIUM_", Medium, r.medium).optional("medium", &mut v),
        severity: named_enum_in!(Severity, "SEVERITY_", Severity, r.severity)
            .optional("severity", &mut v),
        status: named_enum_in!(FindingStatus, "FINDING_STATUS_", FindingStatus, r.status)
            .optional("status", &mut v),
        overdue: r.overdue_only,
        bounding_box: r.bounding_box.as_ref().map(bounding_box_in),
        text: r.text.clone(),
        today: None,
    };
    v.finish()?;
    Ok(filter)
}

#[tonic::async_trait]
impl FindingService for Findings {
    async fn create_finding(
        &self,
        req: Request<pb::CreateFindingRequest>,
    ) -> Result<Response<pb::CreateFindingResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let draft = draft_in(r.finding.unwrap_or_default());
        let f = self
            .app
            .create_finding(&c, draft, &r.finding_id, &r.request_id)
            .await?;
        Ok(Response::new(pb::CreateFindingResponse {
            finding: Some(finding_out(f)),
        }))
    }

    async fn get_finding(
        &self,
        req: Request<pb::GetFindingRequest>,
    ) -> Result<Response<pb::GetFindingResponse>, Status> {
        let c = caller(&req)?;
        let f = self.app.get_finding(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetFindingResponse {
            finding: Some(finding_out(f)),
        }))
    }

    async fn list_findings(
        &self,
        req: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let page = self
            .app
            .list_findings(&c, filter_in(r)?, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListFindingsResponse {
            findings: page.items.into_iter().map(finding_out).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
