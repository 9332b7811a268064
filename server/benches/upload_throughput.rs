//! Upload throughput of 4 MB photos end to end through gRPC (hashed by the
//! SDK, sent, checked, metadata read, stored, recorded) against a plain put
//! of the same bytes to the same object store, in one run. Derivatives are
//! left to another process (they are made in the background, not on the
//! upload's path).
//!
//! cargo bench -p ducha-server --bench upload_throughput

// The benchmarks use less of the test S3 server than the tests do.
#[allow(dead_code)]
#[path = "../../tests/e2e/support/s3.rs"]
mod s3;
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use ducha::config::ServeSettings;
use ducha_sdk::{Client, UploadMetadata, UploadOptions};
use support::{InProcess, PASSWORD, photo, unique};

const PHOTOS: usize = 48;
const IN_FLIGHT: usize = 4;
const ROUNDS: usize = 3;

async fn measure(store: &str, adjust: impl FnOnce(&mut ServeSettings)) {
    let server = InProcess::start(adjust).await;
    let app = server.app.clone();
    let client = Client::connect(server.url.clone()).await.unwrap();
    client.login("bench", PASSWORD).await.unwrap();

    // A 12 MP photo of just under 4 MB: the quality that gives it.
    let base = (88..=98)
        .rev()
        .map(|q| photo(4000, 3000, q))
        .find(|p| p.len() <= 4_000_000)
        .unwrap();
    let copies = |from: u64| -> Vec<Bytes> {
        (0..PHOTOS as u64)
            .map(|i| Bytes::from(unique(&base, from + i)))
            .collect()
    };
    let size = base.len() as f64 / 1e6;
    // Warm up both paths once.
    upload(&client, copies(1_000_000).remove(0)).await;
    app.blobs
        .put("bench/warm", copies(2_000_000).remove(0))
        .await
        .unwrap();

    // One upload, then one plain put, in turn, so that both see the same
    // moments of a shared machine.
    let (uploads, puts) = (copies(0), copies(10_000));
    let (mut through_grpc, mut plain_put) = (Vec::new(), Vec::new());
    for (i, (u, p)) in uploads.into_iter().zip(puts).enumerate() {
        let t = Instant::now();
        upload(&client, u).await;
        through_grpc.push(t.elapsed());
        let t = Instant::now();
        app.blobs.put(&format!("bench/plain-{i}"), p).await.unwrap();
        plain_put.push(t.elapsed());
    }

    // The same with several at once, as a team's phones syncing together,
    // batch against batch in turn.
    let (mut through_grpc_parallel, mut plain_put_parallel) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS as u64 {
        let photos = copies(20_000 + round * 1_000);
        let t = Instant::now();
        let runs = photos.chunks(PHOTOS / IN_FLIGHT).map(|batch| {
            let (client, batch) = (client.clone(), batch.to_vec());
            async move {
                for p in batch {
                    upload(&client, p).await;
                }
            }
        });
        futures::future::join_all(runs).await;
        through_grpc_parallel += t.elapsed();
        let photos = copies(30_000 + round * 1_000);
        let t = Instant::now();
        let runs = photos
            .chunks(PHOTOS / IN_FLIGHT)
            .enumerate()
            .map(|(n, batch)| {
                let (blobs, batch) = (app.blobs.clone(), batch.to_vec());
                tokio::spawn(async move {
                    for (i, p) in batch.into_iter().enumerate() {
                        blobs
                            .put(&format!("bench/parallel-{round}-{n}-{i}"), p)
                            .await
                            .unwrap();
                    }
                })
            });
        for r in runs.collect::<Vec<_>>() {
            r.await.unwrap();
        }
        plain_put_parallel += t.elapsed();
    }

    let total = |d: &[Duration]| d.iter().sum::<Duration>();
    let median = |d: &mut Vec<Duration>| {
        d.sort();
        d[d.len() / 2].as_secs_f64() * 1000.0
    };
    let rate = |d: Duration, n: usize| size * n as f64 / d.as_secs_f64();
    let (grpc_total, put_total) = (total(&through_grpc), total(&plain_put));
    println!("\nobject store: {store}; {PHOTOS} photos of {size:.1} MB, one after another");
    println!(
        "upload through gRPC: {:7.1} MB/s (median {:.1} ms a photo)",
        rate(grpc_total, PHOTOS),
        median(&mut through_grpc)
    );
    println!(
        "plain put:           {:7.1} MB/s (median {:.1} ms a photo)",
        rate(put_total, PHOTOS),
        median(&mut plain_put)
    );
    println!(
        "ratio: {:.2} (goal: at least 0.8)",
        put_total.as_secs_f64() / grpc_total.as_secs_f64()
    );
    println!("{IN_FLIGHT} at a time, {ROUNDS} rounds of {PHOTOS}:");
    println!(
        "upload through gRPC: {:7.1} MB/s",
        rate(through_grpc_parallel, PHOTOS * ROUNDS)
    );
    println!(
        "plain put:           {:7.1} MB/s",
        rate(plain_put_parallel, PHOTOS * ROUNDS)
    );
    println!(
        "ratio: {:.2} (goal: at least 0.8)",
        plain_put_parallel.as_secs_f64() / through_grpc_parallel.as_secs_f64()
    );
    server.stop().await;
}

async fn upload(client: &Client, bytes: Bytes) {
    client
        .upload_bytes(
            bytes,
            UploadMetadata {
                unit_code: "331102".into(),
                media_type: "image/jpeg".into(),
                file_name: "photo.jpg".into(),
                capture: None,
            },
            UploadOptions::default(),
        )
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    measure("local folder, SQLite", |_| {}).await;
    let s3 = s3::S3Server::start().await;
    measure("S3 protocol (s3s-fs on loopback), SQLite", |l| {
        s3.configure(l)
    })
    .await;
}
