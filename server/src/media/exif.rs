//! EXIF as phones write it: positions as unsigned or signed rationals, in
//! degrees-minutes-seconds, degrees-minutes or decimal degrees, with or
//! without a hemisphere letter, and the GPS clock in UTC. A block that is
//! there but cannot be read is reported as such, never as absent.

use std::io::Cursor;

use exif::{Exif, Field, In, Reader, Tag, Value};

use crate::domain::evidence::{FileMetadata, PlaceSource};
use crate::domain::geo::{Datum, Location};

fn field(exif: &Exif, tag: Tag) -> Option<&Field> {
    exif.get_field(tag, In::PRIMARY)
}

fn text(exif: &Exif, tag: Tag) -> Option<String> {
    match &field(exif, tag)?.value {
        Value::Ascii(parts) => {
            let s = parts
                .first()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())?;
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    }
}

/// The numbers of a field, whatever numeric type it was written in.
fn numbers(f: &Field) -> Result<Vec<f64>, String> {
    let v: Vec<f64> = match &f.value {
        Value::Rational(v) => v.iter().map(|r| r.to_f64()).collect(),
        Value::SRational(v) => v.iter().map(|r| r.to_f64()).collect(),
        Value::Double(v) => v.clone(),
        Value::Float(v) => v.iter().map(|x| f64::from(*x)).collect(),
        Value::Short(v) => v.iter().map(|x| f64::from(*x)).collect(),
        Value::Long(v) => v.iter().map(|x| f64::from(*x)).collect(),
        other => {
            return Err(format!(
                "{} is written as {}, not as numbers",
                f.tag,
                type_name(other)
            ));
        }
    };
    if v.iter().any(|x| !x.is_finite()) {
        return Err(format!("{} has a zero denominator", f.tag));
    }
    Ok(v)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Ascii(_) => "text",
        Value::Byte(_) | Value::SByte(_) | Value::Undefined(..) => "bytes",
        _ => "an unexpected type",
    }
}

/// Degrees of one axis: its magnitude from one, two or three numbers, its
/// sign from the hemisphere letter when there is one, otherwise from the
/// numbers (phones that write signed rationals may leave the letter out).
fn axis(exif: &Exif, tag: Tag, reference: Tag, letters: [char; 2]) -> Result<f64, String> {
    let f = field(exif, tag).ok_or_else(|| format!("{tag} is missing"))?;
    let n = numbers(f)?;
    let magnitude = match n.as_slice() {
        [d] => d.abs(),
        [d, m] => d.abs() + m.abs() / 60.0,
        [d, m, s, ..] => d.abs() + m.abs() / 60.0 + s.abs() / 3600.0,
        [] => return Err(format!("{tag} holds no number")),
    };
    let negative_numbers = n.iter().any(|x| *x < 0.0);
    let negative = match text(exif, reference) {
        None => negative_numbers,
        Some(r) => match r.to_ascii_uppercase().chars().next() {
            Some(c) if c == letters[0] => false,
            Some(c) if c == letters[1] => true,
            _ => {
                return Err(format!(
                    "{reference} is {r:?}, not {} or {}",
                    letters[0], letters[1]
                ));
            }
        },
    };
    Ok(if negative { -magnitude } else { magnitude })
}

const POSITION_TAGS: [Tag; 4] = [
    Tag::GPSLatitude,
    Tag::GPSLongitude,
    Tag::GPSLatitudeRef,
    Tag::GPSLongitudeRef,
];

/// The position, None when the file has none, or why it cannot be read.
fn position(exif: &Exif) -> Result<Option<Location>, String> {
    if POSITION_TAGS.iter().all(|t| field(exif, *t).is_none()) {
        return Ok(None);
    }
    let latitude = axis(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, ['N', 'S'])?;
    let longitude = axis(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, ['E', 'W'])?;
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(format!(
            "the position {latitude:.6}, {longitude:.6} is off the globe"
        ));
    }
    let below_sea = matches!(
        field(exif, Tag::GPSAltitudeRef).map(|f| &f.value),
        Some(Value::Byte(b)) if b.first() == Some(&1)
    );
    let first = |tag| {
        field(exif, tag)
            .and_then(|f| numbers(f).ok())
            .and_then(|v| v.first().copied())
    };
    let altitude_m = first(Tag::GPSAltitude).map(|a| if below_sea { -a.abs() } else { a });
    let accuracy_m = first(Tag::GPSHPositioningError).unwrap_or(0.0);
    Ok(Some(Location {
        latitude,
        longitude,
        accuracy_m,
        altitude_m,
        datum: Datum::Wgs84,
    }))
}

