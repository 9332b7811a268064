//! Evidence: photos and documents, and the resumable uploads they arrive by.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::attestation::Attestation;
use super::derivative::Derivatives;
use super::geo::{Location, LocationDraft};
use super::validate::{Input, Violations};
use crate::error::{Error, Result};

/// Types kept as evidence, as found from the bytes.
pub const ACCEPTED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heif",
    "image/heic",
    "video/mp4",
    "video/quicktime",
    "application/pdf",
];

/// Whether a type is a video, which has its own size limit and whose
/// metadata is read from the stored object.
pub fn is_video(media_type: &str) -> bool {
    media_type.starts_with("video/")
}

pub const FILE_NAME_MAX: usize = 255;
pub const DEVICE_ID_MAX: usize = 128;

/// How a piece of evidence serves what it is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRole {
    Before,
    After,
    Context,
    Document,
}

impl EvidenceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceRole::Before => "before",
            EvidenceRole::After => "after",
            EvidenceRole::Context => "context",
            EvidenceRole::Document => "document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EvidenceRole::Before,
            EvidenceRole::After,
            EvidenceRole::Context,
            EvidenceRole::Document,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A photo a record names by its hash before the bytes arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedEvidence {
    pub sha256: String,
    pub role: EvidenceRole,
}

/// Evidence linked to a record.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceLink {
    pub evidence_id: Uuid,
    pub sha256: String,
    pub role: EvidenceRole,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
    pub signals: Vec<Signal>,
}

/// Configurable bounds of uploads.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Photos and documents.
    pub max_file_bytes: i64,
    /// Videos, by the declared type and then by the type found.
    pub max_video_bytes: i64,
    pub max_chunk_bytes: i64,
    pub max_open_per_user: i64,
    pub ttl: std::time::Duration,
}

impl UploadLimits {
    /// The size limit of a file of this type.
    pub fn max_bytes(&self, media_type: &str) -> i64 {
        if is_video(media_type) {
            self.max_video_bytes
        } else {
            self.max_file_bytes
        }
    }
}

/// What the phone knew when the photo was taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    pub location: Option<Location>,
    pub device_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device_id: String,
    /// Hex of the device's Ed25519 signature, kept so it can be checked
    /// again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attestation_signature: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadDraft {
    pub unit_code: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: String,
    pub file_name: String,
    pub location: Option<LocationDraft>,
    pub device_time: Input<DateTime<Utc>>,
    pub device_id: String,
    pub attestation_signature: Vec<u8>,
}

/// A declared upload that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRequest {
    pub unit_code: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: String,
    pub file_name: String,
    pub capture: Capture,
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl UploadDraft {
    pub fn validate(self, limits: &UploadLimits) -> Result<UploadRequest> {
        let mut v = Violations::new();
        if self.unit_code.trim().is_empty() {
            v.add("unit_code", "is required");
        }
        let sha256 = self.sha256.trim().to_ascii_lowercase();
        if !is_sha256_hex(&sha256) {
            v.add("sha256", "must be the 64 hex digits of the file's SHA-256");
        }
        if self.size_bytes <= 0 {
            v.add("size_bytes", "must be positive");
        } else if self.size_bytes > limits.max_bytes(&self.media_type) {
            v.add(
                "size_bytes",
                format!(
                    "{} bytes is over the limit of {} bytes for {}",
                    self.size_bytes,
                    limits.max_bytes(&self.media_type),
                    if is_video(&self.media_type) {
                        "a video"
                    } else {
                        "a photo or document"
                    }
                ),
            );
        }
        v.max_chars("media_type", &self.media_type, 100);
        v.max_chars("file_name", &self.file_name, FILE_NAME_MAX);
        v.max_chars("capture.device_id", &self.device_id, DEVICE_ID_MAX);
        let location = self
            .location
            .and_then(|l| l.validate("capture.location", &mut v));
        let device_time = self.device_time.optional("capture.device_time", &mut v);
        if !self.attestation_signature.is_empty() {
            if self.attestation_signature.len() != 64 {
                v.add(
                    "capture.attestation_signature",
                    "must be a 64-byte Ed25519 signature",
                );
            }
            if self.device_id.trim().is_empty() {
                v.add(
                    "capture.device_id",
                    "is required with an attestation signature",
                );
            }
        }
        v.finish()?;
        Ok(UploadRequest {
            unit_code: self.unit_code.trim().to_string(),
            sha256,
            size_bytes: self.size_bytes,
            media_type: self.media_type.trim().to_string(),
            file_name: self.file_name.trim().to_string(),
            capture: Capture {
                location,
                device_time,
                device_id: self.device_id.trim().to_string(),
                attestation_signature: hex::encode(&self.attestation_signature),
            },
        })
    }
}

