//! A photo uploaded through the SDK, by a client process of its own, over
//! a slow link that resets: what the lossy-link test and benchmark share.
//! The client is killed once midway and started again, as a phone whose
//! app was closed; the proxy counts every byte the clients sent.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::proxy::{Link, Proxy};

/// The link of the phone in the mountains: 50 ms each way, 2 MiB/s,
/// and no more than 64 KiB read ahead of what went through.
pub const LINK: Link = Link {
    delay: Duration::from_millis(50),
    bytes_per_second: 2 * 1024 * 1024,
    read_ahead: 64 * 1024,
};

pub const MIB: u64 = 1024 * 1024;

/// What the client process reads from its environment.
const URL: &str = "DUCHA_LOSSY_URL";
const USER: &str = "DUCHA_LOSSY_USER";
const PASSWORD: &str = "DUCHA_LOSSY_PASSWORD";
const FILE: &str = "DUCHA_LOSSY_FILE";

/// One upload over the lossy link, as measured.
#[derive(Debug)]
pub struct LossyRun {
    pub photo_bytes: u64,
    /// Everything the clients sent, the killed one's included.
    pub client_bytes: u64,
    pub resets: usize,
    /// The reset points that the bytes forwarded went past.
    pub points_passed: usize,
    pub elapsed: Duration,
    /// The SHA-256 of the evidence the client reported.
    pub sha256: String,
}

impl LossyRun {
    pub fn ratio(&self) -> f64 {
        self.client_bytes as f64 / self.photo_bytes as f64
    }
}

/// Reset points, one every `1/rate` MiB of bytes forwarded.
pub fn fixed_points(rate: f64, until: u64) -> Vec<u64> {
    let every = (MIB as f64 / rate) as u64;
    (1..)
        .map(|k| k * every)
        .take_while(|&p| p < until)
        .collect()
}

/// Reset points at random, `rate` per MiB on average (a Poisson process),
/// the same for the same seed.
#[allow(dead_code)] // the benchmark's
pub fn random_points(rate: f64, until: u64, seed: u64) -> Vec<u64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut points = Vec::new();
    let mut at = 0.0;
    loop {
        at += -(1.0 - next()).ln() / rate * MIB as f64;
        if at as u64 >= until {
            return points;
        }
        points.push(at as u64);
    }
}

/// Uploads `photo` through a shaped proxy to `server_url` as `user`, with
/// `client` starting a client process (which runs [`client_main`]).
/// Resets at `points` of the bytes forwarded; kills the client once when
/// `kill_at` bytes were forwarded, and starts it again.
pub async fn upload(
    server_url: &str,
    user: &str,
    password: &str,
    photo: &Path,
    points: Vec<u64>,
    kill_at: Option<u64>,
    client: impl Fn() -> Command,
) -> LossyRun {
    let proxy = Proxy::start(server_url).await;
    proxy.shape(LINK).await;
    proxy.cut_at(points.iter().copied());
    let start = |proxy: &Proxy| {
        let mut c = client();
        c.env(URL, &proxy.url)
            .env(USER, user)
            .env(PASSWORD, password)
            .env(FILE, photo)
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        c.spawn().expect("the client process starts")
    };
    let t = Instant::now();
    let mut child = start(&proxy);
    if let Some(at) = kill_at {
        tokio::select! {
            () = proxy.forwarded(at) => {
                child.kill().await.unwrap();
                child = start(&proxy);
            }
            status = child.wait() => {
                let mut out = String::new();
                let _ = child.stdout.take().unwrap().read_to_string(&mut out).await;
                panic!("the client ended before it was killed ({status:?}): {out}");
            }
        }
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.success(), "the client failed: {out}");
    let sha256 = out
        .lines()
        .find_map(|l| l.split_once("uploaded ").map(|(_, rest)| rest))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no evidence reported: {out}"))
        .to_string();
    let forwarded = proxy.forwarded_bytes();
    LossyRun {
        photo_bytes: std::fs::metadata(photo).unwrap().len(),
        client_bytes: proxy.client_bytes(),
        resets: proxy.cuts(),
        points_passed: points.iter().filter(|&&p| p < forwarded).count(),
        elapsed: t.elapsed(),
        sha256,
    }
}

/// The client process: signs in and uploads the file as an app would,
/// with the SDK's defaults; prints `uploaded <evidence id> <sha256>`.
/// Does nothing when not started by [`upload`].
pub async fn client_main() {
    let Ok(url) = std::env::var(URL) else {
        return;
    };
    let var = |k: &str| std::env::var(k).unwrap();
    let client = ducha_sdk::Client::connect(url).await.unwrap();
    // As an app would, it signs in again when the link broke on the way.
    let mut tries = 0;
    while let Err(e) = client.login(&var(USER), &var(PASSWORD)).await {
        tries += 1;
        let unavailable = e
            .status()
            .is_some_and(|s| s.code() == tonic::Code::Unavailable);
        assert!(unavailable && tries < 10, "signing in: {e}");
    }
    let file = PathBuf::from(var(FILE));
    let e = client
        .upload_file(
            &file,
            ducha_sdk::UploadMetadata {
                unit_code: "331102".into(),
                media_type: "image/jpeg".into(),
                file_name: file.file_name().unwrap().to_string_lossy().into_owned(),
                capture: None,
            },
            ducha_sdk::UploadOptions::default(),
        )
        .await
        .unwrap();
    println!("uploaded {} {}", e.id, e.sha256);
}

/// A 27 MP photo of 7.6 MB, made once per build folder.
pub fn photo_27mp(folder: &Path) -> PathBuf {
    let path = folder.join("lossy-27mp-q92.jpg");
    if !path.exists() {
        let bytes = super::photos::photo(6000, 4500, 92);
        let tmp = folder.join(format!("lossy-27mp-q92.{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}
