//! However a write stream ends (its connection cut, the client cancelling,
//! the server stopping, a newer stream taking over), the chunks that arrived
//! whole are kept, so a resume sends only what was in flight; an upload
//! that never finishes is gone, bytes and all, within one sweep.

use std::time::Duration;

use bytes::Bytes;
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::evidence::{
    append, begin, download, finish, photo, photo_metadata, send, sha256, start, start_with,
    stream, upload_status,
};
use crate::support::proxy::Proxy;
use crate::support::units::LIANDU;
use crate::support::{self, TestServer};

const CHUNK: usize = 10_000;

fn chunk(id: &str, bytes: &Bytes, n: usize) -> pb::WriteUploadRequest {
    let data = bytes.slice(n * CHUNK..((n + 1) * CHUNK).min(bytes.len()));
    pb::WriteUploadRequest {
        upload_id: id.into(),
        offset: (n * CHUNK) as i64,
        crc32c: crc32c::crc32c(&data),
        data,
        finish: false,
    }
}

/// A write stream the test feeds chunk by chunk; its call runs on.
struct OpenStream {
    feed: mpsc::Sender<pb::WriteUploadRequest>,
    call: tokio::task::JoinHandle<Result<pb::WriteUploadResponse, tonic::Status>>,
}

fn open_stream(c: &Client) -> OpenStream {
    let (feed, chunks) = mpsc::channel(16);
    let mut evidence = c.evidence();
    let call = tokio::spawn(async move {
        evidence
            .write_upload(ReceiverStream::new(chunks))
            .await
            .map(|r| r.into_inner())
    });
    OpenStream { feed, call }
}

/// A write stream of `upload` that sent the first `n` chunks of `bytes`,
/// which the server now holds.
async fn sent(srv: &TestServer, c: &Client, upload: &str, bytes: &Bytes, n: usize) -> OpenStream {
    let s = open_stream(c);
    for i in 0..n {
        s.feed.send(chunk(upload, bytes, i)).await.unwrap();
    }
    held(srv, n * CHUNK.div_ceil(1024)).await;
    s
}

/// Waits until the server's write streams hold exactly `kib` KiB of
/// chunks that arrived and are not stored yet.
async fn held(srv: &TestServer, kib: usize) {
    let budget = ducha::app::HELD_UPLOAD_BYTES / 1024;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while budget - srv.app.held_upload_bytes.available_permits() != kib {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never held {kib} KiB"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How far upload `id` got.
async fn committed(c: &Client, id: &str) -> i64 {
    upload_status(c, id).await.unwrap().committed_offset
}

#[tokio::test]
async fn a_cut_connection_keeps_every_chunk_that_arrived_whole() {
    let srv = support::spawn().await;
    let (direct, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let proxy = Proxy::start(&srv.url).await;
    let far = srv.sign_in(&proxy.url, &name, Default::default()).await;
    let bytes = photo();
    let up = start(&direct, LIANDU, &bytes).await;
    // Four chunks arrive; then the link goes.
    let s = sent(&srv, &far, &up.id, &bytes, 4).await;
    proxy.cut_now();
    let e = s.call.await.unwrap().unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    held(&srv, 0).await;
    assert_eq!(committed(&direct, &up.id).await, 4 * CHUNK as i64);
}

#[tokio::test]
async fn a_cancelled_stream_keeps_what_arrived() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let s = sent(&srv, &c, &up.id, &bytes, 3).await;
    // The app gives up on the call: the client resets the stream.
    s.call.abort();
    held(&srv, 0).await;
    assert_eq!(committed(&c, &up.id).await, 3 * CHUNK as i64);
}

#[tokio::test]
async fn a_stopping_server_keeps_what_arrived_on_open_streams() {
    let srv = support::spawn_with(|l| l.server.shutdown_grace = Duration::from_millis(100)).await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let c = srv.anonymous().await;
    c.login(&name, support::users::PASSWORD).await.unwrap();
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let s = sent(&srv, &c, &up.id, &bytes, 3).await;
    // The stream is still open when the grace runs out.
    let srv = srv.restart().await;
    drop(s);
    let c = srv.anonymous().await;
    c.login(&name, support::users::PASSWORD).await.unwrap();
    assert_eq!(committed(&c, &up.id).await, 3 * CHUNK as i64);
}

#[tokio::test]
async fn a_new_stream_takes_over_from_one_the_server_thinks_alive() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    // The phone's first stream hangs (its link froze, no reset came).
    let old = sent(&srv, &c, &up.id, &bytes, 3).await;
    // The phone starts again from where it last knew: nothing committed.
    assert_eq!(committed(&c, &up.id).await, 0);
    let new = stream(&c, &up.id, &bytes, 0, 64 * 1024, true)
        .await
        .unwrap();
    let e = new.evidence.expect("the new stream finishes the upload");
    assert_eq!(e.sha256, sha256(&bytes));
    // The old stream stored its chunks first and was told where things
    // stood then.
    let answer = old.call.await.unwrap().unwrap_err();
    assert_eq!(answer.code(), Code::Aborted, "{answer:?}");
    let info = answer.get_details_error_info().unwrap();
    assert_eq!(info.metadata["committed_offset"], (3 * CHUNK).to_string());
}

#[tokio::test]
async fn the_same_declaration_resumes_the_upload_it_began() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    send(&c, &up.id, &bytes[..20_000], 0, 10_000).await;
    // The phone restarted: it declares the same photo again.
    let again = start(&c, LIANDU, &bytes).await;
    assert_eq!(again.id, up.id);
    assert_eq!(again.committed_offset, 20_000);
    // Declared otherwise, it is another upload.
    let mut other = begin(LIANDU, &bytes);
    other.file_name = "IMG_0001.jpg".into();
    let another = start_with(&c, other).await;
    assert_ne!(another.id, up.id);
    assert_eq!(another.committed_offset, 0);
    // Someone else's upload of the same bytes is never handed out.
    let colleague = srv.client(Role::Inspector, &[LIANDU]).await;
    let theirs = start(&colleague, LIANDU, &bytes).await;
    assert_ne!(theirs.id, up.id);
    send(&c, &up.id, &bytes, 20_000, 50_000).await;
    assert_eq!(
        finish(&c, &up.id).await.unwrap().size_bytes,
        bytes.len() as i64
    );
}