/// An upload in progress, or finished into `evidence_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: Uuid,
    pub uploader: String,
    pub request: UploadRequest,
    pub committed_offset: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub evidence_id: Option<Uuid>,
}

/// Where a chunk falls relative to what was already received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Everything in it was received before: acknowledge, change nothing.
    Covered,
    /// Keep the chunk from this index on (the start overlaps what is held).
    Append { skip: usize },
}

impl Upload {
    /// Decides what to do with `len` bytes at `offset`.
    pub fn place(&self, offset: i64, len: usize, limits: &UploadLimits) -> Result<Placement> {
        let len = len as i64;
        if offset < 0 {
            return Err(Error::invalid("offset", "must not be negative"));
        }
        if len > limits.max_chunk_bytes {
            return Err(Error::invalid(
                "data",
                format!(
                    "chunk of {len} bytes is over the limit of {} bytes",
                    limits.max_chunk_bytes
                ),
            ));
        }
        if offset + len > self.request.size_bytes {
            return Err(Error::invalid(
                "data",
                format!(
                    "ends at byte {} but the upload was declared with {} bytes",
                    offset + len,
                    self.request.size_bytes
                ),
            ));
        }
        if offset > self.committed_offset {
            return Err(Error::UploadOffset {
                committed: self.committed_offset,
            });
        }
        if offset + len <= self.committed_offset {
            return Ok(Placement::Covered);
        }
        Ok(Placement::Append {
            skip: (self.committed_offset - offset) as usize,
        })
    }

    pub fn is_complete(&self) -> bool {
        self.committed_offset == self.request.size_bytes
    }
}

/// Checks a chunk against the CRC32C the client computed.
pub fn check_crc32c(data: &[u8], crc: u32) -> Result<()> {
    let got = crc32c::crc32c(data);
    if got != crc {
        return Err(Error::invalid(
            "crc32c",
            format!(
                "data has CRC32C {got:#010x}, not {crc:#010x}: it was damaged on the way; send it again"
            ),
        ));
    }
    Ok(())
}

/// The type of a file from its first bytes, when it is one Ducha keeps.
pub fn sniff_media_type(head: &[u8]) -> Option<&'static str> {
    let kind = infer::get(head)?;
    ACCEPTED_TYPES
        .iter()
        .copied()
        .find(|t| *t == kind.mime_type())
}

/// Where a file's position was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceSource {
    /// EXIF GPSLatitude and GPSLongitude.
    ExifGps,
    /// The ISO 6709 string of a QuickTime `©xyz` user-data atom (Android).
    QuicktimeXyz,
    /// Apple's `mdta` key com.apple.quicktime.location.ISO6709.
    AppleIso6709,
    /// The 3GPP `loci` box.
    Loci,
}

impl PlaceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceSource::ExifGps => "exif_gps",
            PlaceSource::QuicktimeXyz => "quicktime_xyz",
            PlaceSource::AppleIso6709 => "apple_iso6709",
            PlaceSource::Loci => "loci",
        }
    }
}

/// What the file itself says: pixel size, EXIF, a video's track.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// EXIF DateTimeOriginal as written, in the camera's local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_local_time: Option<chrono::NaiveDateTime>,
    /// EXIF OffsetTimeOriginal in minutes east of UTC, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_offset_minutes: Option<i16>,
    /// EXIF GPSDateStamp and GPSTimeStamp: UTC of the last fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps_time: Option<DateTime<Utc>>,
    /// A video's creation time, from its container (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
    /// The file's position (always WGS-84), with its horizontal error as
    /// accuracy when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<Location>,
    /// Where `gps` was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_source: Option<PlaceSource>,
    /// The file has a position that cannot be read, and why; never
    /// reported as having none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps_problem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// EXIF orientation, 1 to 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u16>,
    /// A video's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A video's codec: `h264` or `hevc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
}

