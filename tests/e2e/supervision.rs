//! Supervision cases: opened by hand or by the overdue scan, pressed with a
//! notice, answered by the unit, closed with an outcome.

use ducha::domain::access::Role;
use ducha_sdk::pb;
use tonic::Code;

use crate::support::dates::date_of;
use crate::support::findings::{a_finding, team};
use crate::support::rectification::{assign, item};
use crate::support::refusals::{reason_of, violated_fields};
use crate::support::supervision::{close, list_cases, notice, open, respond, state};
use crate::support::units::{LIANDU, QINGTIAN};

#[tokio::test]
async fn a_case_is_opened_pressed_answered_and_closed() {
    let t = team().await;
    let supervisor = t.srv.client(Role::Supervisor, &[LIANDU]).await;
    let f = a_finding(&t).await;
    use pb::SupervisionSourceKind as K;

    let e = open(&t.liaison, K::Finding, &f.id, "x").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = open(&t.inspector, K::Finding, &f.id, " ")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let outsider = t.srv.client(Role::Inspector, &[QINGTIAN]).await;
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
    assert_eq!(k.unit_code, LIANDU);
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
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        reason_of(&e, "state"),
        ("STATE_DOES_NOT_ALLOW".into(), "OPEN".into())
    );
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
    assert_eq!(
        reason_of(&e, "state"),
        ("STATE_DOES_NOT_ALLOW".into(), "CLOSED".into())
    );
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

    let open_only = || pb::ListCasesRequest {
        states: vec![pb::SupervisionCaseState::Open as i32],
        ..Default::default()
    };
    let cases = list_cases(&t.liaison, open_only()).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].source_kind,
        pb::SupervisionSourceKind::RectificationItem as i32
    );
    assert_eq!(cases[0].source_id, i.id);
    assert_eq!(cases[0].open_user, "system:overdue-scan");
    let outsider = t.srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    assert!(list_cases(&outsider, open_only()).await.is_empty());
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
