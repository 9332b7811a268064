//! Sign-in, refresh rotation, logout, and every way a token is refused.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ducha::auth::AccessClaims;
use ducha::auth::TrustedIssuer;
use ducha::domain::access::{Role, Scope};
use ducha_sdk::{Client, pb, retry_after};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;

use crate::support::units::LIANDU;
use crate::support::users::{self, PASSWORD};
use crate::support::{self, TestServer};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(srv: &TestServer, sub: &str) -> AccessClaims {
    AccessClaims {
        iss: srv.settings.tokens.issuer.clone(),
        sub: sub.into(),
        aud: srv.settings.tokens.audience.clone(),
        exp: now() + 600,
        nbf: Some(now() - 5),
        iat: Some(now() - 5),
        jti: uuid::Uuid::new_v4().to_string(),
        role: "viewer".into(),
        units: vec!["*".into()],
        sid: None,
        kind: None,
    }
}

fn server_key(srv: &TestServer) -> EncodingKey {
    EncodingKey::from_ed_pem(&std::fs::read(&srv.settings.tokens.signing_key).unwrap()).unwrap()
}

fn header(alg: Algorithm, kid: &str, typ: &str) -> Header {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    h.typ = Some(typ.into());
    h
}

fn sign_as_server(srv: &TestServer, c: &AccessClaims) -> String {
    let h = header(Algorithm::EdDSA, srv.app.keys.signing_kid(), "at+jwt");
    jsonwebtoken::encode(&h, c, &server_key(srv)).unwrap()
}

/// Who the server takes `token` for.
async fn who_am_i(srv: &TestServer, token: &str) -> Result<pb::WhoAmIResponse, tonic::Status> {
    let c = Client::builder(srv.url.clone())
        .token(token)
        .connect()
        .await
        .unwrap();
    users::who_am_i(&c).await
}

async fn refused(srv: &TestServer, token: &str, why: &str) {
    let err = who_am_i(srv, token).await.expect_err(why);
    assert_eq!(err.code(), Code::Unauthenticated, "{why}: {err:?}");
}

