//! A loopback TCP proxy that cuts its connections once, after a given number
//! of bytes from the client: a phone losing signal in the middle of an
//! upload.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CuttingProxy {
    pub url: String,
    /// Bytes still allowed before the cut; negative when not armed.
    budget: Arc<AtomicI64>,
    cuts: Arc<AtomicUsize>,
    /// Closes every open connection when notified.
    kill: Arc<tokio::sync::Notify>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    pub async fn start(upstream_url: &str) -> CuttingProxy {
        let upstream = upstream_url.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let budget = Arc::new(AtomicI64::new(-1));
        let cuts = Arc::new(AtomicUsize::new(0));
        let kill = Arc::new(tokio::sync::Notify::new());
        let accepted = Arc::new(AtomicUsize::new(0));
        let (b, c, k, a) = (budget.clone(), cuts.clone(), kill.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(pipe(client, server, b.clone(), c.clone(), k.clone()));
            }
        });
        CuttingProxy {
            url,
            budget,
            cuts,
            kill,
            accepted,
            task,
        }
    }

    /// Cuts every open connection once `bytes` more have gone upstream.
    pub fn cut_after(&self, bytes: i64) {
        self.budget.store(bytes, Ordering::SeqCst);
    }

    /// Cuts every open connection now, as a phone going out of signal.
    pub fn cut_now(&self) {
        self.cuts.fetch_add(1, Ordering::SeqCst);
        self.kill.notify_waiters();
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    budget: Arc<AtomicI64>,
    cuts: Arc<AtomicUsize>,
    kill: Arc<tokio::sync::Notify>,
) {
    let killed = kill.notified();
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let left = budget.load(Ordering::SeqCst);
            if left >= 0 {
                let now = budget.fetch_sub(n as i64, Ordering::SeqCst) - n as i64;
                if now < 0 && budget.swap(-1, Ordering::SeqCst) != -1 {
                    cuts.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = tokio::io::copy(&mut sr, &mut cw);
    // Whichever way ends first, both sockets close.
    tokio::select! { _ = up => {}, _ = down => {}, _ = killed => {} }
}
