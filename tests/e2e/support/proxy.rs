//! A loopback TCP proxy that injects the faults of real networks and
//! servers: it cuts its connections (now, after a number of bytes, or at
//! points of the upload's progress), stops (refuses connections), freezes
//! (accepts and holds connections but passes nothing), starts again, and
//! can act as a slow link (delay each way, a rate limit, and a client read
//! only so far ahead of what was forwarded). It counts what it read from
//! the client, which is what a phone pays for.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

/// A slow link's shape, the same each way.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub delay: Duration,
    pub bytes_per_second: u64,
    /// Bytes read from a side and not yet forwarded to the other, at most.
    pub read_ahead: usize,
}

pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct Shared {
    upstream: String,
    /// Set while frozen: nothing passes, in either direction.
    frozen: watch::Sender<bool>,
    /// Bumped to cut every open connection.
    cut: watch::Sender<u64>,
    /// Client bytes still allowed before the next cut; negative when not
    /// armed.
    budget: AtomicI64,
    /// Cut when the client bytes forwarded reach each of these, in order.
    cut_points: Mutex<VecDeque<u64>>,
    link: Mutex<Option<Link>>,
    /// Flip one byte of the body of the next this many matching requests.
    tamper: Mutex<Option<(String, usize)>>,
    accepted: AtomicUsize,
    cuts: AtomicUsize,
    tampered: AtomicUsize,
    read_from_client: AtomicU64,
    forwarded_from_client: AtomicU64,
    /// The client bytes forwarded so far, for those who wait on them.
    forwarded: watch::Sender<u64>,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`, or a URL whose scheme is
    /// dropped).
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            frozen: watch::channel(false).0,
            cut: watch::channel(0).0,
            budget: AtomicI64::new(-1),
            cut_points: Mutex::new(VecDeque::new()),
            link: Mutex::new(None),
            tamper: Mutex::new(None),
            accepted: AtomicUsize::new(0),
            cuts: AtomicUsize::new(0),
            tampered: AtomicUsize::new(0),
            read_from_client: AtomicU64::new(0),
            forwarded_from_client: AtomicU64::new(0),
            forwarded: watch::channel(0).0,
        });
        let task = tokio::spawn(accept(listener, shared.clone()));
        Proxy {
            url: format!("http://{addr}"),
            addr,
            shared,
            listener: Mutex::new(Some(task)),
        }
    }

    /// `host:port` of the proxy.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Stops listening (connections are refused) and cuts every open
    /// connection: the server is down.
    pub fn stop(&self) {
        if let Some(t) = self.listener.lock().unwrap().take() {
            t.abort();
        }
        self.cut_now();
    }

    /// Holds every connection, open and new, without passing a byte: the
    /// server or the network hangs.
    pub fn freeze(&self) {
        self.shared.frozen.send_replace(true);
    }

    /// Listens again on the same port, and lets frozen connections go on.
    pub async fn restart(&self) {
        self.shared.frozen.send_replace(false);
        if self.listener.lock().unwrap().is_none() {
            let link = *self.shared.link.lock().unwrap();
            self.listen(link.map(|l| l.read_ahead as u32)).await;
        }
    }

    /// Listens on the proxy's port anew, with the receive buffer of the
    /// connections it accepts set to `receive_buffer` when given.
    async fn listen(&self, receive_buffer: Option<u32>) {
        let old = self.listener.lock().unwrap().take();
        if let Some(old) = old {
            old.abort();
            // The port is free once the old listener is dropped.
            let _ = old.await;
        }
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        socket.bind(self.addr).unwrap();
        let l = socket.listen(128).unwrap();
        *self.listener.lock().unwrap() = Some(tokio::spawn(accept(l, self.shared.clone())));
    }

    /// Cuts every open connection now, as a phone going out of signal.
    pub fn cut_now(&self) {
        self.shared.cut_all();
    }

    /// Cuts every open connection once `bytes` more client bytes have
    /// arrived; those bytes are not forwarded.
    pub fn cut_after(&self, bytes: i64) {
        self.shared.budget.store(bytes, Ordering::SeqCst);
    }

    /// Cuts every open connection each time the client bytes forwarded
    /// reach one of `points`.
    pub fn cut_at(&self, points: impl IntoIterator<Item = u64>) {
        let mut p: Vec<u64> = points.into_iter().collect();
        p.sort();
        *self.shared.cut_points.lock().unwrap() = p.into();
    }

    /// Shapes every connection opened from now on as `link`. The kernel
    /// takes in no more of a client's bytes than the link holds either: a
    /// large receive buffer would let a client hand over megabytes that the
    /// link has not carried.
    pub async fn shape(&self, link: Link) {
        *self.shared.link.lock().unwrap() = Some(link);
        self.listen(Some(link.read_ahead as u32)).await;
    }

    /// Flips one byte in the body of the next `times` HTTP/1.1 requests
    /// whose first line starts with `request_line` (e.g. `PUT /bucket/key`):
    /// damage on the way.
    pub fn tamper(&self, request_line: &str, times: usize) {
        *self.shared.tamper.lock().unwrap() = Some((request_line.to_string(), times));
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Times connections were cut.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// Requests whose body was damaged.
    pub fn tampered(&self) -> usize {
        self.shared.tampered.load(Ordering::SeqCst)
    }

    /// Bytes read from clients, whether forwarded or lost in a cut.
    pub fn client_bytes(&self) -> u64 {
        self.shared.read_from_client.load(Ordering::SeqCst)
    }

    /// Bytes from clients that reached the upstream.
    pub fn forwarded_bytes(&self) -> u64 {
        self.shared.forwarded_from_client.load(Ordering::SeqCst)
    }

    /// Waits until `n` client bytes in all have reached the upstream.
    pub async fn forwarded(&self, n: u64) {
        let mut seen = self.shared.forwarded.subscribe();
        let _ = seen.wait_for(|&f| f >= n).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nodelay(true);
        tokio::spawn(serve(client, shared.clone()));
    }
}

/// Passes one connection both ways until either side closes, a cut, or
/// the proxy stops.
async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cut.subscribe();
    cut.borrow_and_update();
    let mut frozen = shared.frozen.subscribe();
    // A frozen proxy holds a new connection without reaching upstream.
    tokio::select! {
        _ = frozen.wait_for(|f| !f) => {}
        _ = cut.changed() => return,
    }
    let Ok(server) = TcpStream::connect(&shared.upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let link = *shared.link.lock().unwrap();
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pass(cr, sw, link, shared.clone(), true);
    let down = pass(sr, cw, link, shared.clone(), false);
    // Whichever way ends first, both sockets close.
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cut.changed() => {}
    }
}

/// One direction of a connection. Client bytes are counted as read,
/// checked against the cut budget and points, and possibly damaged.
async fn pass(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    link: Option<Link>,
    shared: Arc<Shared>,
    from_client: bool,
) {
    const PIECE: usize = 16 * 1024;
    let ahead = link.map_or(64 * 1024, |l| l.read_ahead).max(1);
    let room = Arc::new(Semaphore::new(ahead));
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
    let reader = {
        let (room, shared) = (room.clone(), shared.clone());
        let mut frozen = shared.frozen.subscribe();
        let mut damage = Damage::default();
        async move {
            let mut buf = vec![0u8; PIECE.min(ahead)];
            loop {
                let _ = frozen.wait_for(|f| !f).await;
                // Read only as far ahead of the other side as the link holds.
                room.acquire_many(buf.len() as u32).await.unwrap().forget();
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                room.add_permits(buf.len() - n);
                let mut data = buf[..n].to_vec();
                if from_client {
                    shared
                        .read_from_client
                        .fetch_add(n as u64, Ordering::SeqCst);
                    if shared.spend_budget(n) {
                        return;
                    }
                    damage.apply(&mut data, &shared);
                }
                if tx.send((Instant::now(), Bytes::from(data))).is_err() {
                    return;
                }
            }
        }
    };
    let writer = async move {
        let mut frozen = shared.frozen.subscribe();
        // When the link will have sent everything given to it so far.
        let mut free_at = Instant::now();
        while let Some((read_at, data)) = rx.recv().await {
            if let Some(l) = link {
                tokio::time::sleep_until(read_at + l.delay).await;
                let on_wire = data.len() as f64 / l.bytes_per_second as f64;
                free_at = free_at.max(Instant::now()) + Duration::from_secs_f64(on_wire);
                tokio::time::sleep_until(free_at).await;
            }
            let _ = frozen.wait_for(|f| !f).await;
            let len = data.len();
            let pass = if from_client {
                shared.before_cut_point(len)
            } else {
                len
            };
            if to.write_all(&data[..pass]).await.is_err() {
                return;
            }
            if from_client {
                let total = shared
                    .forwarded_from_client
                    .fetch_add(pass as u64, Ordering::SeqCst)
                    + pass as u64;
                shared.forwarded.send_modify(|f| *f = (*f).max(total));
                if pass < len {
                    shared.cut_all();
                    return;
                }
            }
            room.add_permits(len);
        }
    };
    tokio::select! { _ = reader => {}, _ = writer => {} }
}

impl Shared {
    fn cut_all(&self) {
        self.cuts.fetch_add(1, Ordering::SeqCst);
        self.cut.send_modify(|c| *c += 1);
    }

    /// Counts `n` client bytes against the armed budget; true when they
    /// overran it and every connection was cut.
    fn spend_budget(&self, n: usize) -> bool {
        if self.budget.load(Ordering::SeqCst) < 0 {
            return false;
        }
        let left = self.budget.fetch_sub(n as i64, Ordering::SeqCst) - n as i64;
        if left < 0 && self.budget.swap(-1, Ordering::SeqCst) != -1 {
            self.cut_all();
            return true;
        }
        false
    }

    /// How many of the next `len` client bytes may pass before a cut
    /// point, which is then used up.
    fn before_cut_point(&self, len: usize) -> usize {
        let mut points = self.cut_points.lock().unwrap();
        let sent = self.forwarded_from_client.load(Ordering::SeqCst);
        match points.front() {
            Some(&p) if p < sent + len as u64 => {
                points.pop_front();
                p.saturating_sub(sent) as usize
            }
            _ => len,
        }
    }
}

/// Finds the requests to damage in a client's byte stream: a request line
/// that matches, the end of its headers, then the body's 100th byte.
#[derive(Default)]
struct Damage {
    /// The tail of what was seen, to find patterns across reads.
    seen: Vec<u8>,
    /// Body bytes to skip before flipping one, once a request matched.
    armed: Option<usize>,
    /// The request line matched; waiting for the end of its headers.
    in_headers: bool,
}

impl Damage {
    fn apply(&mut self, data: &mut [u8], shared: &Shared) {
        let Some((line, left)) = shared.tamper.lock().unwrap().clone() else {
            return;
        };
        if left == 0 && self.armed.is_none() {
            return;
        }
        let mut i = 0;
        while i < data.len() {
            if let Some(skip) = self.armed {
                if data.len() - i > skip {
                    data[i + skip] ^= 0x55;
                    self.armed = None;
                    shared.tampered.fetch_add(1, Ordering::SeqCst);
                    i += skip + 1;
                } else {
                    self.armed = Some(skip - (data.len() - i));
                    i = data.len();
                }
                continue;
            }
            self.seen.push(data[i]);
            i += 1;
            if self.seen.len() > 8192 {
                self.seen.drain(..4096);
            }
            if !self.in_headers && self.seen.ends_with(line.as_bytes()) {
                let mut t = shared.tamper.lock().unwrap();
                if let Some((_, n)) = t.as_mut().filter(|(_, n)| *n > 0) {
                    *n -= 1;
                    self.in_headers = true;
                }
            } else if self.in_headers && self.seen.ends_with(b"\r\n\r\n") {
                self.in_headers = false;
                self.armed = Some(99);
            }
        }
    }
}
