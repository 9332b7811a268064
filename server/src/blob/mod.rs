//! Object storage for evidence bytes, behind one interface with two
//! implementations: a local folder (the embedded default) and any
//! S3-compatible store (MinIO, Garage, AWS S3, Aliyun OSS).

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, SignedUrlOptions, Signer};
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use secrecy::ExposeSecret;

use crate::config::ObjectStoreOptions;
use crate::error::{Error, Reason, Result};

mod put_stream;
pub use put_stream::PutStream;

#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    kind: &'static str,
    /// Presigned URLs and the client that sends streamed puts to them;
    /// S3 only.
    presigning: Option<Presigning>,
    /// Concatenations running at once.
    concats: Arc<tokio::sync::Semaphore>,
}

const CONCATS_AT_ONCE: usize = 4;

#[derive(Clone, Debug)]
struct Presigning {
    signer: Arc<AmazonS3>,
    http: reqwest::Client,
    /// The longest wait for the store's answer once a body is sent.
    timeout: std::time::Duration,
}

impl BlobStore {
    pub fn open(settings: &ObjectStoreOptions) -> anyhow::Result<BlobStore> {
        match settings {
            ObjectStoreOptions::Local { root } => {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("creating {}", root.display()))?;
                let fs = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
                Ok(BlobStore {
                    inner: Arc::new(fs),
                    kind: "local",
                    presigning: None,
                    concats: Arc::new(tokio::sync::Semaphore::new(CONCATS_AT_ONCE)),
                })
            }
            ObjectStoreOptions::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                path_style,
                connect_timeout,
                timeout,
            } => {
                // A store that does not answer fails the call within
                // `timeout` (retries included), instead of hanging it; a
                // download may take as long as its client reads, as long
                // as bytes keep coming.
                let client = ClientOptions::new()
                    .with_connect_timeout(*connect_timeout)
                    .with_read_timeout(*timeout)
                    .with_timeout_disabled();
                let retry = RetryConfig {
                    backoff: BackoffConfig::default(),
                    max_retries: 2,
                    retry_timeout: *timeout,
                };
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_virtual_hosted_style_request(!path_style)
                    .with_client_options(client)
                    .with_retry(retry)
                    // Every put carries the SHA-256 of its body, which the
                    // store checks before it keeps anything.
                    .with_checksum_algorithm(Checksum::SHA256);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
                }
                if let Some(k) = access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = secret_access_key {
                    b = b.with_secret_access_key(s.expose_secret());
                }
                let s3 = Arc::new(b.build().context("configuring S3")?);
                let http = reqwest::Client::builder()
                    .connect_timeout(*connect_timeout)
                    .build()
                    .context("configuring the S3 client")?;
                Ok(BlobStore {
                    inner: s3.clone(),
                    kind: "s3",
                    presigning: Some(Presigning {
                        signer: s3,
                        http,
                        timeout: *timeout,
                    }),
                    concats: Arc::new(tokio::sync::Semaphore::new(CONCATS_AT_ONCE)),
                })
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.put_parts(key, vec![bytes]).await
    }

    /// Stores the concatenation of `parts` without copying them together.
    pub async fn put_parts(&self, key: &str, parts: Vec<Bytes>) -> Result<()> {
        self.inner
            .put(
                &ObjectPath::from(key),
                parts.into_iter().collect::<PutPayload>(),
            )
            .await
            .map_err(|e| store_err(e, key))?;
        Ok(())
    }

    /// Stores `parts` at `key` unless an object is there. Keys written this
    /// way are content-addressed and verified, so an existing object
    /// already holds these bytes.
    pub async fn put_new(&self, key: &str, parts: Vec<Bytes>) -> Result<()> {
        let path = ObjectPath::from(key);
        if self.kind == "local" {
            let opts = object_store::PutOptions::from(object_store::PutMode::Create);
            let payload = parts.into_iter().collect::<PutPayload>();
            return match self.inner.put_opts(&path, payload, opts).await {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(store_err(e, key)),
            };
        }
        // As in copy_new: S3 offers create-only writes only with extensions.
        match self.inner.head(&path).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => self.put_parts(key, parts).await,
            Err(e) => Err(store_err(e, key)),
        }
    }

    /// The object's bytes, or None when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.inner.get(&ObjectPath::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| store_err(e, key))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(e, key)),
        }
    }

    /// Whether an object is at `key`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.inner.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_err(e, key)),
        }
    }

    /// The first `len` bytes of an object, which must hold at least that
    /// many.
    pub async fn head_bytes(&self, key: &str, len: u64) -> Result<Bytes> {
        self.inner
            .get_range(&ObjectPath::from(key), 0..len)
            .await
            .map_err(|e| store_err(e, key))
    }

    /// The bytes of `range` of an object, which must hold them.
    pub async fn range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes> {
        self.inner
            .get_range(&ObjectPath::from(key), range)
            .await
            .map_err(|e| store_err(e, key))
    }

    /// The bytes of `range` of an object as they stream in.
    pub async fn stream_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(range)),
            ..Default::default()
        };
        let r = self
            .inner
            .get_opts(&ObjectPath::from(key), options)
            .await
            .map_err(|e| store_err(e, key))?;
        let key = key.to_string();
        Ok(r.into_stream().map_err(move |e| store_err(e, &key)).boxed())
    }

    /// The object's bytes as they stream in.
    pub async fn stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes>>> {
        let r = self
            .inner
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| store_err(e, key))?;
        let key = key.to_string();
        Ok(r.into_stream().map_err(move |e| store_err(e, &key)).boxed())
    }

    /// Copies `from` to `to` unless `to` exists. Objects here are
    /// content-addressed, so an existing `to` already holds these bytes.
    pub async fn copy_new(&self, from: &str, to: &str) -> Result<()> {
        let (src, dst) = (ObjectPath::from(from), ObjectPath::from(to));
        if self.kind == "local" {
            return match self.inner.copy_if_not_exists(&src, &dst).await {
                Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(store_err(e, to)),
            };
        }
        // S3 offers create-only copies only with vendor extensions; a copy
        // racing this one writes the same verified bytes.
        match self.inner.head(&dst).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => self
                .inner
                .copy(&src, &dst)
                .await
                .map_err(|e| store_err(e, to)),
            Err(e) => Err(store_err(e, to)),
        }
    }

    /// Writes the concatenation of `parts` to `to` in bounded memory and
    /// returns the hex SHA-256 of what was written. Each concatenation
    /// holds up to two parts of 5 MiB (S3's smallest), and only a few run
    /// at once, so many uploads finishing together stay within bounds.
    pub async fn concat(&self, parts: &[String], to: &str) -> Result<String> {
        use sha2::{Digest, Sha256};
        let _permit = self
            .concats
            .acquire()
            .await
            .map_err(|_| Error::internal("object store closed"))?;
        let mut hash = Sha256::new();
        let upload = self
            .inner
            .put_multipart(&ObjectPath::from(to))
            .await
            .map_err(|e| store_err(e, to))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, 5 * 1024 * 1024);
        for part in parts {
            let mut s = self.stream(part).await?;
            while let Some(chunk) = s.next().await {
                let chunk = chunk?;
                hash.update(&chunk);
                w.wait_for_capacity(1).await.map_err(|e| store_err(e, to))?;
                w.put(chunk);
            }
        }
        w.finish().await.map_err(|e| store_err(e, to))?;
        Ok(hex::encode(hash.finalize()))
    }

    /// A presigned GET URL of an object, served as `media_type`, valid for
    /// `ttl`; None for a store that cannot presign (the local folder).
    pub async fn signed_url(
        &self,
        key: &str,
        media_type: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<String>> {
        let Some(p) = &self.presigning else {
            return Ok(None);
        };
        let options = SignedUrlOptions::new().with_query([("response-content-type", media_type)]);
        let url = p
            .signer
            .signed_url_opts(Method::GET, &ObjectPath::from(key), ttl, &options)
            .await
            .map_err(|e| store_err(e, key))?;
        Ok(Some(url.to_string()))
    }

    /// Deletes an object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(e, key)),
        }
    }

    /// Whether the store answers within `limit`: a lookup of a key that
    /// need not exist.
    pub async fn probe(&self, limit: std::time::Duration) -> Result<()> {
        let key = ObjectPath::from("health/probe");
        match tokio::time::timeout(limit, self.inner.head(&key)).await {
            Ok(Ok(_) | Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(e)) => Err(store_err(e, "health/probe")),
            Err(_) => Err(Error::Unavailable(format!(
                "the object store did not answer within {limit:?}"
            ))),
        }
    }
}

/// An error of the object store as the caller should see it: a missing
/// object is NOT_FOUND (callers that can repair what refers to it do so);
/// a store that is down, unreachable, slow, refusing our credentials or
/// refusing a damaged body is UNAVAILABLE, with the cause in the log for
/// the operator; what can only be a fault of Ducha is INTERNAL.
/// Precondition failures (a create-only put that found the object) are
/// races the callers handle before this.
pub(crate) fn store_err(e: object_store::Error, key: &str) -> Error {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => Error::NotFound(format!("object {key} in the object store")),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            tracing::error!(key, error = %e, "the object store refuses Ducha's credentials");
            Error::Unavailable("the object store refuses access; the operator was told".into())
        }
        E::Precondition { .. } | E::AlreadyExists { .. } => Error::conflict(
            Reason::ObjectChanged,
            format!("object {key} changed meanwhile; retry"),
        ),
        E::Generic { .. } => {
            tracing::warn!(key, error = %e, "object store unavailable");
            Error::Unavailable(
                "the object store cannot be reached or did not answer; retry later".into(),
            )
        }
        e => Error::Internal(anyhow::Error::new(e).context(format!("object store, {key}"))),
    }
}
