//! Evidence uploads: resumable, verified, deduplicated, on the local folder
//! and on S3.

use bytes::Bytes;
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::evidence::{
    append, begin, download, finish, fixture, get_evidence, original_key, photo, photo_metadata,
    send, sha256, start, start_with, stream, upload, upload_status,
};
use crate::support::refusals::violated_fields;
use crate::support::s3::S3Server;
use crate::support::units::{LIANDU, QINGTIAN};
use crate::support::users::PASSWORD;
use crate::support::{self, TestServer};

async fn upload_and_read_back(srv: &TestServer) {
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
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
        l.uploads.upload_chunk_bytes = 64 * 1024;
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
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
            finish: false,
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
async fn a_photo_sent_whole_reaches_s3_as_it_arrives_and_only_when_verified() {
    let s3 = S3Server::start().await;
    // No derivatives, so that the bucket holds only what uploads wrote.
    let srv = support::spawn_with(|l| {
        s3.configure(l);
        l.jobs.derivative_workers = Some(0);
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;

    // Verified, it is at its content-addressed key when the stream ends:
    // Finish has nothing left to copy.
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let done = stream(&c, &up.id, &bytes, 0, 64 * 1024, false)
        .await
        .unwrap();
    assert_eq!(done.committed_offset, bytes.len() as i64);
    let original = original_key(&sha256(&bytes));
    assert_eq!(s3.keys(), std::slice::from_ref(&original));
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());

    // Another unit sends the same bytes: its create-only put finds the
    // original there, and its evidence reads the same object.
    let qingtian = srv.client(Role::Inspector, &[QINGTIAN]).await;
    let up = start(&qingtian, QINGTIAN, &bytes).await;
    let done = stream(&qingtian, &up.id, &bytes, 0, 64 * 1024, true)
        .await
        .unwrap();
    let theirs = done.evidence.expect("finished by the last chunk");
    assert_ne!(theirs.id, e.id);
    assert_eq!(
        download(&qingtian, &theirs.id).await.unwrap(),
        bytes.to_vec()
    );
    assert_eq!(s3.keys(), std::slice::from_ref(&original));

    // Bytes that do not hash to the declared SHA-256 never appear under
    // that hash's key, not even for a moment before Finish.
    let other = fixture("DSCN0021.jpg");
    let mut req = begin(LIANDU, &other);
    let claimed = sha256(b"not these bytes");
    req.sha256 = claimed.clone();
    let id = start_with(&c, req).await.id;
    stream(&c, &id, &other, 0, 64 * 1024, false).await.unwrap();
    let keys = s3.keys();
    assert!(!keys.contains(&original_key(&claimed)), "{keys:?}");
    assert!(!keys.contains(&original_key(&sha256(&other))), "{keys:?}");
    let e = finish(&c, &id).await.unwrap_err();
    assert_eq!(violated_fields(&e), ["sha256"]);
    assert_eq!(s3.keys(), std::slice::from_ref(&original));

    // Text renamed to .jpg, sent whole and finished by its last chunk: its
    // head is read while its last bytes are stored, and it is refused.
    let text = "这不是照片，只是一段文字。".repeat(50).into_bytes();
    let up = start(&c, LIANDU, &text).await;
    let e = stream(&c, &up.id, &text, 0, 64 * 1024, true)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["data"]);
    assert_eq!(s3.keys(), [original], "the discarded uploads left nothing");
}

#[tokio::test]
async fn the_last_chunk_can_finish_the_upload() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    // Asked before every byte is in, it answers with the offset alone.
    let half = bytes.len() / 2;
    let part = stream(&c, &up.id, &bytes[..half], 0, 16 * 1024, true)
        .await
        .unwrap();
    assert_eq!(part.committed_offset, half as i64);
    assert!(part.evidence.is_none());
    let done = stream(&c, &up.id, &bytes, half, 16 * 1024, true)
        .await
        .unwrap();
    assert_eq!(done.committed_offset, bytes.len() as i64);
    let e = done.evidence.expect("finished with the last chunk");
    assert_eq!(e.sha256, sha256(&bytes));
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
    assert_eq!(finish(&c, &up.id).await.unwrap().id, e.id);

    // One chunk at a time, as a browser sends.
    let other = fixture("DSCN0021.jpg");
    let up = start(&c, LIANDU, &other).await;
    let mut last = append(&up.id, 0, &other);
    last.finish = true;
    let r = c.evidence().append_upload(last).await.unwrap().into_inner();
    assert_eq!(r.evidence.unwrap().sha256, sha256(&other));

    // Finishing in the stream reports what FinishUpload would.
    let third = fixture("jolla.jpg");
    let mut req = begin(LIANDU, &third);
    req.sha256 = sha256(b"not these bytes");
    let id = start_with(&c, req).await.id;
    let e = stream(&c, &id, &third, 0, 256 * 1024, true)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["sha256"]);
}

