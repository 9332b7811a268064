//! Videos (MP4, QuickTime): their metadata read from the `moov` box, which
//! phones often write at the end, so it is found by reading box headers
//! from the stored object by range; and a poster frame taken by ffmpeg.
//!
//! The movie header gives duration and creation time; nom-exif the maker
//! and model. The place comes in three forms, read here as nom-exif
//! misses two: Apple's `mdta`
//! key com.apple.quicktime.location.ISO6709 and the `©xyz` user-data atom
//! (both ISO 6709 text), and the 3GPP `loci` box (fixed-point numbers).

use std::ffi::OsString;
use std::path::Path;

use chrono::{DateTime, Utc};
use nom_exif::{MediaParser, MediaSource, TrackInfoTag};

use super::boxes::{self, u16_at, u32_at};
use super::derive::{self, Rendered};
use super::tool::{RenderError, Tool};
use super::{MediaError, check_size};
use crate::domain::evidence::{FileMetadata, PlaceSource};
use crate::domain::geo::{Datum, Location};

/// A `moov` larger than this is not a phone's: a 500 MiB video's index is
/// a few MiB.
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// An `ftyp` is a few brands: tens of bytes.
const MAX_FTYP_BYTES: u64 = 4096;

/// Top-level boxes looked at before giving up on finding `moov`.
const MAX_TOP_BOXES: usize = 256;

const APPLE_LOCATION_KEY: &[u8] = b"com.apple.quicktime.location.ISO6709";
const APPLE_CREATION_KEY: &[u8] = b"com.apple.quicktime.creationdate";
fn unreadable(why: impl Into<String>) -> MediaError {
    MediaError::Unreadable(why.into())
}

/// Where `ftyp` and `moov` lie in a file, from its top-level box headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    pub ftyp: Option<std::ops::Range<u64>>,
    pub moov: Option<std::ops::Range<u64>>,
}

/// Finds `ftyp` and `moov` among the top-level boxes of a file of `size`
/// bytes, reading each header through `read` (a range of the file).
pub async fn layout<F, Fut, E>(size: u64, mut read: F) -> Result<Result<Layout, MediaError>, E>
where
    F: FnMut(std::ops::Range<u64>) -> Fut,
    Fut: std::future::Future<Output = Result<bytes::Bytes, E>>,
{
    let mut found = Layout::default();
    let mut at = 0u64;
    for _ in 0..MAX_TOP_BOXES {
        if at + 8 > size {
            break;
        }
        let head = read(at..(at + 16).min(size)).await?;
        let Some(h) = boxes::header(&head) else {
            return Ok(Err(unreadable(format!(
                "the box at byte {at} cannot be read"
            ))));
        };
        let total = h.total_len.unwrap_or(size - at);
        let Some(end) = at.checked_add(total).filter(|e| *e <= size && *e > at) else {
            return Ok(Err(unreadable(format!(
                "the {} box at byte {at} runs past the end of the file: it is cut short",
                String::from_utf8_lossy(&h.kind)
            ))));
        };
        match &h.kind {
            b"ftyp" if total > MAX_FTYP_BYTES => {
                return Ok(Err(unreadable(format!(
                    "its file type box is {total} bytes, more than a video's"
                ))));
            }
            b"ftyp" => found.ftyp = Some(at..end),
            b"moov" => {
                if total > MAX_MOOV_BYTES {
                    return Ok(Err(unreadable(format!(
                        "its index (moov) is {total} bytes, more than a video's"
                    ))));
                }
                found.moov = Some(at..end);
                break;
            }
            _ => {}
        }
        at = end;
    }
    Ok(Ok(found))
}

