//! Supervision cases: opened by hand or by the overdue scan, pressed with a
//! notice, answered by the unit, closed with an outcome.

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::rectification::{a_finding, assign, date, date_of, item, team};
use crate::support::violated_fields;

async fn open(
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

async fn notice(
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

async fn respond(
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

async fn close(
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

fn state(k: &pb::SupervisionCase) -> pb::SupervisionCaseState {
    pb::SupervisionCaseState::try_from(k.state).unwrap()
}

#[tokio::test]
async fn a_case_is_opened_pressed_answered_and_closed() {
    let t = team().await;
    let supervisor = t.srv.client(Role::Supervisor, &["331102"]).await;
    let f = a_finding(&t).await;
    use pb::SupervisionSourceKind as K;

    let e = open(&t.liaison, K::Finding, &f.id, "x").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = open(&t.inspector, K::Finding, &f.id, " ")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let outsider = t.srv.client(Role::Inspector, &["331121"]).await;
    let e = open(&outsider, K::Finding, &f.id, "办理不及时")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let k = open(
        &t.inspector,
        K::Finding,
        &f.id,
        "问题整改推进缓慢，申请督办",
    )
    .await
    .unwrap();
    assert_eq!(state(&k), pb::SupervisionCaseState::Open);
    assert_eq!(k.unit_code, "331102");
    let e = open(&supervisor, K::Finding, &f.id, "again")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    assert!(e.message().contains(&k.id), "{}", e.message());

    let today = t.srv.today();
    let e = notice(&supervisor, &k, today - chrono::Days::new(1))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["due_date"]);
    let e = notice(&t.liaison, &k, today).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = respond(&t.liaison, &k).await.unwrap_err();
    assert!(e.message().contains("is OPEN"), "{}", e.message());
    let noticed = notice(&supervisor, &k, today + chrono::Days::new(10))
        .await
        .unwrap();
    assert_eq!(state(&noticed), pb::SupervisionCaseState::NoticeIssued);
    assert!(!noticed.overdue);
    let e = respond(&t.liaison, &k).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    let answered = respond(&t.liaison, &noticed).await.unwrap();
    assert_eq!(answered.response, "已完成整改并组织复查");

    // The answer falls short: a second notice, this one left to lapse.
    notice(&supervisor, &answered, today).await.unwrap();
    // Three days go by.
    t.srv.pass_days(3);
    let lapsed = supervisor
        .supervision()
        .get_case(pb::GetCaseRequest { id: k.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .supervision_case
        .unwrap();
    assert!(lapsed.overdue);
    let e = close(&t.liaison, &lapsed, "x").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let closed = close(&supervisor, &lapsed, "约谈县政府分管负责人，问题已整改到位")
        .await
        .unwrap();
    assert_eq!(state(&closed), pb::SupervisionCaseState::Closed);
    let e = respond(&t.liaison, &closed).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("is CLOSED"), "{}", e.message());
}

#[tokio::test]
async fn overdue_items_arrive_as_open_cases_of_their_unit() {
    let t = team().await;
    let f = a_finding(&t).await;
    let i = assign(&t.inspector, &f.id, item(3)).await.unwrap();
    t.srv.pass_beyond(date_of(&i.due_date));
    assert_eq!(
        t.srv.app.mark_overdue_items(t.srv.today()).await.unwrap(),
        1
    );

    let list = |c: Client| async move {
        c.supervision()
            .list_cases(pb::ListCasesRequest {
                states: vec![pb::SupervisionCaseState::Open as i32],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .supervision_cases
    };
    let cases = list(t.liaison.clone()).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].source_kind,
        pb::SupervisionSourceKind::RectificationItem as i32
    );
    assert_eq!(cases[0].source_id, i.id);
    assert_eq!(cases[0].open_user, "system:overdue-scan");
    let outsider = t.srv.client(Role::UnitLiaison, &["331121"]).await;
    assert!(list(outsider.clone()).await.is_empty());
    let e = outsider
        .supervision()
        .get_case(pb::GetCaseRequest {
            id: cases[0].id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // By hand, the same item gets no second case.
    let e = open(
        &t.inspector,
        pb::SupervisionSourceKind::RectificationItem,
        &i.id,
        "逾期未整改",
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
}
