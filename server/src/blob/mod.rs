//! Object storage for evidence bytes, behind one interface with two
//! implementations: a local folder (the embedded default) and any
//! S3-compatible store (MinIO, Garage, AWS S3, Aliyun OSS).

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::ExposeSecret;

use crate::config::ObjectStoreSettings;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    kind: &'static str,
}

impl BlobStore {
    pub fn open(settings: &ObjectStoreSettings) -> anyhow::Result<BlobStore> {
        match settings {
            ObjectStoreSettings::Local { root } => {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("creating {}", root.display()))?;
                let fs = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
                Ok(BlobStore {
                    inner: Arc::new(fs),
                    kind: "local",
                })
            }
            ObjectStoreSettings::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                path_style,
            } => {
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_virtual_hosted_style_request(!path_style);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
                }
                if let Some(k) = access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = secret_access_key {
                    b = b.with_secret_access_key(s.expose_secret());
                }
                Ok(BlobStore {
                    inner: Arc::new(b.build().context("configuring S3")?),
                    kind: "s3",
                })
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.inner
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(|e| {
                Error::Internal(anyhow::Error::new(e).context(format!("storing {key}")))
            })?;
        Ok(())
    }

    /// The object's bytes, or None when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.inner.get(&ObjectPath::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| {
                Error::Internal(anyhow::Error::new(e).context(format!("reading {key}")))
            })?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::Internal(
                anyhow::Error::new(e).context(format!("reading {key}")),
            )),
        }
    }

    /// Whether the store answers: a lookup of a key that need not exist.
    pub async fn probe(&self) -> Result<()> {
        match self.inner.head(&ObjectPath::from("health/probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::Unavailable(format!("object store: {e}"))),
        }
    }
}
