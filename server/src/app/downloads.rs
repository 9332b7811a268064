//! Download URLs: presigned by S3, or signed by this server and served by
//! it, for the local folder. The caller's role and unit are checked when a
//! URL is issued; the URL itself is the permission until it expires.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use super::App;
use super::evidence::file_key;
use crate::domain::access::Caller;
use crate::domain::derivative::Variant;
use crate::domain::download::{granted_ttl, link_message, link_path, parse_link_path};
use crate::domain::evidence::Evidence;
use crate::error::{Error, Reason, Result};

#[derive(Debug, Clone)]
pub struct DownloadUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub media_type: String,
}

/// A file a signed link gives.
pub struct LinkedFile {
    pub media_type: String,
    pub size_bytes: u64,
    key: String,
}

fn file_size(e: &Evidence, variant: Variant) -> u64 {
    let made = match variant {
        Variant::Original => return e.size_bytes as u64,
        Variant::Thumbnail => &e.derivatives.thumbnail,
        Variant::Preview => &e.derivatives.preview,
    };
    made.as_ref().map_or(0, |r| r.size_bytes as u64)
}

fn media_type_of(e: &Evidence, variant: Variant) -> String {
    match variant {
        Variant::Original => e.media_type.clone(),
        Variant::Thumbnail | Variant::Preview => "image/jpeg".into(),
    }
}

impl App {
    pub async fn download_url(
        &self,
        caller: &Caller,
        id: &str,
        variant: Variant,
        ttl: Option<Duration>,
    ) -> Result<DownloadUrl> {
        let e = self.get_evidence(caller, id).await?;
        self.url_of(caller, &e, variant, ttl).await
    }

    /// A URL to evidence `e`, which the caller was already found to see.
    pub(super) async fn url_of(
        &self,
        caller: &Caller,
        e: &Evidence,
        variant: Variant,
        ttl: Option<Duration>,
    ) -> Result<DownloadUrl> {
        let key = file_key(e, variant)?;
        let ttl = granted_ttl(ttl, self.downloads.max_ttl)?;
        let media_type = media_type_of(e, variant);
        let now = self.now();
        let expires_at = now + chrono::TimeDelta::from_std(ttl).unwrap_or_default();
        let url = match self.blobs.signed_url(&key, &media_type, ttl).await? {
            Some(url) => url,
            None => {
                let path = link_path(e.id, variant);
                let expires = expires_at.timestamp();
                let sig = self.keys.sign_link(&link_message(&path, expires));
                let base = self
                    .downloads
                    .public_url
                    .as_deref()
                    .ok_or_else(|| Error::internal("the server's public URL is not known"))?;
                format!("{base}{path}?expires={expires}&sig={sig}")
            }
        };
        tracing::info!(actor = %caller.subject, evidence = %e.id, variant = variant.as_str(), "download URL issued");
        Ok(DownloadUrl {
            url,
            expires_at,
            media_type,
        })
    }

    /// The file behind a link this server signed, if the signature holds
    /// and the link has not expired.
    pub async fn open_link(&self, path: &str, expires: i64, sig: &str) -> Result<LinkedFile> {
        if !self.keys.verify_link(&link_message(path, expires), sig) {
            return Err(Error::denied(
                Reason::LinkInvalid,
                "the link's signature does not match",
            ));
        }
        if expires <= self.now().timestamp() {
            return Err(Error::denied(Reason::LinkExpired, "the link has expired"));
        }
        let (id, variant) =
            parse_link_path(path).ok_or_else(|| Error::NotFound(format!("file {path}")))?;
        let e = self
            .store
            .get_evidence(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("evidence {id}")))?;
        let key = file_key(&e, variant)?;
        Ok(LinkedFile {
            media_type: media_type_of(&e, variant),
            size_bytes: file_size(&e, variant),
            key,
        })
    }

    /// The bytes of a linked file, all or `range` (inclusive, within its
    /// size), as they stream in.
    pub async fn linked_bytes(
        &self,
        file: &LinkedFile,
        range: Option<std::ops::RangeInclusive<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        match range {
            None => self.blobs.stream(&file.key).await,
            Some(r) => {
                self.blobs
                    .stream_range(&file.key, *r.start()..*r.end() + 1)
                    .await
            }
        }
    }
}
