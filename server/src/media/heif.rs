//! HEIF and HEIC pictures. The pixel size is read from the primary item's
//! `ispe` property in the file's head; the pixels are decoded by libheif's
//! heif-convert (run as an outside program, see `tool`), which applies
//! the HEIF transforms (irot, imir, clap). The EXIF Orientation is not
//! applied on top: it describes the same turn, and would turn it twice.

use std::ffi::OsString;

use super::MediaError;
use super::boxes::{self, u16_at, u32_at};
use super::derive::{self, Rendered};
use super::tool::{RenderError, Tool};

/// Stored width and height of the primary item, from the `meta` box.
pub fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    // `meta` is a full box: 4 bytes of version and flags before its boxes.
    let meta = boxes::child(head, b"meta")?.get(4..)?;
    let pitm = boxes::child(meta, b"pitm")?;
    let primary = match pitm.first()? {
        0 => u32::from(u16_at(pitm, 4)?),
        _ => u32_at(pitm, 4)?,
    };
    let iprp = boxes::child(meta, b"iprp")?;
    let properties: Vec<_> = boxes::children(boxes::child(iprp, b"ipco")?).collect();
    let ipma = boxes::child(iprp, b"ipma")?;
    let (version, flags) = (*ipma.first()?, *ipma.get(3)?);
    let entries = u32_at(ipma, 4)?;
    let mut at = 8;
    for _ in 0..entries {
        let item = if version < 1 {
            let v = u32::from(u16_at(ipma, at)?);
            at += 2;
            v
        } else {
            let v = u32_at(ipma, at)?;
            at += 4;
            v
        };
        let count = usize::from(*ipma.get(at)?);
        at += 1;
        let wide = flags & 1 == 1;
        let mut indices = Vec::with_capacity(count);
        for _ in 0..count {
            let index = if wide {
                let v = usize::from(u16_at(ipma, at)? & 0x7fff);
                at += 2;
                v
            } else {
                let v = usize::from(ipma.get(at)? & 0x7f);
                at += 1;
                v
            };
            indices.push(index);
        }
        if item != primary {
            continue;
        }
        return indices.into_iter().find_map(|i| {
            let (kind, body) = properties.get(i.checked_sub(1)?)?;
            (kind == b"ispe").then_some(())?;
            Some((u32_at(body, 4)?, u32_at(body, 8)?))
        });
    }
    None
}

/// JPEG quality of heif-convert's output: high enough that the preview
/// made from it is as good as one made from the pixels themselves; JPEG
/// because the derivative code then decodes it at a fraction of its size.
const INTERMEDIATE_QUALITY: &str = "92";

/// Decodes a HEIF picture with heif-convert and makes its derivatives.
pub async fn render(tool: &Tool, bytes: bytes::Bytes) -> Result<Rendered, RenderError> {
    let dir = tempfile::tempdir().map_err(RenderError::Io)?;
    tokio::fs::write(dir.path().join("in.heic"), &bytes)
        .await
        .map_err(RenderError::Io)?;
    drop(bytes);
    // Names relative to the folder it runs in: heif-convert numbers the
    // pictures of a many-picture file from the first dot of the path.
    let args: Vec<OsString> = ["--quiet", "-q", INTERMEDIATE_QUALITY, "in.heic", "out.jpg"]
        .iter()
        .map(OsString::from)
        .collect();
    tool.run(&args, dir.path(), 64 * 1024).await?;
    // A file of several top-level pictures is written as out-1.jpg,
    // out-2.jpg, ...: the first is taken.
    let written = ["out.jpg", "out-1.jpg"]
        .iter()
        .map(|n| dir.path().join(n))
        .find(|p| p.is_file());
    let jpeg = match written {
        Some(p) => tokio::fs::read(p).await.map_err(RenderError::Io)?,
        None => {
            return Err(RenderError::Picture(MediaError::Unreadable(
                "heif-convert wrote no picture".into(),
            )));
        }
    };
    tokio::task::spawn_blocking(move || drop(dir));
    // The decoder applied the HEIF transforms: orientation 1 from here.
    tokio::task::spawn_blocking(move || derive::render(&jpeg, "image/jpeg", 1))
        .await
        .map_err(|e| RenderError::Io(std::io::Error::other(e)))?
        .map_err(RenderError::Picture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_items_size_is_read_from_the_head() {
        let heic = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/corpus/IMG_5195.HEIC"
        ))
        .unwrap();
        assert_eq!(dimensions(&heic), Some((2566, 3313)));
        assert_eq!(dimensions(&heic[..200]), None);
        let jpeg = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/photos/DSCN0010.jpg"
        ))
        .unwrap();
        assert_eq!(dimensions(&jpeg), None);
    }
}
