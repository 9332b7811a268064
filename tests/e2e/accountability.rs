//! Accountability records, entered by one group and confirmed by the other,
//! and the yearly assessment view with its one-vote veto.

use chrono::Datelike;
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::support::dates::{china_today, date, date_of};
use crate::support::enterprises::{CREDIT_CODE, record_accident, register};
use crate::support::findings::{a_finding, team};
use crate::support::rectification::{acknowledge, assign, item, reject, submit};
use crate::support::refusals::violated_fields;
use crate::support::supervision::{assessment, list_cases};
use crate::support::units::{LIANDU, QINGTIAN};

/// The request that records, in `unit`, the accountability of an official
/// (a deputy head of Liandu's environment branch) in `form`, decided two
/// days ago.
fn official(unit: &str, form: pb::AccountabilityForm) -> pb::RecordAccountabilityRequest {
    pb::RecordAccountabilityRequest {
        unit_code: unit.into(),
        subject: pb::AccountabilitySubject::Official as i32,
        official: Some(pb::Official {
            name: "李建国".into(),
            post: "莲都区生态环境分局副局长".into(),
        }),
        form: form as i32,
        basis: "对督办交办问题整改不力，群众反复投诉".into(),
        decided_on: date(china_today() - chrono::Days::new(2)),
        case_ids: vec![],
    }
}

async fn enter(
    c: &Client,
    r: pb::RecordAccountabilityRequest,
) -> Result<pb::AccountabilityRecord, tonic::Status> {
    c.supervision()
        .record_accountability(r)
        .await
        .map(|r| r.into_inner().record.unwrap())
}

async fn confirm(
    c: &Client,
    r: &pb::AccountabilityRecord,
) -> Result<pb::AccountabilityRecord, tonic::Status> {
    c.supervision()
        .confirm_accountability(pb::ConfirmAccountabilityRequest {
            id: r.id.clone(),
            etag: r.etag.clone(),
        })
        .await
        .map(|r| r.into_inner().record.unwrap())
}

