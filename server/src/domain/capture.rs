//! When a photo or video was taken, from what the file says, and which of
//! its clocks the answer rests on.
//!
//! A camera writes its local time (EXIF DateTimeOriginal) and, on newer
//! phones, the offset (OffsetTimeOriginal). Most phones also write the GPS
//! receiver's UTC time of its last fix (GPSDateStamp, GPSTimeStamp), which
//! may be a little old: the offset is then the difference rounded to a
//! quarter hour, the finest step any time zone uses. Videos carry UTC in
//! their container.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::evidence::FileMetadata;

/// Offset assumed for camera times written without one: China Standard
/// Time, where Ducha's inspectors work.
pub const ASSUMED_OFFSET_MINUTES: i32 = 8 * 60;

/// No time zone is farther from UTC than this (UTC+14, UTC−12).
const MAX_OFFSET: TimeDelta = TimeDelta::hours(14);

/// Offsets come in quarter hours (UTC+5:45, UTC+12:45).
const OFFSET_STEP_MINUTES: i64 = 15;

/// Which clock a capture time rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// Camera local time with the offset the camera wrote.
    ExifOffset,
    /// Camera local time, offset found from the GPS time of the last fix.
    GpsTime,
    /// Camera local time read as China time: no offset and no usable GPS
    /// time.
    AssumedChinaTime,
    /// The video container's creation time, which is UTC.
    Container,
}

impl TimeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::ExifOffset => "exif_offset",
            TimeSource::GpsTime => "gps_time",
            TimeSource::AssumedChinaTime => "assumed_china_time",
            TimeSource::Container => "container",
        }
    }
}

/// The capture instant and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureTime {
    pub at: DateTime<Utc>,
    pub source: TimeSource,
    /// The offset from UTC of the camera's clock, in minutes east, when the
    /// time rests on the camera's local time.
    pub offset_minutes: Option<i32>,
}

/// What the file's clocks say together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeReading {
    pub capture: Option<CaptureTime>,
    /// The camera clock and the GPS time differ by more than any time zone
    /// can explain: by this many minutes.
    pub gps_mismatch_minutes: Option<i64>,
}