/// What a video's `ftyp` and `moov` boxes (whole, headers included) say.
pub fn read(ftyp: &[u8], moov_box: &[u8]) -> Result<FileMetadata, MediaError> {
    let moov = boxes::child(moov_box, b"moov")
        .ok_or_else(|| unreadable("its index (moov) cannot be read"))?;
    let (codec, width, height) = video_track(moov)?;
    let mut meta = FileMetadata {
        width: Some(width),
        height: Some(height),
        codec: Some(codec.to_string()),
        ..FileMetadata::default()
    };
    let (created, duration_ms) = movie_header(moov)?;
    meta.duration_ms = duration_ms;
    // Apple's own creation date carries the zone and survives edits that
    // rewrite the movie header; the header's time is UTC.
    meta.recorded_at = apple_meta(moov, APPLE_CREATION_KEY)
        .ok()
        .flatten()
        .and_then(|t| DateTime::parse_from_str(t.trim(), "%Y-%m-%dT%H:%M:%S%z").ok())
        .map(|t| t.with_timezone(&Utc))
        .or(created);
    // Maker, model and software, where nom-exif finds them; they carry no
    // place or time.
    let mut file = Vec::with_capacity(ftyp.len() + moov_box.len());
    file.extend_from_slice(ftyp);
    file.extend_from_slice(moov_box);
    if let Ok(track) =
        MediaSource::from_memory(file).and_then(|ms| MediaParser::new().parse_track(ms))
    {
        let text = |tag| track.get(tag).and_then(|v| v.as_str()).map(str::to_string);
        meta.make = text(TrackInfoTag::Make);
        meta.model = text(TrackInfoTag::Model);
        meta.software = text(TrackInfoTag::Software);
    }
    match read_place(moov) {
        Some((source, Ok(p))) => {
            meta.gps = Some(p);
            meta.place_source = Some(source);
        }
        Some((_, Err(why))) => meta.gps_problem = Some(why),
        None => {}
    }
    Ok(meta)
}

fn place(latitude: f64, longitude: f64, altitude_m: Option<f64>) -> Option<Location> {
    ((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude)).then_some(
        Location {
            latitude,
            longitude,
            accuracy_m: 0.0,
            altitude_m,
            datum: Datum::Wgs84,
        },
    )
}

/// The place of a video and where it was read, trying Apple's key (in
/// `moov/meta`, where iPhones write it, or `moov/udta/meta`, where ffmpeg
/// does), then `©xyz`, then `loci`. None when the video has no place.
fn read_place(moov: &[u8]) -> Option<(PlaceSource, Result<Location, String>)> {
    match apple_meta(moov, APPLE_LOCATION_KEY) {
        Ok(Some(text)) => return Some((PlaceSource::AppleIso6709, iso6709(&text))),
        Err(why) => return Some((PlaceSource::AppleIso6709, Err(why))),
        Ok(None) => {}
    }
    if let Some(xyz) = boxes::find(moov, &[b"udta", b"\xa9xyz"]) {
        // A QuickTime text atom: length, language, then the text.
        let len = usize::from(u16_at(xyz, 0).unwrap_or(0));
        let text = xyz
            .get(4..4 + len)
            .map(|t| String::from_utf8_lossy(t).into_owned());
        let place = text.map_or_else(|| Err("its ©xyz atom is cut short".into()), |t| iso6709(&t));
        return Some((PlaceSource::QuicktimeXyz, place));
    }
    let loci = boxes::find(moov, &[b"udta", b"loci"])?;
    Some((
        PlaceSource::Loci,
        loci_place(loci).ok_or_else(|| "its 3GPP loci box cannot be read".into()),
    ))
}

