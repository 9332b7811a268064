//! Reading photos: pixel size from the image header, decoded under limits,
//! and EXIF metadata.

pub mod boxes;
pub mod derive;
pub mod exif;
pub mod heif;
pub mod tool;
pub mod video;

use std::io::Cursor;

use image::ImageReader;

use crate::domain::evidence::{FileMetadata, is_video, sniff_media_type};

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

/// Reads what `head` (the first bytes of the file) tells of a file of
/// type `media_type`: pixel size and EXIF. Documents yield EXIF only;
/// videos nothing, as their index may lie at the end (see `video`).
pub fn inspect(head: &[u8], media_type: &str) -> Result<FileMetadata, MediaError> {
    if is_video(media_type) {
        return Ok(FileMetadata::default());
    }
    let mut meta = exif::read(head);
    let size = match media_type {
        "image/jpeg" | "image/png" | "image/webp" => Some(dimensions(head)?),
        "image/heic" | "image/heif" => heif::dimensions(head),
        _ => None,
    };
    if let Some((width, height)) = size {
        check_size(width, height)?;
        meta.width = Some(width);
        meta.height = Some(height);
    }
    Ok(meta)
}

/// Reads the pixel size from the header alone; no pixel is decoded, so the
/// size can be judged (`check_size`) before any memory is spent on it.
fn dimensions(head: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut reader = ImageReader::new(Cursor::new(head))
        .with_guessed_format()
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    reader.no_limits();
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    Ok((width, height))
}

/// Refuses a size no camera makes, before anything is decoded.
pub fn check_size(width: u32, height: u32) -> Result<(), MediaError> {
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooLarge { width, height });
    }
    Ok(())
}