#[tokio::test]
async fn login_gives_tokens_that_identify_the_user() {
    let srv = support::spawn().await;
    let (client, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let me = users::who_am_i(&client).await.unwrap();
    assert_eq!(me.subject, name);
    assert_eq!(me.role, pb::Role::Inspector as i32);
    assert_eq!(me.unit_codes, vec![LIANDU]);
    assert!(!me.all_units);
    // Access tokens are short-lived: 15 minutes.
    let left = me.expire_time.unwrap().seconds - now();
    assert!((14 * 60..=15 * 60).contains(&left), "{left}");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let srv = support::spawn().await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let c = srv.anonymous().await;
    let a = c.login(&name, "not the password").await.unwrap_err();
    let b = c
        .login("nobody-at-all", "not the password")
        .await
        .unwrap_err();
    let (a, b) = (a.status().unwrap(), b.status().unwrap());
    assert_eq!(a.code(), Code::Unauthenticated);
    assert_eq!((a.code(), a.message()), (b.code(), b.message()));
}

#[tokio::test]
async fn repeated_failures_slow_down_logins_for_that_username_whether_it_exists_or_not() {
    let srv = support::spawn().await;
    let (_, name) = srv.user(Role::Inspector, &[LIANDU]).await;
    let c = srv.anonymous().await;
    for user in [name.as_str(), "ghost"] {
        for _ in 0..5 {
            let e = c.login(user, "wrong password!").await.unwrap_err();
            assert_eq!(e.status().unwrap().code(), Code::Unauthenticated);
        }
        // The sixth attempt, even with the right password, must wait.
        let e = c.login(user, PASSWORD).await.unwrap_err();
        let s = e.status().unwrap();
        assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
        assert!(retry_after(s).is_some_and(|d| d.as_secs() <= 1), "{s:?}");
    }
    // Another username is not affected.
    let (_, other) = srv.user(Role::Viewer, &["*"]).await;
    srv.anonymous().await.login(&other, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let srv = support::spawn().await;
    let (client, _) = srv.user(Role::Inspector, &[LIANDU]).await;
    let anon = srv.anonymous().await;
    let first = client
        .login(&client_name(&client).await, PASSWORD)
        .await
        .unwrap();
    let second = anon
        .auth()
        .refresh(pb::RefreshRequest {
            refresh_token: first.refresh_token.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    who_am_i(&srv, &second.access_token).await.unwrap();

    // The first refresh token is spent; presenting it again is theft.
    let e = anon
        .auth()
        .refresh(pb::RefreshRequest {
            refresh_token: first.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("already used"), "{e:?}");
    // Every token of the session is now dead: the rotated refresh token and
    // the access tokens.
    let e = anon
        .auth()
        .refresh(pb::RefreshRequest {
            refresh_token: second.refresh_token,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    refused(
        &srv,
        &second.access_token,
        "access token of a revoked session",
    )
    .await;
    refused(
        &srv,
        &first.access_token,
        "first access token of a revoked session",
    )
    .await;
}

async fn client_name(c: &Client) -> String {
    users::who_am_i(c).await.unwrap().subject
}

#[tokio::test]
async fn logout_ends_the_session() {
    let srv = support::spawn().await;
    let (client, _) = srv.user(Role::Viewer, &["*"]).await;
    let token = client.access_token().await.unwrap();
    client.logout().await.unwrap();
    refused(&srv, &token, "access token after logout").await;
}

#[tokio::test]
async fn sdk_refreshes_the_access_token_before_it_expires() {
    // Tokens that live 30 s are always inside the SDK's refresh margin, so
    // every call refreshes first.
    let srv =
        support::spawn_with(|l| l.sessions.access_token_ttl = std::time::Duration::from_secs(30))
            .await;
    let (client, name) = srv.user(Role::Viewer, &["*"]).await;
    let t1 = client.access_token().await.unwrap();
    assert_eq!(client_name(&client).await, name);
    let t2 = client.access_token().await.unwrap();
    assert_ne!(t1, t2, "the SDK did not refresh");
    assert_eq!(client_name(&client).await, name);
}

#[tokio::test]
async fn disabled_account_is_refused_at_once() {
    let srv = support::spawn().await;
    let (client, name) = srv.user(Role::Viewer, &["*"]).await;
    let token = client.access_token().await.unwrap();
    srv.app.disable_user(&name).await.unwrap();
    refused(&srv, &token, "token of a disabled user").await;
    let e = srv
        .anonymous()
        .await
        .login(&name, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.status().unwrap().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn every_bad_token_is_unauthenticated() {
    let srv = support::spawn().await;
    let anon = srv.anonymous().await;
    let e = users::who_am_i(&anon).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "no token");

    // A well-formed token of the server's own is accepted, as the control.
    let good = claims(&srv, "probe");
    who_am_i(&srv, &sign_as_server(&srv, &good)).await.unwrap();

    let mut c = claims(&srv, "probe");
    c.exp = now() - 120;
    refused(&srv, &sign_as_server(&srv, &c), "expired").await;

    let mut c = claims(&srv, "probe");
    c.nbf = Some(now() + 600);
    refused(&srv, &sign_as_server(&srv, &c), "not yet valid").await;

    let mut c = claims(&srv, "probe");
    c.aud = "another-service".into();
    refused(&srv, &sign_as_server(&srv, &c), "wrong audience").await;

    let mut c = claims(&srv, "probe");
    c.iss = "someone-else".into();
    refused(&srv, &sign_as_server(&srv, &c), "wrong issuer").await;

    let mut c = claims(&srv, "probe");
    c.role = "superuser".into();
    refused(&srv, &sign_as_server(&srv, &c), "unknown role").await;

    // Signed by another key under the server's key id.
    let other = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let h = header(Algorithm::EdDSA, srv.app.keys.signing_kid(), "at+jwt");
    let forged =
        jsonwebtoken::encode(&h, &good, &EncodingKey::from_ed_der(other.as_ref())).unwrap();
    refused(&srv, &forged, "wrong signature").await;

    // Tampered payload under a valid signature.
    let token = sign_as_server(&srv, &good);
    let parts: Vec<&str> = token.split('.').collect();
    let mut evil = good.clone();
    evil.role = "admin".into();
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&evil).unwrap());
    refused(
        &srv,
        &format!("{}.{}.{}", parts[0], body, parts[2]),
        "tampered payload",
    )
    .await;

    // alg none, with and without a signature part.
    let none_header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#,
        srv.app.keys.signing_kid()
    ));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good).unwrap());
    refused(&srv, &format!("{none_header}.{payload}."), "alg none").await;
    refused(
        &srv,
        &format!("{none_header}.{payload}"),
        "alg none, two parts",
    )
    .await;

    // HS256 keyed with the server's public key, in every form an attacker
    // could find it.
    let jwks = srv.app.keys.public_jwks();
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_string();
    let raw = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [x.as_bytes().to_vec(), raw] {
        let h = header(Algorithm::HS256, srv.app.keys.signing_kid(), "at+jwt");
        let t = jsonwebtoken::encode(&h, &good, &EncodingKey::from_secret(&secret)).unwrap();
        refused(&srv, &t, "HS256 with the public key").await;
    }

    // Not an access token, and an unknown key id.
    let h = header(Algorithm::EdDSA, srv.app.keys.signing_kid(), "JWT");
    refused(
        &srv,
        &jsonwebtoken::encode(&h, &good, &server_key(&srv)).unwrap(),
        "typ JWT",
    )
    .await;
    let h = header(Algorithm::EdDSA, "unknown-kid", "at+jwt");
    refused(
        &srv,
        &jsonwebtoken::encode(&h, &good, &server_key(&srv)).unwrap(),
        "unknown kid",
    )
    .await;
    refused(&srv, "not-a-jwt", "garbage").await;
}

#[tokio::test]
async fn revoked_service_token_is_refused_on_the_next_call() {
    let srv = support::spawn().await;
    let t = srv
        .app
        .issue_service_token(
            &srv.app.keys,
            "reporting-app",
            Role::Viewer,
            &Scope::All,
            std::time::Duration::from_secs(86400),
        )
        .await
        .unwrap();
    let me = who_am_i(&srv, &t.token).await.unwrap();
    assert_eq!(me.subject, "reporting-app");
    assert!(me.all_units);
    assert!(srv.app.revoke_token(&t.jti).await.unwrap());
    refused(&srv, &t.token, "revoked service token").await;
}

fn ed25519_spki_pem(public: &[u8]) -> String {
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(public);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}

#[tokio::test]
async fn tokens_of_a_configured_external_issuer_are_accepted() {
    let keydir = tempfile::tempdir().unwrap();
    let pem_key = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pem_pair = Ed25519KeyPair::from_pkcs8(pem_key.as_ref()).unwrap();
    let pem_path = keydir.path().join("city-idp-2026.pem");
    std::fs::write(&pem_path, ed25519_spki_pem(pem_pair.public_key().as_ref())).unwrap();
    let jwk_key = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let jwk_pair = Ed25519KeyPair::from_pkcs8(jwk_key.as_ref()).unwrap();
    let jwks_path = keydir.path().join("jwks.json");
    let x = URL_SAFE_NO_PAD.encode(jwk_pair.public_key().as_ref());
    std::fs::write(
        &jwks_path,
        format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"k-2026","x":"{x}"}}]}}"#
        ),
    )
    .unwrap();
    let issuer = "https://idp.lishui.example";
    let srv = support::spawn_with(|l| {
        l.tokens.trusted_issuers = vec![TrustedIssuer {
            issuer: issuer.into(),
            audience: None,
            jwks_file: Some(jwks_path.clone()),
            pem_files: vec![pem_path.clone()],
        }]
    })
    .await;
    let mut c = claims(&srv, "zhang.wei");
    c.iss = issuer.into();
    c.role = "supervisor".into();
    // Identity providers may leave out nbf, iat and jti.
    (c.nbf, c.iat, c.jti) = (None, None, String::new());
    for (kid, key) in [("city-idp-2026", &pem_key), ("k-2026", &jwk_key)] {
        let t = jsonwebtoken::encode(
            &header(Algorithm::EdDSA, kid, "JWT"),
            &c,
            &EncodingKey::from_ed_der(key.as_ref()),
        )
        .unwrap();
        let me = who_am_i(&srv, &t).await.unwrap();
        assert_eq!(
            (me.subject.as_str(), me.issuer.as_str()),
            ("zhang.wei", issuer)
        );
        assert_eq!(me.role, pb::Role::Supervisor as i32);
    }
    // The external key cannot speak for the server's own issuer.
    let mut own = c.clone();
    own.iss = srv.settings.tokens.issuer.clone();
    let t = jsonwebtoken::encode(
        &header(Algorithm::EdDSA, "k-2026", "JWT"),
        &own,
        &EncodingKey::from_ed_der(jwk_key.as_ref()),
    )
    .unwrap();
    refused(&srv, &t, "external key claiming the server's issuer").await;
}
