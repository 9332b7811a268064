//! A real S3 protocol server (s3s-fs) on a loopback port, backed by a
//! temporary folder, with access-key authentication.

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
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let bucket = "evidence".to_string();
        std::fs::create_dir(root.path().join(&bucket)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
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
        }
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
