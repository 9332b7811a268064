//! Health, reflection, gRPC-Web and restarts of an in-process server.

use ducha::domain::access::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support;
use crate::support::checks::{T0, create_record, get_record, site_check};
use crate::support::grpc::{channel, health, reflected_services};
use crate::support::units::LIANDU;

#[tokio::test]
async fn health_and_reflection_are_served() {
    let srv = support::spawn().await;
    assert_eq!(health(&srv.url, "").await, ServingStatus::Serving);
    assert_eq!(
        health(&srv.url, "ducha.v1.CheckService").await,
        ServingStatus::Serving
    );
    let (v1, v1alpha) = reflected_services(&srv.url).await;
    for names in [&v1, &v1alpha] {
        for s in [
            "ducha.v1.AuthService",
            "ducha.v1.UnitService",
            "ducha.v1.CheckService",
            "grpc.health.v1.Health",
        ] {
            assert!(names.iter().any(|n| n == s), "{s} missing from {names:?}");
        }
    }
}

#[tokio::test]
async fn reflection_can_be_turned_off() {
    let srv = support::spawn_with(|l| l.server.reflection = false).await;
    let channel = channel(&srv.url).await;
    let req = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let e =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented);
}

#[tokio::test]
async fn grpc_web_over_http1() {
    let srv = support::spawn().await;
    let addr = srv.url.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    // An empty HealthCheckRequest in a gRPC-Web frame: flag 0, length 0.
    let body = [0u8, 0, 0, 0, 0];
    let head = format!(
        "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&body).await.unwrap();
    let mut answer = Vec::new();
    sock.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("application/grpc-web"), "{text}");
    // Data frame with HealthCheckResponse{status: SERVING}, then trailers.
    assert!(
        answer.windows(7).any(|w| w == [0, 0, 0, 0, 2, 8, 1]),
        "{answer:?}"
    );
    assert!(text.contains("grpc-status:0"), "{text}");
}

/// The preflight a browser makes before a gRPC-Web call from `origin`:
/// the answer's head, lower-cased.
async fn preflight(srv: &support::TestServer, origin: &str) -> String {
    let addr = srv.url.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "OPTIONS /ducha.v1.AuthService/WhoAmI HTTP/1.1\r\nHost: {addr}\r\norigin: {origin}\r\naccess-control-request-method: POST\r\naccess-control-request-headers: authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout\r\nconnection: close\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    sock.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).to_lowercase()
}

/// A browser app on an allowed origin may send its token: the headers it
/// may send are named (a `*` would not cover Authorization), and the
/// answer may be kept for two hours; another origin is not allowed.
#[tokio::test]
async fn browsers_of_allowed_origins_may_send_their_token() {
    let app = "https://app.lishui.example";
    let srv = support::spawn_with(|l| l.server.grpc_web_origins = vec![app.into()]).await;
    let text = preflight(&srv, app).await;
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(
        text.contains(&format!("access-control-allow-origin: {app}")),
        "{text}"
    );
    let allowed = text
        .lines()
        .find_map(|l| l.strip_prefix("access-control-allow-headers:"))
        .unwrap_or_else(|| panic!("no allowed headers: {text}"));
    let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
    for h in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
    ] {
        assert!(allowed.contains(&h), "{h} not in {allowed:?}");
    }
    assert!(!allowed.contains(&"*"), "{allowed:?}");
    assert!(text.contains("access-control-max-age: 7200"), "{text}");

    let other = preflight(&srv, "https://elsewhere.example").await;
    assert!(!other.contains("access-control-allow-origin"), "{other}");
}

#[tokio::test]
async fn restart_keeps_records_and_sessions() {
    let srv = support::spawn().await;
    let (inspector, _) = srv.user(Role::Inspector, &[LIANDU]).await;
    let rec = create_record(&inspector, site_check(LIANDU, T0)).await;
    let token = inspector.access_token().await.unwrap();

    let srv = srv.restart().await;
    let again = ducha_sdk::Client::builder(srv.url.clone())
        .token(token)
        .connect()
        .await
        .unwrap();
    let got = get_record(&again, &rec.id).await;
    assert_eq!(got, rec);
}

#[tokio::test]
async fn shutdown_serves_calls_in_flight_then_stops() {
    let mut srv =
        support::spawn_with(|l| l.server.shutdown_grace = std::time::Duration::from_secs(1)).await;
    let channel = channel(&srv.url).await;
    // A health watch is a call that stays in flight until the server goes.
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let status =
        |m: tonic_health::pb::HealthCheckResponse| ServingStatus::try_from(m.status).unwrap();
    assert_eq!(
        status(watch.message().await.unwrap().unwrap()),
        ServingStatus::Serving
    );

    srv.begin_stop();
    // The call in flight is still served while the server drains: it is
    // told the server is going away.
    assert_eq!(
        status(watch.message().await.unwrap().unwrap()),
        ServingStatus::NotServing
    );
    // The server stops by itself once the grace is over, and then refuses
    // connections.
    srv.stopped().await;
    let addr = srv.url.trim_start_matches("http://").to_string();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
