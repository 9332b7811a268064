//! The `ducha` binary: serve in an empty folder, accounts and tokens from
//! the command line, graceful stop on SIGTERM, data kept across restarts.

use ducha_sdk::Client;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::checks::{T0, create_record, get_record, site_check};
use crate::support::cli::{BIN, ducha, run, run_with, serve, terminate};
use crate::support::db::TestDb;
use crate::support::evidence::{download, finish, photo, send, start, upload_status};
use crate::support::grpc::{health, reflected_services};
use crate::support::units::LIANDU;
use crate::support::users::{PASSWORD, who_am_i};

/// Adds the inspector li.na of Liandu (the password on standard input).
const ADD_LI_NA: &[&str] = &[
    "user",
    "add",
    "--username",
    "li.na",
    "--role",
    "inspector",
    "--unit",
    LIANDU,
];

#[tokio::test]
async fn serve_in_an_empty_folder_then_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let (server, url) = serve(dir.path(), &db).await;
    assert_eq!(health(&url, "").await, ServingStatus::Serving);
    let (v1, _) = reflected_services(&url).await;
    assert!(v1.iter().any(|s| s == "ducha.v1.CheckService"), "{v1:?}");
    assert!(
        dir.path()
            .join("ducha-data/keys/token-signing.pem")
            .exists()
    );
    if db.url.is_none() {
        assert!(dir.path().join("ducha-data/ducha.db").exists());
    }

    // An account made from the command line, password on standard input.
    let (ok, _, err) = run(dir.path(), &db, ADD_LI_NA, &format!("{PASSWORD}\n")).await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        dir.path(),
        &db,
        &[
            "user",
            "add",
            "--username",
            "wang",
            "--role",
            "inspector",
            "--unit",
            LIANDU,
        ],
        "short\n",
    )
    .await;
    assert!(!ok && err.contains("at least 10 characters"), "{err}");

    let client = Client::connect(url.clone()).await.unwrap();
    client.login("li.na", PASSWORD).await.unwrap();

    // A new password ends the old sessions; disabling ends the account.
    let newer = "a new and longer password";
    let (ok, _, err) = run(
        dir.path(),
        &db,
        &["user", "passwd", "--username", "li.na"],
        &format!("{newer}\n"),
    )
    .await;
    assert!(ok, "{err}");
    let e = who_am_i(&client).await.unwrap_err();
    assert_eq!(
        e.code(),
        tonic::Code::Unauthenticated,
        "session survived a password change"
    );
    assert!(client.login("li.na", PASSWORD).await.is_err());
    client.login("li.na", newer).await.unwrap();
    let (ok, _, err) = run(
        dir.path(),
        &db,
        &[
            "user",
            "add",
            "--username",
            "gone",
            "--role",
            "viewer",
            "--all-units",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        dir.path(),
        &db,
        &["user", "disable", "--username", "gone"],
        "",
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        Client::connect(url.clone())
            .await
            .unwrap()
            .login("gone", PASSWORD)
            .await
            .is_err()
    );

    let rec = create_record(&client, site_check(LIANDU, T0)).await;
    terminate(server).await;

    let (server, url) = serve(dir.path(), &db).await;
    let client = Client::connect(url).await.unwrap();
    client.login("li.na", newer).await.unwrap();
    let got = get_record(&client, &rec.id).await;
    assert_eq!(got, rec);
    terminate(server).await;
}

#[tokio::test]
async fn tokens_minted_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let (server, url) = serve(dir.path(), &db).await;
    let (ok, token, err) = run(
        dir.path(),
        &db,
        &[
            "token",
            "issue",
            "--subject",
            "city-dashboard",
            "--role",
            "viewer",
            "--all-units",
            "--ttl",
            "30d",
        ],
        "",
    )
    .await;
    assert!(ok, "{err}");
    let jti = err
        .lines()
        .find_map(|l| l.strip_prefix("token id "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token id in {err}"))
        .to_string();
    let app = Client::builder(url.clone())
        .token(token.trim())
        .connect()
        .await
        .unwrap();
    let me = who_am_i(&app).await.unwrap();
    assert_eq!(me.subject, "city-dashboard");
    let left = me.expire_time.unwrap().seconds - chrono::Utc::now().timestamp();
    assert!((29 * 86400..=30 * 86400).contains(&left), "{left}");

    let (ok, _, err) = run(dir.path(), &db, &["token", "revoke", "--id", &jti], "").await;
    assert!(ok, "{err}");
    let e = who_am_i(&app).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);

    let (ok, _, err) = run(
        dir.path(),
        &db,
        &[
            "token",
            "issue",
            "--subject",
            "x",
            "--role",
            "root",
            "--all-units",
        ],
        "",
    )
    .await;
    assert!(!ok && err.contains("unknown role"), "{err}");
    terminate(server).await;
}

#[tokio::test]
async fn serve_help_lists_every_setting() {
    let out = std::process::Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DUCHA_DATA_DIR",
        "DUCHA_LISTEN_ADDR",
        "DUCHA_DATABASE_URL",
        "DUCHA_S3_ENDPOINT",
        "DUCHA_S3_BUCKET",
        "DUCHA_S3_REGION",
        "DUCHA_S3_ACCESS_KEY_ID",
        "DUCHA_S3_SECRET_ACCESS_KEY",
        "DUCHA_S3_PATH_STYLE",
        "DUCHA_REFLECTION",
        "DUCHA_CONFIG",
    ] {
        assert!(help.contains(var), "{var} missing from serve --help");
    }
    for group in ["Database", "Object store", "Tokens", "Server", "Uploads"] {
        assert!(
            help.contains(&format!("\n{group}:\n")),
            "no {group} heading in serve --help"
        );
    }
}

