//! Authenticity signals: what a verifier should know before trusting a
//! photo. Each is shown, never silently dropped, and none alone is proof of
//! anything: a phone may lack GPS indoors, a clock may be wrong.

use chrono::{DateTime, TimeDelta, Utc};

use super::capture;
use super::check::CheckContent;
use super::evidence::{Capture, FileMetadata};
pub use super::evidence::{Signal, kinds_text};

/// Thresholds, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct SignalPolicy {
    /// Farther than this from the check's location is flagged.
    pub max_distance_m: f64,
    /// Slack around the check's start and end.
    pub time_tolerance: TimeDelta,
    /// EXIF time and the phone's own clock may differ this much.
    pub max_clock_skew: TimeDelta,
    /// Perceptual hashes this close (in differing bits) are near-identical.
    pub max_near_distance: u32,
}

/// Software that edits pictures, matched case-insensitively in the EXIF
/// Software tag. Camera firmware and transfer tools are not editors.
const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "meitu",
    "美图",
    "醒图",
    "vsco",
    "pixelmator",
    "affinity",
    "paint.net",
    "facetune",
    "canva",
    "polarr",
    "picasa",
    "fotor",
    "photoscape",
    "acdsee",
    "capture one",
    "darktable",
    "rawtherapee",
    "luminar",
    "photo editor",
];

/// When the file was taken, by its own clocks (see `capture::read`).
pub fn file_instant(meta: &FileMetadata) -> Option<DateTime<Utc>> {
    meta.capture().map(|c| c.at)
}

/// Whether signals of place and time apply: photos and videos.
fn is_capture(media_type: &str) -> bool {
    media_type.starts_with("image/") || media_type.starts_with("video/")
}

/// Signals of the file alone, found when it is stored.
pub fn of_file(
    media_type: &str,
    meta: &FileMetadata,
    capture: &Capture,
    p: &SignalPolicy,
) -> Vec<Signal> {
    let mut out = Vec::new();
    if !is_capture(media_type) {
        return out;
    }
    match (&meta.gps, &meta.gps_problem) {
        (Some(_), _) => {}
        (None, Some(reason)) => out.push(Signal::GpsUnreadable {
            reason: reason.clone(),
        }),
        (None, None) => out.push(Signal::NoGps),
    }
    if let Some(minutes) = capture::read(meta).gps_mismatch_minutes {
        out.push(Signal::GpsTimeMismatch { minutes });
    }
    if let Some(sw) = &meta.software {
        let lower = sw.to_lowercase();
        if EDITORS.iter().any(|e| lower.contains(e)) {
            out.push(Signal::EditedWith {
                software: sw.clone(),
            });
        }
    }
    if let (Some(exif), Some(device)) = (file_instant(meta), capture.device_time) {
        let diff = (exif - device).abs();
        if diff > p.max_clock_skew {
            out.push(Signal::ClockMismatch {
                minutes: diff.num_minutes(),
            });
        }
    }
    out
}

/// Other records that hold the same picture as a link's record.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reuse {
    /// Records linked to the same bytes.
    pub same_bytes: i64,
    /// Records linked to near-identical pictures, and the closest distance.
    pub near: Option<(i64, u32)>,
}

/// Signals of a photo or video against the check record it is linked to.
pub fn against_check(
    media_type: &str,
    meta: &FileMetadata,
    check: &CheckContent,
    reuse: Reuse,
    p: &SignalPolicy,
) -> Vec<Signal> {
    let mut out = Vec::new();
    match (meta.gps, check.location_wgs84()) {
        (Some(gps), Some(place)) => {
            let d = gps.to_wgs84().distance_m(&place);
            if d > p.max_distance_m {
                out.push(Signal::FarFromCheck {
                    distance_m: d.round(),
                });
            }
        }
        (None, Some(_)) if is_capture(media_type) => out.push(Signal::DistanceUnknown {
            reason: match &meta.gps_problem {
                Some(why) => format!("its place cannot be read: {why}"),
                None => "it carries no place".into(),
            },
        }),
        _ => {}
    }
    if let Some(t) = file_instant(meta) {
        let start = check.started_at - p.time_tolerance;
        let end = check.ended_at.unwrap_or(check.started_at) + p.time_tolerance;
        let off = if t < start {
            start - t
        } else if t > end {
            t - end
        } else {
            TimeDelta::zero()
        };
        if off > TimeDelta::zero() {
            out.push(Signal::OutsideCheckTime {
                minutes: off.num_minutes().max(1),
            });
        }
    }
    if reuse.same_bytes > 0 {
        out.push(Signal::ReusedElsewhere {
            records: reuse.same_bytes,
        });
    }
    if let Some((records, distance)) = reuse.near {
        out.push(Signal::NearDuplicate { records, distance });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editors_are_named_and_cameras_are_not() {
        let p = SignalPolicy {
            max_distance_m: 500.0,
            time_tolerance: TimeDelta::minutes(30),
            max_clock_skew: TimeDelta::minutes(10),
            max_near_distance: 5,
        };
        let with = |sw: &str| FileMetadata {
            software: Some(sw.into()),
            ..Default::default()
        };
        let c = Capture::default();
        assert!(
            of_file("image/jpeg", &with("GIMP 2.4.5"), &c, &p).contains(&Signal::EditedWith {
                software: "GIMP 2.4.5".into()
            })
        );
        assert!(
            of_file("image/jpeg", &with("美图秀秀"), &c, &p)
                .iter()
                .any(|s| matches!(s, Signal::EditedWith { .. }))
        );
        assert!(
            !of_file("image/jpeg", &with("Nikon Transfer 1.1 W"), &c, &p)
                .iter()
                .any(|s| matches!(s, Signal::EditedWith { .. }))
        );
        assert!(of_file("application/pdf", &FileMetadata::default(), &c, &p).is_empty());
    }

    #[test]
    fn a_place_that_cannot_be_read_is_never_reported_as_absent() {
        let p = SignalPolicy {
            max_distance_m: 500.0,
            time_tolerance: TimeDelta::minutes(30),
            max_clock_skew: TimeDelta::minutes(10),
            max_near_distance: 5,
        };
        let unreadable = FileMetadata {
            gps_problem: Some("GPSLatitudeRef is \"X\", not N or S".into()),
            ..Default::default()
        };
        let c = Capture::default();
        for (media_type, meta, want) in [
            ("image/jpeg", &unreadable, Some("gps_unreadable")),
            ("video/mp4", &unreadable, Some("gps_unreadable")),
            ("image/jpeg", &FileMetadata::default(), Some("no_gps")),
            ("video/quicktime", &FileMetadata::default(), Some("no_gps")),
            ("application/pdf", &FileMetadata::default(), None),
        ] {
            let kinds: Vec<_> = of_file(media_type, meta, &c, &p)
                .iter()
                .map(Signal::kind)
                .collect();
            assert_eq!(kinds, want.into_iter().collect::<Vec<_>>(), "{media_type}");
        }
    }
}
