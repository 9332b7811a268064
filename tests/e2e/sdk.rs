//! The SDK over TLS, and its session.

use ducha::app::NewUser;
use ducha::domain::access::{Role, Scope};
use ducha_sdk::tonic::transport::{Certificate, ClientTlsConfig};
use ducha_sdk::{Client, pb};

use crate::support;
use crate::support::units::LIANDU;
use crate::support::users::{PASSWORD, who_am_i};

#[tokio::test]
async fn sdk_connects_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = ck.cert.pem();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let srv = support::spawn_with(|l| {
        l.server.tls_cert = Some(cert.clone());
        l.server.tls_key = Some(key.clone());
    })
    .await;
    srv.app
        .add_user(NewUser {
            username: "tls-user".into(),
            role: Role::Viewer,
            scope: Scope::All,
            password: PASSWORD.into(),
        })
        .await
        .unwrap();

    let https = srv.url.replace("http://", "https://");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let client = Client::builder(https.clone())
        .tls(tls)
        .connect()
        .await
        .unwrap();
    client.login("tls-user", PASSWORD).await.unwrap();
    let me = who_am_i(&client).await.unwrap();
    assert_eq!(me.subject, "tls-user");

    // Without trusting the certificate, the SDK refuses the server.
    let untrusted = Client::builder(https).tls(ClientTlsConfig::new().domain_name("localhost"));
    assert!(
        refused(untrusted).await,
        "an untrusted certificate was accepted"
    );
    // And the TLS port does not speak plain HTTP/2.
    assert!(refused(Client::builder(srv.url.clone())).await);
}

/// Whether connecting, or the first call, fails.
async fn refused(b: ducha_sdk::ClientBuilder) -> bool {
    match b.connect().await {
        Err(_) => true,
        Ok(c) => c.login("tls-user", PASSWORD).await.is_err(),
    }
}

#[tokio::test]
async fn a_client_whose_session_was_revoked_signs_in_again() {
    // Tokens this short are refreshed before every call.
    let srv =
        support::spawn_with(|l| l.sessions.access_token_ttl = std::time::Duration::from_secs(30))
            .await;
    let (c, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    // Someone presents the client's refresh token first: the whole session
    // is revoked when the client presents it again.
    let stolen = srv.anonymous().await;
    let tokens = c.login(&name, PASSWORD).await.unwrap();
    stolen
        .auth()
        .refresh(pb::RefreshRequest {
            refresh_token: tokens.refresh_token,
        })
        .await
        .unwrap();
    let e = who_am_i(&c).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    // Signing in again needs no refresh of the dead session.
    c.login(&name, PASSWORD).await.unwrap();
    let me = who_am_i(&c).await.unwrap();
    assert_eq!(me.subject, name);
}
