//! Supervision cases: opened, pressed with a notice, answered, closed, and
//! found by what they supervise.

use ducha_sdk::{Client, pb};

use super::dates::date;

/// Opens a case of source `id` of `kind` for `reason`.
pub async fn open(
    c: &Client,
    kind: pb::SupervisionSourceKind,
    id: &str,
    reason: &str,
) -> Result<pb::SupervisionCase, tonic::Status> {
    c.supervision()
        .open_case(pb::OpenCaseRequest {
            source_kind: kind as i32,
            source_id: id.into(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().supervision_case.unwrap())
}

/// Issues a notice on `k` to answer by `due`.
pub async fn notice(
    c: &Client,
    k: &pb::SupervisionCase,
    due: chrono::NaiveDate,
) -> Result<pb::SupervisionCase, tonic::Status> {
    c.supervision()
        .issue_notice(pb::IssueNoticeRequest {
            id: k.id.clone(),
            etag: k.etag.clone(),
            text: "请于期限内报送整改落实情况".into(),
            due_date: date(due),
        })
        .await
        .map(|r| r.into_inner().supervision_case.unwrap())
}

/// Answers the notice on `k` as its unit.
pub async fn respond(
    c: &Client,
    k: &pb::SupervisionCase,
) -> Result<pb::SupervisionCase, tonic::Status> {
    c.supervision()
        .respond_to_notice(pb::RespondToNoticeRequest {
            id: k.id.clone(),
            etag: k.etag.clone(),
            text: "已完成整改并组织复查".into(),
            evidence_ids: vec![],
        })
        .await
        .map(|r| r.into_inner().supervision_case.unwrap())
}

/// Closes `k` with `outcome`.
pub async fn close(
    c: &Client,
    k: &pb::SupervisionCase,
    outcome: &str,
) -> Result<pb::SupervisionCase, tonic::Status> {
    c.supervision()
        .close_case(pb::CloseCaseRequest {
            id: k.id.clone(),
            etag: k.etag.clone(),
            outcome: outcome.into(),
        })
        .await
        .map(|r| r.into_inner().supervision_case.unwrap())
}

/// The state of `k`.
pub fn state(k: &pb::SupervisionCase) -> pb::SupervisionCaseState {
    pb::SupervisionCaseState::try_from(k.state).unwrap()
}

/// The cases `c` sees, as `req` filters them.
pub async fn list_cases(c: &Client, req: pb::ListCasesRequest) -> Vec<pb::SupervisionCase> {
    c.supervision()
        .list_cases(req)
        .await
        .unwrap()
        .into_inner()
        .supervision_cases
}

/// The cases of source `id` that `c` sees, opened for `cause`.
pub async fn cases_of(
    c: &Client,
    id: &str,
    cause: pb::SupervisionCause,
) -> Vec<pb::SupervisionCase> {
    list_cases(c, pb::ListCasesRequest::default())
        .await
        .into_iter()
        .filter(|k| k.source_id == id && k.cause == cause as i32)
        .collect()
}

/// The assessment of `unit` for `year`, as `c` may read it.
pub async fn assessment(
    c: &Client,
    unit: &str,
    year: i32,
) -> Result<pb::Assessment, tonic::Status> {
    c.supervision()
        .get_assessment(pb::GetAssessmentRequest {
            unit_code: unit.into(),
            year,
        })
        .await
        .map(|r| r.into_inner().assessment.unwrap())
}