fn local_at(local: NaiveDateTime, offset_minutes: i32) -> Option<DateTime<Utc>> {
    let offset = FixedOffset::east_opt(offset_minutes * 60)?;
    local
        .and_local_timezone(offset)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// `local − gps`, rounded to the nearest quarter hour.
fn rounded_offset(local: NaiveDateTime, gps: DateTime<Utc>) -> i64 {
    let minutes = (local - gps.naive_utc()).num_seconds() as f64 / 60.0;
    (minutes / OFFSET_STEP_MINUTES as f64).round() as i64 * OFFSET_STEP_MINUTES
}

impl FileMetadata {
    /// When the file was taken, and by which clock (the reading is here,
    /// beside its rules, so that `evidence` does not import them back).
    pub fn capture(&self) -> Option<CaptureTime> {
        read(self).capture
    }
}

/// The capture time of a file, by the first clock that holds: the offset
/// the camera wrote, the GPS time, the container's UTC, then China time.
pub fn read(meta: &FileMetadata) -> TimeReading {
    let mut reading = TimeReading::default();
    let Some(local) = meta.capture_local_time else {
        reading.capture = meta.recorded_at.map(|at| CaptureTime {
            at,
            source: TimeSource::Container,
            offset_minutes: None,
        });
        return reading;
    };
    let at_offset = |offset: i32, source| {
        local_at(local, offset).map(|at| CaptureTime {
            at,
            source,
            offset_minutes: Some(offset),
        })
    };
    // An offset no zone has is not an offset: the next clock is asked.
    let written = meta
        .capture_offset_minutes
        .map(i32::from)
        .filter(|o| o.abs() <= MAX_OFFSET.num_minutes() as i32);
    if let Some(capture) = written.and_then(|o| at_offset(o, TimeSource::ExifOffset)) {
        reading.capture = Some(capture);
        return reading;
    }
    if let Some(gps) = meta.gps_time {
        let offset = rounded_offset(local, gps);
        if offset.abs() <= MAX_OFFSET.num_minutes() {
            reading.capture = at_offset(offset as i32, TimeSource::GpsTime);
            return reading;
        }
        reading.gps_mismatch_minutes = Some((local - gps.naive_utc()).num_minutes().abs());
    }
    reading.capture = at_offset(ASSUMED_OFFSET_MINUTES, TimeSource::AssumedChinaTime);
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        local(s).and_utc()
    }

    #[test]
    fn each_clock_in_its_order() {
        struct Case {
            name: &'static str,
            local: Option<&'static str>,
            offset: Option<i16>,
            gps: Option<&'static str>,
            recorded: Option<&'static str>,
            want: Option<(&'static str, TimeSource, Option<i32>)>,
            mismatch: Option<i64>,
        }
        let cases = [
            Case {
                name: "the camera's own offset wins over GPS time",
                local: Some("2026-11-20 10:30:00"),
                offset: Some(480),
                gps: Some("2026-11-20 00:00:00"),
                recorded: None,
                want: Some(("2026-11-20 02:30:00", TimeSource::ExifOffset, Some(480))),
                mismatch: None,
            },
            Case {
                name: "a fix 87 s old still gives UTC+2",
                local: Some("2008-10-22 16:28:39"),
                offset: None,
                gps: Some("2008-10-22 14:27:12"),
                recorded: None,
                want: Some(("2008-10-22 14:28:39", TimeSource::GpsTime, Some(120))),
                mismatch: None,
            },
            Case {
                name: "Nepal's quarter hour",
                local: Some("2026-03-01 12:00:00"),
                offset: None,
                gps: Some("2026-03-01 06:15:10"),
                recorded: None,
                want: Some(("2026-03-01 06:15:00", TimeSource::GpsTime, Some(345))),
                mismatch: None,
            },
            Case {
                name: "west of UTC",
                local: Some("2021-04-11 15:47:53"),
                offset: None,
                gps: Some("2021-04-11 20:47:52"),
                recorded: None,
                want: Some(("2021-04-11 20:47:53", TimeSource::GpsTime, Some(-300))),
                mismatch: None,
            },
            Case {
                name: "exactly fourteen hours is still a zone",
                local: Some("2026-01-01 14:00:00"),
                offset: None,
                gps: Some("2026-01-01 00:00:00"),
                recorded: None,
                want: Some(("2026-01-01 00:00:00", TimeSource::GpsTime, Some(840))),
                mismatch: None,
            },
            Case {
                name: "a day and a half off is no zone: China time and a mismatch",
                local: Some("2008-10-22 16:28:39"),
                offset: None,
                gps: Some("2008-10-24 04:00:00"),
                recorded: None,
                want: Some((
                    "2008-10-22 08:28:39",
                    TimeSource::AssumedChinaTime,
                    Some(480),
                )),
                mismatch: Some(2131),
            },
            Case {
                name: "no GPS time: China time",
                local: Some("2014-09-21 16:00:56"),
                offset: None,
                gps: None,
                recorded: None,
                want: Some((
                    "2014-09-21 08:00:56",
                    TimeSource::AssumedChinaTime,
                    Some(480),
                )),
                mismatch: None,
            },
            Case {
                name: "a video's container time is UTC",
                local: None,
                offset: None,
                gps: None,
                recorded: Some("2026-11-20 02:30:00"),
                want: Some(("2026-11-20 02:30:00", TimeSource::Container, None)),
                mismatch: None,
            },
            Case {
                name: "an offset no zone has is passed over",
                local: Some("2014-09-21 16:00:56"),
                offset: Some(25 * 60),
                gps: None,
                recorded: None,
                want: Some((
                    "2014-09-21 08:00:56",
                    TimeSource::AssumedChinaTime,
                    Some(480),
                )),
                mismatch: None,
            },
            Case {
                name: "nothing to go by",
                local: None,
                offset: None,
                gps: Some("2026-11-20 02:30:00"),
                recorded: None,
                want: None,
                mismatch: None,
            },
        ];
        for c in cases {
            let meta = FileMetadata {
                capture_local_time: c.local.map(local),
                capture_offset_minutes: c.offset,
                gps_time: c.gps.map(utc),
                recorded_at: c.recorded.map(utc),
                ..Default::default()
            };
            let got = read(&meta);
            let want = c.want.map(|(at, source, offset_minutes)| CaptureTime {
                at: utc(at),
                source,
                offset_minutes,
            });
            assert_eq!(got.capture, want, "{}", c.name);
            assert_eq!(got.gps_mismatch_minutes, c.mismatch, "{}", c.name);
        }
    }
}
