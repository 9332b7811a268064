//! Photos of a given size, made from a real phone photo so that they
//! compress and decode like a camera's own, each with unique bytes if need
//! be. Shared with the benchmarks.

use fast_image_resize::images::Image;
use fast_image_resize::{PixelType, Resizer};

/// A JPEG of `width`×`height` at `quality`: the Jolla phone photo of the
/// fixtures, enlarged, with sensor-like noise so it is as hard to
/// compress and decode as a camera's own.
pub fn photo(width: u32, height: u32, quality: u8) -> Vec<u8> {
    let src = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/jolla.jpg"
    ))
    .expect("fixture photo")
    .into_rgb8();
    let src = Image::from_vec_u8(src.width(), src.height(), src.into_raw(), PixelType::U8x3)
        .expect("pixels");
    let mut dst = Image::new(width, height, PixelType::U8x3);
    Resizer::new().resize(&src, &mut dst, None).expect("resize");
    let mut rgb = dst.into_vec();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for p in rgb.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 13) as i16 - 6;
        *p = (i16::from(*p) + noise).clamp(0, 255) as u8;
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(
            &rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encode");
    out
}

/// `jpeg` with a comment segment naming `n` after its start marker: the
/// same picture, other bytes, so every copy is stored anew.
pub fn unique(jpeg: &[u8], n: u64) -> Vec<u8> {
    let text = format!("ducha benchmark copy {n}");
    let len = (text.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}
