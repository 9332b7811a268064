//! The enterprise registry, the accident archive and the public list.

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::support;
use crate::support::enterprises::{
    CREDIT_CODE, accident, enterprise, get_enterprise, record_accident, register,
};
use crate::support::evidence::{fixture, upload};
use crate::support::refusals::violated_fields;
use crate::support::units::{LIANDU, QINGTIAN};

async fn put_on_list(c: &Client, reason: &str) -> Result<pb::Enterprise, tonic::Status> {
    c.enterprises()
        .put_on_public_list(pb::PutOnPublicListRequest {
            credit_code: CREDIT_CODE.into(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().enterprise.unwrap())
}

#[tokio::test]
async fn a_major_accident_puts_an_enterprise_on_the_public_list() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let liaison = srv.client(Role::UnitLiaison, &[LIANDU]).await;
    let coordinator = srv.client(Role::Coordinator, &["*"]).await;

    let e = register(&inspector, enterprise("91330100799655058A", LIANDU))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["enterprise.credit_code"]);
    let e = register(&inspector, enterprise(CREDIT_CODE, QINGTIAN))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = register(&liaison, enterprise(CREDIT_CODE, LIANDU))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let made = register(&inspector, enterprise(&CREDIT_CODE.to_lowercase(), LIANDU))
        .await
        .unwrap();
    assert_eq!(made.credit_code, CREDIT_CODE);
    let e = register(&inspector, enterprise(CREDIT_CODE, LIANDU))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);

    record_accident(
        &inspector,
        CREDIT_CODE,
        accident(pb::AccidentLevel::General, 3),
    )
    .await
    .unwrap();
    let e = put_on_list(&coordinator, "重大环境污染事故")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("NO_MAJOR_ACCIDENT"),
        "{e:?}"
    );

    let mut referred = accident(pb::AccidentLevel::Major, 20);
    referred.referred_to_judiciary = true;
    let e = record_accident(&inspector, CREDIT_CODE, referred.clone())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["accident.referral_note"]);
    referred.referral_note = "2026-06-02 移送丽水市公安局莲都分局".into();
    referred.conditions = Some(pb::AccidentConditions {
        cause_established: "回流泵老化失修".into(),
        ..Default::default()
    });
    record_accident(&inspector, CREDIT_CODE, referred)
        .await
        .unwrap();

    let e = put_on_list(&liaison, "x").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = put_on_list(&coordinator, " ").await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["reason"]);
    let listed = put_on_list(&coordinator, "发生重大突发环境事件")
        .await
        .unwrap();
    assert!(listed.publicly_listed);
    let e = put_on_list(&coordinator, "again").await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("ALREADY_ON_PUBLIC_LIST"),
        "{e:?}"
    );

    let got = get_enterprise(&liaison, CREDIT_CODE).await.unwrap();
    let levels: Vec<i32> = got.accidents.iter().map(|a| a.level).collect();
    assert_eq!(
        levels,
        vec![
            pb::AccidentLevel::General as i32,
            pb::AccidentLevel::Major as i32
        ]
    );
    assert!(got.accidents[1].referred_to_judiciary);
    assert_eq!(
        got.accidents[1]
            .conditions
            .as_ref()
            .unwrap()
            .cause_established,
        "回流泵老化失修"
    );
    let outsider = srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    let e = get_enterprise(&outsider, CREDIT_CODE).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // The list is public: any signed-in user exports it.
    let export = outsider
        .enterprises()
        .export_public_list(pb::ExportPublicListRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut reader = csv::Reader::from_reader(&export.csv[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], CREDIT_CODE);
    assert_eq!(&rows[0][5], "发生重大突发环境事件");
    assert_eq!(&rows[0][6], "2026-05-20");
    let listed_only = coordinator
        .enterprises()
        .list_enterprises(pb::ListEnterprisesRequest {
            publicly_listed_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .enterprises;
    assert_eq!(listed_only.len(), 1);
}

async fn update(
    c: &Client,
    a: &pb::Accident,
    change: pb::UpdateAccidentRequest,
) -> Result<pb::Accident, tonic::Status> {
    c.enterprises()
        .update_accident(pb::UpdateAccidentRequest {
            credit_code: CREDIT_CODE.into(),
            accident_id: a.id.clone(),
            etag: a.etag.clone(),
            ..change
        })
        .await
        .map(|r| r.into_inner().accident.unwrap())
}

#[tokio::test]
async fn an_accident_is_completed_as_its_investigation_goes_on() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let elsewhere = srv.client(Role::Inspector, &[QINGTIAN]).await;
    let liaison = srv.client(Role::UnitLiaison, &[LIANDU]).await;
    register(&inspector, enterprise(CREDIT_CODE, LIANDU))
        .await
        .unwrap();
    let photo = upload(&inspector, LIANDU, &support::evidence::photo())
        .await
        .unwrap()
        .id;
    let foreign = upload(&elsewhere, QINGTIAN, &support::evidence::photo())
        .await
        .unwrap()
        .id;

    // Recorded with its photo; evidence of another unit is refused.
    let mut first = accident(pb::AccidentLevel::Larger, 7);
    first.evidence_ids = vec![foreign.clone()];
    let e = record_accident(&inspector, CREDIT_CODE, first.clone())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["accident.evidence_ids[0]"]);
    first.evidence_ids = vec![photo.clone()];
    let a = record_accident(&inspector, CREDIT_CODE, first)
        .await
        .unwrap();
    assert_eq!(a.evidence_ids, vec![photo.clone()]);

    // The cause is established; a blank condition keeps what was there.
    let cause = pb::UpdateAccidentRequest {
        conditions: Some(pb::AccidentConditions {
            cause_established: "回流泵密封件老化".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = update(&liaison, &a, cause.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let b = update(&inspector, &a, cause.clone()).await.unwrap();
    assert_eq!(
        b.conditions.as_ref().unwrap().cause_established,
        "回流泵密封件老化"
    );
    let e = update(&inspector, &a, cause).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    let e = update(&inspector, &b, Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // Referred, with the authority named, and a report added.
    let referral = pb::UpdateAccidentRequest {
        referred_to_judiciary: true,
        add_evidence_ids: vec![foreign.clone()],
        conditions: Some(pb::AccidentConditions {
            measures_in_place: "更换回流泵并加装液位报警".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = update(&inspector, &b, referral.clone()).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["referral_note"]);
    let e = update(
        &inspector,
        &b,
        pb::UpdateAccidentRequest {
            referral_note: "2026-06-02 移送丽水市公安局莲都分局".into(),
            ..referral.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["add_evidence_ids[0]"]);
    let report = upload(&inspector, LIANDU, &fixture("DSCN0021.jpg"))
        .await
        .unwrap()
        .id;
    let c = update(
        &inspector,
        &b,
        pb::UpdateAccidentRequest {
            referral_note: "2026-06-02 移送丽水市公安局莲都分局".into(),
            add_evidence_ids: vec![report.clone()],
            ..referral
        },
    )
    .await
    .unwrap();
    assert!(c.referred_to_judiciary);
    assert_eq!(c.evidence_ids, vec![photo, report]);
    let conditions = c.conditions.unwrap();
    assert_eq!(conditions.cause_established, "回流泵密封件老化");
    assert!(conditions.measures_in_place.contains("液位报警"));

    // Read back as the unit sees it.
    let got = get_enterprise(&liaison, CREDIT_CODE).await.unwrap();
    assert_eq!(got.accidents[0].evidence_ids.len(), 2);
    assert_eq!(got.accidents[0].etag, c.etag);
}
