//! The first bytes of uploads that reached this process, kept so that
//! Finish reads a photo's headers and EXIF from memory instead of reading
//! them back from the object store, and, for a photo sent whole, already
//! read while its last bytes were being stored. Only a shortcut: after a
//! restart, or when Finish reaches another replica, they are read from
//! storage.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use lru::LruCache;
use uuid::Uuid;

use crate::media::HeadReading;

/// How much of the start of a file Finish reads: headers and EXIF sit
/// there.
pub const HEAD_BYTES: u64 = 512 * 1024;

/// Heads kept at once; an upload never finished is pushed out by newer
/// ones, so this bounds the memory to 16 MiB.
const KEPT: usize = 32;

/// A kept head, with its reading when it was made ahead.
type Kept = (Bytes, Option<HeadReading>);

#[derive(Debug)]
pub struct UploadHeads(Mutex<LruCache<Uuid, Kept>>);

impl Default for UploadHeads {
    fn default() -> Self {
        UploadHeads(Mutex::new(LruCache::new(
            NonZeroUsize::new(KEPT).expect("not zero"),
        )))
    }
}

impl UploadHeads {
    /// A copy of the start of `parts`, as much as Finish reads.
    pub fn head_of(parts: &[Bytes]) -> Bytes {
        let mut head = BytesMut::new();
        for p in parts {
            let room = HEAD_BYTES as usize - head.len();
            if room == 0 {
                break;
            }
            head.extend_from_slice(&p[..p.len().min(room)]);
        }
        head.freeze()
    }

    /// Keeps the head of the upload's first stored segment, with its
    /// reading if it was made.
    pub fn keep(&self, upload: Uuid, head: Bytes, reading: Option<HeadReading>) {
        self.0
            .lock()
            .expect("upload heads lock")
            .put(upload, (head, reading));
    }

    /// The first `len` bytes of the upload, if this process kept that
    /// many, with their reading if it was made ahead.
    pub fn take(&self, upload: Uuid, len: u64) -> Option<Kept> {
        let (head, reading) = self.0.lock().expect("upload heads lock").pop(&upload)?;
        // A reading is of the whole kept head; it stands only for exactly
        // that many bytes.
        let reading = reading.filter(|_| head.len() as u64 == len);
        (head.len() as u64 >= len).then(|| (head.slice(..len as usize), reading))
    }
}
