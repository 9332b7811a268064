//! The object store, on the local folder and on a real S3 protocol server.

use bytes::Bytes;
use ducha::blob::BlobStore;
use ducha::config::{ObjectStoreOptions, ServeSettings, Settings};

use crate::support::{self, s3::S3Server};

const PROBE: std::time::Duration = std::time::Duration::from_secs(5);

async fn round_trip(store: &BlobStore) {
    store.probe(PROBE).await.unwrap();
    let bytes = Bytes::from((0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    store
        .put("evidence/sha256/ab/abcdef", bytes.clone())
        .await
        .unwrap();
    assert_eq!(
        store.get("evidence/sha256/ab/abcdef").await.unwrap(),
        Some(bytes)
    );
    assert_eq!(store.get("evidence/sha256/ab/missing").await.unwrap(), None);
}

#[tokio::test]
async fn local_folder_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&ObjectStoreOptions::Local {
        root: dir.path().join("objects"),
    })
    .unwrap();
    assert_eq!(store.kind(), "local");
    round_trip(&store).await;
    assert!(
        dir.path()
            .join("objects/evidence/sha256/ab/abcdef")
            .exists()
    );
}

#[tokio::test]
async fn s3_round_trip() {
    let s3 = S3Server::start().await;
    let mut layer = ServeSettings::builtin();
    s3.configure(&mut layer);
    let settings = Settings::resolve(layer).unwrap();
    let store = BlobStore::open(&settings.object_store).unwrap();
    assert_eq!(store.kind(), "s3");
    round_trip(&store).await;
}

#[tokio::test]
async fn s3_with_wrong_secret_fails_the_probe() {
    let s3 = S3Server::start().await;
    let mut layer = ServeSettings::builtin();
    s3.configure(&mut layer);
    layer.object_store.s3_secret_access_key = Some("wrong".into());
    let settings = Settings::resolve(layer).unwrap();
    let store = BlobStore::open(&settings.object_store).unwrap();
    // The store refuses the credentials: unavailable, not a fault of
    // the call.
    let e = store.probe(PROBE).await.unwrap_err();
    assert!(matches!(e, ducha::error::Error::Unavailable(_)), "{e:?}");
}

#[tokio::test]
async fn server_runs_on_s3() {
    let s3 = S3Server::start().await;
    let srv = support::spawn_with(|l| s3.configure(l)).await;
    assert_eq!(srv.app.blobs.kind(), "s3");
    round_trip(&srv.app.blobs).await;
}
