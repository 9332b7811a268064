//! RectificationService handlers: each step is one call of
//! `App::take_step`.

use ducha_proto::v1::{self as pb, rectification_service_server::RectificationService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{
    date_in, date_out, link_out, named_enum_in, named_enum_out, time_out, units_filter_in,
};
use crate::app::{App, ItemView, ShownEvidence};
use crate::domain::access::Caller;
use crate::domain::rectification::{
    AccidentConditions, HistoryEntry, ItemDraft, ItemFilter, ItemState, Step,
};
use crate::domain::statistics::UnitStats;
use crate::domain::validate::Violations;
use crate::error::Error;

pub struct Rectification {
    pub app: App,
}

fn draft_in(i: pb::RectificationItem) -> ItemDraft {
    ItemDraft {
        unit_code: i.unit_code,
        requirement: i.requirement,
        due_date: date_in(i.due_date.as_ref()),
        working_days: u32::try_from(i.working_days).unwrap_or(u32::MAX),
        accident: i.accident,
        photo_required: i.photo_required,
    }
}

fn state_out(s: ItemState) -> i32 {
    named_enum_out!(RectificationState, "RECTIFICATION_STATE_", s)
}

fn history_out(h: HistoryEntry) -> pb::RectificationHistoryEntry {
    pb::RectificationHistoryEntry {
        seq: h.seq,
        time: time_out(h.at),
        user: h.actor,
        action: named_enum_out!(RectificationAction, "RECTIFICATION_ACTION_", h.action),
        from_state: h.from_state.map_or(0, state_out),
        to_state: state_out(h.to_state),
        note: h.note,
        evidence_ids: h.evidence.iter().map(|id| id.to_string()).collect(),
        previous_due_date: h.due_before.and_then(date_out),
        due_date: h.due_after.and_then(date_out),
    }
}

fn conditions_out(c: AccidentConditions) -> pb::AccidentConditions {
    pb::AccidentConditions {
        cause_established: c.cause_established,
        responsible_dealt_with: c.responsible_dealt_with,
        people_educated: c.people_educated,
        measures_in_place: c.measures_in_place,
    }
}

pub(super) fn item_out(v: ItemView) -> pb::RectificationItem {
    let i = v.item;
    let etag = i.etag();
    pb::RectificationItem {
        id: i.id.to_string(),
        finding_id: i.finding_id.to_string(),
        unit_code: i.unit_code,
        requirement: i.requirement,
        due_date: date_out(i.due_date),
        working_days: i.working_days.map_or(0, |n| n as i32),
        accident: i.accident,
        photo_required: i.photo_required,
        state: state_out(i.state),
        overdue: v.overdue,
        assign_date: date_out(i.assigned_on),
        pending_extension: i.extension.map(|x| pb::ExtensionRequest {
            due_date: date_out(x.due_date),
            reason: x.reason,
            request_user: x.requested_by,
            request_time: time_out(x.requested_at),
        }),
        accident_conditions: i.conditions.map(conditions_out),
        rejection_count: i.rejections,
        sign_off_user: i.signed_off_by.unwrap_or_default(),
        sign_off_time: i.signed_off_at.and_then(time_out),
        evidence: v.evidence.into_iter().map(link_out).collect(),
        history: v.history.into_iter().map(history_out).collect(),
        campaign_id: i.campaign_id.map(|id| id.to_string()).unwrap_or_default(),
        etag,
        create_user: i.created_by,
        create_time: time_out(i.created_at),
        update_user: i.updated_by,
        update_time: time_out(i.updated_at),
    }
}

fn filter_in(r: &pb::ListRectificationItemsRequest) -> Result<ItemFilter, Error> {
    let mut v = Violations::new();
    let mut states = Vec::new();
    for (i, raw) in r.states.iter().enumerate() {
        if let Some(s) = named_enum_in!(RectificationState, "RECTIFICATION_STATE_", ItemState, *raw)
            .required(&format!("states[{i}]"), &mut v)
            && !states.contains(&s)
        {
            states.push(s);
        }
    }
    let due_within_days = match r.due_within_days {
        0 => None,
        n if n < 0 => {
            v.add("due_within_days", "must not be negative");
            None
        }
        n => Some(n as u32),
    };
    let filter = ItemFilter {
        unit_codes: units_filter_in(&r.unit_codes),
        finding_id: crate::domain::id::optional_in("finding_id", &r.finding_id, &mut v),
        campaign_id: crate::domain::id::optional_in("campaign_id", &r.campaign_id, &mut v),
        states,
        overdue: r.overdue_only,
        due_within_days,
        today: None,
    };
    v.finish()?;
    Ok(filter)
}

pub(super) fn stats_out(s: UnitStats) -> pb::UnitRectificationStatistics {
    pb::UnitRectificationStatistics {
        total: s.total() as i32,
        unit_code: s.unit_code,
        unit_name: s.unit_name,
        open: s.open as i32,
        in_progress: s.in_progress as i32,
        submitted: s.submitted as i32,
        verified: s.verified as i32,
        cancelled: s.cancelled as i32,
        overdue: s.overdue as i32,
        due_soon: s.due_soon as i32,
        rejections: s.rejections as i32,
        median_working_days_to_sign_off: s.median_days_to_sign_off,
    }
}

fn shown_out(s: ShownEvidence) -> pb::ShownEvidence {
    let expires = s
        .thumbnail
        .as_ref()
        .or(s.preview.as_ref())
        .map(|u| u.expires_at);
    pb::ShownEvidence {
        evidence: Some(super::evidence::evidence_out(s.evidence)),
        thumbnail_url: s.thumbnail.map(|u| u.url).unwrap_or_default(),
        preview_url: s.preview.map(|u| u.url).unwrap_or_default(),
        url_expire_time: expires.and_then(time_out),
    }
}

impl Rectification {
    async fn step<T>(
        &self,
        req: &Request<T>,
        id: &str,
        etag: &str,
        step: Step,
        evidence: &[String],
    ) -> Result<Option<pb::RectificationItem>, Status> {
        let c: Caller = caller(req)?;
        let view = self.app.take_step(&c, id, etag, step, evidence).await?;
        Ok(Some(item_out(view)))
    }
}

fn due_in(d: Option<&pb::Date>) -> Result<chrono::NaiveDate, Error> {
    let mut v = Violations::new();
    let d = date_in(d).required("due_date", &mut v);
    v.finish()?;
    Ok(d.expect("validated"))
}

#[tonic::async_trait]
impl RectificationService for Rectification {
    async fn create_rectification_item(
        &self,
        req: Request<pb::CreateRectificationItemRequest>,
    ) -> Result<Response<pb::CreateRectificationItemResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let draft = draft_in(r.item.unwrap_or_default());
        let item = self
            .app
            .create_item(&c, &r.finding_id, draft, &r.item_id, &r.request_id)
            .await?;
        Ok(Response::new(pb::CreateRectificationItemResponse {
            item: Some(item_out(item)),
        }))
    }

    async fn get_rectification_item(
        &self,
        req: Request<pb::GetRectificationItemRequest>,
    ) -> Result<Response<pb::GetRectificationItemResponse>, Status> {
        let c = caller(&req)?;
        let item = self.app.get_item(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetRectificationItemResponse {
            item: Some(item_out(item)),
        }))
    }

    async fn list_rectification_items(
        &self,
        req: Request<pb::ListRectificationItemsRequest>,
    ) -> Result<Response<pb::ListRectificationItemsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let page = self
            .app
            .list_items(&c, filter_in(r)?, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListRectificationItemsResponse {
            items: page.items.into_iter().map(item_out).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn acknowledge_item(
        &self,
        req: Request<pb::AcknowledgeItemRequest>,
    ) -> Result<Response<pb::AcknowledgeItemResponse>, Status> {
        let r = req.get_ref();
        let item = self
            .step(&req, &r.id, &r.etag, Step::Acknowledge, &[])
            .await?;
        Ok(Response::new(pb::AcknowledgeItemResponse { item }))
    }

    async fn report_progress(
        &self,
        req: Request<pb::ReportProgressRequest>,
    ) -> Result<Response<pb::ReportProgressResponse>, Status> {
        let r = req.get_ref();
        let step = Step::ReportProgress {
            text: r.text.clone(),
        };
        let item = self
            .step(&req, &r.id, &r.etag, step, &r.evidence_ids)
            .await?;
        Ok(Response::new(pb::ReportProgressResponse { item }))
    }

    async fn submit_fix(
        &self,
        req: Request<pb::SubmitFixRequest>,
    ) -> Result<Response<pb::SubmitFixResponse>, Status> {
        let r = req.get_ref();
        let step = Step::Submit {
            text: r.text.clone(),
            after_photos: 0,
        };
        let item = self
            .step(&req, &r.id, &r.etag, step, &r.evidence_ids)
            .await?;
        Ok(Response::new(pb::SubmitFixResponse { item }))
    }

    async fn request_extension(
        &self,
        req: Request<pb::RequestExtensionRequest>,
    ) -> Result<Response<pb::RequestExtensionResponse>, Status> {
        let r = req.get_ref();
        let step = Step::RequestExtension {
            due_date: due_in(r.due_date.as_ref())?,
            reason: r.reason.clone(),
        };
        let item = self.step(&req, &r.id, &r.etag, step, &[]).await?;
        Ok(Response::new(pb::RequestExtensionResponse { item }))
    }

    async fn decide_extension(
        &self,
        req: Request<pb::DecideExtensionRequest>,
    ) -> Result<Response<pb::DecideExtensionResponse>, Status> {
        let r = req.get_ref();
        let step = Step::DecideExtension {
            grant: r.grant,
            reason: r.reason.clone(),
        };
        let item = self.step(&req, &r.id, &r.etag, step, &[]).await?;
        Ok(Response::new(pb::DecideExtensionResponse { item }))
    }

    async fn record_accident_conditions(
        &self,
        req: Request<pb::RecordAccidentConditionsRequest>,
    ) -> Result<Response<pb::RecordAccidentConditionsResponse>, Status> {
        let r = req.get_ref();
        let c = r.conditions.clone().unwrap_or_default();
        let step = Step::RecordConditions(AccidentConditions {
            cause_established: c.cause_established,
            responsible_dealt_with: c.responsible_dealt_with,
            people_educated: c.people_educated,
            measures_in_place: c.measures_in_place,
        });
        let item = self.step(&req, &r.id, &r.etag, step, &[]).await?;
        Ok(Response::new(pb::RecordAccidentConditionsResponse { item }))
    }

    async fn approve_item(
        &self,
        req: Request<pb::ApproveItemRequest>,
    ) -> Result<Response<pb::ApproveItemResponse>, Status> {
        let r = req.get_ref();
        let step = Step::Approve {
            comment: r.comment.clone(),
        };
        let item = self.step(&req, &r.id, &r.etag, step, &[]).await?;
        Ok(Response::new(pb::ApproveItemResponse { item }))
    }

    async fn reject_item(
        &self,
        req: Request<pb::RejectItemRequest>,
    ) -> Result<Response<pb::RejectItemResponse>, Status> {
        let r = req.get_ref();
        let step = Step::Reject {
            reason: r.reason.clone(),
        };
        let item = self.step(&req, &r.id, &r.etag, step, &[]).await?;
        Ok(Response::new(pb::RejectItemResponse { item }))
    }

    async fn get_verification_view(
        &self,
        req: Request<pb::GetVerificationViewRequest>,
    ) -> Result<Response<pb::GetVerificationViewResponse>, Status> {
        let c = caller(&req)?;
        let v = self.app.verification_view(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetVerificationViewResponse {
            item: Some(item_out(v.item)),
            finding: Some(super::findings::finding_out(v.finding)),
            before: v.before.into_iter().map(shown_out).collect(),
            after: v.after.into_iter().map(shown_out).collect(),
            pairs: v
                .pairs
                .into_iter()
                .map(|p| pb::EvidencePair {
                    before_evidence_id: p.before.to_string(),
                    after_evidence_id: p.after.to_string(),
                    distance_m: p.distance_m,
                    hash_distance: p.hash_distance,
                    far_apart: p.far_apart,
                    near_identical: p.near_identical,
                })
                .collect(),
        }))
    }

    async fn get_rectification_statistics(
        &self,
        req: Request<pb::GetRectificationStatisticsRequest>,
    ) -> Result<Response<pb::GetRectificationStatisticsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let mut v = Violations::new();
        let campaign = crate::domain::id::optional_in("campaign_id", &r.campaign_id, &mut v);
        v.finish()?;
        let units = self
            .app
            .rectification_statistics(&c, campaign, units_filter_in(&r.unit_codes))
            .await?;
        Ok(Response::new(pb::GetRectificationStatisticsResponse {
            units: units.into_iter().map(stats_out).collect(),
        }))
    }

    async fn export_rectification_ledger(
        &self,
        req: Request<pb::ExportRectificationLedgerRequest>,
    ) -> Result<Response<pb::ExportRectificationLedgerResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let mut v = Violations::new();
        let campaign = crate::domain::id::optional_in("campaign_id", &r.campaign_id, &mut v);
        v.finish()?;
        let csv = self
            .app
            .rectification_ledger_csv(&c, campaign, units_filter_in(&r.unit_codes))
            .await?;
        Ok(Response::new(pb::ExportRectificationLedgerResponse {
            csv: csv.into(),
            content_type: "text/csv; charset=utf-8".into(),
        }))
    }

    async fn cancel_item(
        &self,
        req: Request<pb::CancelItemRequest>,
    ) -> Result<Response<pb::CancelItemResponse>, Status> {
        let r = req.get_ref();
        let step = Step::Cancel {
            reason: r.reason.clone(),
        };
        let item = self.step(&req, &r.id, &r.etag, step, &[]).await?;
        Ok(Response::new(pb::CancelItemResponse { item }))
    }
}
