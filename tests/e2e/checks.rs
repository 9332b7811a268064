//! Check records: create, read, list, update, scope, idempotency, etags and
//! bad input.

use std::collections::HashSet;

use ducha::domain::access::Role;
use ducha_sdk::pb;
use ducha_sdk::prost_types::FieldMask;
use tonic::Code;

use crate::support;
use crate::support::campaigns::a_campaign;
use crate::support::checks::{
    T0, create, create_record, create_with, get_record, list_records, site_check, ts,
};
use crate::support::enterprises::CREDIT_CODE;
use crate::support::refusals::violated_fields;
use crate::support::units::{LIANDU, QINGTIAN};

#[tokio::test]
async fn created_record_reads_back_with_normalised_location() {
    let srv = support::spawn().await;
    let (inspector, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let mut rec = site_check(LIANDU, T0);
    // Amap reports GCJ-02; the server keeps it and adds WGS-84.
    let (glat, glon) = ducha::domain::geo::wgs84_to_gcj02(28.4517, 119.9229);
    rec.location = Some(pb::Location {
        latitude: glat,
        longitude: glon,
        accuracy_m: 5.0,
        altitude_m: None,
        datum: pb::Datum::Gcj02 as i32,
    });
    rec.inspectors = vec![];
    let created = create_record(&inspector, rec.clone()).await;
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert_eq!(created.location.unwrap().datum, pb::Datum::Gcj02 as i32);
    let wgs = created.location_wgs84.unwrap();
    assert!(
        (wgs.latitude - 28.4517).abs() < 1e-6 && (wgs.longitude - 119.9229).abs() < 1e-6,
        "{wgs:?}"
    );
    assert_eq!(
        created.inspectors,
        vec![name.clone()],
        "inspectors default to the creator"
    );
    assert_eq!(created.create_user, name);
    assert!(created.receive_time.is_some());

    let got = get_record(&inspector, &created.id).await;
    assert_eq!(got, created);
    assert_eq!(got.subject.unwrap().credit_code, CREDIT_CODE);
    assert_eq!(
        got.checklist[0].result,
        pb::ChecklistResult::NonCompliant as i32
    );
}

#[tokio::test]
async fn retried_create_returns_the_same_record() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let req = pb::CreateCheckRecordRequest {
        check_record: Some(site_check(LIANDU, T0)),
        check_record_id: String::new(),
        request_id: request_id.clone(),
    };
    let a = create_with(&inspector, req.clone()).await.unwrap();
    let b = create_with(&inspector, req.clone()).await.unwrap();
    assert_eq!(a, b);

    // The same request id with other content is a client bug, not a retry.
    let mut other = req.clone();
    other.check_record.as_mut().unwrap().narrative = "另一份记录".into();
    let e = create_with(&inspector, other).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");

    // A client-chosen id behaves the same way.
    let id = uuid::Uuid::now_v7().to_string();
    let req = pb::CreateCheckRecordRequest {
        check_record: Some(site_check(LIANDU, T0 + 60)),
        check_record_id: id.clone(),
        request_id: String::new(),
    };
    let c = create_with(&inspector, req.clone()).await.unwrap();
    assert_eq!(c.id, id);
    let d = create_with(&inspector, req.clone()).await.unwrap();
    assert_eq!(c, d);
    let mut changed = req;
    changed.check_record.as_mut().unwrap().address = "别处".into();
    let e = create_with(&inspector, changed).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);

    let all = list_records(&inspector, Default::default()).await;
    assert_eq!(all.len(), 2, "retries created no extra records");
}

