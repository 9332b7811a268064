//! The event feed, webhooks, and overdue escalation with two server
//! processes on one database.

use aws_lc_rs::hmac;
use ducha::domain::access::Role;
use ducha_sdk::{Client, pb};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tonic::Code;

use crate::support;
use crate::support::checks::{T0, create_record, site_check};
use crate::support::cli::{run, serve_with};
use crate::support::dates::date_of;
use crate::support::db::TestDb;
use crate::support::events::{PATIENCE, next, watch};
use crate::support::findings::{a_finding, finding_of, get_finding, raise, team, team_on};
use crate::support::rectification::{acknowledge, assign, item, list_items};
use crate::support::refusals::violated_fields;
use crate::support::supervision::list_cases;
use crate::support::units::{LIANDU, QINGTIAN};
use crate::support::users::PASSWORD;

#[tokio::test]
async fn watch_resumes_without_gaps_or_duplicates() {
    let t = team().await;
    let f = a_finding(&t).await;
    // Four writers at once.
    let items = futures::future::join_all((0..4).map(|_| assign(&t.inspector, &f.id, item(5))))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    let mut feed = watch(&t.coordinator, 0, &[]).await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(next(&mut feed).await);
    }
    assert_eq!(seen[0].kind, "check_record.created");
    assert_eq!(seen[1].kind, "finding.created");
    assert!(
        seen[2..]
            .iter()
            .all(|e| e.kind == "rectification_item.create")
    );
    drop(feed);

    // More happens while nobody watches; the watcher comes back after the
    // last id it saw.
    for i in &items {
        acknowledge(&t.liaison, i).await.unwrap();
    }
    let mut feed = watch(&t.coordinator, seen.last().unwrap().id, &[]).await;
    for _ in 0..4 {
        seen.push(next(&mut feed).await);
    }
    let ids: Vec<i64> = seen.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=10).collect::<Vec<_>>());
    assert!(
        seen[6..]
            .iter()
            .all(|e| e.kind == "rectification_item.acknowledge")
    );
    let data: serde_json::Value = serde_json::from_str(&seen[6].data_json).unwrap();
    assert_eq!(data["to_state"], "in_progress");

    // New events reach a live watcher; kinds filter.
    let mut findings = watch(&t.coordinator, 10, &["finding."]).await;
    a_finding(&t).await;
    let e = next(&mut findings).await;
    assert_eq!((e.id, e.kind.as_str()), (12, "finding.created"));

    // Another unit's liaison sees none of Liandu's events: the first it
    // gets is its own unit's.
    let outsider = t.srv.client(Role::UnitLiaison, &[QINGTIAN]).await;
    let mut theirs = watch(&outsider, 0, &[]).await;
    let qingtian = t.srv.client(Role::Inspector, &[QINGTIAN]).await;
    let rec = create_record(&qingtian, site_check(QINGTIAN, T0)).await;
    let mut f = finding_of(QINGTIAN, &rec.id);
    f.title = "青田县某石材厂粉尘".into();
    raise(&qingtian, f).await.unwrap();
    let e = next(&mut theirs).await;
    assert_eq!(e.unit_code, QINGTIAN);
    assert_eq!((e.id, e.kind.as_str()), (13, "check_record.created"));
}