/// A stored photo or document.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub id: Uuid,
    pub sha256: String,
    pub unit_code: String,
    pub uploader: String,
    pub media_type: String,
    pub declared_media_type: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub capture: Capture,
    pub metadata: FileMetadata,
    pub signals: Vec<Signal>,
    pub attestation: Attestation,
    pub created_at: DateTime<Utc>,
    /// Thumbnail and preview, made in the background.
    pub derivatives: Derivatives,
    /// Perceptual hash of the picture, once its derivatives are made.
    pub phash: Option<u64>,
}

/// Object key of the original bytes: content-addressed.
pub fn original_key(sha256: &str) -> String {
    format!("{ORIGINALS}{}/{}", &sha256[..2], sha256)
}

const ORIGINALS: &str = "evidence/sha256/";

/// The SHA-256 an object key of an original names; None for other keys.
pub fn original_sha256(key: &str) -> Option<&str> {
    key.strip_prefix(ORIGINALS)?.rsplit('/').next()
}

/// What a list of evidence is narrowed to.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct EvidenceFilter {
    /// None: every unit. Some: only these (already narrowed to the scope).
    pub unit_codes: Option<Vec<String>>,
    pub uploader: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub check_record: Option<Uuid>,
    /// A kind of file signal, as `Signal::kind` names it.
    pub signal: Option<String>,
}

/// Position after the last evidence of a page: newest first, then id.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidenceCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// A reason to look twice at a file (the rules that find them are in
/// `signals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A photo or video that carries no position.
    NoGps,
    /// The file has a GPS block (or a place atom) that cannot be read.
    GpsUnreadable { reason: String },
    /// The camera clock and the GPS time differ by more than a time zone.
    GpsTimeMismatch { minutes: i64 },
    /// The EXIF Software tag names an editor.
    EditedWith { software: String },
    /// EXIF capture time and the phone's clock disagree.
    ClockMismatch { minutes: i64 },
    /// Taken far from the place of the check it is linked to.
    FarFromCheck { distance_m: f64 },
    /// The distance to the check's place cannot be told: the file's place
    /// is missing or unreadable.
    DistanceUnknown { reason: String },
    /// Taken outside the time of the check it is linked to.
    OutsideCheckTime { minutes: i64 },
    /// The same bytes are linked to other records too.
    ReusedElsewhere { records: i64 },
    /// A near-identical picture (other bytes) is linked to other records;
    /// `distance` is the fewest differing bits of their perceptual hashes.
    NearDuplicate { records: i64, distance: u32 },
}

impl Signal {
    /// The name of the signal's kind, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::NoGps => "no_gps",
            Signal::GpsUnreadable { .. } => "gps_unreadable",
            Signal::GpsTimeMismatch { .. } => "gps_time_mismatch",
            Signal::EditedWith { .. } => "edited_with",
            Signal::ClockMismatch { .. } => "clock_mismatch",
            Signal::FarFromCheck { .. } => "far_from_check",
            Signal::DistanceUnknown { .. } => "distance_unknown",
            Signal::OutsideCheckTime { .. } => "outside_check_time",
            Signal::ReusedElsewhere { .. } => "reused_elsewhere",
            Signal::NearDuplicate { .. } => "near_duplicate",
        }
    }
}

/// Kinds as one text, `,no_gps,edited_with,`, that a LIKE finds a kind in.
pub fn kinds_text(signals: &[Signal]) -> String {
    if signals.is_empty() {
        return String::new();
    }
    let mut s = String::from(",");
    for k in signals {
        s.push_str(k.kind());
        s.push(',');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_original_key_names_its_hash() {
        let sha = "ab".repeat(32);
        assert_eq!(original_sha256(&original_key(&sha)), Some(sha.as_str()));
        assert_eq!(original_sha256("uploads/x/0000-y"), None);
    }
}
