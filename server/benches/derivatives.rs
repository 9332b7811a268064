//! Derivatives of a 12-megapixel JPEG: Ducha's thumbnail alone, and its
//! thumbnail plus preview from one decode, against `vipsthumbnail` (libvips,
//! shrink-on-load) on the same file, run over a batch of copies so that its
//! process start is not counted.
//!
//! cargo bench -p ducha-server --bench derivatives
//! (needs Debian's libvips-tools for the baseline)

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use ducha::media::derive;
use support::{median, ms, photo};

const RUNS: usize = 15;

/// Time per file of one `vipsthumbnail` run over `RUNS` copies at `side`.
fn vips(dir: &std::path::Path, files: &[String], side: u32) -> Option<Duration> {
    let mut best = None;
    // The best of three batches, so a stray stall does not count.
    for _ in 0..3 {
        let t = Instant::now();
        let status = Command::new("vipsthumbnail")
            .current_dir(dir)
            .arg("--size")
            .arg(side.to_string())
            .arg("-o")
            .arg(format!("%s_{side}.jpg"))
            .args(files)
            .status()
            .ok()?;
        assert!(status.success(), "vipsthumbnail failed");
        let per_file = t.elapsed() / files.len() as u32;
        best = Some(best.map_or(per_file, |b: Duration| b.min(per_file)));
    }
    best
}

fn main() {
    let made = photo(4000, 3000, 90);
    compare(
        "4000×3000 JPEG (12 MP) made from the Jolla photo, quality 90",
        &made,
    );
    let real = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/jolla.jpg"
    ))
    .unwrap();
    compare("the Jolla phone's own 3264×2448 JPEG (8 MP)", &real);
}

fn compare(what: &str, jpeg: &[u8]) {
    println!("\ninput: {what}, {:.1} MB", jpeg.len() as f64 / 1e6);
    let thumb = median(RUNS, || {
        derive::thumbnail(jpeg, "image/jpeg", 1).unwrap();
    });
    let both = median(RUNS, || {
        derive::render(jpeg, "image/jpeg", 1).unwrap();
    });
    println!(
        "ducha thumbnail (320 px):               {:6.1} ms",
        ms(thumb)
    );
    println!(
        "ducha thumbnail + preview (one decode): {:6.1} ms",
        ms(both)
    );

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..RUNS)
        .map(|i| {
            let name = format!("photo{i}.jpg");
            std::fs::write(dir.path().join(&name), jpeg).unwrap();
            name
        })
        .collect();
    let (Some(v320), Some(v1280)) = (
        vips(dir.path(), &files, 320),
        vips(dir.path(), &files, 1280),
    ) else {
        println!("vipsthumbnail not found: install libvips-tools for the baseline");
        return;
    };
    println!(
        "vipsthumbnail 320 px:                   {:6.1} ms",
        ms(v320)
    );
    println!(
        "vipsthumbnail 1280 px:                  {:6.1} ms",
        ms(v1280)
    );
    println!(
        "thumbnail: ducha is {:.2}× as fast as vipsthumbnail (goal: at least 1.3×)",
        v320.as_secs_f64() / thumb.as_secs_f64()
    );
    println!(
        "thumbnail + preview: ducha takes {:.2} of vipsthumbnail's two runs (goal: at most 0.5)",
        both.as_secs_f64() / (v320 + v1280).as_secs_f64()
    );
}
