//! A real S3 protocol server (s3s-fs) on a loopback port, backed by a
//! temporary folder, with access-key authentication. Like real S3, it
//! checks a body against the `x-amz-checksum-sha256` it came with before it
//! keeps anything (s3s-fs by itself writes the object first, then checks).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
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
    pub fn configure(&self, l: &mut ducha::config::SettingsLayer) {
        l.s3_bucket = Some(self.bucket.clone());
        l.s3_endpoint = Some(self.endpoint.clone());
        l.s3_access_key_id = Some(ACCESS_KEY.into());
        l.s3_secret_access_key = Some(SECRET_KEY.into());
        l.s3_path_style = Some(true);
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

/// Serves `req` with `s3`, after checking a body that carries a SHA-256
/// checksum against it; one that does not match is refused with S3's
/// `BadDigest`, and nothing is stored.
async fn verify_then_serve(
    s3: s3s::service::S3Service,
    req: http::Request<hyper::body::Incoming>,
    refused: &AtomicUsize,
) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
    let Some(declared) = req.headers().get("x-amz-checksum-sha256").cloned() else {
        return s3.call(req.map(s3s::Body::from)).await;
    };
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Err(s3s::HttpError::new(Box::new(e))),
    };
    use sha2::Digest;
    let actual = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
    if declared.as_bytes() != actual.as_bytes() {
        refused.fetch_add(1, Ordering::SeqCst);
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>BadDigest</Code>\
             <Message>The SHA256 you specified did not match the calculated checksum ({actual}).</Message></Error>"
        );
        return Ok(http::Response::builder()
            .status(400)
            .header("content-type", "application/xml")
            .body(s3s::Body::from(xml))
            .expect("a valid response"));
    }
    s3.call(http::Request::from_parts(parts, s3s::Body::from(bytes)))
        .await
}