/// The value of an Apple `mdta` key: in `moov/meta`, where iPhones write
/// it, or `moov/udta/meta` (a full box), where ffmpeg does. Ok(None) when
/// the key is not there; Err when it is listed but its value cannot be
/// read.
fn apple_meta(moov: &[u8], key: &[u8]) -> Result<Option<String>, String> {
    let metas = [
        boxes::child(moov, b"meta"),
        boxes::find(moov, &[b"udta", b"meta"]).and_then(|m| m.get(4..)),
    ];
    for meta in metas.into_iter().flatten() {
        if let Some(value) = mdta_text(meta, key)? {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// The text value of an `mdta` key in a QuickTime `meta` box's `keys` and
/// `ilst` (the box's body, after any version and flags).
fn mdta_text(meta: &[u8], key: &[u8]) -> Result<Option<String>, String> {
    let Some(keys) = boxes::child(meta, b"keys") else {
        return Ok(None);
    };
    let name = String::from_utf8_lossy(key);
    let broken = || format!("its {name} entry cannot be read");
    let count = u32_at(keys, 4).ok_or_else(broken)?;
    let mut at = 8usize;
    let mut index = None;
    for i in 1..=count {
        let size = u32_at(keys, at).ok_or_else(broken)? as usize;
        if size < 8 {
            return Err(broken());
        }
        if keys.get(at + 8..at + size) == Some(key) {
            index = Some(i);
            break;
        }
        at += size;
    }
    let Some(index) = index else {
        return Ok(None);
    };
    let item = boxes::child(meta, b"ilst")
        .and_then(|ilst| {
            boxes::children(ilst)
                .find(|(k, _)| *k == index.to_be_bytes())
                .map(|(_, item)| item)
        })
        .ok_or_else(broken)?;
    // A `data` box: type (1: UTF-8), locale, then the value.
    let data = boxes::child(item, b"data").ok_or_else(broken)?;
    match (u32_at(data, 0), data.get(8..)) {
        (Some(1), Some(value)) => Ok(Some(String::from_utf8_lossy(value).into_owned())),
        _ => Err(broken()),
    }
}

/// Creation time and duration from the movie header (`mvhd`), which every
/// playable file has.
fn movie_header(moov: &[u8]) -> Result<(Option<DateTime<Utc>>, Option<u64>), MediaError> {
    let m = boxes::child(moov, b"mvhd")
        .ok_or_else(|| unreadable("its index has no movie header (mvhd)"))?;
    let cut = || unreadable("its movie header (mvhd) is cut short");
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_be_bytes(m.get(at..at + 8)?.try_into().ok()?))
    };
    let (created, timescale, duration) = match m.first() {
        Some(1) => (
            u64_at(4),
            u32_at(m, 20),
            u64_at(24).filter(|d| *d != u64::MAX),
        ),
        _ => (
            u32_at(m, 4).map(u64::from),
            u32_at(m, 12),
            u32_at(m, 16).filter(|d| *d != u32::MAX).map(u64::from),
        ),
    };
    let (created, timescale) = (created.ok_or_else(cut)?, timescale.ok_or_else(cut)?);
    if timescale == 0 {
        return Err(unreadable("its movie header has a time scale of zero"));
    }
    // Seconds since 1904-01-01, QuickTime's epoch; zero when not set.
    const QUICKTIME_EPOCH: i64 = -2_082_844_800;
    let created = i64::try_from(created)
        .ok()
        .filter(|c| *c > 0)
        .and_then(|c| DateTime::from_timestamp(QUICKTIME_EPOCH.checked_add(c)?, 0));
    let duration_ms = duration
        .map(|d| (u128::from(d) * 1000 / u128::from(timescale)).min(u128::from(u64::MAX)) as u64);
    Ok((created, duration_ms))
}

/// An ISO 6709 point, as phones write it: `+28.4517+119.9223+060.000/`.
fn iso6709(text: &str) -> Result<Location, String> {
    let bad = || format!("its ISO 6709 place {text:?} cannot be read");
    let c: iso6709parse::ISO6709Coord = iso6709parse::parse(text.trim()).map_err(|_| bad())?;
    let altitude = c.altitude.or_else(|| altitude(text));
    place(c.lat, c.lon, altitude).ok_or_else(bad)
}

/// The third signed number of a decimal ISO 6709 point, if there is one.
fn altitude(text: &str) -> Option<f64> {
    let body = text.trim().trim_end_matches('/');
    let starts: Vec<usize> = body.match_indices(['+', '-']).map(|(i, _)| i).collect();
    let third = *starts.get(2)?;
    let end = body[third + 1..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(body.len(), |e| third + 1 + e);
    body[third..end].parse().ok()
}

/// The codec and stored size of the first video track; videos other than
/// H.264 and HEVC are refused.
fn video_track(moov: &[u8]) -> Result<(&'static str, u32, u32), MediaError> {
    for (kind, trak) in boxes::children(moov) {
        if &kind != b"trak" {
            continue;
        }
        let handler = boxes::find(trak, &[b"mdia", b"hdlr"]).and_then(|h| h.get(8..12));
        if handler != Some(b"vide") {
            continue;
        }
        let stsd = boxes::find(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])
            .ok_or_else(|| unreadable("its video track has no sample description"))?;
        // Full box (4), entry count (4), then the first entry: size (4),
        // format (4), 6 reserved, data reference (2), 16 reserved, width
        // and height.
        let format = stsd
            .get(12..16)
            .ok_or_else(|| unreadable("its video track is empty"))?;
        let codec = match format {
            b"avc1" | b"avc3" => "h264",
            b"hvc1" | b"hev1" => "hevc",
            other => {
                return Err(unreadable(format!(
                    "its video is {}, not H.264 or HEVC",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        let (w, h) = (u16_at(stsd, 40), u16_at(stsd, 42));
        let (Some(w), Some(h)) = (w, h) else {
            return Err(unreadable("its video track has no size"));
        };
        check_size(u32::from(w), u32::from(h))?;
        return Ok((codec, u32::from(w), u32::from(h)));
    }
    Err(unreadable("it has no video track"))
}

/// The place of a 3GPP `loci` box (TS 26.244): a full box, a language,
/// a name ending in NUL (UTF-8, or UTF-16 after a byte-order mark), a
/// role, then longitude, latitude and altitude as signed 16.16 fixed point.
fn loci_place(b: &[u8]) -> Option<Location> {
    let name = b.get(6..)?;
    let name_len = if name.starts_with(&[0xfe, 0xff]) {
        name.chunks(2).position(|c| c == [0, 0])? * 2 + 2
    } else {
        name.iter().position(|c| *c == 0)? + 1
    };
    let at = 6 + name_len + 1;
    let fixed = |at| u32_at(b, at).map(|v| f64::from(v as i32) / 65536.0);
    place(fixed(at + 4)?, fixed(at)?, fixed(at + 8))
}

/// Fits the frame within a preview, never enlarging it (the commas of the
/// expressions escaped for the filter graph).
const POSTER_SCALE: &str =
    "scale=w=min(1280\\,iw):h=min(1280\\,ih):force_original_aspect_ratio=decrease";

/// A PPM of at most 1280×1280 and its header.
const MAX_POSTER_BYTES: usize = 1280 * 1280 * 3 + 64;

/// Takes a poster frame from the video at `path` with ffmpeg, a second in
/// (or halfway through a shorter video), and makes the derivatives from
/// it. ffmpeg applies the track's rotation; it reads only local files.
pub async fn render(
    tool: &Tool,
    path: &Path,
    duration_ms: Option<u64>,
) -> Result<Rendered, RenderError> {
    let at_ms = duration_ms.map_or(0, |d| (d / 2).min(1000));
    let mut input = OsString::from("file:");
    input.push(path.as_os_str());
    let args: Vec<OsString> = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        "1",
        "-protocol_whitelist",
        "file",
        // The MP4/QuickTime demuxer only: no probing for playlists or
        // other formats that could name further inputs.
        "-f",
        "mov",
        "-ss",
        &format!("{}.{:03}", at_ms / 1000, at_ms % 1000),
        "-i",
    ]
    .iter()
    .map(OsString::from)
    .chain([input])
    .chain(
        [
            "-map",
            "0:v:0",
            "-frames:v",
            "1",
            "-an",
            "-sn",
            "-dn",
            // At most a preview's size, whatever size the stream claims.
            "-vf",
            POSTER_SCALE,
            "-f",
            "image2pipe",
            "-c:v",
            "ppm",
            "pipe:1",
        ]
        .iter()
        .map(OsString::from),
    )
    .collect();
    let dir = path.parent().unwrap_or(Path::new("/"));
    let ppm = tool.run(&args, dir, MAX_POSTER_BYTES).await?;
    tokio::task::spawn_blocking(move || {
        let (width, height, rgb) = parse_ppm(ppm)?;
        derive::render_rgb(width, height, rgb)
    })
    .await
    .map_err(|e| RenderError::Io(std::io::Error::other(e)))?
    .map_err(RenderError::Picture)
}

/// A binary PPM (P6, 8 bits): width, height and the RGB bytes.
fn parse_ppm(mut b: Vec<u8>) -> Result<(u32, u32, Vec<u8>), MediaError> {
    let bad = || unreadable("ffmpeg gave no frame");
    let mut fields = Vec::with_capacity(4);
    let mut at = 0;
    while fields.len() < 4 {
        while b.get(at).ok_or_else(bad)?.is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !b.get(at).ok_or_else(bad)?.is_ascii_whitespace() {
            at += 1;
        }
        let field = std::str::from_utf8(&b[start..at]).map_err(|_| bad())?;
        fields.push(field.to_string());
    }
    at += 1;
    let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
    if fields[0] != "P6" || number(&fields[3])? != 255 {
        return Err(bad());
    }
    let (w, h) = (number(&fields[1])?, number(&fields[2])?);
    check_size(w, h)?;
    let len = w as usize * h as usize * 3;
    if b.len() < at + len {
        return Err(bad());
    }
    b.truncate(at + len);
    b.drain(..at);
    Ok((w, h, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/fixtures/corpus/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    async fn read_file(b: &[u8]) -> Result<FileMetadata, MediaError> {
        let l = layout(b.len() as u64, |r| {
            let part = bytes::Bytes::copy_from_slice(&b[r.start as usize..r.end as usize]);
            async move { Ok::<_, ()>(part) }
        })
        .await
        .unwrap()?;
        let slice = |r: Option<std::ops::Range<u64>>| {
            r.map_or(&[][..], |r| &b[r.start as usize..r.end as usize])
        };
        let moov = l.moov.clone().ok_or_else(|| unreadable("no moov"))?;
        read(slice(l.ftyp), slice(Some(moov)))
    }

    #[tokio::test]
    async fn each_form_of_place_is_read() {
        for (file, source) in [
            ("loci.mp4", PlaceSource::Loci),
            ("xyz.mov", PlaceSource::QuicktimeXyz),
            ("apple_key.mov", PlaceSource::AppleIso6709),
            ("apple_key_udta.mov", PlaceSource::AppleIso6709),
            ("faststart.mp4", PlaceSource::Loci),
        ] {
            let m = read_file(&corpus(file)).await.unwrap();
            let gps = m
                .gps
                .unwrap_or_else(|| panic!("{file}: {:?}", m.gps_problem));
            assert!((gps.latitude - 28.4517).abs() < 1e-3, "{file}: {gps:?}");
            assert!((gps.longitude - 119.9223).abs() < 1e-3, "{file}: {gps:?}");
            assert_eq!(m.place_source, Some(source), "{file}");
            assert_eq!(m.codec.as_deref(), Some("h264"), "{file}");
            assert_eq!((m.width, m.height), (Some(320), Some(240)), "{file}");
            assert!(
                m.duration_ms.is_some_and(|d| (1900..=2100).contains(&d)),
                "{file}: {m:?}"
            );
        }
        let m = read_file(&corpus("no_place.mp4")).await.unwrap();
        assert_eq!((m.gps, m.gps_problem), (None, None));
        assert!(read_file(&corpus("truncated.mp4")).await.is_err());
        assert!(read_file(&corpus("garbage.mp4")).await.is_err());
    }

    #[test]
    fn iso6709_points_with_and_without_altitude() {
        let p = iso6709("+28.4517+119.9223+060.000/").unwrap();
        assert_eq!(
            (p.latitude, p.longitude, p.altitude_m),
            (28.4517, 119.9223, Some(60.0))
        );
        let p = iso6709("-33.8688+151.2093/").unwrap();
        assert_eq!(
            (p.latitude, p.longitude, p.altitude_m),
            (-33.8688, 151.2093, None)
        );
        assert!(iso6709("somewhere").is_err());
    }

    #[test]
    fn a_loci_box_holds_longitude_before_latitude() {
        let mut b = vec![0, 0, 0, 0, 0x15, 0xc7, b'x', 0, 0];
        for v in [119.9223f64, 28.4517, 60.0] {
            b.extend_from_slice(&((v * 65536.0) as i32).to_be_bytes());
        }
        let p = loci_place(&b).unwrap();
        assert!((p.latitude - 28.4517).abs() < 1e-4 && (p.longitude - 119.9223).abs() < 1e-4);
        assert!(loci_place(&b[..12]).is_none());
    }
}
