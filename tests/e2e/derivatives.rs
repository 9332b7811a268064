//! Derivatives (thumbnail and preview), their downloads by stream and by
//! signed URL, the durable job that makes them, and the near-duplicate
//! signal their perceptual hash gives.

use std::time::Duration;

use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;

use crate::support::checks::{T0, create_record, get_record, site_check};
use crate::support::evidence::{download_url, fixture, kinds, link, settled, upload};
use crate::support::http::get as http_get;
use crate::support::refusals::violated_fields;
use crate::support::s3::S3Server;
use crate::support::units::{LIANDU, QINGTIAN};
use crate::support::{self, TestServer};

async fn download(
    c: &Client,
    id: &str,
    variant: pb::EvidenceVariant,
) -> Result<Vec<u8>, ducha_sdk::Error> {
    let mut out = Vec::new();
    c.download_variant(id, variant, &mut out).await?;
    Ok(out)
}

fn decoded(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
}

/// Mean absolute difference of two pictures of one size, 0 to 255.
fn difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn has_metadata(jpeg: &[u8]) -> bool {
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(jpeg))
        .is_ok()
        || jpeg.windows(6).any(|w| w == b"Exif\0\0")
}

async fn sized_oriented_and_stripped(srv: &TestServer) {
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let mut made = Vec::new();
    for name in [
        "landscape_1.jpg",
        "landscape_6.jpg",
        "portrait_6.jpg",
        "jolla.jpg",
        "DSCN0010.jpg",
    ] {
        let e = upload(&c, LIANDU, &fixture(name)).await.unwrap();
        made.push(e.id);
    }
    let mut thumbs = Vec::new();
    let expect = [
        ((320, 240), (600, 450)),
        ((320, 240), (600, 450)),
        ((240, 320), (450, 600)),
        ((320, 240), (1280, 960)),
        ((320, 240), (640, 480)),
    ];
    for (id, (thumb, preview)) in made.iter().zip(expect) {
        let e = settled(&c, id).await;
        let d = e.derivatives.unwrap();
        assert_eq!(d.state, pb::DerivativeState::Ready as i32, "{d:?}");
        let t = d.thumbnail.unwrap();
        let p = d.preview.unwrap();
        assert_eq!((t.width, t.height), thumb, "{}", e.file_name);
        assert_eq!((p.width, p.height), preview);
        let t_bytes = download(&c, id, pb::EvidenceVariant::Thumbnail)
            .await
            .unwrap();
        let p_bytes = download(&c, id, pb::EvidenceVariant::Preview)
            .await
            .unwrap();
        assert_eq!(t_bytes.len() as i64, t.size_bytes);
        assert_eq!(decoded(&t_bytes).dimensions(), thumb);
        assert_eq!(decoded(&p_bytes).dimensions(), preview);
        assert!(!has_metadata(&t_bytes) && !has_metadata(&p_bytes));
        thumbs.push(decoded(&t_bytes));
    }
    // The photo with GPS in its original has none in what is published.
    let original = download(&c, &made[4], pb::EvidenceVariant::Original)
        .await
        .unwrap();
    assert!(has_metadata(&original));
    // Stored turned (orientation 6), shown upright: far closer to the one
    // stored upright than the same picture upside down would be.
    let upright = difference(&thumbs[0], &thumbs[1]);
    let flipped = difference(&thumbs[0], &image::imageops::rotate180(&thumbs[1]));
    assert!(upright * 2.5 < flipped, "{upright} against {flipped}");
}

#[tokio::test]
async fn derivatives_are_sized_oriented_and_stripped_on_the_local_folder() {
    let srv = support::spawn().await;
    sized_oriented_and_stripped(&srv).await;
}

#[tokio::test]
async fn derivatives_are_sized_oriented_and_stripped_on_s3() {
    let s3 = S3Server::start().await;
    let srv = support::spawn_with(|l| s3.configure(l)).await;
    sized_oriented_and_stripped(&srv).await;
}