/// A command refuses the flags of settings it does not take, and leaves
/// alone their environment variables: one environment serves every
/// command.
#[tokio::test]
async fn each_command_takes_only_the_settings_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    for args in [
        vec!["migrate", "--s3-bucket", "evidence"],
        vec!["migrate", "--listen-addr", "127.0.0.1:1"],
        [ADD_LI_NA, &["--upload-ttl", "1d"]].concat(),
        [ADD_LI_NA, &["--s3-bucket", "evidence"]].concat(),
        vec!["token", "revoke", "--id", "x", "--signing-key", "k.pem"],
        vec!["audit", "verify", "--personal-data-keys", "keys.toml"],
        vec!["token", "jwks", "--database-url", "sqlite://elsewhere.db"],
        vec!["personal-data", "add-key", "--log-format", "json"],
    ] {
        let (ok, _, err) = run(dir.path(), &db, &args, &format!("{PASSWORD}\n")).await;
        let flag = args[args.len() - 2];
        assert!(
            !ok && err.contains(&format!("unexpected argument '{flag}'")),
            "{args:?}: {err}"
        );
    }
    assert!(
        !dir.path().join("ducha-data").exists(),
        "a refused command ran"
    );

    // Not even valid: migrate reads none of them.
    let out = ducha(dir.path(), &db)
        .arg("migrate")
        .env("DUCHA_S3_BUCKET", "evidence")
        .env("DUCHA_UPLOAD_TTL", "soon")
        .env("DUCHA_LISTEN_ADDR", "nowhere")
        .env("DUCHA_SIGNING_KEY", "file-key.pem")
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("database is up to date"), "{err}");
    assert!(!dir.path().join("file-key.pem").exists());
    assert!(!dir.path().join("ducha-data/objects").exists());

    // An account is made with the database alone: no object store is
    // opened, no key is made, whatever the environment says of them.
    let (ok, _, err) = run_with(
        dir.path(),
        &db,
        ADD_LI_NA,
        &format!("{PASSWORD}\n"),
        &[
            ("DUCHA_S3_BUCKET", "evidence"),
            ("DUCHA_S3_ENDPOINT", "http://127.0.0.1:1"),
            ("DUCHA_SIGNING_KEY", "file-key.pem"),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("user li.na added"), "{err}");
    assert!(!dir.path().join("file-key.pem").exists());
    assert!(!dir.path().join("ducha-data/objects").exists());
    assert!(
        !dir.path().join("ducha-data/keys").exists(),
        "a key was made"
    );
}

#[tokio::test]
async fn environment_wins_over_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    std::fs::write(
        dir.path().join("ducha.toml"),
        "data_dir = \"from-file\"\nlisten_addr = \"127.0.0.1:1\"\nsigning_key = \"file-key.pem\"\n",
    )
    .unwrap();
    let out = ducha(dir.path(), &db)
        .args(["migrate", "--config", "ducha.toml"])
        .env("DUCHA_DATA_DIR", "from-env")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("from-env").is_dir(),
        "environment did not win"
    );
    assert!(!dir.path().join("from-file").exists());
    // migrate takes no token settings: the file's signing key is not its
    // business, nor is the listen address; a command that takes the
    // tokens reads the same file.
    assert!(!dir.path().join("file-key.pem").exists());
    let out = ducha(dir.path(), &db)
        .args(["token", "jwks", "--config", "ducha.toml"])
        .env("DUCHA_DATA_DIR", "from-env")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("file-key.pem").exists(),
        "a setting only in the file was ignored"
    );

    std::fs::write(dir.path().join("bad.toml"), "data_dri = \"typo\"\n").unwrap();
    let out = ducha(dir.path(), &db)
        .args(["migrate", "--config", "bad.toml"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data_dri"),
        "unknown keys are named"
    );
}

#[tokio::test]
async fn upload_resumes_after_the_server_process_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let (ok, _, err) = run(
        dir.path(),
        &db,
        &[
            "user",
            "add",
            "--username",
            "zhou",
            "--role",
            "inspector",
            "--unit",
            LIANDU,
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(ok, "{err}");
    let (mut server, url) = serve(dir.path(), &db).await;
    let c = Client::connect(url).await.unwrap();
    c.login("zhou", PASSWORD).await.unwrap();
    let bytes = photo();
    let up = start(&c, LIANDU, &bytes).await;
    let half = bytes.len() / 2;
    assert_eq!(
        send(&c, &up.id, &bytes[..half], 0, 20_000).await,
        half as i64
    );

    // SIGKILL: no shutdown, nothing flushed on the way out.
    server.kill().await.unwrap();

    let (server, url) = serve(dir.path(), &db).await;
    let c = Client::connect(url).await.unwrap();
    c.login("zhou", PASSWORD).await.unwrap();
    let status = upload_status(&c, &up.id).await.unwrap();
    assert_eq!(status.committed_offset, half as i64);
    send(&c, &up.id, &bytes, half, 20_000).await;
    let e = finish(&c, &up.id).await.unwrap();
    assert_eq!(download(&c, &e.id).await.unwrap(), bytes.to_vec());
    terminate(server).await;
}
