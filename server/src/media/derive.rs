//! Making derivatives: decode once, at the smallest scale the format allows
//! (JPEG decodes at n/8 of its size for a fraction of the work), resize with a SIMD resizer, apply the EXIF orientation and encode
//! fresh JPEGs that carry no metadata at all.

use std::io::Cursor;

use fast_image_resize::images::Image as ResizeImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageReader, RgbImage};

use super::{MAX_PIXELS, MAX_SIDE, MediaError, check_size};
use crate::domain::derivative::{PREVIEW_SIDE, THUMBNAIL_SIDE, fit};

const THUMBNAIL_QUALITY: u8 = 75;
const PREVIEW_QUALITY: u8 = 82;

/// A JPEG made here, and its pixel size.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Everything made from one decode of a photo.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub thumbnail: Encoded,
    pub preview: Encoded,
    /// 64-bit perceptual hash (DCT mean) of the picture as shown.
    pub phash: u64,
}

/// Pixels as decoded: RGB, eight bits a channel.
struct Pixels {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// Makes the thumbnail, the preview and the perceptual hash of a photo of
/// `media_type` from one decode. `orientation` is the EXIF value (1 to 8).
pub fn render(bytes: &[u8], media_type: &str, orientation: u16) -> Result<Rendered, MediaError> {
    let pixels = decode(bytes, media_type, PREVIEW_SIDE)?;
    render_decoded(pixels, orientation)
}

/// As `render`, letting go of the file's bytes once they are decoded.
pub fn render_owned(
    bytes: bytes::Bytes,
    media_type: &str,
    orientation: u16,
) -> Result<Rendered, MediaError> {
    let pixels = decode(&bytes, media_type, PREVIEW_SIDE)?;
    drop(bytes);
    render_decoded(pixels, orientation)
}

/// The derivatives of a picture decoded elsewhere (a video's frame), as
/// RGB, already upright.
pub fn render_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Rendered, MediaError> {
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(bad("the frame's size and its pixels disagree"));
    }
    render_decoded(Pixels { width, height, rgb }, 1)
}

fn render_decoded(pixels: Pixels, orientation: u16) -> Result<Rendered, MediaError> {
    let preview = shrink(&pixels, PREVIEW_SIDE)?;
    let thumbnail = shrink(&preview, THUMBNAIL_SIDE)?;
    let preview = orient(preview, orientation)?;
    let thumbnail = orient(thumbnail, orientation)?;
    let phash = perceptual_hash(&thumbnail);
    Ok(Rendered {
        thumbnail: encode(&thumbnail, THUMBNAIL_QUALITY)?,
        preview: encode(&preview, PREVIEW_QUALITY)?,
        phash,
    })
}

/// The thumbnail alone, from a decode at the smallest scale that still
/// covers it.
pub fn thumbnail(bytes: &[u8], media_type: &str, orientation: u16) -> Result<Encoded, MediaError> {
    let pixels = decode(bytes, media_type, THUMBNAIL_SIDE)?;
    let thumbnail = orient(shrink(&pixels, THUMBNAIL_SIDE)?, orientation)?;
    encode(&thumbnail, THUMBNAIL_QUALITY)
}

fn bad(e: impl std::fmt::Display) -> MediaError {
    MediaError::Unreadable(e.to_string())
}

/// Decodes every pixel (so damaged or truncated data is found), at the
/// smallest scale whose long side still reaches `side`.
fn decode(bytes: &[u8], media_type: &str, side: u32) -> Result<Pixels, MediaError> {
    if media_type == "image/jpeg" {
        return decode_jpeg(bytes, side);
    }
    decode_any(bytes)
}

/// Decodes a JPEG with libjpeg-turbo, which scales by n/8 inside the
/// inverse DCT: a 12 MP photo decodes at 1/8 for a thumbnail and at 3/8
/// for a preview, for a fraction of a full decode. CMYK JPEGs, which it
/// cannot turn into RGB, go to the general decoder.
fn decode_jpeg(bytes: &[u8], side: u32) -> Result<Pixels, MediaError> {
    use mozjpeg_sys::J_COLOR_SPACE::{JCS_CMYK, JCS_YCCK};
    let run = || -> Result<Option<Pixels>, MediaError> {
        let mut d = mozjpeg::Decompress::with_err(strict_errors())
            .from_mem(bytes)
            .map_err(bad)?;
        if matches!(d.color_space(), JCS_CMYK | JCS_YCCK) {
            return Ok(None);
        }
        let (w, h) = (d.width() as u32, d.height() as u32);
        check_size(w, h)?;
        d.scale(scale_eighths(w, h, side));
        let mut started = d.rgb().map_err(bad)?;
        let (width, height) = (started.width() as u32, started.height() as u32);
        let rgb = started.read_scanlines::<u8>().map_err(bad)?;
        started.finish().map_err(bad)?;
        if rgb.len() < width as usize * height as usize * 3 {
            return Err(bad("decoded fewer pixels than the header announces"));
        }
        Ok(Some(Pixels { width, height, rgb }))
    };
    // libjpeg reports errors by unwinding out of its C code.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(Some(p))) => Ok(p),
        Ok(Ok(None)) => decode_any(bytes),
        Ok(Err(e)) => Err(e),
        Err(payload) => Err(bad(payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("the JPEG data cannot be decoded"))),
    }
}

/// The fewest eighths of the full size whose output still reaches the
/// size fitted within `side`.
fn scale_eighths(width: u32, height: u32, side: u32) -> u8 {
    let (fw, fh) = fit(width, height, side);
    (1..=8u8)
        .find(|&n| {
            let n = u32::from(n);
            (width * n).div_ceil(8) >= fw && (height * n).div_ceil(8) >= fh
        })
        .unwrap_or(8)
}

