//! SupervisionService handlers.

use ducha_proto::v1::{self as pb, supervision_service_server::SupervisionService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{date_in, date_out, named_enum_in, named_enum_out, time_out, units_filter_in};
use crate::app::App;
use crate::domain::calendar::china_date;
use crate::domain::supervision::{CaseState, CaseStep, SourceKind, SupervisionCase};
use crate::domain::validate::Violations;
use crate::store::time_now;

pub struct Supervision {
    pub app: App,
}

fn case_out(c: SupervisionCase) -> pb::SupervisionCase {
    let etag = c.etag();
    let overdue = c.is_overdue(china_date(time_now()));
    let (notice, response, closing) = (c.notice, c.response, c.closing);
    pb::SupervisionCase {
        id: c.id.to_string(),
        source_kind: named_enum_out!(
            SupervisionSourceKind,
            "SUPERVISION_SOURCE_KIND_",
            c.source_kind
        ),
        source_id: c.source_id.to_string(),
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
        let c = caller(&self.app, req).await?;
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
        let c = caller(&self.app, &req).await?;
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
        let c = caller(&self.app, &req).await?;
        let case = self.app.get_case(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetCaseResponse {
            supervision_case: Some(case_out(case)),
        }))
    }

    async fn list_cases(
        &self,
        req: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let c = caller(&self.app, &req).await?;
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
        let mut evidence = Vec::new();
        for (i, id) in r.evidence_ids.iter().enumerate() {
            evidence.push(uuid::Uuid::parse_str(id).map_err(|_| {
                crate::error::Error::invalid(format!("evidence_ids[{i}]"), "must be a UUID")
            })?);
        }
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
}