#[tokio::test]
async fn documents_have_none_and_truncated_photos_fail_visibly() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    // The header is whole, so the upload is accepted; the pixels end early.
    let photo = fixture("DSCN0010.jpg");
    let truncated = photo.slice(..photo.len() * 6 / 10);
    let e = upload(&c, LIANDU, &truncated).await.unwrap();
    let d = settled(&c, &e.id).await.derivatives.unwrap();
    assert_eq!(d.state, pb::DerivativeState::Failed as i32);
    assert!(!d.error.is_empty(), "{d:?}");
    // A damaged picture is not retried: no attempt would mend it.
    assert_eq!(d.attempts, 1);
    let err = download(&c, &e.id, pb::EvidenceVariant::Thumbnail)
        .await
        .unwrap_err();
    let ducha_sdk::Error::Status(s) = err else {
        panic!("{err:?}")
    };
    assert_eq!(s.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&s).as_deref(),
        Some("DERIVATIVES_NOT_READY"),
        "{s:?}"
    );
    assert!(s.message().contains("failed"), "{s:?}");
    // The original is still there, byte for byte.
    assert_eq!(
        download(&c, &e.id, pb::EvidenceVariant::Original)
            .await
            .unwrap(),
        truncated.to_vec()
    );
}

#[tokio::test]
async fn the_job_outlives_its_process_and_failures_are_retried_then_recorded() {
    // This process makes no derivatives: the jobs wait in the database.
    let srv = support::spawn_with(|l| {
        l.jobs.derivative_workers = Some(0);
        l.jobs.job_max_attempts = 2;
        l.jobs.job_retry_delay = Duration::ZERO;
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let kept = upload(&c, LIANDU, &fixture("landscape_1.jpg"))
        .await
        .unwrap();
    let lost = upload(&c, LIANDU, &fixture("landscape_3.jpg"))
        .await
        .unwrap();
    assert_eq!(
        kept.derivatives.unwrap().state,
        pb::DerivativeState::Pending as i32
    );
    let s = download_url(&c, &kept.id, pb::EvidenceVariant::Preview, None)
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&s).as_deref(),
        Some("DERIVATIVES_NOT_READY"),
        "{s:?}"
    );
    assert!(s.message().contains("pending"), "{s:?}");
    // The original of one is lost from the store behind the server's back.
    let key = format!("evidence/sha256/{}/{}", &lost.sha256[..2], lost.sha256);
    std::fs::remove_file(srv.dir.path().join("objects").join(key)).unwrap();

    let mut srv = srv;
    srv.settings.jobs.derivative_workers = 1;
    let srv = srv.restart().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let d = settled(&c, &kept.id).await.derivatives.unwrap();
    assert_eq!(d.state, pb::DerivativeState::Ready as i32, "{d:?}");
    let d = settled(&c, &lost.id).await.derivatives.unwrap();
    assert_eq!(d.state, pb::DerivativeState::Failed as i32);
    assert_eq!(d.attempts, 2);
    assert!(
        d.error.starts_with("gave up after 2 attempts") && d.error.contains("missing"),
        "{d:?}"
    );
}

#[tokio::test]
async fn signed_links_serve_the_files_of_the_local_folder() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = fixture("DSCN0010.jpg");
    let e = upload(&c, LIANDU, &bytes).await.unwrap();
    settled(&c, &e.id).await;

    let u = download_url(&c, &e.id, pb::EvidenceVariant::Original, None)
        .await
        .unwrap();
    assert!(
        u.url.starts_with(&format!("{}/files/", srv.url)),
        "{}",
        u.url
    );
    assert_eq!(u.media_type, "image/jpeg");
    let (status, media_type, body) = http_get(&u.url).await;
    assert_eq!((status, media_type.as_str()), (200, "image/jpeg"));
    assert_eq!(body, bytes.to_vec());

    let t = download_url(&c, &e.id, pb::EvidenceVariant::Thumbnail, None)
        .await
        .unwrap();
    let (status, _, body) = http_get(&t.url).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        download(&c, &e.id, pb::EvidenceVariant::Thumbnail)
            .await
            .unwrap()
    );

    // A link edited to name another file or a later expiry is refused.
    let forged = t.url.replace("/thumbnail?", "/original?");
    assert_eq!(http_get(&forged).await.0, 403);
    let expires = t
        .url
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let later = t.url.replace(
        expires,
        &(expires.parse::<i64>().unwrap() + 3600).to_string(),
    );
    assert_eq!(http_get(&later).await.0, 403);
    let (status, _, body) = http_get(&format!("{}/files/{}/thumbnail", srv.url, e.id)).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("signature"));

    // A link works until its time, and not after.
    let short = download_url(
        &c,
        &e.id,
        pb::EvidenceVariant::Thumbnail,
        Some(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    assert_eq!(http_get(&short.url).await.0, 200);
    let expiry = short.expire_time.unwrap();
    let wait = (expiry.seconds - chrono::Utc::now().timestamp() + 1).max(0) as u64;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, _, body) = http_get(&short.url).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("expired"));

    // Bounds and scope are checked when a URL is asked for.
    let s = download_url(
        &c,
        &e.id,
        pb::EvidenceVariant::Original,
        Some(Duration::from_secs(7 * 86_400)),
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&s), ["ttl"]);
    let other = srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    let s = download_url(&other, &e.id, pb::EvidenceVariant::Thumbnail, None)
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::NotFound);
}

