//! Reading photos: pixel size from the image header, decoded under limits,
//! and EXIF metadata.

pub mod derive;

use std::io::Cursor;

use exif::{In, Reader, Tag, Value};
use image::ImageReader;

use crate::domain::evidence::{FileMetadata, sniff_media_type};
use crate::domain::geo::{Datum, Location};

/// Larger than any camera makes; a header claiming more is a bomb.
pub const MAX_SIDE: u32 = 30_000;
pub const MAX_PIXELS: u64 = 250_000_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MediaError {
    #[error(
        "image of {width}×{height} pixels is larger than allowed ({MAX_PIXELS} pixels, {MAX_SIDE} a side)"
    )]
    TooLarge { width: u32, height: u32 },
    #[error("image header cannot be read: {0}")]
    Unreadable(String),
}

/// What a file's head says: the type found from its bytes (None: not a
/// type Ducha takes), and its header and EXIF, or why they are unreadable.
pub type HeadReading = Option<(&'static str, Result<FileMetadata, MediaError>)>;

/// Reads a file's head: its type, then what [`inspect`] finds. CPU work:
/// run it on a blocking thread.
pub fn read_head(head: &[u8]) -> HeadReading {
    let media_type = sniff_media_type(head)?;
    Some((media_type, inspect(head, media_type)))
}

/// Reads what `head` (the first bytes of the file) tells of a photo of
/// type `media_type`. Documents and HEIF (whose pixels are not decoded
/// here) yield EXIF only.
pub fn inspect(head: &[u8], media_type: &str) -> Result<FileMetadata, MediaError> {
    let mut meta = read_exif(head);
    if matches!(media_type, "image/jpeg" | "image/png" | "image/webp") {
        let (width, height) = dimensions(head)?;
        meta.width = Some(width);
        meta.height = Some(height);
    }
    Ok(meta)
}

/// Reads the pixel size from the header alone; no pixel is decoded, so the
/// size can be judged before any memory is spent on it.
fn dimensions(head: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut reader = ImageReader::new(Cursor::new(head))
        .with_guessed_format()
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    reader.no_limits();
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooLarge { width, height });
    }
    Ok((width, height))
}

fn text(exif: &exif::Exif, tag: Tag) -> Option<String> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(parts) => {
            let s = parts
                .first()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())?;
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    }
}

fn rationals(exif: &exif::Exif, tag: Tag) -> Option<Vec<f64>> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
        _ => None,
    }
}

/// Degrees from EXIF's degrees, minutes, seconds and a hemisphere letter.
fn coordinate(exif: &exif::Exif, tag: Tag, reference: Tag, negative: &str) -> Option<f64> {
    let dms = rationals(exif, tag)?;
    let deg =
        dms.first()? + dms.get(1).unwrap_or(&0.0) / 60.0 + dms.get(2).unwrap_or(&0.0) / 3600.0;
    let sign = if text(exif, reference).is_some_and(|r| r.eq_ignore_ascii_case(negative)) {
        -1.0
    } else {
        1.0
    };
    deg.is_finite().then_some(sign * deg)
}

fn read_exif(bytes: &[u8]) -> FileMetadata {
    let Ok(exif) = Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return FileMetadata::default();
    };
    let capture = exif
        .get_field(Tag::DateTimeOriginal, In::PRIMARY)
        .or_else(|| exif.get_field(Tag::DateTime, In::PRIMARY))
        .and_then(|f| match &f.value {
            Value::Ascii(v) => v.first().and_then(|b| exif::DateTime::from_ascii(b).ok()),
            _ => None,
        });
    let capture_local_time =
        capture.and_then(|d| {
            chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())?
                .and_hms_opt(d.hour.into(), d.minute.into(), d.second.into())
        });
    let capture_offset_minutes = text(&exif, Tag::OffsetTimeOriginal).and_then(|o| {
        let mut d = exif::DateTime::from_ascii(b"2000:01:01 00:00:00").ok()?;
        d.parse_offset(o.as_bytes()).ok()?;
        d.offset
    });
    let lat = coordinate(&exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, "S");
    let lon = coordinate(&exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, "W");
    let gps = match (lat, lon) {
        (Some(latitude), Some(longitude))
            if (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) =>
        {
            let below_sea = matches!(
                exif.get_field(Tag::GPSAltitudeRef, In::PRIMARY).map(|f| &f.value),
                Some(Value::Byte(b)) if b.first() == Some(&1)
            );
            let altitude_m = rationals(&exif, Tag::GPSAltitude)
                .and_then(|v| v.first().copied())
                .map(|a| if below_sea { -a } else { a });
            let accuracy_m = rationals(&exif, Tag::GPSHPositioningError)
                .and_then(|v| v.first().copied())
                .unwrap_or(0.0);
            Some(Location {
                latitude,
                longitude,
                accuracy_m,
                altitude_m,
                datum: Datum::Wgs84,
            })
        }
        _ => None,
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o));
    FileMetadata {
        width: None,
        height: None,
        capture_local_time,
        capture_offset_minutes,
        gps,
        make: text(&exif, Tag::Make),
        model: text(&exif, Tag::Model),
        software: text(&exif, Tag::Software),
        orientation,
    }
}
