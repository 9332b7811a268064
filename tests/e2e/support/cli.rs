//! The `ducha` binary as its own process: `serve` until its "serving" log
//! line, and the command line's other commands run to completion.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::db::TestDb;

/// The `ducha` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_ducha");

/// `ducha` run in `dir` on `db`, logging JSON at info.
pub fn ducha(dir: &Path, db: &TestDb) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("DUCHA_DATA_DIR")
        .env("DUCHA_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .kill_on_drop(true);
    match &db.url {
        Some(u) => c.env("DUCHA_DATABASE_URL", u),
        None => c.env_remove("DUCHA_DATABASE_URL"),
    };
    c
}

/// Starts `ducha serve` on a free port and waits for its "serving" log line.
pub async fn serve(dir: &Path, db: &TestDb) -> (Child, String) {
    serve_with(dir, db, &[]).await
}

/// `serve` with more environment variables.
pub async fn serve_with(dir: &Path, db: &TestDb, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = ducha(dir, db)
        .envs(env.iter().copied())
        .args(["serve", "--listen-addr", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("server exited before serving");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "ducha serving gRPC and gRPC-Web" {
            break v["fields"]["addr"].as_str().unwrap().to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"))
}

/// Runs `ducha args…` in `dir` on `db` with `stdin`: whether it succeeded,
/// and what it wrote to stdout and stderr.
pub async fn run(dir: &Path, db: &TestDb, args: &[&str], stdin: &str) -> (bool, String, String) {
    run_with(dir, db, args, stdin, &[]).await
}

/// `run`, with environment variables `env` set too.
pub async fn run_with(
    dir: &Path,
    db: &TestDb,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut child = ducha(dir, db)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Sends SIGTERM to `child` and waits until it has exited cleanly.
pub async fn terminate(mut child: Child) {
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc_kill(pid, 15) }, 0);
    let status = child.wait().await.unwrap();
    assert!(
        status.success(),
        "ducha serve exited with {status} on SIGTERM"
    );
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