#[tokio::test]
async fn the_sdk_goes_on_while_each_attempt_moves_the_upload_forward() {
    let srv = support::spawn().await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let proxy = Proxy::start(&srv.url).await;
    let bytes = photo();
    let meta = photo_metadata(LIANDU, "DSCN0010.jpg");
    // No broken connection in a row is tolerated, yet three breaks, each
    // after some of the photo arrived, do not stop the upload.
    let opts = ducha_sdk::UploadOptions {
        chunk_bytes: Some(16 * 1024),
        max_retries: 0,
        first_backoff: Duration::from_millis(20),
        ..Default::default()
    };
    // A link slow enough that each stream is under way before its cut.
    proxy
        .shape(support::proxy::Link {
            delay: Duration::from_millis(10),
            bytes_per_second: 2 * 1024 * 1024,
            read_ahead: 64 * 1024,
        })
        .await;
    let far = srv.sign_in(&proxy.url, &name, Default::default()).await;
    let at = proxy.forwarded_bytes();
    proxy.cut_at([at + 50_000, at + 100_000, at + 150_000]);
    let e = far.upload_bytes(bytes.clone(), meta, opts).await.unwrap();
    assert_eq!(proxy.cuts(), 3);
    assert_eq!(e.sha256, sha256(&bytes));
    // With nothing moving, the same options give up at the first break:
    // see the object store outage in outages.rs.
}

#[tokio::test]
async fn two_uploads_of_one_photo_at_once_end_in_one_evidence() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let meta = || photo_metadata(LIANDU, "DSCN0010.jpg");
    // Small messages, so that the two streams of the one upload meet.
    let opts = || ducha_sdk::UploadOptions {
        chunk_bytes: Some(8 * 1024),
        first_backoff: Duration::from_millis(20),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        c.upload_bytes(bytes.clone(), meta(), opts()),
        c.upload_bytes(bytes.clone(), meta(), opts()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.id, b.id);
    assert_eq!(download(&c, &a.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn an_append_sent_again_is_answered_as_it_was() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let mut last = append(&up.id, 0, &bytes);
    last.finish = true;
    let first = c
        .evidence()
        .append_upload(last.clone())
        .await
        .unwrap()
        .into_inner();
    let e = first.evidence.expect("the last chunk finishes the upload");
    // Its answer was lost: the same call again.
    let again = c.evidence().append_upload(last).await.unwrap().into_inner();
    assert_eq!(again.committed_offset, bytes.len() as i64);
    assert_eq!(again.evidence.unwrap().id, e.id);
}

#[tokio::test]
async fn a_segment_the_object_store_lost_is_asked_for_again() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    send(&c, &up.id, &bytes, 0, 50_000).await;
    // The store loses the second segment (its name starts with its offset).
    let folder = srv.dir.path().join("objects/uploads").join(&up.id);
    let mut segments: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    assert!(segments.len() >= 3, "{segments:?}");
    std::fs::remove_file(&segments[1]).unwrap();
    let e = finish(&c, &up.id).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted, "{e:?}");
    let info = e.get_details_error_info().unwrap();
    assert_eq!(info.metadata["committed_offset"], "50000");
    assert_eq!(committed(&c, &up.id).await, 50_000);
    send(&c, &up.id, &bytes, 50_000, 50_000).await;
    let ev = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &ev.id).await.unwrap(), bytes.to_vec());
}

#[tokio::test]
async fn an_expired_upload_is_gone_within_one_sweep_interval() {
    let sweep = Duration::from_millis(300);
    let srv = support::spawn_with(|l| {
        l.uploads.upload_ttl = Duration::from_secs(1);
        l.jobs.upload_sweep_interval = Duration::from_millis(300);
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    send(&c, &up.id, &bytes[..10_000], 0, 10_000).await;
    let segments = srv.dir.path().join("objects/uploads");
    let count = || std::fs::read_dir(&segments).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count(), 1, "the segment is stored");
    let expire = up.expire_time.unwrap();
    let expires = chrono::DateTime::from_timestamp(expire.seconds, expire.nanos as u32).unwrap();
    // Gone once the upload expired and one sweep ran, with a little room
    // for the sweep's own work.
    let by = expires + chrono::TimeDelta::from_std(sweep + Duration::from_millis(500)).unwrap();
    while count() > 0 {
        assert!(chrono::Utc::now() < by, "the bytes outlived the sweep");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = upload_status(&c, &up.id).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}
