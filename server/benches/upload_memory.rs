//! Peak memory of a `ducha serve` process (release build, SQLite, local
//! folder) while 32 phones upload an 8 MB photo each and 4 more a 200 MiB
//! video each, all at the same moment, and while it then makes their
//! derivatives. Bytes stream to storage in segments instead of piling up
//! in memory; a video's index is read by range and its poster frame is
//! taken by ffmpeg from a temporary file, never from memory.
//!
//! cargo bench -p ducha-server --bench upload_memory
//! (the videos need ffmpeg; without it only the photos are sent)

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ducha_sdk::{Client, UploadMetadata, UploadOptions, pb};
use support::{photo, unique};

const PHONES: usize = 32;
const VIDEOS: usize = 4;
const VIDEO_BYTES: u64 = 200 * 1024 * 1024;

/// `VIDEOS` H.264 videos of `VIDEO_BYTES` each, as a phone writes them
/// (index after the frames): frames of noise, which no encoder shrinks,
/// made once and given each its own title so their bytes differ. None
/// without ffmpeg.
fn videos(dir: &std::path::Path) -> Option<Vec<Bytes>> {
    let ffmpeg = |args: &[&str]| {
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(args)
            .status()
            .map(|s| s.success())
    };
    let base = dir.join("noise.mp4");
    let made = ffmpeg(&[
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        "1920x1080",
        "-r",
        "30",
        "-i",
        "/dev/urandom",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-fs",
        &VIDEO_BYTES.to_string(),
        base.to_str()?,
    ]);
    if !matches!(made, Ok(true)) {
        println!("ffmpeg not found or failed: only the photos are sent");
        return None;
    }
    (0..VIDEOS)
        .map(|i| {
            let out = dir.join(format!("video{i}.mp4"));
            let title = format!("phone {i}");
            let ok = ffmpeg(&[
                "-i",
                base.to_str()?,
                "-c",
                "copy",
                "-metadata",
                &format!("title={title}"),
                out.to_str()?,
            ]);
            matches!(ok, Ok(true)).then(|| Bytes::from(std::fs::read(&out).unwrap()))
        })
        .collect()
}
const PASSWORD: &str = "correct horse battery";

fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ducha(dir: &std::path::Path, addr: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ducha"));
    c.env("DUCHA_DATA_DIR", dir)
        .env("DUCHA_LISTEN_ADDR", addr)
        .env("RUST_LOG", "warn")
        // The phones sign in as one user here.
        .env("DUCHA_UPLOADS_OPEN_PER_USER", "64");
    c
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut add = ducha(dir.path(), &addr)
        .args(["user", "add", "--username", "bench", "--role", "inspector"])
        .args(["--unit", "331102"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    }
    assert!(add.wait().unwrap().success());
    let server = Server(ducha(dir.path(), &addr).arg("serve").spawn().unwrap());
    let pid = server.0.id();

    // The server is ready when it answers.
    let url = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut phones = Vec::new();
    while phones.len() < PHONES + VIDEOS {
        match Client::connect(url.clone()).await {
            Ok(c) => {
                c.login("bench", PASSWORD).await.unwrap();
                phones.push(c);
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("server did not start: {e}"),
        }
    }
    let idle = memory_kib(pid, "VmRSS:");

    let base = (85..=98)
        .rev()
        .map(|q| photo(6000, 4500, q))
        .find(|p| p.len() <= 8_000_000)
        .unwrap();
    let mut files: Vec<(Bytes, &str)> = (0..PHONES as u64)
        .map(|i| (Bytes::from(unique(&base, i)), "image/jpeg"))
        .collect();
    let made = tempfile::tempdir().unwrap();
    let videos = videos(made.path()).unwrap_or_default();
    let video_mb: f64 = videos.iter().map(|v| v.len() as f64 / 1e6).sum();
    let n_videos = videos.len();
    files.extend(videos.into_iter().map(|v| (v, "video/mp4")));
    let t = Instant::now();
    let uploads = phones.iter().zip(files).map(|(c, (bytes, media_type))| {
        c.upload_bytes(
            bytes,
            UploadMetadata {
                unit_code: "331102".into(),
                media_type: media_type.into(),
                file_name: "capture".into(),
                capture: None,
            },
            UploadOptions::default(),
        )
    });
    let evidence: Vec<pb::Evidence> = futures::future::try_join_all(uploads).await.unwrap();
    let took = t.elapsed();
    let after_uploads = memory_kib(pid, "VmHWM:");

    // Then every derivative, made in the background.
    for e in &evidence {
        loop {
            let got = phones[0]
                .evidence()
                .get_evidence(pb::GetEvidenceRequest { id: e.id.clone() })
                .await
                .unwrap()
                .into_inner()
                .evidence
                .unwrap();
            let state = got.derivatives.unwrap().state;
            if state != pb::DerivativeState::Pending as i32 {
                assert_eq!(
                    state,
                    pb::DerivativeState::Ready as i32,
                    "{}",
                    got.media_type
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let peak = memory_kib(pid, "VmHWM:");

    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{PHONES} phones with one {:.1} MB photo each ({:.0} MB in all) and {n_videos} with a video ({video_mb:.0} MB in all), sent at once in {:.1} s",
        base.len() as f64 / 1e6,
        (base.len() * PHONES) as f64 / 1e6,
        took.as_secs_f64()
    );
    println!(
        "server memory idle:                     {:6.1} MiB",
        mib(idle)
    );
    println!(
        "server peak while uploading:            {:6.1} MiB",
        mib(after_uploads)
    );
    println!(
        "server peak after making derivatives:   {:6.1} MiB (goal: under 256 MiB)",
        mib(peak)
    );
}