#[tokio::test]
async fn racing_streams_finish_an_upload_once_on_the_local_folder() {
    racing_streams_finish_an_upload_once(&support::spawn().await).await;
}

#[tokio::test]
async fn racing_streams_finish_an_upload_once_on_s3() {
    let s3 = S3Server::start().await;
    racing_streams_finish_an_upload_once(&support::spawn_with(|l| s3.configure(l)).await).await;
}

/// Two streams of one upload, as a retry racing the stream it replaces,
/// each sending the whole photo and asking to finish: one evidence, which
/// every stream that finished answers with; a stream taken over by the
/// other learns the committed offset as it left it.
async fn racing_streams_finish_an_upload_once(srv: &TestServer) {
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let (a, b) = tokio::join!(
        stream(&c, &up.id, &bytes, 0, 64 * 1024, true),
        stream(&c, &up.id, &bytes, 0, 64 * 1024, true),
    );
    let e = finish(&c, &up.id).await.unwrap();
    let mut answered = 0;
    for r in [a, b] {
        match r {
            Ok(done) => {
                assert_eq!(done.committed_offset, bytes.len() as i64);
                let theirs = done.evidence.expect("a whole stream that asked finishes");
                assert_eq!(theirs.id, e.id);
                answered += 1;
            }
            Err(s) if s.code() == Code::Aborted => {
                let info = s.get_details_error_info().expect("ErrorInfo");
                let at: usize = info.metadata["committed_offset"].parse().unwrap();
                assert!(at <= bytes.len(), "{at}");
            }
            Err(s) => {
                assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
                assert_eq!(
                    ducha_sdk::reason(&s).as_deref(),
                    Some("UPLOAD_FINISHED"),
                    "{s:?}"
                );
            }
        }
    }
    assert!(
        answered >= 1,
        "the stream that finished answers with evidence"
    );
    let listed = c
        .evidence()
        .list_evidence(pb::ListEvidenceRequest::default())
        .await
        .unwrap()
        .into_inner()
        .evidence;
    assert_eq!(listed.len(), 1);
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn same_bytes_are_sent_once_per_unit_and_never_reveal_other_units() {
    let srv = support::spawn().await;
    let liandu = srv.client(Role::Inspector, &[LIANDU]).await;
    let liandu2 = srv.client(Role::Inspector, &[LIANDU]).await;
    let qingtian = srv.client(Role::Inspector, &[QINGTIAN]).await;
    let bytes = photo();
    let up = start(&liandu, LIANDU, &bytes).await;
    send(&liandu, &up.id, &bytes, 0, 100_000).await;
    let first = finish(&liandu, &up.id).await.unwrap();

    // The same unit: answered at once, nothing to send.
    let again = liandu2
        .evidence()
        .begin_upload(begin(LIANDU, &bytes))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.evidence.unwrap().id, first.id);
    assert!(again.upload.is_none());

    // Another unit: asked for the bytes like for any new photo.
    let up = start(&qingtian, QINGTIAN, &bytes).await;
    assert_eq!(up.committed_offset, 0);
    send(&qingtian, &up.id, &bytes, 0, 100_000).await;
    let theirs = finish(&qingtian, &up.id).await.unwrap();
    assert_ne!(theirs.id, first.id);
    assert_eq!(theirs.unit_code, QINGTIAN);
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
    let (c, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let half = bytes.len() / 2;
    assert_eq!(
        send(&c, &up.id, &bytes[..half], 0, 30_000).await,
        half as i64
    );

    let srv = srv.restart().await;
    let c = srv.anonymous().await;
    c.login(&name, PASSWORD).await.unwrap();
    let status = upload_status(&c, &up.id).await.unwrap();
    assert_eq!(status.committed_offset, half as i64);
    send(&c, &up.id, &bytes, half, 30_000).await;
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn offsets_are_checked_and_retries_are_harmless() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
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
    assert_eq!(violated_fields(&e), ["crc32c"]);
    // Past the declared size.
    let mut past = bytes.to_vec();
    past.extend_from_slice(&[0; 10]);
    let e = c
        .evidence()
        .append_upload(append(&up.id, 3000, &past[3000..]))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["data"]);
    // Finishing early says how far it got.
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        ducha_sdk::reason(&e).as_deref(),
        Some("UPLOAD_INCOMPLETE"),
        "{e:?}"
    );
    assert!(e.message().contains("3000 of"), "{e:?}");

    send(&c, &up.id, &bytes, 3000, 40_000).await;
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn wrong_hash_and_non_images_are_discarded() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let mut req = begin(LIANDU, &bytes);
    req.sha256 = sha256(b"something else");
    let up = start_with(&c, req).await;
    send(&c, &up.id, &bytes, 0, 100_000).await;
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(violated_fields(&e), ["sha256"]);
    assert!(e.message().contains("discarded"));
    let gone = upload_status(&c, &up.id).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);

    // A text file renamed to .jpg.
    let text = "这不是照片，只是一段文字。".repeat(50).into_bytes();
    let up = start(&c, LIANDU, &text).await;
    send(&c, &up.id, &text, 0, 100_000).await;
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(violated_fields(&e), ["data"]);
    let leftovers = std::fs::read_dir(srv.dir.path().join("objects/uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "discarded uploads leave no bytes");
}

#[tokio::test]
async fn uploads_are_private_limited_and_expire() {
    let srv = support::spawn_with(|l| {
        l.uploads.uploads_open_per_user = 2;
        l.uploads.upload_max_bytes = 1_000_000;
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let other = srv.client(Role::Inspector, &[LIANDU]).await;
    let viewer = srv.client(Role::Viewer, &["*"]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
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
        .begin_upload(begin(LIANDU, &bytes))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = c
        .evidence()
        .begin_upload(begin(QINGTIAN, &bytes))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Limits: file size and uploads open at once.
    let mut big = begin(LIANDU, &bytes);
    big.size_bytes = 2_000_000;
    let e = c.evidence().begin_upload(big).await.unwrap_err();
    assert_eq!(violated_fields(&e), ["size_bytes"]);
    start(&c, LIANDU, b"second").await;
    let e = c
        .evidence()
        .begin_upload(begin(LIANDU, b"third"))
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
    let e = upload_status(&c, &up.id).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn metadata_is_read_from_the_photo() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let e = upload(&c, LIANDU, &photo()).await.unwrap();
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
    let got = get_evidence(&c, &e.id).await;
    assert_eq!(got.metadata, Some(m));
}

#[tokio::test]
async fn bombs_and_broken_headers_are_refused() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bomb = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/bomb.png"
    ))
    .unwrap();
    let e = upload(&c, LIANDU, &bomb).await.unwrap_err();
    assert_eq!(violated_fields(&e), ["data"]);
    assert!(
        e.message()
            .contains("100000×100000 pixels is larger than allowed"),
        "{e:?}"
    );

    let truncated = photo().slice(..2000);
    let e = upload(&c, LIANDU, &truncated).await.unwrap_err();
    assert_eq!(violated_fields(&e), ["data"]);
    assert!(e.message().contains("cannot be read"), "{e:?}");
}

#[tokio::test]
async fn sdk_uploads_a_file_and_resumes_after_the_connection_is_cut() {
    let srv = support::spawn_with(|l| l.uploads.upload_chunk_bytes = 16 * 1024).await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let proxy = support::proxy::Proxy::start(&srv.url).await;
    let c = Client::connect(proxy.url.clone()).await.unwrap();
    c.login(&name, PASSWORD).await.unwrap();

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
        .upload_file(path, photo_metadata(LIANDU, "DSCN0010.jpg"), opts.clone())
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
        .upload_bytes(bytes.clone(), photo_metadata(LIANDU, "DSCN0010.jpg"), opts)
        .await
        .unwrap();
    assert_eq!(again.id, e.id);
}

#[tokio::test]
async fn a_damaged_chunk_in_a_stream_keeps_what_came_before_it() {
    let srv = support::spawn().await;
    damaged_chunk_keeps_what_came_before_it(&srv, Vec::new).await;
}

#[tokio::test]
async fn a_damaged_chunk_on_s3_breaks_off_the_streamed_original() {
    let s3 = S3Server::start().await;
    let srv = support::spawn_with(|l| s3.configure(l)).await;
    damaged_chunk_keeps_what_came_before_it(&srv, || s3.keys()).await;
}

/// `keys` lists the store's objects where the test can see them.
async fn damaged_chunk_keeps_what_came_before_it(srv: &TestServer, keys: impl Fn() -> Vec<String>) {
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let mut msgs: Vec<pb::WriteUploadRequest> = bytes
        .chunks(10_000)
        .take(5)
        .enumerate()
        .map(|(i, d)| pb::WriteUploadRequest {
            upload_id: up.id.clone(),
            offset: (i * 10_000) as i64,
            data: Bytes::copy_from_slice(d),
            crc32c: crc32c::crc32c(d),
            finish: false,
        })
        .collect();
    msgs[3].crc32c ^= 1;
    let e = c
        .evidence()
        .write_upload(tokio_stream::iter(msgs))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["crc32c"]);
    let status = upload_status(&c, &up.id).await.unwrap();
    assert_eq!(
        status.committed_offset, 30_000,
        "the three good chunks are kept"
    );
    // The original's put, begun as the chunks arrived, was broken off: only
    // the kept segment is stored.
    assert!(
        keys().iter().all(|k| k.starts_with("uploads/")),
        "{:?}",
        keys()
    );
    send(&c, &up.id, &bytes, 30_000, 50_000).await;
    let ev = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &ev.id).await.unwrap(), bytes.to_vec());
}
