//! CheckService handlers.

use ducha_proto::v1::{self as pb, check_service_server::CheckService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{
    bounding_box_in, enum_in, evidence_role_in, evidence_role_out, link_out, location_in,
    location_out, time_in, time_out,
};
use crate::app::App;
use crate::domain::check::{
    CheckDraft, CheckFilter, CheckKind, CheckView, ChecklistDraft, ChecklistResult, ExpectedDraft,
};
use crate::domain::validate::{Input, Violations};
use crate::error::Error;

pub struct Checks {
    pub app: App,
}

fn kind_in(raw: i32) -> Input<CheckKind> {
    enum_in(raw, |k: pb::CheckKind| match k {
        pb::CheckKind::Unspecified => None,
        pb::CheckKind::SiteCheck => Some(CheckKind::SiteCheck),
        pb::CheckKind::DocumentReview => Some(CheckKind::DocumentReview),
        pb::CheckKind::Interview => Some(CheckKind::Interview),
        pb::CheckKind::Meeting => Some(CheckKind::Meeting),
    })
}

fn kind_out(k: CheckKind) -> pb::CheckKind {
    match k {
        CheckKind::SiteCheck => pb::CheckKind::SiteCheck,
        CheckKind::DocumentReview => pb::CheckKind::DocumentReview,
        CheckKind::Interview => pb::CheckKind::Interview,
        CheckKind::Meeting => pb::CheckKind::Meeting,
    }
}

fn result_in(raw: i32) -> Input<ChecklistResult> {
    enum_in(raw, |r: pb::ChecklistResult| match r {
        pb::ChecklistResult::Unspecified => None,
        pb::ChecklistResult::Compliant => Some(ChecklistResult::Compliant),
        pb::ChecklistResult::NonCompliant => Some(ChecklistResult::NonCompliant),
        pb::ChecklistResult::NotApplicable => Some(ChecklistResult::NotApplicable),
    })
}

fn result_out(r: ChecklistResult) -> pb::ChecklistResult {
    match r {
        ChecklistResult::Compliant => pb::ChecklistResult::Compliant,
        ChecklistResult::NonCompliant => pb::ChecklistResult::NonCompliant,
        ChecklistResult::NotApplicable => pb::ChecklistResult::NotApplicable,
    }
}

fn draft_in(r: pb::CheckRecord) -> CheckDraft {
    let subject = r.subject.unwrap_or_default();
    CheckDraft {
        kind: kind_in(r.kind),
        unit_code: r.unit_code,
        campaign_id: r.campaign_id,
        subject_name: subject.name,
        credit_code: subject.credit_code,
        address: r.address,
        location: r.location.map(location_in),
        start_time: time_in(r.start_time.as_ref()),
        end_time: time_in(r.end_time.as_ref()),
        inspectors: r.inspectors,
        checklist: r
            .checklist
            .into_iter()
            .map(|i| ChecklistDraft {
                question: i.question,
                result: result_in(i.result),
                note: i.note,
            })
            .collect(),
        narrative: r.narrative,
        expected_evidence: r
            .expected_evidence
            .into_iter()
            .map(|e| ExpectedDraft {
                sha256: e.sha256,
                role: evidence_role_in(e.role),
            })
            .collect(),
    }
}

fn record_out(view: CheckView) -> pb::CheckRecord {
    let pending_sha256 = view.pending();
    let evidence = view.links.into_iter().map(link_out).collect();
    let rec = view.record;
    let etag = rec.etag();
    let c = rec.content;
    let wgs = c.location_wgs84();
    pb::CheckRecord {
        id: rec.id.to_string(),
        kind: kind_out(c.kind) as i32,
        unit_code: c.unit_code,
        campaign_id: c.campaign_id.map(|u| u.to_string()).unwrap_or_default(),
        subject: Some(pb::Subject {
            name: c.subject_name,
            credit_code: c.credit_code.unwrap_or_default(),
        }),
        address: c.address,
        location: c.location.map(location_out),
        location_wgs84: wgs.map(|w| pb::WgsPoint {
            latitude: w.latitude,
            longitude: w.longitude,
        }),
        start_time: time_out(c.started_at),
        end_time: c.ended_at.and_then(time_out),
        receive_time: time_out(rec.received_at),
        inspectors: c.inspectors,
        checklist: c
            .checklist
            .into_iter()
            .map(|i| pb::ChecklistItem {
                question: i.question,
                result: result_out(i.result) as i32,
                note: i.note,
            })
            .collect(),
        narrative: c.narrative,
        etag,
        create_user: rec.created_by,
        update_time: time_out(rec.updated_at),
        update_user: rec.updated_by,
        expected_evidence: c
            .expected_evidence
            .into_iter()
            .map(|e| pb::ExpectedEvidence {
                sha256: e.sha256,
                role: evidence_role_out(e.role) as i32,
            })
            .collect(),
        evidence,
        pending_sha256,
    }
}

/// Converts list filters; malformed values are reported by field.
fn filter_in(r: &pb::ListCheckRecordsRequest) -> Result<CheckFilter, Error> {
    let mut v = Violations::new();
    let campaign_id = crate::domain::id::optional_in("campaign_id", &r.campaign_id, &mut v);
    let kind = kind_in(r.kind).optional("kind", &mut v);
    let started_from = time_in(r.start_time_from.as_ref()).optional("start_time_from", &mut v);
    let started_before = time_in(r.start_time_to.as_ref()).optional("start_time_to", &mut v);
    let mut units = r.unit_codes.clone();
    units.sort();
    units.dedup();
    let filter = CheckFilter {
        unit_codes: (!units.is_empty()).then_some(units),
        campaign_id,
        kind,
        started_from,
        started_before,
        bounding_box: r.bounding_box.as_ref().map(bounding_box_in),
    };
    filter.validate(&mut v);
    v.finish()?;
    Ok(filter)
}

#[tonic::async_trait]
impl CheckService for Checks {
    async fn create_check_record(
        &self,
        req: Request<pb::CreateCheckRecordRequest>,
    ) -> Result<Response<pb::CreateCheckRecordResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let draft = draft_in(r.check_record.unwrap_or_default());
        let rec = self
            .app
            .create_check(&c, draft, &r.check_record_id, &r.request_id)
            .await?;
        Ok(Response::new(pb::CreateCheckRecordResponse {
            check_record: Some(record_out(rec)),
        }))
    }

    async fn get_check_record(
        &self,
        req: Request<pb::GetCheckRecordRequest>,
    ) -> Result<Response<pb::GetCheckRecordResponse>, Status> {
        let c = caller(&req)?;
        let rec = self.app.get_check(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetCheckRecordResponse {
            check_record: Some(record_out(rec)),
        }))
    }

    async fn list_check_records(
        &self,
        req: Request<pb::ListCheckRecordsRequest>,
    ) -> Result<Response<pb::ListCheckRecordsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let page = self
            .app
            .list_checks(&c, filter_in(r)?, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListCheckRecordsResponse {
            check_records: page.items.into_iter().map(record_out).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_check_record(
        &self,
        req: Request<pb::UpdateCheckRecordRequest>,
    ) -> Result<Response<pb::UpdateCheckRecordResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let rec = r.check_record.unwrap_or_default();
        let (id, etag) = (rec.id.clone(), rec.etag.clone());
        let mask = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let updated = self
            .app
            .update_check(&c, &id, draft_in(rec), &mask, &etag)
            .await?;
        Ok(Response::new(pb::UpdateCheckRecordResponse {
            check_record: Some(record_out(updated)),
        }))
    }
}
