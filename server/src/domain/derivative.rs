//! Derivatives: the thumbnail and preview made from a stored photo, once per
//! content, with orientation applied and no metadata, so a published picture
//! reveals no location. Made by a background job; the state says how far.

use serde::{Deserialize, Serialize};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Longest side of a preview, in pixels.
pub const PREVIEW_SIDE: u32 = 1280;

/// Where the making of derivatives stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DerivativeState {
    /// Queued or being made.
    #[default]
    Pending,
    Ready,
    /// Given up; the reason is recorded.
    Failed,
    /// Documents have none; nor have HEIF pictures and videos where the
    /// program that decodes them is missing (the error says so).
    NotApplicable,
}

impl DerivativeState {
    pub fn as_str(self) -> &'static str {
        match self {
            DerivativeState::Pending => "pending",
            DerivativeState::Ready => "ready",
            DerivativeState::Failed => "failed",
            DerivativeState::NotApplicable => "not applicable",
        }
    }
}

/// One derivative picture, stored as a JPEG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: i64,
}

/// The derivatives of one stored content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Derivatives {
    pub state: DerivativeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Rendition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Rendition>,
    /// Why they could not be made, when they failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub attempts: u32,
}

/// What can be downloaded of a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
    Preview,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Thumbnail => "thumbnail",
            Variant::Preview => "preview",
        }
    }

    pub fn parse(s: &str) -> Option<Variant> {
        [Variant::Original, Variant::Thumbnail, Variant::Preview]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// How a type's derivatives are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maker {
    /// Decoded here.
    Pixels,
    /// Decoded by heif-convert.
    Heif,
    /// A poster frame taken by ffmpeg.
    Video,
}

/// How derivatives of a type are made; None for documents.
pub fn maker(media_type: &str) -> Option<Maker> {
    match media_type {
        "image/jpeg" | "image/png" | "image/webp" => Some(Maker::Pixels),
        "image/heic" | "image/heif" => Some(Maker::Heif),
        "video/mp4" | "video/quicktime" => Some(Maker::Video),
        _ => None,
    }
}

/// State of a content just stored. `unavailable` says why a maker cannot
/// run on this server, if it cannot: its content is then not applicable,
/// with that reason, never silently without derivatives.
pub fn initial(media_type: &str, unavailable: impl Fn(Maker) -> Option<String>) -> Derivatives {
    let (state, error) = match maker(media_type) {
        None => (DerivativeState::NotApplicable, None),
        Some(m) => match unavailable(m) {
            None => (DerivativeState::Pending, None),
            Some(why) => (DerivativeState::NotApplicable, Some(why)),
        },
    };
    Derivatives {
        state,
        error,
        ..Derivatives::default()
    }
}

pub fn key(sha256: &str, variant: Variant) -> String {
    format!(
        "derivatives/sha256/{}/{}/{}.jpg",
        &sha256[..2],
        sha256,
        variant.as_str()
    )
}

/// Size of a picture of `width`×`height` fitted within `side` on its
/// longest side; never enlarged, never below one pixel.
pub fn fit(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= side {
        return (width, height);
    }
    let scale = f64::from(side) / f64::from(long);
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

/// Number of bands a perceptual hash is cut into for lookup. Two hashes
/// within fewer than this many differing bits share at least one band
/// exactly, so a lookup by band finds every near-identical picture.
pub const PHASH_BANDS: u32 = 8;
/// The largest Hamming distance the band lookup is complete for.
pub const MAX_NEAR_DISTANCE: u32 = PHASH_BANDS - 1;

/// The eight bytes of a 64-bit perceptual hash, as (band, value).
pub fn phash_bands(hash: u64) -> [(i16, i16); PHASH_BANDS as usize] {
    std::array::from_fn(|i| (i as i16, ((hash >> (8 * i)) & 0xff) as i16))
}

pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// When a failed attempt is tried again: `base` after the first, doubling
/// with each, at most an hour.
pub fn retry_delay(attempts: u32, base: std::time::Duration) -> std::time::Duration {
    base.saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(std::time::Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_long_side_and_never_enlarges() {
        assert_eq!(fit(4000, 3000, 320), (320, 240));
        assert_eq!(fit(3000, 4000, 1280), (960, 1280));
        assert_eq!(fit(200, 100, 320), (200, 100));
        assert_eq!(fit(10000, 10, 320), (320, 1));
    }

    #[test]
    fn near_hashes_share_a_band() {
        let a = 0x0123_4567_89ab_cdefu64;
        // Seven bits flipped, one in each of seven bytes.
        let b = a ^ 0x0001_0101_0101_0101;
        assert_eq!(hamming(a, b), 7);
        let shared = phash_bands(a)
            .iter()
            .zip(phash_bands(b).iter())
            .filter(|(x, y)| x == y)
            .count();
        assert!(shared >= 1);
    }

    #[test]
    fn retries_back_off() {
        let base = std::time::Duration::from_secs(30);
        assert_eq!(retry_delay(1, base).as_secs(), 30);
        assert_eq!(retry_delay(2, base).as_secs(), 60);
        assert_eq!(retry_delay(20, base).as_secs(), 3600);
    }
}
