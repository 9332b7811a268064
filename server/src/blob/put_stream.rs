//! A PUT whose body is sent while it is still arriving, so that an upload's
//! transfer to the server and its write to the object store overlap instead
//! of following one another. S3 only: it goes through a presigned URL,
//! because `object_store` puts only payloads that are whole in memory.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, SignedUrlOptions, Signer};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, HeaderName, HeaderValue, IF_NONE_MATCH};
use tokio::sync::mpsc;

use super::BlobStore;
use crate::error::{Error, Result};

/// How long the presigned URL may be presented; S3 checks it only when the
/// request starts, however long the body then takes.
const URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

const CHECKSUM_SHA256: &str = "x-amz-checksum-sha256";

/// An object being written create-only, with a known length. Until
/// [`PutStream::finish`] sends the last byte, the object does not exist;
/// dropping the `PutStream` before then breaks the request off, and the
/// store keeps nothing.
pub struct PutStream {
    body: Body,
    len: u64,
    sent: u64,
    /// Set once bytes were held back: later ones would be out of order.
    held_back: bool,
    put: tokio::task::JoinHandle<Result<()>>,
    /// The longest wait for the store's answer once the body is sent.
    timeout: std::time::Duration,
}

/// The request body's sender. Dropped before the body is complete, it
/// breaks the request off, so the store discards what it received.
struct Body {
    tx: mpsc::UnboundedSender<std::io::Result<Bytes>>,
    complete: bool,
}

impl Drop for Body {
    fn drop(&mut self) {
        if !self.complete {
            let _ = self
                .tx
                .send(Err(std::io::Error::other("the upload broke off")));
        }
    }
}

impl BlobStore {
    /// Starts a create-only PUT of `len` bytes whose SHA-256 (hex) is to be
    /// `sha256` to `key`; None for a store that cannot take one (the local
    /// folder). The store checks the body against that SHA-256, signed into
    /// the URL, before it keeps anything.
    pub async fn put_stream(&self, key: &str, len: u64, sha256: &str) -> Result<Option<PutStream>> {
        let Some(super::Presigning {
            signer,
            http,
            timeout,
        }) = &self.presigning
        else {
            return Ok(None);
        };
        let digest = hex::decode(sha256)
            .map_err(|_| Error::internal(format!("{sha256} is not a hex SHA-256")))?;
        let checksum = HeaderValue::try_from(BASE64.encode(digest))
            .map_err(|e| Error::internal(format!("checksum header: {e}")))?;
        let options = SignedUrlOptions::new()
            .with_signed_header(HeaderName::from_static(CHECKSUM_SHA256), checksum.clone());
        let url = signer
            .signed_url_opts(Method::PUT, &ObjectPath::from(key), URL_TTL, &options)
            .await
            .map_err(|e| super::store_err(e, key))?;
        let (body, chunks) = mpsc::unbounded_channel();
        let request = http
            .put(url)
            .header(CONTENT_LENGTH, len)
            .header(CHECKSUM_SHA256, checksum)
            // Keys written this way are content-addressed: an object
            // already there holds these bytes.
            .header(IF_NONE_MATCH, "*")
            .body(reqwest::Body::wrap_stream(
                tokio_stream::wrappers::UnboundedReceiverStream::new(chunks),
            ));
        let key = key.to_string();
        let put = tokio::spawn(async move {
            // The caller falls back to a put of its own on any failure.
            let failed = |why: String| {
                tracing::warn!(key, why, "a streamed put to the object store failed");
                Error::Unavailable(format!("the object store did not take {key}"))
            };
            let response = request.send().await.map_err(|e| failed(e.to_string()))?;
            match response.status() {
                s if s.is_success() || s == StatusCode::PRECONDITION_FAILED => Ok(()),
                s => Err(failed(format!(
                    "{s}: {}",
                    response.text().await.unwrap_or_default()
                ))),
            }
        });
        Ok(Some(PutStream {
            body: Body {
                tx: body,
                complete: false,
            },
            len,
            sent: 0,
            held_back: false,
            put,
            timeout: *timeout,
        }))
    }
}

impl PutStream {
    /// Sends the next bytes of the object, all but the very last: that one
    /// byte waits for [`PutStream::finish`], so the store can take in the
    /// rest while the caller still checks the whole.
    pub fn send(&mut self, bytes: Bytes) {
        if self.held_back {
            return;
        }
        let room = self.len.saturating_sub(1).saturating_sub(self.sent) as usize;
        let out = if bytes.len() > room {
            self.held_back = true;
            bytes.slice(..room)
        } else {
            bytes
        };
        if out.is_empty() {
            return;
        }
        let len = out.len() as u64;
        match self.body.tx.send(Ok(out)) {
            Ok(()) => self.sent += len,
            Err(_) => self.held_back = true,
        }
    }

    /// How many bytes went out.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Sends `rest`, which completes the object, and waits until the store
    /// holds it.
    pub async fn finish(mut self, rest: Vec<Bytes>) -> Result<()> {
        let rest_len: u64 = rest.iter().map(|b| b.len() as u64).sum();
        if self.sent + rest_len != self.len {
            return Err(Error::internal(format!(
                "a streamed put of {} bytes was given {}",
                self.len,
                self.sent + rest_len
            )));
        }
        for b in rest {
            // A closed body means the request already ended; its result
            // says why.
            let _ = self.body.tx.send(Ok(b));
        }
        self.body.complete = true;
        drop(self.body);
        let stop = self.put.abort_handle();
        match tokio::time::timeout(self.timeout, self.put).await {
            Ok(done) => {
                done.map_err(|e| Error::internal(format!("storing a streamed put: {e}")))?
            }
            Err(_) => {
                // The request goes with its task; the store keeps nothing
                // of a body that never completed.
                stop.abort();
                Err(Error::Unavailable(format!(
                    "the object store did not answer a put within {:?}",
                    self.timeout
                )))
            }
        }
    }
}
