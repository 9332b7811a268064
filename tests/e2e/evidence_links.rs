//! Evidence links, pending photos, authenticity signals, attestation and
//! lists.

use bytes::Bytes;
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::support;
use crate::support::checks::{
    T0, create, create_record, create_with, get_record, list_records, site_check, ts,
};
use crate::support::evidence::{begin, fixture, kinds, link, photo, sha256, upload, upload_with};
use crate::support::refusals::violated_fields;
use crate::support::units::{JINYUN, LIANDU, QINGTIAN};

fn second_photo() -> Bytes {
    fixture("DSCN0021.jpg")
}

#[tokio::test]
async fn photos_named_by_a_record_link_themselves_when_they_arrive() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let (a, b) = (photo(), second_photo());
    let mut rec = site_check(LIANDU, T0);
    rec.expected_evidence = vec![
        pb::ExpectedEvidence {
            sha256: sha256(&a),
            role: pb::EvidenceRole::Before as i32,
        },
        pb::ExpectedEvidence {
            sha256: sha256(&b),
            role: pb::EvidenceRole::Context as i32,
        },
    ];
    let rec = create_record(&c, rec).await;
    assert_eq!(
        rec.pending_sha256,
        vec![sha256(&a), sha256(&b)],
        "2 photos not yet received"
    );
    assert!(rec.evidence.is_empty());

    let ea = upload(&c, LIANDU, &a).await.unwrap();
    let now = get_record(&c, &rec.id).await;
    assert_eq!(now.pending_sha256, vec![sha256(&b)]);
    assert_eq!(now.evidence.len(), 1);
    assert_eq!(
        (now.evidence[0].evidence_id.as_str(), now.evidence[0].role),
        (ea.id.as_str(), pb::EvidenceRole::Before as i32)
    );

    upload(&c, LIANDU, &b).await.unwrap();
    let now = get_record(&c, &rec.id).await;
    assert!(now.pending_sha256.is_empty());
    assert_eq!(now.evidence.len(), 2);
    let listed = list_records(&c, Default::default()).await;
    assert_eq!(listed[0].evidence.len(), 2);

    // A record naming a photo its unit already holds is linked at once.
    let mut later = site_check(LIANDU, T0 + 600);
    later.expected_evidence = vec![pb::ExpectedEvidence {
        sha256: sha256(&a),
        role: pb::EvidenceRole::After as i32,
    }];
    let later = create_record(&c, later).await;
    assert!(later.pending_sha256.is_empty());
    assert_eq!(later.evidence[0].role, pb::EvidenceRole::After as i32);

    // A malformed hash and a missing role are named.
    let mut bad = site_check(LIANDU, T0);
    bad.expected_evidence = vec![pb::ExpectedEvidence {
        sha256: "xyz".into(),
        role: 0,
    }];
    let e = create_with(&c, create(bad)).await.unwrap_err();
    assert_eq!(
        violated_fields(&e),
        [
            "check_record.expected_evidence[0].sha256",
            "check_record.expected_evidence[0].role"
        ]
    );
}

