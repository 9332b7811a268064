//! What a phone sends to upload a 7.6 MB photo through the SDK over a slow
//! link (50 ms each way, 2 MiB/s, 64 KiB read ahead) that resets at random
//! points, `r` times per MiB on average: the mean and the worst ratio of
//! bytes sent to the photo's size over 20 seeds, for r = 0.15 and 0.6, on
//! the local folder and on S3, beside a baseline run with no resets. Each
//! upload is made by a client process of its own, as in the lossy-link
//! test.
//!
//! cargo bench -p ducha-server --bench lossy_link

// The benchmarks use less of the test support than the tests do.
#[allow(dead_code)]
#[path = "../../tests/e2e/support/lossy.rs"]
mod lossy;
#[allow(dead_code)]
#[path = "../../tests/e2e/support/proxy.rs"]
mod proxy;
#[allow(dead_code)]
#[path = "../../tests/e2e/support/s3.rs"]
mod s3;
mod support;

use ducha::config::ServeSettings;
use sha2::{Digest, Sha256};
use support::{InProcess, PASSWORD, photos};

const SEEDS: u64 = 20;

fn client() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(std::env::current_exe().unwrap());
    c.arg("--client");
    c
}

async fn measure(store: &str, adjust: impl FnOnce(&mut ServeSettings), base: &[u8]) {
    let server = InProcess::start(adjust).await;
    let dir = tempfile::tempdir().unwrap();
    println!(
        "\nobject store: {store}; a {:.1} MB photo, {SEEDS} seeds of random reset points",
        base.len() as f64 / 1e6
    );
    println!("| reset rate | mean ratio | worst ratio | mean resets | mean time |");
    println!("|---|---|---|---|---|");
    let mut copy = 0;
    for rate in [0.0, 0.15, 0.6] {
        let seeds = if rate == 0.0 { 3 } else { SEEDS };
        let (mut ratios, mut resets, mut secs) = (Vec::new(), 0, 0.0);
        for seed in 0..seeds {
            copy += 1;
            let bytes = photos::unique(base, copy);
            let path = dir.path().join(format!("IMG_{copy}.jpg"));
            std::fs::write(&path, &bytes).unwrap();
            let points = if rate == 0.0 {
                Vec::new()
            } else {
                lossy::random_points(rate, 64 * lossy::MIB, seed)
            };
            let run =
                lossy::upload(&server.url, "bench", PASSWORD, &path, points, None, client).await;
            assert_eq!(run.sha256, hex::encode(Sha256::digest(&bytes)));
            ratios.push(run.ratio());
            resets += run.resets;
            secs += run.elapsed.as_secs_f64();
        }
        let n = ratios.len() as f64;
        println!(
            "| {} | {:.3} | {:.3} | {:.1} | {:.1} s |",
            if rate == 0.0 {
                "none (baseline)".to_string()
            } else {
                format!("{rate} per MiB")
            },
            ratios.iter().sum::<f64>() / n,
            ratios.iter().cloned().fold(0.0, f64::max),
            resets as f64 / n,
            secs / n
        );
    }
    server.stop().await;
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--client") {
        lossy::client_main().await;
        return;
    }
    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = std::fs::read(lossy::photo_27mp(folder)).unwrap();
    measure("local folder, SQLite", |_| {}, &base).await;
    let s3 = s3::S3Server::start().await;
    measure(
        "S3 protocol (s3s-fs on loopback), SQLite",
        |l| s3.configure(l),
        &base,
    )
    .await;
}
