//! Evidence uploads: resumable, verified, deduplicated, on the local folder
//! and on S3.

use bytes::Bytes;
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{self, TestServer, s3::S3Server};

pub(crate) fn photo() -> Bytes {
    Bytes::from(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/photos/DSCN0010.jpg"
        ))
        .unwrap(),
    )
}

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn begin(unit: &str, bytes: &[u8]) -> pb::BeginUploadRequest {
    pb::BeginUploadRequest {
        unit_code: unit.into(),
        sha256: sha256(bytes),
        size_bytes: bytes.len() as i64,
        media_type: "image/jpeg".into(),
        file_name: "DSCN0010.jpg".into(),
        capture: Some(pb::Capture {
            location: Some(pb::Location {
                latitude: 43.467448,
                longitude: 11.885127,
                accuracy_m: 10.0,
                altitude_m: None,
                datum: pb::Datum::Wgs84 as i32,
            }),
            device_time: support::ts(1_224_692_919),
            device_id: "phone-7".into(),
            attestation_signature: Bytes::new(),
        }),
    }
}

fn append(id: &str, offset: usize, data: &[u8]) -> pb::AppendUploadRequest {
    pb::AppendUploadRequest {
        upload_id: id.into(),
        offset: offset as i64,
        data: Bytes::copy_from_slice(data),
        crc32c: crc32c::crc32c(data),
    }
}

pub(crate) async fn start(c: &Client, unit: &str, bytes: &[u8]) -> pb::Upload {
    let r = c
        .evidence()
        .begin_upload(begin(unit, bytes))
        .await
        .unwrap()
        .into_inner();
    assert!(r.evidence.is_none(), "expected to be asked for the bytes");
    r.upload.unwrap()
}

/// Sends `bytes` in `chunk`-sized unary appends from `from`.
pub(crate) async fn send(c: &Client, id: &str, bytes: &[u8], from: usize, chunk: usize) -> i64 {
    let mut committed = from as i64;
    for (i, part) in bytes[from..].chunks(chunk).enumerate() {
        committed = c
            .evidence()
            .append_upload(append(id, from + i * chunk, part))
            .await
            .unwrap()
            .into_inner()
            .committed_offset;
    }
    committed
}

pub(crate) async fn finish(c: &Client, id: &str) -> Result<pb::Evidence, tonic::Status> {
    c.evidence()
        .finish_upload(pb::FinishUploadRequest {
            upload_id: id.into(),
        })
        .await
        .map(|r| r.into_inner().evidence.unwrap())
}

pub(crate) async fn download(c: &Client, id: &str) -> Result<Vec<u8>, tonic::Status> {
    let mut s = c
        .evidence()
        .download_evidence(pb::DownloadEvidenceRequest { id: id.into() })
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(m) = s.message().await? {
        assert_eq!(m.offset as usize, out.len());
        out.extend_from_slice(&m.data);
    }
    Ok(out)
}

async fn upload_and_read_back(srv: &TestServer) {
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let bytes = photo();
    let up = start(&c, "331102", &bytes).await;
    assert_eq!(up.committed_offset, 0);
    assert_eq!(
        send(&c, &up.id, &bytes, 0, 50_000).await,
        bytes.len() as i64
    );
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(e.sha256, sha256(&bytes));
    assert_eq!(e.media_type, "image/jpeg");
    assert_eq!(e.size_bytes, bytes.len() as i64);
    assert_eq!(e.capture.unwrap().device_id, "phone-7");
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
    // Finishing again answers with the same evidence.
    assert_eq!(finish(&c, &up.id).await.unwrap().id, e.id);
}

