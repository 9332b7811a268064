//! PetitionService handlers.

use ducha_proto::v1::{self as pb, petition_service_server::PetitionService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{
    date_in, date_out, location_in, location_out, named_enum_in, named_enum_out, time_in, time_out,
    units_filter_in,
};
use crate::app::{App, PetitionView};
use crate::domain::finding::Medium;
use crate::domain::petition::PetitionFilter;
use crate::domain::petition::{
    Channel, Complainant, FeedbackMethod, HistoryEntry, PetitionDraft, PetitionState, PetitionStep,
};
use crate::domain::validate::Violations;
use crate::error::Error;

pub struct Petitions {
    pub app: App,
}

fn state_out(s: PetitionState) -> i32 {
    named_enum_out!(PetitionState, "PETITION_STATE_", s)
}

fn history_out(h: HistoryEntry) -> pb::PetitionHistoryEntry {
    pb::PetitionHistoryEntry {
        action: h.action,
        from_state: h.from_state.map_or(0, state_out),
        to_state: state_out(h.to_state),
        note: h.note,
        user: h.actor,
        time: time_out(h.at),
    }
}

pub(super) fn petition_out(v: PetitionView) -> pb::Petition {
    let p = v.petition;
    let etag = p.etag();
    let anonymous = p.is_anonymous();
    let (accept_overdue, reply_overdue) = (v.accept_overdue, v.reply_overdue);
    let pr = p.progress;
    pb::Petition {
        id: p.id.to_string(),
        campaign_id: p
            .intake
            .campaign_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        channel: named_enum_out!(PetitionChannel, "PETITION_CHANNEL_", p.intake.channel),
        received_time: time_out(p.intake.received_at),
        content: p.intake.content,
        category: named_enum_out!(Medium, "MEDIUM_", p.intake.category),
        location: p.intake.location.map(location_out),
        unit_code: p.intake.unit_code,
        credit_code: p.intake.credit_code.unwrap_or_default(),
        complainant: v.complainant.map(|c| pb::Complainant {
            name: c.name,
            phone: c.phone,
            address: c.address,
        }),
        anonymous,
        complainant_masked: v.complainant_masked,
        key: p.is_key,
        state: state_out(p.state),
        accept_due_date: date_out(p.accept_due),
        reply_due_date: p.reply_due.and_then(date_out),
        reply_overdue,
        accept_overdue,
        decline_reason: pr.declined.map(|n| n.text).unwrap_or_default(),
        reply: pr.reply.map(|r| pb::PetitionReply {
            text: r.text,
            evidence_ids: r.evidence.iter().map(|e| e.to_string()).collect(),
            user: r.by,
            time: time_out(r.at),
        }),
        send_backs: pr.send_backs as i32,
        verification: pr.verification.map(|x| pb::OnSiteVerification {
            check_record_id: x.check_record_id.to_string(),
            conclusion: x.conclusion,
            user: x.by,
            time: time_out(x.at),
        }),
        feedback: pr.feedback.map(|f| pb::ComplainantFeedback {
            method: named_enum_out!(FeedbackMethod, "FEEDBACK_METHOD_", f.method),
            feedback_time: time_out(f.told_at),
            satisfied: f.satisfied,
            note: f.note,
            user: f.by,
            record_time: time_out(f.at),
        }),
        close_note: pr.closed.map(|n| n.text).unwrap_or_default(),
        spot_check: pr.spot_check.map(|s| pb::SpotCheckResult {
            passed: s.passed,
            note: s.note,
            user: s.by,
            time: time_out(s.at),
        }),
        merged_into_id: p.merged_into.map(|m| m.to_string()).unwrap_or_default(),
        merged_petition_ids: v.merged.iter().map(|m| m.to_string()).collect(),
        possible_repeats: v
            .possible_repeats
            .into_iter()
            .map(|r| pb::PossibleRepeat {
                petition_id: r.petition_id.to_string(),
                same_enterprise: r.same_enterprise,
                distance_m: r.distance_m,
            })
            .collect(),
        history: v.history.into_iter().map(history_out).collect(),
        receive_user: p.received_by,
        update_time: time_out(p.updated_at),
        etag,
    }
}

fn filter_in(units: &[String], states: &[i32], campaign_id: &str) -> Result<PetitionFilter, Error> {
    let mut v = Violations::new();
    let mut f = PetitionFilter {
        units: units_filter_in(units),
        campaign_id: crate::domain::id::optional_in("campaign_id", campaign_id, &mut v),
        ..Default::default()
    };
    for (i, raw) in states.iter().enumerate() {
        if let Some(s) = named_enum_in!(PetitionState, "PETITION_STATE_", PetitionState, *raw)
            .required(&format!("states[{i}]"), &mut v)
        {
            f.states.push(s);
        }
    }
    v.finish()?;
    Ok(f)
}

impl Petitions {
    async fn step<T>(
        &self,
        req: &Request<T>,
        id: &str,
        etag: &str,
        step: PetitionStep,
    ) -> Result<Option<pb::Petition>, Status> {
        let c = caller(req)?;
        let v = self.app.take_petition_step(&c, id, etag, step).await?;
        Ok(Some(petition_out(v)))
    }
}

#[tonic::async_trait]
impl PetitionService for Petitions {
    async fn create_petition(
        &self,
        req: Request<pb::CreatePetitionRequest>,
    ) -> Result<Response<pb::CreatePetitionResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let complainant = r.complainant.unwrap_or_default();
        let draft = PetitionDraft {
            campaign_id: r.campaign_id,
            channel: named_enum_in!(PetitionChannel, "PETITION_CHANNEL_", Channel, r.channel),
            received_at: time_in(r.received_time.as_ref()),
            content: r.content,
            category: named_enum_in!(Medium, "MEDIUM_", Medium, r.category),
            location: r.location.map(location_in),
            unit_code: r.unit_code,
            credit_code: r.credit_code,
            complainant: Complainant {
                name: complainant.name,
                phone: complainant.phone,
                address: complainant.address,
            },
        };
        let v = self.app.create_petition(&c, draft, &r.request_id).await?;
        Ok(Response::new(pb::CreatePetitionResponse {
            petition: Some(petition_out(v)),
        }))
    }

    async fn get_petition(
        &self,
        req: Request<pb::GetPetitionRequest>,
    ) -> Result<Response<pb::GetPetitionResponse>, Status> {
        let c = caller(&req)?;
        let v = self.app.get_petition(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetPetitionResponse {
            petition: Some(petition_out(v)),
        }))
    }

    async fn list_petitions(
        &self,
        req: Request<pb::ListPetitionsRequest>,
    ) -> Result<Response<pb::ListPetitionsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let mut f = filter_in(&r.unit_codes, &r.states, &r.campaign_id)?;
        f.key_only = r.key_only;
        f.reply_overdue = r.reply_overdue;
        let page = self
            .app
            .list_petitions(&c, f, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListPetitionsResponse {
            petitions: page.items.into_iter().map(petition_out).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn accept_petition(
        &self,
        req: Request<pb::AcceptPetitionRequest>,
    ) -> Result<Response<pb::AcceptPetitionResponse>, Status> {
        let r = req.get_ref();
        let step = PetitionStep::Accept {
            key: r.key,
            note: r.note.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::AcceptPetitionResponse { petition }))
    }

    async fn decline_petition(
        &self,
        req: Request<pb::DeclinePetitionRequest>,
    ) -> Result<Response<pb::DeclinePetitionResponse>, Status> {
        let r = req.get_ref();
        let step = PetitionStep::Decline {
            reason: r.reason.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::DeclinePetitionResponse { petition }))
    }

    async fn dispatch_petition(
        &self,
        req: Request<pb::DispatchPetitionRequest>,
    ) -> Result<Response<pb::DispatchPetitionResponse>, Status> {
        let r = req.get_ref();
        let mut v = Violations::new();
        let due = date_in(r.reply_due_date.as_ref()).optional("reply_due_date", &mut v);
        v.finish()?;
        let step = PetitionStep::Dispatch {
            unit_code: r.unit_code.trim().to_string(),
            reply_due: due,
            note: r.note.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::DispatchPetitionResponse { petition }))
    }

    async fn reply_to_petition(
        &self,
        req: Request<pb::ReplyToPetitionRequest>,
    ) -> Result<Response<pb::ReplyToPetitionResponse>, Status> {
        let r = req.get_ref();
        let evidence = crate::domain::id::list("evidence_ids", &r.evidence_ids)?;
        let step = PetitionStep::Reply {
            text: r.text.clone(),
            evidence,
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::ReplyToPetitionResponse { petition }))
    }

    async fn send_back_reply(
        &self,
        req: Request<pb::SendBackReplyRequest>,
    ) -> Result<Response<pb::SendBackReplyResponse>, Status> {
        let r = req.get_ref();
        let mut v = Violations::new();
        let due = date_in(r.reply_due_date.as_ref()).optional("reply_due_date", &mut v);
        v.finish()?;
        let step = PetitionStep::SendBack {
            reason: r.reason.clone(),
            reply_due: due,
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::SendBackReplyResponse { petition }))
    }

    async fn verify_on_site(
        &self,
        req: Request<pb::VerifyOnSiteRequest>,
    ) -> Result<Response<pb::VerifyOnSiteResponse>, Status> {
        let r = req.get_ref();
        let step = PetitionStep::VerifyOnSite {
            check_record_id: crate::domain::id::required("check_record_id", &r.check_record_id)?,
            conclusion: r.conclusion.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::VerifyOnSiteResponse { petition }))
    }

    async fn record_feedback(
        &self,
        req: Request<pb::RecordFeedbackRequest>,
    ) -> Result<Response<pb::RecordFeedbackResponse>, Status> {
        let r = req.get_ref();
        let mut v = Violations::new();
        let method = named_enum_in!(FeedbackMethod, "FEEDBACK_METHOD_", FeedbackMethod, r.method)
            .required("method", &mut v);
        let told_at = time_in(r.feedback_time.as_ref()).required("feedback_time", &mut v);
        v.finish()?;
        let step = PetitionStep::RecordFeedback {
            method: method.expect("validated"),
            told_at: told_at.expect("validated"),
            satisfied: r.satisfied,
            note: r.note.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::RecordFeedbackResponse { petition }))
    }

    async fn close_petition(
        &self,
        req: Request<pb::ClosePetitionRequest>,
    ) -> Result<Response<pb::ClosePetitionResponse>, Status> {
        let r = req.get_ref();
        let step = PetitionStep::Close {
            note: r.note.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::ClosePetitionResponse { petition }))
    }

    async fn merge_petition(
        &self,
        req: Request<pb::MergePetitionRequest>,
    ) -> Result<Response<pb::MergePetitionResponse>, Status> {
        let r = req.get_ref();
        let step = PetitionStep::Merge {
            into: crate::domain::id::required("into_id", &r.into_id)?,
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::MergePetitionResponse { petition }))
    }

    async fn sample_for_spot_check(
        &self,
        req: Request<pb::SampleForSpotCheckRequest>,
    ) -> Result<Response<pb::SampleForSpotCheckResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let found = self
            .app
            .spot_check_sample(&c, units_filter_in(&r.unit_codes), r.count)
            .await?;
        Ok(Response::new(pb::SampleForSpotCheckResponse {
            petitions: found.into_iter().map(petition_out).collect(),
        }))
    }

    async fn record_spot_check(
        &self,
        req: Request<pb::RecordSpotCheckRequest>,
    ) -> Result<Response<pb::RecordSpotCheckResponse>, Status> {
        let r = req.get_ref();
        let step = PetitionStep::SpotCheck {
            passed: r.passed,
            note: r.note.clone(),
        };
        let petition = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::RecordSpotCheckResponse { petition }))
    }

    async fn get_petition_statistics(
        &self,
        req: Request<pb::GetPetitionStatisticsRequest>,
    ) -> Result<Response<pb::GetPetitionStatisticsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let mut v = Violations::new();
        let from = date_in(r.from_date.as_ref()).required("from_date", &mut v);
        let to = date_in(r.to_date.as_ref()).required("to_date", &mut v);
        v.finish()?;
        let figures = self
            .app
            .petition_figures(
                &c,
                units_filter_in(&r.unit_codes),
                from.expect("validated"),
                to.expect("validated"),
            )
            .await?;
        Ok(Response::new(pb::GetPetitionStatisticsResponse {
            units: figures
                .into_iter()
                .map(|f| pb::PetitionUnitFigures {
                    unit_code: f.unit_code,
                    received: f.received,
                    declined: f.declined,
                    open: f.open,
                    closed: f.closed,
                    reply_overdue: f.reply_overdue,
                    satisfied: f.satisfied,
                    dissatisfied: f.dissatisfied,
                    repeats: f.repeats,
                    key: f.key,
                })
                .collect(),
        }))
    }

    async fn export_petitions(
        &self,
        req: Request<pb::ExportPetitionsRequest>,
    ) -> Result<Response<pb::ExportPetitionsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let f = filter_in(&r.unit_codes, &r.states, &r.campaign_id)?;
        let csv = self.app.export_petitions(&c, f).await?;
        Ok(Response::new(pb::ExportPetitionsResponse {
            csv: csv.into(),
            content_type: "text/csv; charset=utf-8".into(),
        }))
    }
}
