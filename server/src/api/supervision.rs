//! SupervisionService handlers.

use ducha_proto::v1::{self as pb, supervision_service_server::SupervisionService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{date_in, date_out, named_enum_in, named_enum_out, time_out, units_filter_in};
use crate::app::{AccountabilityView, App, CaseView};
use crate::domain::accountability::{
    AccountabilityDraft, AccountabilityForm, Official, SubjectKind,
};
use crate::domain::assessment::{AssessmentFacts, VetoReason};
use crate::domain::supervision::{CaseState, CaseStep, SourceKind};
use crate::domain::validate::Violations;

pub struct Supervision {
    pub app: App,
}

fn record_out(v: AccountabilityView) -> pb::AccountabilityRecord {
    let r = v.record;
    let etag = r.etag();
    pb::AccountabilityRecord {
        id: r.id.to_string(),
        unit_code: r.facts.unit_code,
        subject: named_enum_out!(
            AccountabilitySubject,
            "ACCOUNTABILITY_SUBJECT_",
            r.facts.subject_kind
        ),
        official: v.official.map(|o| pb::Official {
            name: o.name,
            post: o.post,
        }),
        official_masked: v.official_masked,
        form: named_enum_out!(AccountabilityForm, "ACCOUNTABILITY_FORM_", r.facts.form),
        basis: r.facts.basis,
        decided_on: date_out(r.facts.decided_on),
        case_ids: r.facts.case_ids.iter().map(|c| c.to_string()).collect(),
        enter_user: r.entered_by,
        enter_time: time_out(r.entered_at),
        confirm_user: r.confirmed_by.unwrap_or_default(),
        confirm_time: r.confirmed_at.and_then(time_out),
        etag,
    }
}

fn assessment_out(f: AssessmentFacts) -> pb::Assessment {
    let ids = |v: &mut dyn Iterator<Item = uuid::Uuid>| v.map(|i| i.to_string()).collect();
    let reasons = f.veto_reasons();
    pb::Assessment {
        unit_code: f.unit_code.clone(),
        year: f.year,
        overdue_item_ids: ids(&mut f.overdue_items.iter().map(|i| i.id)),
        unresolved_overdue_item_ids: ids(&mut f
            .overdue_items
            .iter()
            .filter(|i| !i.resolved)
            .map(|i| i.id)),
        overdue_petition_ids: ids(&mut f.overdue_petitions.iter().copied()),
        failed_verifications: f.failed_verifications,
        failed_spot_check_petition_ids: ids(&mut f.failed_spot_checks.iter().copied()),
        accidents: f.accidents.len() as i64,
        major_accident_ids: ids(&mut f
            .accidents
            .iter()
            .filter(|a| a.level.is_major())
            .map(|a| a.id)),
        accountability_record_ids: ids(&mut f.accountability.iter().map(|a| a.id)),
        confirmed_accountability: f.accountability.iter().filter(|a| a.confirmed).count() as i64,
        veto: !reasons.is_empty(),
        veto_reasons: reasons
            .iter()
            .map(|r| pb::VetoReason {
                kind: match r {
                    VetoReason::MajorAccident(_) => pb::VetoReasonKind::MajorAccident,
                    VetoReason::HeavyAccountability(_) => pb::VetoReasonKind::HeavyAccountability,
                    VetoReason::UnresolvedOverdueItem(_) => {
                        pb::VetoReasonKind::UnresolvedOverdueItem
                    }
                } as i32,
                subject_id: r.subject_id().to_string(),
                description: r.describe(),
            })
            .collect(),
    }
}

fn case_out(v: CaseView) -> pb::SupervisionCase {
    let (c, overdue) = (v.case, v.overdue);
    let etag = c.etag();
    let (notice, response, closing) = (c.notice, c.response, c.closing);
    pb::SupervisionCase {
        id: c.id.to_string(),
        source_kind: named_enum_out!(
            SupervisionSourceKind,
            "SUPERVISION_SOURCE_KIND_",
            c.source_kind
        ),
        source_id: c.source_id.to_string(),
        cause: named_enum_out!(SupervisionCause, "SUPERVISION_CAUSE_", c.cause),
        unit_code: c.unit_code,
        reason: c.reason,
        state: named_enum_out!(SupervisionCaseState, "SUPERVISION_CASE_STATE_", c.state),
        open_user: c.opened_by,
        open_time: time_out(c.opened_at),
        notice_due_date: notice.as_ref().and_then(|n| date_out(n.due)),
        notice_time: notice.as_ref().and_then(|n| time_out(n.at)),
        notice_user: notice.as_ref().map(|n| n.by.clone()).unwrap_or_default(),
        notice: notice.map(|n| n.text).unwrap_or_default(),
        overdue,
        response_evidence_ids: response
            .as_ref()
            .map(|r| r.evidence.iter().map(|e| e.to_string()).collect())
            .unwrap_or_default(),
        response_time: response.as_ref().and_then(|r| time_out(r.at)),
        response_user: response.as_ref().map(|r| r.by.clone()).unwrap_or_default(),
        response: response.map(|r| r.text).unwrap_or_default(),
        close_time: closing.as_ref().and_then(|x| time_out(x.at)),
        close_user: closing.as_ref().map(|x| x.by.clone()).unwrap_or_default(),
        outcome: closing.map(|x| x.outcome).unwrap_or_default(),
        etag,
    }
}

impl Supervision {
    async fn step<T>(
        &self,
        req: &Request<T>,
        id: &str,
        etag: &str,
        step: CaseStep,
    ) -> Result<Option<pb::SupervisionCase>, Status> {
        let c = caller(req)?;
        let case = self.app.take_case_step(&c, id, etag, step).await?;
        Ok(Some(case_out(case)))
    }
}

#[tonic::async_trait]
impl SupervisionService for Supervision {
    async fn open_case(
        &self,
        req: Request<pb::OpenCaseRequest>,
    ) -> Result<Response<pb::OpenCaseResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let mut v = Violations::new();
        let kind = named_enum_in!(
            SupervisionSourceKind,
            "SUPERVISION_SOURCE_KIND_",
            SourceKind,
            r.source_kind
        )
        .required("source_kind", &mut v);
        v.finish()?;
        let case = self
            .app
            .open_case(&c, kind.expect("validated"), &r.source_id, &r.reason)
            .await?;
        Ok(Response::new(pb::OpenCaseResponse {
            supervision_case: Some(case_out(case)),
        }))
    }

    async fn get_case(
        &self,
        req: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let c = caller(&req)?;
        let case = self.app.get_case(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetCaseResponse {
            supervision_case: Some(case_out(case)),
        }))
    }

    async fn list_cases(
        &self,
        req: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let mut v = Violations::new();
        let mut states = Vec::new();
        for (i, raw) in r.states.iter().enumerate() {
            if let Some(s) = named_enum_in!(
                SupervisionCaseState,
                "SUPERVISION_CASE_STATE_",
                CaseState,
                *raw
            )
            .required(&format!("states[{i}]"), &mut v)
            {
                states.push(s);
            }
        }
        v.finish()?;
        let cases = self
            .app
            .list_cases(&c, units_filter_in(&r.unit_codes), &states)
            .await?;
        Ok(Response::new(pb::ListCasesResponse {
            supervision_cases: cases.into_iter().map(case_out).collect(),
        }))
    }

    async fn issue_notice(
        &self,
        req: Request<pb::IssueNoticeRequest>,
    ) -> Result<Response<pb::IssueNoticeResponse>, Status> {
        let r = req.get_ref();
        let mut v = Violations::new();
        let due = date_in(r.due_date.as_ref()).required("due_date", &mut v);
        v.finish()?;
        let step = CaseStep::IssueNotice {
            text: r.text.clone(),
            due: due.expect("validated"),
        };
        let case = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::IssueNoticeResponse {
            supervision_case: case,
        }))
    }

    async fn respond_to_notice(
        &self,
        req: Request<pb::RespondToNoticeRequest>,
    ) -> Result<Response<pb::RespondToNoticeResponse>, Status> {
        let r = req.get_ref();
        let evidence = crate::domain::id::list("evidence_ids", &r.evidence_ids)?;
        let step = CaseStep::Respond {
            text: r.text.clone(),
            evidence,
        };
        let case = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::RespondToNoticeResponse {
            supervision_case: case,
        }))
    }

    async fn close_case(
        &self,
        req: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<pb::CloseCaseResponse>, Status> {
        let r = req.get_ref();
        let step = CaseStep::Close {
            outcome: r.outcome.clone(),
        };
        let case = self.step(&req, &r.id, &r.etag, step).await?;
        Ok(Response::new(pb::CloseCaseResponse {
            supervision_case: case,
        }))
    }

    async fn record_accountability(
        &self,
        req: Request<pb::RecordAccountabilityRequest>,
    ) -> Result<Response<pb::RecordAccountabilityResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let official = r.official.unwrap_or_default();
        let draft = AccountabilityDraft {
            unit_code: r.unit_code,
            subject_kind: named_enum_in!(
                AccountabilitySubject,
                "ACCOUNTABILITY_SUBJECT_",
                SubjectKind,
                r.subject
            ),
            official: Official {
                name: official.name,
                post: official.post,
            },
            form: named_enum_in!(
                AccountabilityForm,
                "ACCOUNTABILITY_FORM_",
                AccountabilityForm,
                r.form
            ),
            basis: r.basis,
            decided_on: date_in(r.decided_on.as_ref()),
            case_ids: r.case_ids,
        };
        let v = self.app.record_accountability(&c, draft).await?;
        Ok(Response::new(pb::RecordAccountabilityResponse {
            record: Some(record_out(v)),
        }))
    }

    async fn confirm_accountability(
        &self,
        req: Request<pb::ConfirmAccountabilityRequest>,
    ) -> Result<Response<pb::ConfirmAccountabilityResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let v = self.app.confirm_accountability(&c, &r.id, &r.etag).await?;
        Ok(Response::new(pb::ConfirmAccountabilityResponse {
            record: Some(record_out(v)),
        }))
    }

    async fn list_accountability(
        &self,
        req: Request<pb::ListAccountabilityRequest>,
    ) -> Result<Response<pb::ListAccountabilityResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let found = self
            .app
            .list_accountability(&c, units_filter_in(&r.unit_codes), r.year)
            .await?;
        Ok(Response::new(pb::ListAccountabilityResponse {
            records: found.into_iter().map(record_out).collect(),
        }))
    }

    async fn get_assessment(
        &self,
        req: Request<pb::GetAssessmentRequest>,
    ) -> Result<Response<pb::GetAssessmentResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let facts = self.app.assessment(&c, &r.unit_code, r.year).await?;
        Ok(Response::new(pb::GetAssessmentResponse {
            assessment: Some(assessment_out(facts)),
        }))
    }
}