/// A receiver on loopback that answers each request with the next of
/// `statuses` (then 200), and reports what it received.
async fn receiver(
    statuses: Vec<u16>,
) -> (
    String,
    mpsc::UnboundedReceiver<(Vec<(String, String)>, Vec<u8>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let (conn, _) = listener.accept().await.unwrap();
            let mut conn = BufReader::new(conn);
            // Requests on this connection, one after another.
            loop {
                let mut headers = Vec::new();
                let mut line = String::new();
                if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                loop {
                    line.clear();
                    conn.read_line(&mut line).await.unwrap();
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    let (k, v) = l.split_once(':').unwrap();
                    headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                conn.read_exact(&mut body).await.unwrap();
                let status = statuses.next().unwrap_or(200);
                let _ = tx.send((headers, body));
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                conn.get_mut().write_all(answer.as_bytes()).await.unwrap();
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_recorded() {
    let srv =
        support::spawn_with(|l| l.jobs.job_retry_delay = std::time::Duration::from_millis(100))
            .await;
    let t = team_on(srv).await;
    let admin = t.srv.client(Role::Admin, &["*"]).await;
    let (url, mut received) = receiver(vec![500]).await;

    let e = t
        .coordinator
        .events()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url: url.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = admin
        .events()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url: "ftp://example.org/".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["webhook.url"]);
    let created = admin
        .events()
        .create_webhook(pb::CreateWebhookRequest {
            webhook: Some(pb::Webhook {
                url,
                event_kinds: vec!["rectification_item.".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let hook = created.webhook.unwrap();
    assert_eq!(created.secret.len(), 64);

    // A finding (not asked for), then an item (asked for).
    let f = a_finding(&t).await;
    let i = assign(&t.inspector, &f.id, item(5)).await.unwrap();

    // Refused once with 500, then taken: the same body both times.
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let (headers, body) = tokio::time::timeout(PATIENCE, received.recv())
            .await
            .expect("a delivery within the patience")
            .unwrap();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, created.secret.as_bytes());
        let expected = format!("sha256={}", hex::encode(hmac::sign(&key, &body)));
        assert_eq!(header("x-ducha-signature"), expected);
        assert_eq!(header("x-ducha-event"), "rectification_item.create");
        bodies.push(body);
    }
    assert_eq!(bodies[0], bodies[1]);
    let event: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(event["kind"], "rectification_item.create");
    assert_eq!(event["subject_id"], i.id);
    assert_eq!(event["id"], 3);

    // Deliveries go in order: once the next event arrives, the outcome of
    // both attempts at this one is on record.
    acknowledge(&t.liaison, &i).await.unwrap();
    let (headers, _) = tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("a delivery within the patience")
        .unwrap();
    assert!(headers.contains(&(
        "x-ducha-event".into(),
        "rectification_item.acknowledge".into()
    )));
    let deliveries = admin
        .events()
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            webhook_id: hook.id.clone(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries;
    let mut outcomes: Vec<(i64, i32, bool, i32)> = deliveries
        .iter()
        .map(|d| (d.event_id, d.attempt, d.delivered, d.status_code))
        .collect();
    outcomes.sort();
    assert_eq!(outcomes[..2], [(3, 1, false, 500), (3, 2, true, 200)]);
    let hooks = admin
        .events()
        .list_webhooks(pb::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(hooks.len(), 1);
}

#[tokio::test]
async fn an_overdue_item_is_escalated_once_by_two_processes() {
    let srv = support::spawn_with(|l| {
        l.jobs.overdue_scan_interval = std::time::Duration::from_millis(50)
    })
    .await;
    let twin = srv.twin().await;
    let t = team_on(srv).await;
    let f = a_finding(&t).await;
    let items = futures::future::join_all((0..3).map(|_| assign(&t.inspector, &f.id, item(1))))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    let mut opened = watch(&t.coordinator, 0, &["supervision_case.opened"]).await;

    // Time passes: three deadlines are two days gone; then one more item,
    // due soon.
    let due = items.iter().map(|i| date_of(&i.due_date)).max().unwrap();
    t.srv.pass_beyond(due + chrono::Days::new(1));
    let soon = assign(&t.inspector, &f.id, item(1)).await.unwrap();
    let mut sources = Vec::new();
    for _ in 0..3 {
        let e = next(&mut opened).await;
        let data: serde_json::Value = serde_json::from_str(&e.data_json).unwrap();
        sources.push(data["source_id"].as_str().unwrap().to_string());
    }
    sources.sort();
    let mut want: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    want.sort();
    assert_eq!(sources, want);

    // Both processes scanning again at once open nothing more.
    let today = t.srv.today();
    let (a, b) = tokio::join!(
        t.srv.app.mark_overdue_items(today),
        twin.app.mark_overdue_items(today)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
    let cases = t
        .srv
        .raw_sql("UPDATE supervision_cases SET reason = reason")
        .await;
    assert_eq!(cases, 3);

    let overdue = list_items(
        &t.liaison,
        pb::ListRectificationItemsRequest {
            overdue_only: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(overdue.len(), 3);
    assert!(overdue.iter().all(|i| i.overdue));
    let due_soon = list_items(
        &t.liaison,
        pb::ListRectificationItemsRequest {
            due_within_days: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        due_soon.iter().map(|i| &i.id).collect::<Vec<_>>(),
        vec![&soon.id]
    );
    let f = get_finding(&t.coordinator, &f.id).await.unwrap();
    assert_eq!(f.overdue_item_count, 3);
}

#[tokio::test]
async fn the_sdk_follows_the_feed_across_a_broken_connection() {
    let t = team().await;
    let proxy = support::proxy::Proxy::start(&t.srv.url).await;
    let (_, name) = t.srv.user(Role::Coordinator, &["*"]).await;
    let far = Client::connect(proxy.url.clone()).await.unwrap();
    far.login(&name, PASSWORD).await.unwrap();
    let feed = far.follow_events(0, vec![]);
    tokio::pin!(feed);
    let mut next_event = async || {
        tokio::time::timeout(PATIENCE, feed.next())
            .await
            .expect("an event within the patience")
            .unwrap()
            .unwrap()
    };

    let f = a_finding(&t).await;
    let mut seen = vec![next_event().await.id, next_event().await.id];
    let before = proxy.connections();
    // The signal goes; meanwhile two items are assigned.
    proxy.cut_now();
    assign(&t.inspector, &f.id, item(5)).await.unwrap();
    assign(&t.inspector, &f.id, item(5)).await.unwrap();
    seen.push(next_event().await.id);
    seen.push(next_event().await.id);
    assert_eq!(seen, vec![1, 2, 3, 4]);
    // The last two came over a new connection.
    assert!(proxy.connections() > before);
}

/// Two `ducha serve` processes on one database, both scanning for overdue
/// items every 50 ms: every overdue item gets exactly one case. Time moves
/// by starting both again with their clocks set further on
/// (`DUCHA_TEST_CLOCK_OFFSET`).
#[tokio::test]
async fn two_server_processes_escalate_each_overdue_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let pair = |offset: &'static str| {
        let (dir, db) = (dir.path(), &db);
        async move {
            let env = [
                ("DUCHA_OVERDUE_SCAN_INTERVAL", "50ms"),
                ("DUCHA_TEST_CLOCK_OFFSET", offset),
            ];
            let (a, url_a) = serve_with(dir, db, &env).await;
            let (b, url_b) = serve_with(dir, db, &env).await;
            ((a, b), url_a, url_b)
        }
    };
    // Thirty days ago: four items are given deadlines.
    let (servers, _, url_b) = pair("-30d").await;
    for (name, role, unit) in [
        ("lin", "inspector", "--unit=331102"),
        ("zhou", "coordinator", "--all-units"),
    ] {
        let (ok, _, err) = run(
            dir.path(),
            &db,
            &["user", "add", "--username", name, "--role", role, unit],
            &format!("{}\n", PASSWORD),
        )
        .await;
        assert!(ok, "{err}");
    }
    let signed_in = |url: String, name: &'static str| async move {
        let c = Client::connect(url).await.unwrap();
        c.login(name, PASSWORD).await.unwrap();
        c
    };
    let inspector = signed_in(url_b.clone(), "lin").await;
    let rec = create_record(&inspector, site_check(LIANDU, T0)).await;
    let f = raise(&inspector, finding_of(LIANDU, &rec.id))
        .await
        .unwrap();
    let mut items = Vec::new();
    for days in [5, 5, 5, 15] {
        items.push(assign(&inspector, &f.id, item(days)).await.unwrap());
    }
    drop(servers);

    // Ten days on, three deadlines have passed: three cases, one each,
    // though both processes scan.
    let (servers, url_a, _) = pair("-20d").await;
    let coordinator = signed_in(url_a.clone(), "zhou").await;
    let mut opened = watch(&coordinator, 0, &["supervision_case.opened"]).await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(next(&mut opened).await);
    }
    drop(opened);
    drop(servers);

    // Today the fourth has passed too: the next case is its, and the
    // three get no second one.
    let (_servers, url_a, _) = pair("0s").await;
    let coordinator = signed_in(url_a, "zhou").await;
    let mut opened = watch(&coordinator, cases[2].id, &["supervision_case.opened"]).await;
    cases.push(next(&mut opened).await);
    let mut sources: Vec<String> = cases
        .iter()
        .map(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.data_json).unwrap();
            d["source_id"].as_str().unwrap().to_string()
        })
        .collect();
    sources.sort();
    let mut want: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    want.sort();
    assert_eq!(sources, want);
    let listed = list_cases(&coordinator, Default::default()).await;
    assert_eq!(listed.len(), 4);
}
