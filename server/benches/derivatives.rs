//! Derivatives of a 12-megapixel JPEG: Ducha's thumbnail alone, and its
//! thumbnail plus preview from one decode, against `vipsthumbnail` (libvips,
//! shrink-on-load) on the same file, run over a batch of copies so that its
//! process start is not counted. Then the iPhone's HEIC: Ducha's thumbnail
//! and preview (heif-convert, as the server runs it, then one JPEG decode)
//! against `vipsthumbnail` reading the HEIC through libheif.
//!
//! cargo bench -p ducha-server --bench derivatives
//! (needs Debian's libvips-tools for the baseline, libheif-examples for
//! the HEIC)

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

/// vipsthumbnail's time per file at 320 and at 1280 px, over `RUNS`
/// copies of `file`; printed, and None when it is not installed.
fn vips_both(file: &[u8], ext: &str) -> Option<(Duration, Duration)> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..RUNS)
        .map(|i| {
            let name = format!("photo{i}.{ext}");
            std::fs::write(dir.path().join(&name), file).unwrap();
            name
        })
        .collect();
    let (Some(v320), Some(v1280)) = (
        vips(dir.path(), &files, 320),
        vips(dir.path(), &files, 1280),
    ) else {
        println!("vipsthumbnail not found: install libvips-tools for the baseline");
        return None;
    };
    println!(
        "vipsthumbnail 320 px:                   {:6.1} ms",
        ms(v320)
    );
    println!(
        "vipsthumbnail 1280 px:                  {:6.1} ms",
        ms(v1280)
    );
    Some((v320, v1280))
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
    compare_heic();
}

fn compare_heic() {
    use ducha::media::tool::{MediaTools, Toolbox};
    let heic = bytes::Bytes::from(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/corpus/IMG_5195.HEIC"
        ))
        .unwrap(),
    );
    println!(
        "\ninput: the iPhone 11 Pro Max's 2566×3313 HEIC, {:.1} MB",
        heic.len() as f64 / 1e6
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tools = rt.block_on(Toolbox::probe(&MediaTools {
        ffmpeg: "ffmpeg".into(),
        heif_convert: "heif-convert".into(),
        timeout: Duration::from_secs(60),
        memory_bytes: 2 << 30,
    }));
    if let Some(why) = tools.heif_convert.missing() {
        println!("{why}: install libheif-examples");
        return;
    }
    let both = median(RUNS, || {
        rt.block_on(ducha::media::heif::render(
            &tools.heif_convert,
            heic.clone(),
        ))
        .unwrap();
    });
    println!(
        "ducha thumbnail + preview (heif-convert, then one decode): {:6.1} ms",
        ms(both)
    );
    let Some((v320, v1280)) = vips_both(&heic, "heic") else {
        return;
    };
    println!(
        "thumbnail + preview: ducha takes {:.2} of vipsthumbnail's two runs",
        both.as_secs_f64() / (v320 + v1280).as_secs_f64()
    );
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

    let Some((v320, v1280)) = vips_both(jpeg, "jpg") else {
        return;
    };
    println!(
        "thumbnail: ducha is {:.2}× as fast as vipsthumbnail (goal: at least 1.3×)",
        v320.as_secs_f64() / thumb.as_secs_f64()
    );
    println!(
        "thumbnail + preview: ducha takes {:.2} of vipsthumbnail's two runs (goal: at most 0.5)",
        both.as_secs_f64() / (v320 + v1280).as_secs_f64()
    );
}
