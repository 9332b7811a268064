//! Outages of the database and the object store, made by TCP proxies that
//! stop (refuse connections), freeze (accept and hold them, passing
//! nothing) and start again: health tells a load balancer within seconds,
//! both ways; every call answers UNAVAILABLE within the configured bound,
//! never INTERNAL and never a hang; nothing acknowledged is lost and
//! nothing is left half-written.

use std::time::Duration;

use ducha::domain::access::Role;
use ducha_sdk::{CallPolicy, Client, UploadOptions, pb};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::evidence::{photo, sha256};
use crate::support::{self, TestServer, create, proxy::Proxy, s3::S3Server, site_check};

const T0: i64 = 1_790_000_000; // 2026-09-21

/// The bound the issue sets for health to follow a fault or a recovery.
const HEALTH_WITHIN: Duration = Duration::from_secs(5);

/// The health service of a server, watched.
struct Health(HealthClient<Channel>);

impl Health {
    async fn of(srv: &TestServer) -> Health {
        let channel = Channel::from_shared(srv.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        Health(HealthClient::new(channel))
    }

    async fn now(&mut self, service: &str) -> ServingStatus {
        let r = self
            .0
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        ServingStatus::try_from(r.status).unwrap()
    }

    /// Waits, by the Watch stream, until `service` reports `want`; fails
    /// when that takes longer than the bound.
    async fn becomes(&mut self, service: &str, want: ServingStatus) {
        let mut updates = self
            .0
            .watch(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let reached = async {
            while let Some(u) = updates.next().await {
                if u.unwrap().status == want as i32 {
                    return;
                }
            }
            panic!("the health stream of '{service}' ended");
        };
        tokio::time::timeout(HEALTH_WITHIN, reached)
            .await
            .unwrap_or_else(|_| panic!("'{service}' was not {want:?} within {HEALTH_WITHIN:?}"));
    }
}

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
    let (_, name) = srv.user(Role::Inspector, &["331102"]).await;
    let c = once(&srv, &name).await;
    let mut health = Health::of(&srv).await;
    let before = support::create_record(&c, site_check("331102", T0)).await;
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
        let mut retried = create(site_check("331102", T0 + 3600));
        retried.request_id = uuid::Uuid::new_v4().to_string();
        let e = c
            .checks()
            .create_check_record(retried.clone())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{fault}: {e:?}");

        proxy.restart().await;
        health.becomes("", ServingStatus::Serving).await;
        assert_eq!(
            health.now("ducha.v1.EvidenceService").await,
            ServingStatus::Serving
        );
        // The retry makes the record once; what was there before is there.
        let made = c
            .checks()
            .create_check_record(retried.clone())
            .await
            .unwrap()
            .into_inner()
            .check_record
            .unwrap();
        let again = c
            .checks()
            .create_check_record(retried)
            .await
            .unwrap()
            .into_inner()
            .check_record
            .unwrap();
        assert_eq!(made.id, again.id, "{fault}");
        c.checks()
            .get_check_record(pb::GetCheckRecordRequest {
                id: before.id.clone(),
            })
            .await
            .unwrap();
    }
    let all = c
        .checks()
        .list_check_records(pb::ListCheckRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .check_records;
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
    let (_, name) = srv.user(Role::Inspector, &["331102"]).await;
    let c = once(&srv, &name).await;
    let mut health = Health::of(&srv).await;
    let first = crate::evidence::upload(&c, "331102", &photo())
        .await
        .unwrap();
    let opts = || UploadOptions {
        max_retries: 0,
        first_backoff: Duration::from_millis(10),
        ..Default::default()
    };
    let meta = || ducha_sdk::UploadMetadata {
        unit_code: "331102".into(),
        media_type: "image/jpeg".into(),
        file_name: "DSCN0021.jpg".into(),
        capture: None,
    };

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
        support::create_record(&c, site_check("331102", T0 + n as i64 * 3600)).await;

        // An upload answers UNAVAILABLE within the object store's timeout
        // and keeps nothing it did not store.
        let bytes = crate::support::photos::unique(&support::fixture("DSCN0021.jpg"), n as u64);
        let e = c
            .upload_bytes(bytes.clone().into(), meta(), opts())
            .await
            .unwrap_err();
        let status = e.status().expect("an answer of the server");
        assert_eq!(status.code(), Code::Unavailable, "{fault}: {e:?}");
        let e = crate::evidence::download(&c, &first.id).await.unwrap_err();
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
        assert_eq!(
            crate::evidence::download(&c, &e.id).await.unwrap(),
            bytes,
            "{fault}"
        );
    }
}