#[tokio::test]
async fn concurrent_retries_create_one_record() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let req = pb::CreateCheckRecordRequest {
        check_record: Some(site_check(LIANDU, T0)),
        check_record_id: String::new(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let calls = (0..8).map(|_| {
        let (c, r) = (inspector.clone(), req.clone());
        tokio::spawn(async move { create_with(&c, r).await.map(|r| r.id) })
    });
    let ids: HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn pages_are_stable_while_records_are_added() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let mut existing = HashSet::new();
    for i in 0..23 {
        // Several records share a start time, so ties are ordered by id.
        let rec = site_check(LIANDU, T0 + (i / 3) * 60);
        existing.insert(create_record(&inspector, rec).await.id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = inspector
            .checks()
            .list_check_records(pb::ListCheckRecordsRequest {
                page_size: 5,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.check_records.len() <= 5);
        seen.extend(
            page.check_records
                .iter()
                .map(|r| (r.start_time.unwrap().seconds, r.id.clone())),
        );
        // Others keep recording while we page: newer and older checks.
        for start in [T0 + 10_000 + pages, T0 - 10_000 - pages] {
            create_record(&inspector, site_check(LIANDU, start)).await;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no record twice");
    assert!(
        existing.iter().all(|id| unique.contains(id)),
        "no record that existed before was skipped"
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sorted, seen, "newest first, ties by id descending");
    assert!(pages >= 5);
}

#[tokio::test]
async fn list_filters_and_page_token_rules() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU, QINGTIAN]).await;
    let mut meeting = site_check(QINGTIAN, T0 + 100);
    meeting.kind = pb::CheckKind::Meeting as i32;
    meeting.location = None;
    let campaign = a_campaign(&srv, 2026).await.id;
    meeting.campaign_id = campaign.clone();
    let mut far = site_check(LIANDU, T0 + 200);
    far.location.as_mut().unwrap().latitude = 28.1;
    for r in [site_check(LIANDU, T0), meeting, far] {
        create_record(&inspector, r).await;
    }
    let list = |req: pb::ListCheckRecordsRequest| {
        let c = inspector.clone();
        async move {
            c.checks()
                .list_check_records(req)
                .await
                .map(|r| r.into_inner())
        }
    };
    let count = |r: pb::ListCheckRecordsResponse| r.check_records.len();
    assert_eq!(
        count(
            list(pb::ListCheckRecordsRequest {
                unit_codes: vec![QINGTIAN.into()],
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            list(pb::ListCheckRecordsRequest {
                kind: pb::CheckKind::SiteCheck as i32,
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        2
    );
    assert_eq!(
        count(
            list(pb::ListCheckRecordsRequest {
                campaign_id: campaign,
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            list(pb::ListCheckRecordsRequest {
                start_time_from: ts(T0 + 50),
                start_time_to: ts(T0 + 150),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        1
    );
    let bbox = pb::BoundingBox {
        min_latitude: 28.4,
        min_longitude: 119.8,
        max_latitude: 28.5,
        max_longitude: 120.0,
    };
    assert_eq!(
        count(
            list(pb::ListCheckRecordsRequest {
                bounding_box: Some(bbox),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        1
    );

    // page_size: negative is refused, huge is capped.
    let e = list(pb::ListCheckRecordsRequest {
        page_size: -1,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["page_size"]);
    assert_eq!(
        count(
            list(pb::ListCheckRecordsRequest {
                page_size: 100_000,
                ..Default::default()
            })
            .await
            .unwrap()
        ),
        3
    );

    // A token is bound to its query.
    let first = list(pb::ListCheckRecordsRequest {
        page_size: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(!first.next_page_token.is_empty());
    let e = list(pb::ListCheckRecordsRequest {
        page_size: 1,
        kind: pb::CheckKind::SiteCheck as i32,
        page_token: first.next_page_token.clone(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["page_token"]);
    let e = list(pb::ListCheckRecordsRequest {
        page_token: "garbage!".into(),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["page_token"]);
    let bad_box = pb::BoundingBox {
        min_latitude: 29.0,
        min_longitude: 119.8,
        max_latitude: 28.0,
        max_longitude: 120.0,
    };
    let e = list(pb::ListCheckRecordsRequest {
        bounding_box: Some(bad_box),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["bounding_box.max_latitude"]);
}

#[tokio::test]
async fn stale_etag_is_aborted_and_masks_update_only_named_fields() {
    let srv = support::spawn().await;
    let phone = srv.client(Role::Inspector, &[LIANDU]).await;
    let tablet = srv.client(Role::Inspector, &[LIANDU]).await;
    let rec = create_record(&phone, site_check(LIANDU, T0)).await;

    let mut edit = rec.clone();
    edit.narrative = "补充：已责令停产整改。".into();
    edit.address = "ignored: not in the mask".into();
    let updated = phone
        .checks()
        .update_check_record(pb::UpdateCheckRecordRequest {
            check_record: Some(edit),
            update_mask: Some(FieldMask {
                paths: vec!["narrative".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    assert_eq!(updated.narrative, "补充：已责令停产整改。");
    assert_eq!(updated.address, rec.address);
    assert_ne!(updated.etag, rec.etag);

    // The tablet still holds the first version.
    let mut stale = rec.clone();
    stale.narrative = "tablet's edit".into();
    let e = tablet
        .checks()
        .update_check_record(pb::UpdateCheckRecordRequest {
            check_record: Some(stale.clone()),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Aborted, "{e:?}");
    let now = get_record(&tablet, &rec.id).await;
    assert_eq!(
        now.narrative, "补充：已责令停产整改。",
        "the stale write changed nothing"
    );

    // Missing etag, and moving a record to another unit, are refused.
    stale.etag = String::new();
    let e = tablet
        .checks()
        .update_check_record(pb::UpdateCheckRecordRequest {
            check_record: Some(stale),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["check_record.etag"]);
    let mut moved = now.clone();
    moved.unit_code = QINGTIAN.into();
    let e = tablet
        .checks()
        .update_check_record(pb::UpdateCheckRecordRequest {
            check_record: Some(moved),
            update_mask: Some(FieldMask {
                paths: vec!["unit_code".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["update_mask"]);
}

#[tokio::test]
async fn roles_and_units_limit_who_sees_and_changes_what() {
    let srv = support::spawn().await;
    let liandu = srv.client(Role::Inspector, &[LIANDU]).await;
    let qingtian = srv.client(Role::Inspector, &[QINGTIAN]).await;
    let liaison = srv.client(Role::UnitLiaison, &[LIANDU]).await;
    let other_liaison = srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    let viewer = srv.client(Role::Viewer, &["*"]).await;
    let coordinator = srv.client(Role::Coordinator, &["*"]).await;

    let rec = create_record(&liandu, site_check(LIANDU, T0)).await;
    let get = |id: String| pb::GetCheckRecordRequest { id };

    // Seen within scope...
    for c in [&liaison, &viewer, &coordinator] {
        c.checks()
            .get_check_record(get(rec.id.clone()))
            .await
            .unwrap();
    }
    // ...and absent outside it, exactly like an id that does not exist.
    for c in [&qingtian, &other_liaison] {
        let e = c
            .checks()
            .get_check_record(get(rec.id.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
        let missing = c
            .checks()
            .get_check_record(get(uuid::Uuid::now_v7().to_string()))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
        assert_eq!(e.message(), format!("check record {} not found", rec.id));
        assert!(
            missing.message().starts_with("check record ")
                && missing.message().ends_with(" not found")
        );
        assert!(list_records(c, Default::default()).await.is_empty());
        let liandu_only = pb::ListCheckRecordsRequest {
            unit_codes: vec![LIANDU.into()],
            ..Default::default()
        };
        assert!(list_records(c, liandu_only).await.is_empty());
    }
    // Only inspectors write, and only for their units.
    for c in [&liaison, &viewer, &coordinator] {
        let e = create_with(c, create(site_check(LIANDU, T0)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        let e = c
            .checks()
            .update_check_record(pb::UpdateCheckRecordRequest {
                check_record: Some(rec.clone()),
                update_mask: None,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
    }
    let e = create_with(&qingtian, create(site_check(LIANDU, T0)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = qingtian
        .checks()
        .update_check_record(pb::UpdateCheckRecordRequest {
            check_record: Some(rec.clone()),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn bad_input_names_every_field_and_writes_nothing() {
    let srv = support::spawn().await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let refuse = |rec: pb::CheckRecord| {
        let c = inspector.clone();
        async move { violated_fields(&create_with(&c, create(rec)).await.unwrap_err()) }
    };

    let mut r = site_check(LIANDU, T0);
    r.location.as_mut().unwrap().latitude = 91.0;
    r.location.as_mut().unwrap().longitude = -181.0;
    assert_eq!(
        refuse(r).await,
        vec![
            "check_record.location.latitude",
            "check_record.location.longitude"
        ]
    );

    let mut r = site_check(LIANDU, T0);
    r.kind = 42;
    r.checklist[0].result = 9;
    r.location.as_mut().unwrap().datum = 0;
    assert_eq!(
        refuse(r).await,
        vec![
            "check_record.kind",
            "check_record.location.datum",
            "check_record.checklist[0].result"
        ]
    );

    let mut r = site_check(LIANDU, T0);
    r.end_time = ts(T0 - 1);
    assert_eq!(refuse(r).await, vec!["check_record.end_time"]);

    let mut r = site_check(LIANDU, T0);
    r.subject.as_mut().unwrap().credit_code = "91330100799655058C".into();
    assert_eq!(refuse(r).await, vec!["check_record.subject.credit_code"]);

    let mut r = site_check(LIANDU, T0);
    r.subject.as_mut().unwrap().name = "  ".into();
    r.start_time = None;
    assert_eq!(
        refuse(r).await,
        vec!["check_record.subject.name", "check_record.start_time"]
    );

    let mut r = site_check(LIANDU, T0);
    r.narrative = "很".repeat(20_001);
    r.checklist = vec![r.checklist[0].clone(); 201];
    assert_eq!(
        refuse(r).await,
        vec!["check_record.checklist", "check_record.narrative"]
    );

    let mut r = site_check(LIANDU, T0);
    r.location = None;
    assert_eq!(refuse(r).await, vec!["check_record.location"]);

    let mut r = site_check(LIANDU, T0);
    r.campaign_id = "not-a-uuid".into();
    assert_eq!(refuse(r).await, vec!["check_record.campaign_id"]);

    let e = create_with(
        &inspector,
        pb::CreateCheckRecordRequest {
            check_record: Some(site_check(LIANDU, T0)),
            check_record_id: "nope".into(),
            request_id: String::new(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["check_record_id"]);

    let all = list_records(&inspector, Default::default()).await;
    assert!(all.is_empty(), "refused calls wrote nothing");
}

#[tokio::test]
async fn oversized_message_is_refused() {
    let srv = support::spawn_with(|l| l.server.max_message_bytes = 64 * 1024).await;
    let inspector = srv.client(Role::Inspector, &[LIANDU]).await;
    let mut r = site_check(LIANDU, T0);
    r.narrative = "x".repeat(100 * 1024);
    let e = create_with(&inspector, create(r)).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("limit of 65536 bytes"), "{e:?}");
    let info = tonic_types::StatusExt::get_details_error_info(&e).expect("ErrorInfo");
    assert_eq!(info.reason, "MESSAGE_TOO_LARGE");
    assert_eq!(info.metadata["limit_bytes"], "65536");
}
