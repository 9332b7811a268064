//! ISO base media file format boxes (MP4, QuickTime, HEIF): a box is a
//! 32-bit size, a four-character type, then its body; size 1 means a
//! 64-bit size follows, size 0 that the box runs to the end.

/// A box header: its type, and where its body lies relative to the
/// header's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: [u8; 4],
    pub header_len: u64,
    /// Header and body; None when the box runs to the end of its parent.
    pub total_len: Option<u64>,
}

/// Reads a box header from the first bytes at a box's start.
pub fn header(b: &[u8]) -> Option<Header> {
    let size = u32::from_be_bytes(b.get(0..4)?.try_into().ok()?);
    let kind: [u8; 4] = b.get(4..8)?.try_into().ok()?;
    let (header_len, total_len) = match size {
        0 => (8, None),
        1 => {
            let large = u64::from_be_bytes(b.get(8..16)?.try_into().ok()?);
            (16, Some(large))
        }
        n => (8, Some(u64::from(n))),
    };
    if total_len.is_some_and(|t| t < header_len) {
        return None;
    }
    Some(Header {
        kind,
        header_len,
        total_len,
    })
}

/// The boxes of a buffer, in order, as (type, body). Stops at the first
/// box that does not fit.
pub fn children(mut b: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        let h = header(b)?;
        let end = match h.total_len {
            None => b.len(),
            Some(t) => usize::try_from(t).ok().filter(|t| *t <= b.len())?,
        };
        let body = &b[h.header_len as usize..end];
        b = &b[end..];
        Some((h.kind, body))
    })
}

/// The body of the first child of type `kind`.
pub fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(b).find(|(k, _)| k == kind).map(|(_, body)| body)
}

/// The body of the box at `path` (types from the outermost).
pub fn find<'a>(b: &'a [u8], path: &[&[u8; 4]]) -> Option<&'a [u8]> {
    path.iter().try_fold(b, |b, kind| child(b, kind))
}

pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn nested_boxes_are_found_by_path_and_broken_ones_end_the_walk() {
        let inner = boxed(b"loci", b"xyz");
        let udta = boxed(b"udta", &inner);
        let mut moov = boxed(b"mvhd", &[0; 4]);
        moov.extend(udta);
        let file = boxed(b"moov", &moov);
        assert_eq!(find(&file, &[b"moov", b"udta", b"loci"]), Some(&b"xyz"[..]));
        assert_eq!(find(&file, &[b"moov", b"trak"]), None);
        // A size past the end of the buffer is not a box.
        let mut cut = file.clone();
        cut.truncate(file.len() - 1);
        assert_eq!(children(&cut).count(), 0);
        // 64-bit size.
        let mut large = 1u32.to_be_bytes().to_vec();
        large.extend_from_slice(b"free");
        large.extend_from_slice(&20u64.to_be_bytes());
        large.extend_from_slice(&[7; 4]);
        assert_eq!(
            children(&large).collect::<Vec<_>>(),
            [(*b"free", &[7u8; 4][..])]
        );
    }
}
