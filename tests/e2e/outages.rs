//! Outages of the database and the object store, made by TCP proxies that
//! stop (refuse connections), freeze (accept and hold them, passing
//! nothing) and start again: health tells a load balancer within seconds,
//! both ways; every call answers UNAVAILABLE within the configured bound,
//! never INTERNAL and never a hang; nothing acknowledged is lost and
//! nothing is left half-written.

use std::time::Duration;

use ducha::domain::access::Role;
use ducha_sdk::{CallPolicy, Client, UploadOptions, pb};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::checks::{
    T0, create, create_record, create_with, get_record, list_records, site_check,
};
use crate::support::evidence::{download, fixture, photo, photo_metadata, sha256, upload};
use crate::support::grpc::Health;
use crate::support::proxy::Proxy;
use crate::support::s3::S3Server;
use crate::support::units::LIANDU;
use crate::support::{self, TestServer};

/// A client that tries each call once, so that its answer is the server's.
async fn once(srv: &TestServer, name: &str) -> Client {
    let policy = CallPolicy {
        max_attempts: 1,
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    srv.sign_in(&srv.url, name, policy).await
}

/// `url` of PostgreSQL with its host and port replaced by `address`.
fn through(url: &str, address: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let credentials = authority
        .rsplit_once('@')
        .map(|(c, _)| format!("{c}@"))
        .unwrap_or_default();
    format!("{scheme}://{credentials}{address}/{path}")
}

#[tokio::test]
async fn a_database_outage_is_seen_and_bounded_on_postgresql() {
    if std::env::var("DUCHA_TEST_DATABASE_URL").is_err() {
        eprintln!("runs on PostgreSQL only: set DUCHA_TEST_DATABASE_URL");
        return;
    }
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let address = proxy.address();
    let srv = support::spawn_with(|l| {
        let db = &mut l.database;
        db.database_url = db.database_url.as_deref().map(|u| through(u, &address));
        db.database_timeout = Duration::from_secs(1);
        l.server.health_probe_interval = Duration::from_millis(250);
    })
    .await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let c = once(&srv, &name).await;
    let mut health = Health::of(&srv.url).await;
    let before = create_record(&c, site_check(LIANDU, T0)).await;
    assert_eq!(health.now("").await, ServingStatus::Serving);

    for fault in ["stopped", "frozen"] {
        match fault {
            "stopped" => proxy.stop(),
            _ => proxy.freeze(),
        }
        // Every service needs the database.
        health.becomes("", ServingStatus::NotServing).await;
        for service in ["ducha.v1.CheckService", "ducha.v1.EvidenceService"] {
            assert_eq!(
                health.now(service).await,
                ServingStatus::NotServing,
                "{fault}"
            );
        }
        // Calls answer UNAVAILABLE within the database timeout (the client
        // would wait 30 s), however far they got.
        let e = c
            .checks()
            .get_check_record(pb::GetCheckRecordRequest {
                id: before.id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{fault}: {e:?}");
        let mut retried = create(site_check(LIANDU, T0 + 3600));
        retried.request_id = uuid::Uuid::new_v4().to_string();
        let e = create_with(&c, retried.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{fault}: {e:?}");

        proxy.restart().await;
        health.becomes("", ServingStatus::Serving).await;
        assert_eq!(
            health.now("ducha.v1.EvidenceService").await,
            ServingStatus::Serving
        );
        // The retry makes the record once; what was there before is there.
        let made = create_with(&c, retried.clone()).await.unwrap();
        let again = create_with(&c, retried).await.unwrap();
        assert_eq!(made.id, again.id, "{fault}");
        get_record(&c, &before.id).await;
    }
    let all = list_records(&c, Default::default()).await;
    assert_eq!(all.len(), 3, "one before, one after each outage");
    // Nothing half-written: the audit chain holds.
    let admin = srv.client(Role::Admin, &["*"]).await;
    let chain = admin
        .audit()
        .verify_chain(pb::VerifyChainRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(chain.intact, "{chain:?}");
}

#[tokio::test]
async fn an_object_store_outage_stops_evidence_only_and_is_bounded() {
    let s3 = S3Server::start().await;
    let proxy = Proxy::start(&s3.endpoint).await;
    let srv = support::spawn_with(|l| {
        s3.configure(l);
        l.object_store.s3_endpoint = Some(proxy.url.clone());
        l.object_store.s3_connect_timeout = Duration::from_millis(500);
        l.object_store.s3_timeout = Duration::from_secs(1);
        l.server.health_probe_interval = Duration::from_millis(250);
        l.jobs.derivative_workers = Some(0);
    })
    .await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let c = once(&srv, &name).await;
    let mut health = Health::of(&srv.url).await;
    let first = upload(&c, LIANDU, &photo()).await.unwrap();
    let opts = || UploadOptions {
        max_retries: 0,
        first_backoff: Duration::from_millis(10),
        ..Default::default()
    };
    let meta = || photo_metadata(LIANDU, "DSCN0021.jpg");

    for (n, fault) in ["stopped", "frozen"].into_iter().enumerate() {
        match fault {
            "stopped" => proxy.stop(),
            _ => proxy.freeze(),
        }
        health
            .becomes("ducha.v1.EvidenceService", ServingStatus::NotServing)
            .await;
        // The rest of the server works on: draining every replica for the
        // one store all share would stop everything.
        assert_eq!(health.now("").await, ServingStatus::Serving, "{fault}");
        assert_eq!(
            health.now("ducha.v1.CheckService").await,
            ServingStatus::Serving
        );
        create_record(&c, site_check(LIANDU, T0 + n as i64 * 3600)).await;

        // An upload answers UNAVAILABLE within the object store's timeout
        // and keeps nothing it did not store.
        let bytes = support::photos::unique(&fixture("DSCN0021.jpg"), n as u64);
        let e = c
            .upload_bytes(bytes.clone().into(), meta(), opts())
            .await
            .unwrap_err();
        let status = e.status().expect("an answer of the server");
        assert_eq!(status.code(), Code::Unavailable, "{fault}: {e:?}");
        let e = download(&c, &first.id).await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{fault}: {e:?}");

        proxy.restart().await;
        health
            .becomes("ducha.v1.EvidenceService", ServingStatus::Serving)
            .await;
        // The same photo again resumes the upload it began and arrives whole.
        let e = c
            .upload_bytes(bytes.clone().into(), meta(), opts())
            .await
            .unwrap();
        assert_eq!(e.sha256, sha256(&bytes));
        assert_eq!(download(&c, &e.id).await.unwrap(), bytes, "{fault}");
    }
}
