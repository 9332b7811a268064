//! A real S3 protocol server (s3s-fs) on a loopback port, backed by a
//! temporary folder, with access-key authentication. Like real S3, it
//! checks a body against the `x-amz-checksum-sha256` it came with before it
//! keeps anything (s3s-fs by itself moves the object into place first, then
//! checks), as the body streams through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use base64::Engine;
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::net::TcpListener;

pub const ACCESS_KEY: &str = "ducha-test";
pub const SECRET_KEY: &str = "ducha-test-secret-key";

pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    root: TempDir,
    task: tokio::task::JoinHandle<()>,
    refused: Arc<AtomicUsize>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let bucket = "evidence".to_string();
        std::fs::create_dir(root.path().join(&bucket)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let s3 = b.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let refused = Arc::new(AtomicUsize::new(0));
        let counted = refused.clone();
        let service = hyper::service::service_fn(move |req| {
            let (s3, refused) = (s3.clone(), counted.clone());
            async move { verify_then_serve(s3, req, &refused).await }
        });
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Server {
            endpoint,
            bucket,
            root,
            task,
            refused,
        }
    }

    /// The file that holds the object at `key`.
    pub fn path_of(&self, key: &str) -> std::path::PathBuf {
        self.root.path().join(&self.bucket).join(key)
    }

    /// Bodies refused because they did not match their checksum.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// Settings that point a server at this S3 endpoint.
    pub fn configure(&self, l: &mut ducha::config::ServeSettings) {
        let s3 = &mut l.object_store;
        s3.s3_bucket = Some(self.bucket.clone());
        s3.s3_endpoint = Some(self.endpoint.clone());
        s3.s3_access_key_id = Some(ACCESS_KEY.into());
        s3.s3_secret_access_key = Some(SECRET_KEY.into());
        s3.s3_path_style = Some(true);
    }

    /// The keys of the objects in the bucket, sorted.
    pub fn keys(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), &format!("{name}/"), out);
                } else {
                    out.push(name);
                }
            }
        }
        let mut keys = Vec::new();
        walk(&self.root.path().join(&self.bucket), "", &mut keys);
        keys.sort();
        keys
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `req` with `s3`, checking a body that carries a SHA-256 checksum
/// as it streams through: one that does not match ends in an error before
/// s3s-fs moves it into place, so nothing is kept, and the answer is S3's
/// `BadDigest`.
async fn verify_then_serve(
    s3: s3s::service::S3Service,
    req: http::Request<hyper::body::Incoming>,
    refused: &AtomicUsize,
) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
    let declared = req
        .headers()
        .get("x-amz-checksum-sha256")
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
    let Some(declared) = declared else {
        return s3.call(req.map(s3s::Body::from)).await;
    };
    let damaged = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let checked = Checked {
        body,
        hash: Some(Sha256::new()),
        seen: 0,
        length,
        declared,
        damaged: damaged.clone(),
    };
    let answer = s3
        .call(http::Request::from_parts(
            parts,
            s3s::Body::http_body_unsync(checked),
        ))
        .await;
    if !damaged.load(Ordering::SeqCst) {
        return answer;
    }
    refused.fetch_add(1, Ordering::SeqCst);
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>BadDigest</Code>\
         <Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>";
    Ok(http::Response::builder()
        .status(400)
        .header("content-type", "application/xml")
        .body(s3s::Body::from(xml.to_string()))
        .expect("a valid response"))
}

pin_project_lite::pin_project! {
    /// A request body hashed as it passes. Its last bytes (by its
    /// content-length, or its end) become an error when the hash is not
    /// the declared one: s3s reads a body only as far as its length.
    struct Checked {
        #[pin]
        body: hyper::body::Incoming,
        hash: Option<Sha256>,
        seen: u64,
        length: Option<u64>,
        declared: Vec<u8>,
        damaged: Arc<AtomicBool>,
    }
}

impl http_body::Body for Checked {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let mismatch = |hash: &mut Option<Sha256>, declared: &[u8], damaged: &AtomicBool| {
            let whole = hash.take().map(|h| h.finalize().to_vec());
            let bad = whole.is_some_and(|w| w != declared);
            damaged.store(bad, Ordering::SeqCst);
            bad
        };
        match std::task::ready!(this.body.poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if let Some(h) = this.hash.as_mut() {
                        h.update(data);
                    }
                    *this.seen += data.len() as u64;
                    if Some(*this.seen) == *this.length
                        && mismatch(this.hash, this.declared, this.damaged)
                    {
                        return std::task::Poll::Ready(Some(Err("BadDigest".into())));
                    }
                }
                std::task::Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => std::task::Poll::Ready(Some(Err(e.into()))),
            None if mismatch(this.hash, this.declared, this.damaged) => {
                std::task::Poll::Ready(Some(Err("BadDigest".into())))
            }
            None => std::task::Poll::Ready(None),
        }
    }
}