#[tokio::test]
async fn upload_and_read_back_on_the_local_folder() {
    let srv = support::spawn().await;
    upload_and_read_back(&srv).await;
    // Only the original is left in the store: the segments are gone.
    let objects = srv.dir.path().join("objects");
    assert!(objects.join("evidence/sha256").is_dir());
    let leftovers = std::fs::read_dir(objects.join("uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn upload_and_read_back_on_s3() {
    let s3 = S3Server::start().await;
    let srv = support::spawn_with(|l| s3.configure(l)).await;
    upload_and_read_back(&srv).await;
}

#[tokio::test]
async fn streamed_upload_in_small_segments_is_composed_on_s3() {
    let s3 = S3Server::start().await;
    let srv = support::spawn_with(|l| {
        s3.configure(l);
        l.upload_chunk_bytes = Some(64 * 1024);
    })
    .await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let bytes = photo();
    let up = start(&c, "331102", &bytes).await;
    assert_eq!(up.max_chunk_bytes, 64 * 1024);
    let id = up.id.clone();
    let msgs: Vec<pb::WriteUploadRequest> = bytes
        .chunks(16 * 1024)
        .enumerate()
        .map(|(i, d)| pb::WriteUploadRequest {
            upload_id: if i == 0 { id.clone() } else { String::new() },
            offset: (i * 16 * 1024) as i64,
            data: Bytes::copy_from_slice(d),
            crc32c: crc32c::crc32c(d),
        })
        .collect();
    let done = c
        .evidence()
        .write_upload(tokio_stream::iter(msgs))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.committed_offset, bytes.len() as i64);
    let e = finish(&c, &id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn same_bytes_are_sent_once_per_unit_and_never_reveal_other_units() {
    let srv = support::spawn().await;
    let liandu = srv.client(Role::Inspector, &["331102"]).await;
    let liandu2 = srv.client(Role::Inspector, &["331102"]).await;
    let qingtian = srv.client(Role::Inspector, &["331121"]).await;
    let bytes = photo();
    let up = start(&liandu, "331102", &bytes).await;
    send(&liandu, &up.id, &bytes, 0, 100_000).await;
    let first = finish(&liandu, &up.id).await.unwrap();

    // The same unit: answered at once, nothing to send.
    let again = liandu2
        .evidence()
        .begin_upload(begin("331102", &bytes))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.evidence.unwrap().id, first.id);
    assert!(again.upload.is_none());

    // Another unit: asked for the bytes like for any new photo.
    let up = start(&qingtian, "331121", &bytes).await;
    assert_eq!(up.committed_offset, 0);
    send(&qingtian, &up.id, &bytes, 0, 100_000).await;
    let theirs = finish(&qingtian, &up.id).await.unwrap();
    assert_ne!(theirs.id, first.id);
    assert_eq!(theirs.unit_code, "331121");
    // Each unit sees only its own evidence.
    let e = qingtian
        .evidence()
        .get_evidence(pb::GetEvidenceRequest {
            id: first.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(
        download(&qingtian, &first.id).await.unwrap_err().code(),
        Code::NotFound
    );
    // The bytes are stored once.
    let stored = std::fs::read_dir(
        srv.dir
            .path()
            .join("objects/evidence/sha256")
            .join(&first.sha256[..2]),
    )
    .unwrap()
    .count();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn resumes_after_a_restart_from_the_committed_offset() {
    let srv = support::spawn().await;
    let (c, name) = srv.user(Role::Inspector, &["331102"]).await;
    let bytes = photo();
    let up = start(&c, "331102", &bytes).await;
    let half = bytes.len() / 2;
    assert_eq!(
        send(&c, &up.id, &bytes[..half], 0, 30_000).await,
        half as i64
    );

    let srv = srv.restart().await;
    let c = srv.anonymous().await;
    c.login(&name, support::PASSWORD).await.unwrap();
    let status = c
        .evidence()
        .get_upload_status(pb::GetUploadStatusRequest {
            upload_id: up.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    assert_eq!(status.committed_offset, half as i64);
    send(&c, &up.id, &bytes, half, 30_000).await;
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn offsets_are_checked_and_retries_are_harmless() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let bytes = photo();
    let up = start(&c, "331102", &bytes).await;
    send(&c, &up.id, &bytes[..1000], 0, 1000).await;

    // A gap: ABORTED, and the committed offset is in the details.
    let e = c
        .evidence()
        .append_upload(append(&up.id, 5000, &bytes[5000..6000]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    let info = e.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("committed_offset").map(String::as_str),
        Some("1000")
    );

    // A chunk already received is acknowledged without change.
    let r = c
        .evidence()
        .append_upload(append(&up.id, 0, &bytes[..1000]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.committed_offset, 1000);
    // A chunk that overlaps what is held keeps only the new part.
    let r = c
        .evidence()
        .append_upload(append(&up.id, 500, &bytes[500..3000]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.committed_offset, 3000);

    // A damaged chunk is refused.
    let mut bad = append(&up.id, 3000, &bytes[3000..4000]);
    bad.crc32c ^= 1;
    let e = c.evidence().append_upload(bad).await.unwrap_err();
    assert_eq!(support::violated_fields(&e), ["crc32c"]);
    // Past the declared size.
    let mut past = bytes.to_vec();
    past.extend_from_slice(&[0; 10]);
    let e = c
        .evidence()
        .append_upload(append(&up.id, 3000, &past[3000..]))
        .await
        .unwrap_err();
    assert_eq!(support::violated_fields(&e), ["data"]);
    // Finishing early says how far it got.
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("3000 of"), "{e:?}");

    send(&c, &up.id, &bytes, 3000, 40_000).await;
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn wrong_hash_and_non_images_are_discarded() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let bytes = photo();
    let mut req = begin("331102", &bytes);
    req.sha256 = sha256(b"something else");
    let up = c
        .evidence()
        .begin_upload(req)
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    send(&c, &up.id, &bytes, 0, 100_000).await;
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(support::violated_fields(&e), ["sha256"]);
    assert!(e.message().contains("discarded"));
    let gone = c
        .evidence()
        .get_upload_status(pb::GetUploadStatusRequest { upload_id: up.id })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);

    // A text file renamed to .jpg.
    let text = "这不是照片，只是一段文字。".repeat(50).into_bytes();
    let up = start(&c, "331102", &text).await;
    send(&c, &up.id, &text, 0, 100_000).await;
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(support::violated_fields(&e), ["data"]);
    let leftovers = std::fs::read_dir(srv.dir.path().join("objects/uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "discarded uploads leave no bytes");
}

#[tokio::test]
async fn uploads_are_private_limited_and_expire() {
    let srv = support::spawn_with(|l| {
        l.uploads_open_per_user = Some(2);
        l.upload_max_bytes = Some(1_000_000);
    })
    .await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let other = srv.client(Role::Inspector, &["331102"]).await;
    let viewer = srv.client(Role::Viewer, &["*"]).await;
    let bytes = photo();
    let up = start(&c, "331102", &bytes).await;
    send(&c, &up.id, &bytes[..10_000], 0, 10_000).await;

    // Someone else's upload does not exist for them.
    let e = other
        .evidence()
        .append_upload(append(&up.id, 10_000, &bytes[10_000..11_000]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = viewer
        .evidence()
        .begin_upload(begin("331102", &bytes))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = c
        .evidence()
        .begin_upload(begin("331121", &bytes))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Limits: file size and uploads open at once.
    let mut big = begin("331102", &bytes);
    big.size_bytes = 2_000_000;
    let e = c.evidence().begin_upload(big).await.unwrap_err();
    assert_eq!(support::violated_fields(&e), ["size_bytes"]);
    start(&c, "331102", b"second").await;
    let e = c
        .evidence()
        .begin_upload(begin("331102", b"third"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);

    // Eight days on, unfinished uploads and their bytes are gone.
    let later = chrono::Utc::now() + chrono::TimeDelta::days(8);
    assert_eq!(srv.app.clean_expired_uploads(later).await.unwrap(), 2);
    let leftovers = std::fs::read_dir(srv.dir.path().join("objects/uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
    let e = c
        .evidence()
        .get_upload_status(pb::GetUploadStatusRequest { upload_id: up.id })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

async fn upload(c: &Client, unit: &str, bytes: &[u8]) -> Result<pb::Evidence, tonic::Status> {
    let up = start(c, unit, bytes).await;
    send(c, &up.id, bytes, 0, 1_000_000).await;
    finish(c, &up.id).await
}

#[tokio::test]
async fn metadata_is_read_from_the_photo() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let e = upload(&c, "331102", &photo()).await.unwrap();
    let m = e.metadata.unwrap();
    assert_eq!((m.width, m.height), (640, 480));
    assert_eq!(m.make, "NIKON");
    assert_eq!(m.model, "COOLPIX P6000");
    assert_eq!(m.software, "Nikon Transfer 1.1 W");
    assert_eq!(m.capture_local_time, "2008-10-22T16:28:39");
    assert_eq!(m.orientation, 1);
    let gps = m.gps.unwrap();
    assert_eq!(gps.datum, pb::Datum::Wgs84 as i32);
    assert!((gps.latitude - 43.467448).abs() < 1e-5, "{gps:?}");
    assert!((gps.longitude - 11.885127).abs() < 1e-5, "{gps:?}");
    // Read back, the same.
    let got = c
        .evidence()
        .get_evidence(pb::GetEvidenceRequest { id: e.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .evidence
        .unwrap();
    assert_eq!(got.metadata, Some(m));
}

#[tokio::test]
async fn bombs_and_broken_headers_are_refused() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let bomb = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/bomb.png"
    ))
    .unwrap();
    let e = upload(&c, "331102", &bomb).await.unwrap_err();
    assert_eq!(support::violated_fields(&e), ["data"]);
    assert!(
        e.message()
            .contains("100000×100000 pixels is larger than allowed"),
        "{e:?}"
    );

    let truncated = photo().slice(..2000);
    let e = upload(&c, "331102", &truncated).await.unwrap_err();
    assert_eq!(support::violated_fields(&e), ["data"]);
    assert!(e.message().contains("cannot be read"), "{e:?}");
}

fn meta(unit: &str) -> ducha_sdk::UploadMetadata {
    ducha_sdk::UploadMetadata {
        unit_code: unit.into(),
        media_type: "image/jpeg".into(),
        file_name: "DSCN0010.jpg".into(),
        capture: None,
    }
}

#[tokio::test]
async fn sdk_uploads_a_file_and_resumes_after_the_connection_is_cut() {
    let srv = support::spawn_with(|l| l.upload_chunk_bytes = Some(16 * 1024)).await;
    let (_, name) = srv.user(Role::Inspector, &["331102"]).await;
    let proxy = support::proxy::CuttingProxy::start(&srv.url).await;
    let c = Client::connect(proxy.url.clone()).await.unwrap();
    c.login(&name, support::PASSWORD).await.unwrap();

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let opts = ducha_sdk::UploadOptions {
        chunk_bytes: Some(16 * 1024),
        first_backoff: std::time::Duration::from_millis(10),
        progress: Some(std::sync::Arc::new(move |done, total| {
            s.lock().unwrap().push((done, total))
        })),
        ..Default::default()
    };
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/DSCN0010.jpg"
    );
    // Signal is lost about 60 kB into the photo.
    proxy.cut_after(60_000);
    let e = c
        .upload_file(path, meta("331102"), opts.clone())
        .await
        .unwrap();
    assert_eq!(proxy.cuts(), 1, "the connection was not cut");
    let bytes = photo();
    assert_eq!(e.size_bytes, bytes.len() as i64);
    let progress = seen.lock().unwrap().clone();
    assert_eq!(
        progress.last(),
        Some(&(bytes.len() as u64, bytes.len() as u64))
    );
    assert!(
        progress.windows(2).all(|w| w[0].0 <= w[1].0),
        "{progress:?}"
    );

    let mut out = Vec::new();
    assert_eq!(
        c.download(&e.id, &mut out).await.unwrap(),
        bytes.len() as u64
    );
    assert_eq!(out, bytes.to_vec());

    // The same photo again: nothing is sent, the evidence comes back.
    let again = c
        .upload_bytes(bytes.clone(), meta("331102"), opts)
        .await
        .unwrap();
    assert_eq!(again.id, e.id);
}

fn second_photo() -> Bytes {
    Bytes::from(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/photos/DSCN0021.jpg"
        ))
        .unwrap(),
    )
}

async fn get_record(c: &Client, id: &str) -> pb::CheckRecord {
    c.checks()
        .get_check_record(pb::GetCheckRecordRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap()
}

#[tokio::test]
async fn photos_named_by_a_record_link_themselves_when_they_arrive() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let (a, b) = (photo(), second_photo());
    let mut rec = support::site_check("331102", 1_790_000_000);
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
    let rec = c
        .checks()
        .create_check_record(support::create(rec))
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    assert_eq!(
        rec.pending_sha256,
        vec![sha256(&a), sha256(&b)],
        "2 photos not yet received"
    );
    assert!(rec.evidence.is_empty());

    let ea = upload(&c, "331102", &a).await.unwrap();
    let now = get_record(&c, &rec.id).await;
    assert_eq!(now.pending_sha256, vec![sha256(&b)]);
    assert_eq!(now.evidence.len(), 1);
    assert_eq!(
        (now.evidence[0].evidence_id.as_str(), now.evidence[0].role),
        (ea.id.as_str(), pb::EvidenceRole::Before as i32)
    );

    upload(&c, "331102", &b).await.unwrap();
    let now = get_record(&c, &rec.id).await;
    assert!(now.pending_sha256.is_empty());
    assert_eq!(now.evidence.len(), 2);
    let listed = c
        .checks()
        .list_check_records(pb::ListCheckRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.check_records[0].evidence.len(), 2);

    // A record naming a photo its unit already holds is linked at once.
    let mut later = support::site_check("331102", 1_790_000_600);
    later.expected_evidence = vec![pb::ExpectedEvidence {
        sha256: sha256(&a),
        role: pb::EvidenceRole::After as i32,
    }];
    let later = c
        .checks()
        .create_check_record(support::create(later))
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    assert!(later.pending_sha256.is_empty());
    assert_eq!(later.evidence[0].role, pb::EvidenceRole::After as i32);

    // A malformed hash and a missing role are named.
    let mut bad = support::site_check("331102", 1_790_000_000);
    bad.expected_evidence = vec![pb::ExpectedEvidence {
        sha256: "xyz".into(),
        role: 0,
    }];
    let e = c
        .checks()
        .create_check_record(support::create(bad))
        .await
        .unwrap_err();
    assert_eq!(
        support::violated_fields(&e),
        [
            "check_record.expected_evidence[0].sha256",
            "check_record.expected_evidence[0].role"
        ]
    );
}

#[tokio::test]
async fn evidence_is_linked_and_unlinked_by_hand_within_a_unit() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102", "331121"]).await;
    let viewer = srv.client(Role::Viewer, &["*"]).await;
    let stranger = srv.client(Role::Inspector, &["331122"]).await;
    let e = upload(&c, "331102", &photo()).await.unwrap();
    let rec = c
        .checks()
        .create_check_record(support::create(support::site_check(
            "331102",
            1_790_000_000,
        )))
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    let other = c
        .checks()
        .create_check_record(support::create(support::site_check(
            "331121",
            1_790_000_000,
        )))
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    let link = |who: &Client, rec: &str, role: pb::EvidenceRole| {
        let (who, req) = (
            who.clone(),
            pb::LinkEvidenceRequest {
                evidence_id: e.id.clone(),
                check_record_id: rec.into(),
                role: role as i32,
            },
        );
        async move { who.evidence().link_evidence(req).await }
    };
    link(&c, &rec.id, pb::EvidenceRole::Context).await.unwrap();
    assert_eq!(
        get_record(&c, &rec.id).await.evidence[0].role,
        pb::EvidenceRole::Context as i32
    );
    // Linking again changes the role.
    link(&c, &rec.id, pb::EvidenceRole::Before).await.unwrap();
    let now = get_record(&c, &rec.id).await;
    assert_eq!(
        (now.evidence.len(), now.evidence[0].role),
        (1, pb::EvidenceRole::Before as i32)
    );

    assert_eq!(
        link(&c, &other.id, pb::EvidenceRole::Before)
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        link(&viewer, &rec.id, pb::EvidenceRole::Before)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        link(&stranger, &rec.id, pb::EvidenceRole::Before)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let e2 = link(&c, &rec.id, pb::EvidenceRole::Unspecified)
        .await
        .unwrap_err();
    assert_eq!(support::violated_fields(&e2), ["role"]);

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

fn kinds(signals: &[pb::AuthenticitySignal]) -> Vec<pb::SignalKind> {
    signals
        .iter()
        .map(|s| pb::SignalKind::try_from(s.kind).unwrap())
        .collect()
}

async fn upload_with_clock(c: &Client, bytes: &[u8], device_time: i64) -> pb::Evidence {
    let mut req = begin("331102", bytes);
    req.capture.as_mut().unwrap().device_time = support::ts(device_time);
    let up = c
        .evidence()
        .begin_upload(req)
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    send(c, &up.id, bytes, 0, 1_000_000).await;
    finish(c, &up.id).await.unwrap()
}

#[tokio::test]
async fn signals_of_the_file_itself() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &["331102"]).await;
    // GPS present, a camera's transfer tool, clocks agree: nothing to say.
    let clean = upload_with_clock(&c, &photo(), DSCN0010_TAKEN + 60).await;
    assert!(clean.signals.is_empty(), "{:?}", clean.signals);

    // The phone's clock says eight hours later than the camera.
    let c2 = srv.client(Role::Inspector, &["331121"]).await;
    let mut req = begin("331121", &photo());
    req.capture.as_mut().unwrap().device_time = support::ts(DSCN0010_TAKEN + 8 * 3600);
    let up = c2
        .evidence()
        .begin_upload(req)
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    send(&c2, &up.id, &photo(), 0, 1_000_000).await;
    let skewed = finish(&c2, &up.id).await.unwrap();
    assert_eq!(kinds(&skewed.signals), [pb::SignalKind::ClockMismatch]);
    assert_eq!(skewed.signals[0].minutes, 480);

    // Edited in GIMP, and no GPS.
    let gimp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/Canon_40D_photoshop_import.jpg"
    ))
    .unwrap();
    let mut req = begin("331102", &gimp);
    req.capture = None;
    let up = c
        .evidence()
        .begin_upload(req)
        .await
        .unwrap()
        .into_inner()
        .upload
        .unwrap();
    send(&c, &up.id, &gimp, 0, 1_000_000).await;
    let edited = finish(&c, &up.id).await.unwrap();
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
    let mut r = support::site_check("331102", start);
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
    let c = srv.client(Role::Inspector, &["331102"]).await;
    let e = upload_with_clock(&c, &photo(), DSCN0010_TAKEN).await;
    let create = |r: pb::CheckRecord| {
        let c = c.clone();
        async move {
            c.checks()
                .create_check_record(support::create(r))
                .await
                .unwrap()
                .into_inner()
                .check_record
                .unwrap()
        }
    };
    let link = |rec: String| {
        let (c, id) = (c.clone(), e.id.clone());
        async move {
            c.evidence()
                .link_evidence(pb::LinkEvidenceRequest {
                    evidence_id: id,
                    check_record_id: rec,
                    role: pb::EvidenceRole::Before as i32,
                })
                .await
                .unwrap()
                .into_inner()
                .link
                .unwrap()
        }
    };
    // The check where and when the photo was taken: nothing to say.
    let here = create(check_at(43.4675, 11.8852, DSCN0010_TAKEN - 600)).await;
    let l = link(here.id.clone()).await;
    assert!(l.signals.is_empty(), "{:?}", l.signals);

    // A check 2 km away, the next day: far, out of time, and now the photo
    // serves two records.
    let there = create(check_at(43.4855, 11.8852, DSCN0010_TAKEN + 86_400)).await;
    let l = link(there.id.clone()).await;
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
    let (c, name) = srv.user(Role::Inspector, &["331102"]).await;
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
    assert_eq!(support::violated_fields(&bad_key), ["public_key"]);

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
                let up = c
                    .evidence()
                    .begin_upload(req)
                    .await
                    .unwrap()
                    .into_inner()
                    .upload
                    .unwrap();
                send(&c, &up.id, &bytes, 0, 1_000_000).await;
                finish(&c, &up.id).await.unwrap()
            }
        };
    // Signed at capture over the photo's hash, time, place and device.
    let k = std::sync::Arc::new(key);
    let k1 = k.clone();
    let e = signed_upload(
        "331102",
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
        "331102",
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
    let e = signed_upload("331102", gimp.into(), Box::new(|_| {})).await;
    assert_eq!(status(&e).0, pb::AttestationStatus::Unattested);
}

#[tokio::test]
async fn evidence_is_listed_by_unit_uploader_record_and_signal() {
    let srv = support::spawn().await;
    let (a, alice) = srv.user(Role::Inspector, &["331102"]).await;
    let b = srv.client(Role::Inspector, &["331121"]).await;
    let liaison = srv.client(Role::UnitLiaison, &["331102"]).await;
    let gimp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/Canon_40D_photoshop_import.jpg"
    ))
    .unwrap();
    let ea = upload_with_clock(&a, &photo(), DSCN0010_TAKEN).await;
    let eg = upload_with_clock(&a, &gimp, DSCN0010_TAKEN).await;
    let eb = upload(&b, "331121", &second_photo()).await.unwrap();
    let rec = a
        .checks()
        .create_check_record(support::create(support::site_check(
            "331102",
            1_790_000_000,
        )))
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap();
    a.evidence()
        .link_evidence(pb::LinkEvidenceRequest {
            evidence_id: ea.id.clone(),
            check_record_id: rec.id.clone(),
            role: pb::EvidenceRole::Before as i32,
        })
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
    assert_eq!(support::violated_fields(&e), ["signal"]);
}
