//! The media corpus (tests/fixtures/corpus, described in its README):
//! photos with their place and time in every encoding phones use, HEIF
//! pictures, videos with each form of place, and broken files. Each is
//! uploaded as a phone would and checked for what a verifier sees: type,
//! size, time and its source, place and its source, signals, derivatives
//! (or why there are none), and a clear refusal, never INTERNAL, for
//! files that cannot be read.

use bytes::Bytes;
use ducha::domain::access::Role;
use ducha_sdk::{Client, UploadMetadata, UploadOptions, pb};
use tonic::Code;

use crate::support;
use crate::support::checks::{create_record, get_record, site_check};
use crate::support::evidence::{download_url, kinds, settled, sha256};
use crate::support::http::get_range;
use crate::support::refusals::violated_fields;
use crate::support::units::LIANDU;

use pb::CaptureTimeSource as Clock;
use pb::PlaceSource as Source;
use pb::SignalKind as S;

fn corpus(name: &str) -> Bytes {
    Bytes::from(
        std::fs::read(format!(
            "{}/../tests/fixtures/corpus/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
}

/// Where the check record is: Lishui, where the videos were "made".
const LISHUI: (f64, f64) = (28.4517, 119.9223);
/// DSCN0010's place, in Italy.
const ITALY: (f64, f64) = (43.467448, 11.885127);

enum Place {
    /// Within `metres` of a point, read from this source.
    At((f64, f64), f64, Source),
    /// There, but cannot be read.
    Unreadable,
    None,
}

enum Made {
    /// Thumbnail and preview, the preview this size.
    Ready(u32, u32),
    /// Given up on: the file cannot be decoded.
    Failed,
    /// Documents, or no program to decode it on this machine.
    NotApplicable,
}

struct Case {
    file: &'static str,
    declared: &'static str,
    /// The type found, or None when the upload must be refused.
    found: Option<&'static str>,
    size: (u32, u32),
    time: Option<(&'static str, Clock)>,
    place: Place,
    /// Signals of the file that must be there.
    signals: &'static [S],
    /// Signals of its link to the check record that must be there.
    link_signals: &'static [S],
    made: Made,
}

const JPEG: &str = "image/jpeg";
const HEIF: &str = "image/heif";
const MP4: &str = "video/mp4";
const MOV: &str = "video/quicktime";
const CHINA: Option<(&str, Clock)> = Some(("2008-10-22T08:28:39Z", Clock::AssumedChinaTime));
const RECORDED: Option<(&str, Clock)> = Some(("2026-11-20T02:30:00Z", Clock::Container));

fn cases() -> Vec<Case> {
    let italy = |from| Place::At(ITALY, 1.0, from);
    let lishui = |from| Place::At(LISHUI, 5.0, from);
    let photo = |file, place, signals: &'static [S], link_signals: &'static [S]| Case {
        file,
        declared: JPEG,
        found: Some(JPEG),
        size: (640, 480),
        // DSCN0010's GPS date is a day late: its time is China time.
        time: CHINA,
        place,
        signals,
        link_signals,
        made: Made::Ready(640, 480),
    };
    let far: &[S] = &[S::FarFromCheck];
    let unknown: &[S] = &[S::DistanceUnknown];
    let video = |file, declared, place, signals: &'static [S], link_signals: &'static [S]| Case {
        file,
        declared,
        found: Some(declared),
        size: (320, 240),
        time: RECORDED,
        place,
        signals,
        link_signals,
        made: Made::Ready(320, 240),
    };
    let refused = |file, declared| Case {
        file,
        declared,
        found: None,
        size: (0, 0),
        time: None,
        place: Place::None,
        signals: &[],
        link_signals: &[],
        made: Made::NotApplicable,
    };
    vec![
        photo(
            "gps_srational.jpg",
            italy(Source::ExifGps),
            &[S::GpsTimeMismatch],
            far,
        ),
        photo(
            "gps_negative_srational_noref.jpg",
            Place::At((ITALY.0, -ITALY.1), 1.0, Source::ExifGps),
            &[],
            far,
        ),
        photo("gps_degrees_only.jpg", italy(Source::ExifGps), &[], far),
        photo("gps_degree_minutes.jpg", italy(Source::ExifGps), &[], far),
        photo(
            "gps_odd_ref.jpg",
            Place::Unreadable,
            &[S::GpsUnreadable],
            unknown,
        ),
        photo(
            "gps_unreadable.jpg",
            Place::Unreadable,
            &[S::GpsUnreadable],
            unknown,
        ),
        Case {
            time: Some(("2008-10-22T14:28:39Z", Clock::GpsTime)),
            ..photo("gps_time_no_offset.jpg", italy(Source::ExifGps), &[], far)
        },
        photo(
            "gps_time_mismatch.jpg",
            italy(Source::ExifGps),
            &[S::GpsTimeMismatch],
            far,
        ),
        Case {
            time: None,
            ..photo("exif_stripped.jpg", Place::None, &[S::NoGps], unknown)
        },
        Case {
            made: Made::Failed,
            ..photo("truncated.jpg", italy(Source::ExifGps), &[], far)
        },
        Case {
            file: "IMG_5195.HEIC",
            declared: "image/heic",
            found: Some(HEIF),
            size: (2566, 3313),
            time: Some(("2021-04-11T20:47:53Z", Clock::ExifOffset)),
            place: Place::At((39.051344, -94.288772), 1.0, Source::ExifGps),
            signals: &[],
            link_signals: far,
            made: Made::Ready(991, 1280),
        },
        Case {
            file: "samplefilehub.heif",
            declared: "image/heif",
            found: Some(HEIF),
            size: (640, 426),
            time: None,
            place: Place::None,
            signals: &[S::NoGps],
            link_signals: unknown,
            made: Made::Ready(640, 426),
        },
        Case {
            file: "truncated.heic",
            declared: "image/heic",
            found: Some(HEIF),
            size: (2566, 3313),
            time: Some(("2021-04-11T20:47:53Z", Clock::ExifOffset)),
            place: Place::At((39.051344, -94.288772), 1.0, Source::ExifGps),
            signals: &[],
            link_signals: far,
            made: Made::Failed,
        },
        video("loci.mp4", MP4, lishui(Source::Loci), &[], &[]),
        video("faststart.mp4", MP4, lishui(Source::Loci), &[], &[]),
        video("xyz.mov", MOV, lishui(Source::QuicktimeXyz), &[], &[]),
        video("apple_key.mov", MOV, lishui(Source::AppleIso6709), &[], &[]),
        video(
            "apple_key_udta.mov",
            MOV,
            lishui(Source::AppleIso6709),
            &[],
            &[],
        ),
        Case {
            // Stored 320×240, turned a quarter for display.
            made: Made::Ready(240, 320),
            ..video("hevc.mov", MOV, lishui(Source::QuicktimeXyz), &[], &[])
        },
        video("no_place.mp4", MP4, Place::None, &[S::NoGps], unknown),
        refused("truncated.mp4", MP4),
        refused("garbage.mp4", MP4),
    ]
}

async fn upload(
    c: &Client,
    bytes: Bytes,
    declared: &str,
    file: &str,
) -> Result<pb::Evidence, ducha_sdk::Error> {
    c.upload_bytes(
        bytes,
        UploadMetadata {
            unit_code: LIANDU.into(),
            media_type: declared.into(),
            file_name: file.into(),
            capture: None,
        },
        UploadOptions::default(),
    )
    .await
}

/// Metres between two points, near enough for a few metres.
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let k = 111_320.0;
    let dy = (a.0 - b.0) * k;
    let dx = (a.1 - b.1) * k * a.0.to_radians().cos();
    (dx * dx + dy * dy).sqrt()
}

/// Whether this machine has the program a derivative needs: without it
/// the server says so instead of making one.
fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

#[tokio::test]
async fn every_file_of_the_corpus_comes_back_as_the_verifier_must_see_it() {
    let srv = support::spawn().await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let cases = cases();
    let mut rec = site_check(LIANDU, 1_795_140_900);
    rec.location.as_mut().unwrap().latitude = LISHUI.0;
    rec.location.as_mut().unwrap().longitude = LISHUI.1;
    rec.expected_evidence = cases
        .iter()
        .filter(|k| k.found.is_some())
        .map(|k| pb::ExpectedEvidence {
            sha256: sha256(&corpus(k.file)),
            role: pb::EvidenceRole::Context as i32,
        })
        .collect();
    let rec = create_record(&c, rec).await;

    for k in &cases {
        let f = k.file;
        let got = upload(&c, corpus(f), k.declared, f).await;
        let Some(found) = k.found else {
            let e = got.expect_err(f);
            let status = match e {
                ducha_sdk::Error::Status(s) => s,
                other => panic!("{f}: {other}"),
            };
            assert_eq!(status.code(), Code::InvalidArgument, "{f}: {status:?}");
            assert_eq!(violated_fields(&status), ["data"], "{f}");
            continue;
        };
        let e = got.unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(e.media_type, found, "{f}");
        let m = e.metadata.clone().unwrap();
        assert_eq!((m.width, m.height), k.size, "{f}");
        match k.time {
            Some((at, clock)) => {
                let want = chrono::DateTime::parse_from_rfc3339(at)
                    .unwrap()
                    .timestamp();
                assert_eq!(m.capture_time.map(|t| t.seconds), Some(want), "{f}: {m:?}");
                assert_eq!(m.capture_time_source, clock as i32, "{f}");
            }
            None => assert_eq!(m.capture_time, None, "{f}: {m:?}"),
        }
        match k.place {
            Place::At(point, within, from) => {
                let gps = m.gps.unwrap_or_else(|| panic!("{f}: no place: {m:?}"));
                let off = metres(point, (gps.latitude, gps.longitude));
                assert!(off <= within, "{f}: {off:.1} m off: {gps:?}");
                assert_eq!(m.place_source, from as i32, "{f}");
                assert!(m.gps_problem.is_empty(), "{f}");
            }
            Place::Unreadable => {
                assert!(m.gps.is_none() && !m.gps_problem.is_empty(), "{f}: {m:?}");
                assert!(!kinds(&e.signals).contains(&S::NoGps), "{f}");
            }
            Place::None => assert!(m.gps.is_none() && m.gps_problem.is_empty(), "{f}: {m:?}"),
        }
        for s in k.signals {
            assert!(
                kinds(&e.signals).contains(s),
                "{f}: {s:?} in {:?}",
                e.signals
            );
        }
        if found.starts_with("video/") {
            assert!((1900..=2100).contains(&m.duration_ms), "{f}: {m:?}");
            assert!(["h264", "hevc"].contains(&m.codec.as_str()), "{f}");
        }

        let e = settled(&c, &e.id).await;
        let d = e.derivatives.unwrap();
        let program = match found {
            HEIF => "heif-convert",
            MP4 | MOV => "ffmpeg",
            _ => "",
        };
        match k.made {
            _ if !program.is_empty() && !has(program) => {
                assert_eq!(d.state, pb::DerivativeState::NotApplicable as i32, "{f}");
                assert!(d.error.contains(program), "{f}: {}", d.error);
            }
            Made::Ready(w, h) => {
                assert_eq!(
                    d.state,
                    pb::DerivativeState::Ready as i32,
                    "{f}: {}",
                    d.error
                );
                let p = d.preview.unwrap();
                assert_eq!((p.width, p.height), (w, h), "{f}");
                assert!(d.thumbnail.unwrap().width <= 320, "{f}");
            }
            Made::Failed => {
                assert_eq!(d.state, pb::DerivativeState::Failed as i32, "{f}");
                assert!(!d.error.is_empty(), "{f}");
            }
            Made::NotApplicable => {
                assert_eq!(d.state, pb::DerivativeState::NotApplicable as i32, "{f}")
            }
        }
    }

    let now = get_record(&c, &rec.id).await;
    assert!(now.pending_sha256.is_empty(), "{:?}", now.pending_sha256);
    for k in cases.iter().filter(|k| k.found.is_some()) {
        let link = now
            .evidence
            .iter()
            .find(|l| l.sha256 == sha256(&corpus(k.file)))
            .unwrap_or_else(|| panic!("{} not linked", k.file));
        for s in k.link_signals {
            assert!(
                kinds(&link.signals).contains(s),
                "{}: {s:?} in {:?}",
                k.file,
                link.signals
            );
        }
        if k.link_signals.is_empty() {
            assert!(
                !kinds(&link.signals).contains(&S::FarFromCheck)
                    && !kinds(&link.signals).contains(&S::DistanceUnknown),
                "{}: {:?}",
                k.file,
                link.signals
            );
        }
    }
}

async fn seeks_in_a_video(srv: &support::TestServer, on_s3: bool) {
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let video = corpus("loci.mp4");
    let e = upload(&c, video.clone(), MP4, "loci.mp4").await.unwrap();
    let url = download_url(&c, &e.id, pb::EvidenceVariant::Original, None)
        .await
        .unwrap()
        .url;
    let n = video.len();
    let (status, range, body) = get_range(&url, "bytes=1000-1999").await;
    assert_eq!(
        (status, range.as_str()),
        (206, format!("bytes 1000-1999/{n}").as_str())
    );
    assert_eq!(body, video[1000..2000]);
    let (status, range, body) = get_range(&url, "bytes=-100").await;
    assert_eq!(
        (status, range),
        (206, format!("bytes {}-{}/{n}", n - 100, n - 1))
    );
    assert_eq!(body, video[n - 100..]);
    if !on_s3 {
        // A suffix longer than the file is the whole file (S3 answers
        // this itself; the suite's S3 server refuses it).
        let (status, _, body) = get_range(&url, &format!("bytes=-{}", n + 10)).await;
        assert_eq!((status, body.len()), (200, n));
    }
    let (status, _, body) = get_range(&url, &format!("bytes={}-", n - 10)).await;
    assert_eq!((status, body.as_slice()), (206, &video[n - 10..]));
    let (status, range, _) = get_range(&url, &format!("bytes={n}-")).await;
    assert_eq!(status, 416);
    assert!(
        range.is_empty() || range == format!("bytes */{n}"),
        "{range}"
    );
}

#[tokio::test]
async fn a_browser_seeks_in_a_video_by_range_on_the_local_folder() {
    seeks_in_a_video(&support::spawn().await, false).await;
}

#[tokio::test]
async fn a_browser_seeks_in_a_video_by_range_on_s3() {
    let s3 = support::s3::S3Server::start().await;
    seeks_in_a_video(&support::spawn_with(|l| s3.configure(l)).await, true).await;
}

#[tokio::test]
async fn videos_have_their_own_size_limit_and_a_photo_cannot_borrow_it() {
    let srv = support::spawn_with(|l| {
        l.uploads.upload_max_bytes = 100_000;
        l.uploads.upload_max_video_bytes = 1_000_000;
    })
    .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let photo = corpus("gps_srational.jpg");
    assert!(photo.len() > 100_000);
    // Declared as a photo, over the photo limit: refused before a byte is sent.
    let e = upload(&c, photo.clone(), JPEG, "big.jpg")
        .await
        .unwrap_err();
    let s = e.status().unwrap();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(s), ["size_bytes"]);
    assert!(s.message().contains("100000"), "{}", s.message());
    // Declared as a video to get the larger limit: the bytes say otherwise.
    let e = upload(&c, photo, MP4, "big.mp4").await.unwrap_err();
    let s = e.status().unwrap();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(s), ["data"]);
    assert!(s.message().contains("image/jpeg"), "{}", s.message());
    // A real video within its own limit is taken.
    let v = upload(&c, corpus("xyz.mov"), MOV, "clip.mov")
        .await
        .unwrap();
    assert_eq!(v.media_type, MOV);
}

#[tokio::test]
async fn a_decoder_that_runs_too_long_is_stopped_and_the_video_says_why() {
    if !has("ffmpeg") {
        return;
    }
    let srv =
        support::spawn_with(|l| l.media.media_tool_timeout = std::time::Duration::from_millis(1))
            .await;
    let c = srv.client(Role::Inspector, &[LIANDU]).await;
    let v = upload(&c, corpus("loci.mp4"), MP4, "clip.mp4")
        .await
        .unwrap();
    let d = settled(&c, &v.id).await.derivatives.unwrap();
    assert_eq!(d.state, pb::DerivativeState::Failed as i32, "{}", d.error);
    assert!(d.error.contains("took longer than"), "{}", d.error);
}