#[tokio::test]
async fn evidence_is_linked_and_unlinked_by_hand_within_a_unit() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU, QINGTIAN]).await;
    let viewer = srv.client(Role::Viewer, &["*"]).await;
    let stranger = srv.client(Role::Inspector, &[JINYUN]).await;
    let e = upload(&c, LIANDU, &photo()).await.unwrap();
    let rec = create_record(&c, site_check(LIANDU, T0)).await;
    let other = create_record(&c, site_check(QINGTIAN, T0)).await;
    link(&c, &e.id, &rec.id, pb::EvidenceRole::Context)
        .await
        .unwrap();
    assert_eq!(
        get_record(&c, &rec.id).await.evidence[0].role,
        pb::EvidenceRole::Context as i32
    );
    // Linking again changes the role.
    link(&c, &e.id, &rec.id, pb::EvidenceRole::Before)
        .await
        .unwrap();
    let now = get_record(&c, &rec.id).await;
    assert_eq!(
        (now.evidence.len(), now.evidence[0].role),
        (1, pb::EvidenceRole::Before as i32)
    );

    assert_eq!(
        link(&c, &e.id, &other.id, pb::EvidenceRole::Before)
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        link(&viewer, &e.id, &rec.id, pb::EvidenceRole::Before)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        link(&stranger, &e.id, &rec.id, pb::EvidenceRole::Before)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let e2 = link(&c, &e.id, &rec.id, pb::EvidenceRole::Unspecified)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e2), ["role"]);

    let unlink = pb::UnlinkEvidenceRequest {
        evidence_id: e.id.clone(),
        check_record_id: rec.id.clone(),
    };
    c.evidence().unlink_evidence(unlink.clone()).await.unwrap();
    assert!(get_record(&c, &rec.id).await.evidence.is_empty());
    assert_eq!(
        c.evidence()
            .unlink_evidence(unlink)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

/// 2008-10-22 16:28:39 in China time, when DSCN0010 was taken (its EXIF
/// time carries no offset, so China time is assumed).
const DSCN0010_TAKEN: i64 = 1_224_664_119;

async fn upload_with_clock(c: &Client, bytes: &[u8], device_time: i64) -> pb::Evidence {
    let mut req = begin(LIANDU, bytes);
    req.capture.as_mut().unwrap().device_time = ts(device_time);
    upload_with(c, req, bytes).await.unwrap()
}

#[tokio::test]
async fn signals_of_the_file_itself() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    // GPS present, a camera's transfer tool, the camera's, the GPS's and
    // the phone's clocks agree: nothing to say. (DSCN0010 with its GPS date
    // corrected: taken 2008-10-22T14:28:39Z, in UTC+2.)
    let agreeing = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/corpus/gps_time_no_offset.jpg"
    ))
    .unwrap();
    let clean = upload_with_clock(&c, &agreeing, 1_224_685_719 + 60).await;
    assert!(clean.signals.is_empty(), "{:?}", clean.signals);

    // The phone's clock says eight hours later than the camera.
    let c2 = srv.client(Role::Inspector, &[QINGTIAN]).await;
    let mut req = begin(QINGTIAN, &photo());
    req.capture.as_mut().unwrap().device_time = ts(DSCN0010_TAKEN + 8 * 3600);
    let skewed = upload_with(&c2, req, &photo()).await.unwrap();
    // DSCN0010's own GPS date is a day late, which it also says.
    assert_eq!(
        kinds(&skewed.signals),
        [
            pb::SignalKind::GpsTimeMismatch,
            pb::SignalKind::ClockMismatch
        ]
    );
    assert_eq!(skewed.signals[1].minutes, 480);
    assert!(
        skewed.signals[0].detail.contains("GPS time disagrees"),
        "{:?}",
        skewed.signals
    );

    // Edited in GIMP, and no GPS.
    let gimp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/Canon_40D_photoshop_import.jpg"
    ))
    .unwrap();
    let mut req = begin(LIANDU, &gimp);
    req.capture = None;
    let edited = upload_with(&c, req, &gimp).await.unwrap();
    assert_eq!(
        kinds(&edited.signals),
        [pb::SignalKind::NoGps, pb::SignalKind::Edited]
    );
    assert!(
        edited.signals[1].detail.contains("GIMP 2.4.5"),
        "{:?}",
        edited.signals
    );
}

fn check_at(lat: f64, lon: f64, start: i64) -> pb::CheckRecord {
    let mut r = site_check(LIANDU, start);
    r.location = Some(pb::Location {
        latitude: lat,
        longitude: lon,
        accuracy_m: 5.0,
        altitude_m: None,
        datum: pb::Datum::Wgs84 as i32,
    });
    r
}

