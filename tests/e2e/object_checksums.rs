//! Every put to the object store carries the SHA-256 of its body, so the
//! store refuses a body damaged between Ducha and it, and keeps nothing
//! under its key. A proxy in front of the S3 server damages one byte of the
//! bodies of the puts of a photo's original.

use std::time::Duration;

use ducha::domain::access::Role;
use ducha_sdk::UploadOptions;
use tonic::Code;

use crate::support;
use crate::support::evidence::{download, original_key, photo, photo_metadata, sha256};
use crate::support::proxy::Proxy;
use crate::support::s3::S3Server;
use crate::support::units::LIANDU;

#[tokio::test]
async fn a_body_damaged_on_the_way_to_s3_is_refused_and_nothing_is_kept() {
    let s3 = S3Server::start().await;
    let proxy = Proxy::start(&s3.endpoint).await;
    let srv = support::spawn_with(|l| {
        s3.configure(l);
        l.object_store.s3_endpoint = Some(proxy.url.clone());
        l.jobs.derivative_workers = Some(0);
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let bytes = photo();
    let sha = sha256(&bytes);
    let key = original_key(&sha);
    // Path-style: the bucket, then the key.
    let puts_of_the_original = format!("PUT /{}/{key}", s3.bucket);
    let once = UploadOptions {
        max_retries: 0,
        first_backoff: Duration::from_millis(10),
        ..Default::default()
    };

    // Every put of the original is damaged: the streamed put and the put
    // that follows it are both refused, and the upload fails for now.
    proxy.tamper(&puts_of_the_original, usize::MAX);
    let e = c
        .upload_bytes(
            bytes.clone(),
            photo_metadata(LIANDU, "DSCN0010.jpg"),
            once.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status().unwrap().code(), Code::Unavailable, "{e:?}");
    assert!(proxy.tampered() >= 2, "{} puts damaged", proxy.tampered());
    assert_eq!(s3.refused(), proxy.tampered(), "each damaged body refused");
    assert!(!s3.keys().contains(&key), "{:?}", s3.keys());

    // Damaged once: the streamed put is refused, the put after it arrives
    // intact, and the store holds the photo as it was sent.
    proxy.tamper(&puts_of_the_original, 1);
    let refused = s3.refused();
    let e = c
        .upload_bytes(bytes.clone(), photo_metadata(LIANDU, "DSCN0010.jpg"), once)
        .await
        .unwrap();
    assert_eq!(s3.refused(), refused + 1);
    assert!(s3.keys().contains(&key));
    assert_eq!(e.sha256, sha);
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
    assert_eq!(std::fs::read(s3.path_of(&key)).unwrap(), bytes.to_vec());
}