/// libjpeg's error handling, made strict: data it would patch over with
/// grey (a file cut short, a damaged stream) is an error here, because a
/// picture of evidence that does not decode whole must not look whole.
fn strict_errors() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: jpeg_std_error initialises every field of the struct it is
    // given; the zeroed value is only its storage.
    let mut err: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(fail);
    err.emit_message = Some(fail_on_damage);
    err
}

extern "C-unwind" fn fail(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    // SAFETY: libjpeg calls this with its error manager in place.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    std::panic::resume_unwind(Box::new(format!(
        "the JPEG data cannot be decoded (libjpeg error {code})"
    )));
}

extern "C-unwind" fn fail_on_damage(
    cinfo: &mut mozjpeg_sys::jpeg_common_struct,
    level: std::os::raw::c_int,
) {
    use mozjpeg_sys::{
        JWRN_BOGUS_PROGRESSION, JWRN_HIT_MARKER, JWRN_HUFF_BAD_CODE, JWRN_JPEG_EOF,
        JWRN_MUST_RESYNC,
    };
    if level >= 0 {
        return; // trace messages
    }
    // SAFETY: as above.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    let why = match code as u32 {
        c if c == JWRN_JPEG_EOF as u32 => "the JPEG data ends early: the file is truncated",
        c if [
            JWRN_HUFF_BAD_CODE,
            JWRN_HIT_MARKER,
            JWRN_MUST_RESYNC,
            JWRN_BOGUS_PROGRESSION,
        ]
        .iter()
        .any(|w| *w as u32 == c) =>
        {
            "the JPEG data is corrupt"
        }
        _ => return, // e.g. extra bytes between markers: harmless
    };
    std::panic::resume_unwind(Box::new(why.to_string()));
}

/// Any other picture, decoded whole under the same limits.
fn decode_any(bytes: &[u8]) -> Result<Pixels, MediaError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(bad)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let rgb = reader.decode().map_err(bad)?.into_rgb8();
    Ok(Pixels {
        width: rgb.width(),
        height: rgb.height(),
        rgb: rgb.into_raw(),
    })
}

/// Fits the picture within `side` on its long side.
fn shrink(p: &Pixels, side: u32) -> Result<Pixels, MediaError> {
    let (width, height) = fit(p.width, p.height, side);
    if (width, height) == (p.width, p.height) {
        return Ok(Pixels {
            width,
            height,
            rgb: p.rgb.clone(),
        });
    }
    let src = fast_image_resize::images::ImageRef::new(p.width, p.height, &p.rgb, PixelType::U8x3)
        .map_err(bad)?;
    let mut dst = ResizeImage::new(width, height, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        )
        .map_err(bad)?;
    Ok(Pixels {
        width,
        height,
        rgb: dst.into_vec(),
    })
}

fn orient(p: Pixels, orientation: u16) -> Result<Pixels, MediaError> {
    let Some(o) =
        Orientation::from_exif(orientation as u8).filter(|o| *o != Orientation::NoTransforms)
    else {
        return Ok(p);
    };
    let img = RgbImage::from_raw(p.width, p.height, p.rgb).ok_or_else(|| bad("pixel buffer"))?;
    let mut img = DynamicImage::ImageRgb8(img);
    img.apply_orientation(o);
    let img = img.into_rgb8();
    Ok(Pixels {
        width: img.width(),
        height: img.height(),
        rgb: img.into_raw(),
    })
}

fn encode(p: &Pixels, quality: u8) -> Result<Encoded, MediaError> {
    let mut jpeg = Vec::with_capacity(p.rgb.len() / 8);
    jpeg_encoder::Encoder::new(&mut jpeg, quality)
        .encode(
            &p.rgb,
            p.width as u16,
            p.height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(bad)?;
    Ok(Encoded {
        jpeg,
        width: p.width,
        height: p.height,
    })
}

fn perceptual_hash(p: &Pixels) -> u64 {
    let Some(img) = RgbImage::from_raw(p.width, p.height, p.rgb.clone()) else {
        return 0;
    };
    let hash = image_hasher::HasherConfig::new()
        .hash_size(8, 8)
        .hash_alg(image_hasher::HashAlg::Mean)
        .preproc_dct()
        .to_hasher()
        .hash_image(&img);
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(hash.as_bytes()) {
        *d = *s;
    }
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/fixtures/photos/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn a_phone_photo_yields_both_sizes_from_one_decode() {
        let r = render(&fixture("jolla.jpg"), "image/jpeg", 1).unwrap();
        assert_eq!((r.preview.width, r.preview.height), (1280, 960));
        assert_eq!((r.thumbnail.width, r.thumbnail.height), (320, 240));
        let t = image::load_from_memory(&r.thumbnail.jpeg).unwrap();
        assert_eq!((t.width(), t.height()), (320, 240));
    }

    #[test]
    fn orientation_is_applied() {
        let r = render(&fixture("portrait_6.jpg"), "image/jpeg", 6).unwrap();
        assert_eq!((r.thumbnail.width, r.thumbnail.height), (240, 320));
    }

    #[test]
    fn jpeg_decodes_at_the_fewest_eighths_that_cover_the_size() {
        assert_eq!(scale_eighths(4000, 3000, 320), 1);
        assert_eq!(scale_eighths(4000, 3000, 1280), 3);
        assert_eq!(scale_eighths(600, 450, 320), 5);
        assert_eq!(scale_eighths(200, 100, 320), 8);
    }

    #[test]
    fn truncated_data_is_found() {
        let mut b = fixture("DSCN0010.jpg");
        b.truncate(b.len() * 6 / 10);
        let e = render(&b, "image/jpeg", 1).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}