#[tokio::test]
async fn signals_against_the_linked_check() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let e = upload_with_clock(&c, &photo(), DSCN0010_TAKEN).await;
    // The check where and when the photo was taken: nothing to say.
    let here = create_record(&c, check_at(43.4675, 11.8852, DSCN0010_TAKEN - 600)).await;
    let l = link(&c, &e.id, &here.id, pb::EvidenceRole::Before)
        .await
        .unwrap();
    assert!(l.signals.is_empty(), "{:?}", l.signals);

    // A check 2 km away, the next day: far, out of time, and now the photo
    // serves two records.
    let there = create_record(&c, check_at(43.4855, 11.8852, DSCN0010_TAKEN + 86_400)).await;
    let l = link(&c, &e.id, &there.id, pb::EvidenceRole::Before)
        .await
        .unwrap();
    assert_eq!(
        kinds(&l.signals),
        [
            pb::SignalKind::FarFromCheck,
            pb::SignalKind::OutsideCheckTime,
            pb::SignalKind::ReusedElsewhere
        ]
    );
    assert!(
        (1900.0..2100.0).contains(&l.signals[0].distance_m),
        "{:?}",
        l.signals
    );
    // The first record learns of the reuse too.
    let first = get_record(&c, &here.id).await;
    assert_eq!(
        kinds(&first.evidence[0].signals),
        [pb::SignalKind::ReusedElsewhere]
    );

    // Moving the check to where the photo was taken clears the distance.
    let mut moved = get_record(&c, &there.id).await;
    moved.location = check_at(43.4675, 11.8852, 0).location;
    let moved = c
        .checks()
        .update_check_record(pb::UpdateCheckRecordRequest {
            check_record: Some(moved),
            update_mask: Some(ducha_sdk::prost_types::FieldMask {
                paths: vec!["location".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    assert_eq!(
        kinds(&moved.evidence[0].signals),
        [
            pb::SignalKind::OutsideCheckTime,
            pb::SignalKind::ReusedElsewhere
        ]
    );

    // Unlinking the second use clears the reuse on the first.
    c.evidence()
        .unlink_evidence(pb::UnlinkEvidenceRequest {
            evidence_id: e.id.clone(),
            check_record_id: there.id,
        })
        .await
        .unwrap();
    assert!(
        get_record(&c, &here.id).await.evidence[0]
            .signals
            .is_empty()
    );
}

#[tokio::test]
async fn capture_attestation_valid_tampered_and_absent() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let srv = support::spawn().await;
    let (c, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let doc = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    c.evidence()
        .register_device(pb::RegisterDeviceRequest {
            device_id: "phone-7".into(),
            public_key: Bytes::copy_from_slice(key.public_key().as_ref()),
        })
        .await
        .unwrap();
    let bad_key = c
        .evidence()
        .register_device(pb::RegisterDeviceRequest {
            device_id: "x".into(),
            public_key: Bytes::from_static(b"short"),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad_key), ["public_key"]);

    let status = |e: &pb::Evidence| {
        let a = e.attestation.clone().unwrap();
        (pb::AttestationStatus::try_from(a.status).unwrap(), a.detail)
    };
    let signed_upload =
        |unit: &'static str,
         bytes: Bytes,
         sign: Box<dyn Fn(&mut pb::BeginUploadRequest) + Send>| {
            let c = c.clone();
            async move {
                let mut req = begin(unit, &bytes);
                sign(&mut req);
                upload_with(&c, req, &bytes).await.unwrap()
            }
        };
    // Signed at capture over the photo's hash, time, place and device.
    let k = std::sync::Arc::new(key);
    let k1 = k.clone();
    let e = signed_upload(
        LIANDU,
        photo(),
        Box::new(move |r| {
            let cap = r.capture.as_mut().unwrap();
            cap.attestation_signature = Bytes::copy_from_slice(
                k1.sign(ducha_sdk::attestation_payload(&r.sha256, cap).as_bytes())
                    .as_ref(),
            );
        }),
    )
    .await;
    assert_eq!(
        status(&e),
        (
            pb::AttestationStatus::Attested,
            format!("attested by device phone-7 of user {name}")
        )
    );

    // The same signature with the location moved afterwards: invalid.
    let k2 = k.clone();
    let e = signed_upload(
        LIANDU,
        second_photo(),
        Box::new(move |r| {
            let cap = r.capture.as_mut().unwrap();
            cap.attestation_signature = Bytes::copy_from_slice(
                k2.sign(ducha_sdk::attestation_payload(&r.sha256, cap).as_bytes())
                    .as_ref(),
            );
            cap.location.as_mut().unwrap().latitude += 0.01;
        }),
    )
    .await;
    assert_eq!(status(&e).0, pb::AttestationStatus::Invalid);

    // No signature: accepted, shown as unattested.
    let gimp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/Canon_40D_photoshop_import.jpg"
    ))
    .unwrap();
    let e = signed_upload(LIANDU, gimp.into(), Box::new(|_| {})).await;
    assert_eq!(status(&e).0, pb::AttestationStatus::Unattested);
}

#[tokio::test]
async fn evidence_is_listed_by_unit_uploader_record_and_signal() {
    let srv = support::spawn().await;
    let (a, alice) = srv.user(Role::Inspector, &[LIANDU]).await;
    let b = srv.client(Role::Inspector, &[QINGTIAN]).await;
    let liaison = srv.client(Role::UnitLiaison, &[LIANDU]).await;
    let gimp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/Canon_40D_photoshop_import.jpg"
    ))
    .unwrap();
    let ea = upload_with_clock(&a, &photo(), DSCN0010_TAKEN).await;
    let eg = upload_with_clock(&a, &gimp, DSCN0010_TAKEN).await;
    let eb = upload(&b, QINGTIAN, &second_photo()).await.unwrap();
    let rec = create_record(&a, site_check(LIANDU, T0)).await;
    link(&a, &ea.id, &rec.id, pb::EvidenceRole::Before)
        .await
        .unwrap();

    let list = |c: &Client, r: pb::ListEvidenceRequest| {
        let c = c.clone();
        async move {
            c.evidence().list_evidence(r).await.map(|r| {
                r.into_inner()
                    .evidence
                    .into_iter()
                    .map(|e| e.id)
                    .collect::<Vec<_>>()
            })
        }
    };
    // Newest first, only the caller's units.
    assert_eq!(
        list(&liaison, Default::default()).await.unwrap(),
        [eg.id.as_str(), ea.id.as_str()]
    );
    assert_eq!(
        list(&b, Default::default()).await.unwrap(),
        [eb.id.as_str()]
    );
    assert_eq!(
        list(
            &liaison,
            pb::ListEvidenceRequest {
                uploader: alice,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .len(),
        2
    );
    assert_eq!(
        list(
            &liaison,
            pb::ListEvidenceRequest {
                check_record_id: rec.id.clone(),
                ..Default::default()
            }
        )
        .await
        .unwrap(),
        [ea.id.as_str()]
    );
    assert_eq!(
        list(
            &liaison,
            pb::ListEvidenceRequest {
                signal: pb::SignalKind::Edited as i32,
                ..Default::default()
            }
        )
        .await
        .unwrap(),
        [eg.id.as_str()]
    );
    assert_eq!(
        list(
            &liaison,
            pb::ListEvidenceRequest {
                signal: pb::SignalKind::NoGps as i32,
                ..Default::default()
            }
        )
        .await
        .unwrap(),
        [eg.id.as_str()]
    );
    // Pages.
    let first = liaison
        .evidence()
        .list_evidence(pb::ListEvidenceRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.evidence.len(), 1);
    let second = liaison
        .evidence()
        .list_evidence(pb::ListEvidenceRequest {
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.evidence[0].id, ea.id);
    assert!(second.next_page_token.is_empty());
    // Link-level signals are not a property of the file.
    let e = list(
        &liaison,
        pb::ListEvidenceRequest {
            signal: pb::SignalKind::FarFromCheck as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&e), ["signal"]);
}