#[tokio::test]
async fn presigned_urls_serve_the_files_of_s3() {
    let s3 = S3Server::start().await;
    let srv = support::spawn_with(|l| s3.configure(l)).await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = fixture("DSCN0010.jpg");
    let e = upload(&c, LIANDU, &bytes).await.unwrap();
    settled(&c, &e.id).await;
    let u = download_url(&c, &e.id, pb::EvidenceVariant::Original, None)
        .await
        .unwrap();
    assert!(u.url.contains("X-Amz-Signature="), "{}", u.url);
    let (status, _, body) = http_get(&u.url).await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes.to_vec());
    let p = download_url(&c, &e.id, pb::EvidenceVariant::Preview, None)
        .await
        .unwrap();
    let (status, _, body) = http_get(&p.url).await;
    assert_eq!(status, 200);
    assert_eq!(decoded(&body).dimensions(), (640, 480));
    // The signature covers the key: another object is refused.
    let forged = p.url.replace("preview.jpg", "thumbnail.jpg");
    assert_eq!(http_get(&forged).await.0, 403);
}

#[tokio::test]
async fn a_near_identical_picture_on_another_record_is_flagged() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let mut records = Vec::new();
    for _ in 0..3 {
        let r = create_record(&c, site_check(LIANDU, T0)).await;
        records.push(r.id);
    }
    let before = pb::EvidenceRole::Before;
    // The same picture twice, stored the other way round: other bytes.
    let upright = upload(&c, LIANDU, &fixture("landscape_1.jpg"))
        .await
        .unwrap();
    let turned = upload(&c, LIANDU, &fixture("landscape_6.jpg"))
        .await
        .unwrap();
    let unrelated = upload(&c, LIANDU, &fixture("jolla.jpg")).await.unwrap();
    // Linked before the hash is known: the signal comes when it is.
    link(&c, &upright.id, &records[0], before).await.unwrap();
    link(&c, &unrelated.id, &records[2], before).await.unwrap();
    for e in [&upright, &turned, &unrelated] {
        settled(&c, &e.id).await;
    }
    let l = link(&c, &turned.id, &records[1], before).await.unwrap();
    let near = |signals: &[pb::AuthenticitySignal]| {
        signals
            .iter()
            .find(|s| s.kind == pb::SignalKind::NearDuplicate as i32)
            .cloned()
    };
    let found = near(&l.signals).unwrap_or_else(|| panic!("{l:?}"));
    assert_eq!(found.records, 1);
    assert!(found.hash_distance <= 5, "{found:?}");
    // Not the same bytes: that would be another signal.
    assert!(!kinds(&l.signals).contains(&pb::SignalKind::ReusedElsewhere));
    // The first record learns of it too; the unrelated photo is clean.
    let first = get_record(&c, &records[0]).await.evidence;
    assert!(near(&first[0].signals).is_some(), "{first:?}");
    let third = get_record(&c, &records[2]).await.evidence;
    assert!(near(&third[0].signals).is_none(), "{third:?}");
    // Unlinked, the second use no longer flags the first.
    c.evidence()
        .unlink_evidence(pb::UnlinkEvidenceRequest {
            evidence_id: turned.id.clone(),
            check_record_id: records[1].clone(),
        })
        .await
        .unwrap();
    let first = get_record(&c, &records[0]).await.evidence;
    assert!(near(&first[0].signals).is_none(), "{first:?}");
}