#[tokio::test]
async fn accountability_is_entered_by_one_group_and_confirmed_by_the_other() {
    let t = team().await;
    let (officer, officer_name) = t.srv.user(Role::PetitionOfficer, &[LIANDU]).await;
    let other_officer = t.srv.client(Role::PetitionOfficer, &[LIANDU]).await;
    let supervisor = t.srv.client(Role::Supervisor, &[LIANDU]).await;

    let e = enter(
        &t.liaison,
        official(LIANDU, pb::AccountabilityForm::Interview),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(ducha_sdk::reason(&e).as_deref(), Some("ROLE_NOT_ALLOWED"));
    let mut no_post = official(LIANDU, pb::AccountabilityForm::Interview);
    no_post.official.as_mut().unwrap().post.clear();
    no_post.case_ids = vec!["not-a-case".into()];
    let e = enter(&officer, no_post).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["official.post", "case_ids[0]"]);

    let r = enter(
        &officer,
        official(LIANDU, pb::AccountabilityForm::Admonition),
    )
    .await
    .unwrap();
    assert_eq!(r.enter_user, officer_name);
    assert!(r.confirm_user.is_empty());
    // Not by the person who entered it, nor by the same group.
    let e = confirm(&officer, &r).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(ducha_sdk::reason(&e).as_deref(), Some("SAME_PERSON"));
    let e = confirm(&other_officer, &r).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(ducha_sdk::reason(&e).as_deref(), Some("SAME_GROUP"));
    let done = confirm(&supervisor, &r).await.unwrap();
    assert!(!done.confirm_user.is_empty());
    let e = confirm(&supervisor, &done).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // The official is sealed at rest and masked for a unit liaison.
    let rows = t
        .srv
        .raw_texts("SELECT official FROM accountability_records")
        .await;
    assert!(!rows[0].contains("李建国") && !rows[0].contains("副局长"));
    let listed = |c: &Client| {
        let c = c.clone();
        async move {
            c.supervision()
                .list_accountability(pb::ListAccountabilityRequest {
                    unit_codes: vec![],
                    year: china_today().year(),
                })
                .await
                .unwrap()
                .into_inner()
                .records
        }
    };
    let full = listed(&supervisor).await;
    assert_eq!(full[0].official.as_ref().unwrap().name, "李建国");
    let masked = listed(&t.liaison).await;
    assert!(masked[0].official_masked);
    assert_eq!(masked[0].official.as_ref().unwrap().name, "李**");
    assert!(
        listed(&t.srv.client(Role::Viewer, &[QINGTIAN]).await)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_yearly_assessment_applies_the_veto_with_its_reasons() {
    let t = team().await;
    let officer = t.srv.client(Role::PetitionOfficer, &["*"]).await;
    let supervisor = t.srv.client(Role::Supervisor, &["*"]).await;
    let yesterday = china_today() - chrono::Days::new(1);

    // Liandu's year: a major accident, an official disciplined, an item
    // overdue and not signed off, a fix rejected.
    let accident = |unit: &'static str, code: &'static str, level: pb::AccidentLevel| {
        let c = t.coordinator.clone();
        async move {
            let works = pb::Enterprise {
                credit_code: code.into(),
                name: "丽水市某化工有限公司".into(),
                address: "工业园区".into(),
                unit_code: unit.into(),
                ..Default::default()
            };
            register(&c, works).await.unwrap();
            let leak = pb::Accident {
                occurred_on: date(yesterday),
                level: level as i32,
                description: "储罐泄漏，废液流入瓯江支流".into(),
                ..Default::default()
            };
            record_accident(&c, code, leak).await.unwrap()
        }
    };
    let major = accident(LIANDU, CREDIT_CODE, pb::AccidentLevel::Major).await;
    let heavy = enter(
        &officer,
        official(LIANDU, pb::AccountabilityForm::Disciplinary),
    )
    .await
    .unwrap();
    confirm(&supervisor, &heavy).await.unwrap();
    let f = a_finding(&t).await;
    let late = assign(&t.inspector, &f.id, item(3)).await.unwrap();
    t.srv.pass_beyond(date_of(&late.due_date));
    assert_eq!(
        t.srv.app.mark_overdue_items(t.srv.today()).await.unwrap(),
        1
    );
    // The year the server is in now (the deadline may have crossed one).
    let year = t.srv.today().year();
    let fixed = assign(&t.inspector, &f.id, item(3)).await.unwrap();
    let fixed = acknowledge(&t.liaison, &fixed).await.unwrap();
    let fixed = submit(&t.liaison, &fixed, vec![]).await.unwrap();
    reject(&t.verifier, &fixed, "出水仍超标").await.unwrap();

    // A record names supervision cases of its own unit only.
    let liandu_case = list_cases(&supervisor, Default::default())
        .await
        .into_iter()
        .find(|k| k.source_id == late.id)
        .unwrap();
    let mut elsewhere = official(QINGTIAN, pb::AccountabilityForm::CirculatedCriticism);
    elsewhere.case_ids = vec![liandu_case.id.clone()];
    let e = enter(&officer, elsewhere).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["case_ids[0]"]);
    assert!(
        e.message().contains(&format!("is of unit {LIANDU}")),
        "{}",
        e.message()
    );

    // Qingtian's: a larger accident and an unconfirmed record, no veto.
    accident(QINGTIAN, "91331100MA28A12349", pb::AccidentLevel::Larger).await;
    enter(
        &officer,
        official(QINGTIAN, pb::AccountabilityForm::JudicialReferral),
    )
    .await
    .unwrap();

    let a = assessment(&supervisor, LIANDU, year).await.unwrap();
    assert!(a.veto);
    assert_eq!(a.overdue_item_ids, vec![late.id.clone()]);
    assert_eq!(a.unresolved_overdue_item_ids, vec![late.id.clone()]);
    assert_eq!(a.failed_verifications, 1);
    assert_eq!(a.major_accident_ids, vec![major.id.clone()]);
    assert_eq!(a.confirmed_accountability, 1);
    let kinds: Vec<i32> = a.veto_reasons.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::VetoReasonKind::MajorAccident as i32,
            pb::VetoReasonKind::HeavyAccountability as i32,
            pb::VetoReasonKind::UnresolvedOverdueItem as i32,
        ]
    );
    assert_eq!(a.veto_reasons[0].subject_id, major.id);
    assert!(a.veto_reasons[1].description.contains("党纪政务处分"));
    // An item overdue and still not signed off weighs on the next year too.
    let next = assessment(&supervisor, LIANDU, year + 1).await.unwrap();
    assert_eq!(next.unresolved_overdue_item_ids, vec![late.id.clone()]);
    assert!(next.major_accident_ids.is_empty());
    assert_eq!(
        next.veto_reasons.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [pb::VetoReasonKind::UnresolvedOverdueItem as i32]
    );

    let q = assessment(&supervisor, QINGTIAN, year).await.unwrap();
    assert_eq!(
        (q.veto, q.accidents, q.accountability_record_ids.len()),
        (false, 1, 1)
    );
    assert!(q.veto_reasons.is_empty());

    // Within the caller's units only; not for every role.
    let e = assessment(&t.liaison, LIANDU, year).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let outsider = t.srv.client(Role::Supervisor, &[QINGTIAN]).await;
    let e = assessment(&outsider, LIANDU, year).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}