/// Whether a damaged EXIF block pointed to a GPS block, or was damaged
/// before the pointer could be read (its first IFD lost).
fn gps_block_or_unknown(exif: &Exif) -> bool {
    field(exif, Tag::GPSInfoIFDPointer).is_some() || exif.fields().next().is_none()
}

/// GPSDateStamp and GPSTimeStamp: the UTC time of the last fix.
fn gps_time(exif: &Exif) -> Option<chrono::DateTime<chrono::Utc>> {
    let date = text(exif, Tag::GPSDateStamp)?;
    let date = chrono::NaiveDate::parse_from_str(date.trim_end_matches('\0'), "%Y:%m:%d").ok()?;
    let hms = numbers(field(exif, Tag::GPSTimeStamp)?).ok()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    let seconds = h * 3600.0 + m * 60.0 + s;
    if !(0.0..86_400.0).contains(&seconds) {
        return None;
    }
    let at = date.and_hms_opt(0, 0, 0)?.and_utc();
    Some(at + chrono::TimeDelta::milliseconds((seconds * 1000.0).round() as i64))
}

fn local_time(exif: &Exif) -> Option<chrono::NaiveDateTime> {
    let d = field(exif, Tag::DateTimeOriginal)
        .or_else(|| field(exif, Tag::DateTime))
        .and_then(|f| match &f.value {
            Value::Ascii(v) => v.first().and_then(|b| exif::DateTime::from_ascii(b).ok()),
            _ => None,
        })?;
    chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())?.and_hms_opt(
        d.hour.into(),
        d.minute.into(),
        d.second.into(),
    )
}

/// What the EXIF of a file (JPEG, PNG, WebP, HEIF, TIFF) says. A file
/// without EXIF, or with EXIF too broken to parse, yields nothing.
pub fn read(bytes: &[u8]) -> FileMetadata {
    let mut damage = None;
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(bytes))
        .or_else(|e| {
            e.distill_partial_result(|errors| damage = errors.first().map(|e| e.to_string()))
        }) {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return FileMetadata::default(),
        // An EXIF block is there but cannot be parsed: whether it holds a
        // position cannot be told.
        Err(e) => {
            return FileMetadata {
                gps_problem: Some(format!("the EXIF block cannot be parsed ({e})")),
                ..FileMetadata::default()
            };
        }
    };
    let capture_offset_minutes = text(&exif, Tag::OffsetTimeOriginal).and_then(|o| {
        let mut d = exif::DateTime::from_ascii(b"2000:01:01 00:00:00").ok()?;
        d.parse_offset(o.as_bytes()).ok()?;
        d.offset
    });
    let (gps, gps_problem) = match (position(&exif), damage) {
        (Ok(Some(p)), _) => (Some(p), None),
        (Err(why), _) => (None, Some(why)),
        // Damage where the GPS block is, or before it could be found.
        (Ok(None), Some(why)) if gps_block_or_unknown(&exif) => {
            (None, Some(format!("the EXIF block is damaged ({why})")))
        }
        (Ok(None), _) => (None, None),
    };
    let orientation = field(&exif, Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o));
    FileMetadata {
        capture_local_time: local_time(&exif),
        capture_offset_minutes,
        gps_time: gps_time(&exif),
        place_source: gps.map(|_| PlaceSource::ExifGps),
        gps,
        gps_problem,
        make: text(&exif, Tag::Make),
        model: text(&exif, Tag::Model),
        software: text(&exif, Tag::Software),
        orientation,
        ..FileMetadata::default()
    }
}
