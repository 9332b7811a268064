//! The first bytes of uploads that reached this process, kept so that
//! Finish reads a photo's headers and EXIF from memory instead of reading
//! them back from the object store. Only a shortcut: after a restart, or
//! when Finish reaches another replica, they are read from storage.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use lru::LruCache;
use uuid::Uuid;

/// How much of the start of a file Finish reads: headers and EXIF sit
/// there.
pub const HEAD_BYTES: u64 = 512 * 1024;

/// Heads kept at once; an upload never finished is pushed out by newer
/// ones, so this bounds the memory to 16 MiB.
const KEPT: usize = 32;

#[derive(Debug)]
pub struct UploadHeads(Mutex<LruCache<Uuid, Bytes>>);

impl Default for UploadHeads {
    fn default() -> Self {
        UploadHeads(Mutex::new(LruCache::new(
            NonZeroUsize::new(KEPT).expect("not zero"),
        )))
    }
}

impl UploadHeads {
    /// Keeps a copy of the start of `parts`, the upload's first stored
    /// segment.
    pub fn keep(&self, upload: Uuid, parts: &[Bytes]) {
        let mut head = BytesMut::new();
        for p in parts {
            let room = HEAD_BYTES as usize - head.len();
            if room == 0 {
                break;
            }
            head.extend_from_slice(&p[..p.len().min(room)]);
        }
        self.0
            .lock()
            .expect("upload heads lock")
            .put(upload, head.freeze());
    }

    /// The first `len` bytes of the upload, if this process kept that many.
    pub fn take(&self, upload: Uuid, len: u64) -> Option<Bytes> {
        let head = self.0.lock().expect("upload heads lock").pop(&upload)?;
        (head.len() as u64 >= len).then(|| head.slice(..len as usize))
    }
}
