//! What the benchmarks share: photos of a given size (made as the tests
//! make them), a server in the benchmark's own process, and timing.

#![allow(dead_code)]

use std::time::{Duration, Instant};

#[path = "../../../tests/e2e/support/photos.rs"]
pub mod photos;
#[allow(unused_imports)]
pub use photos::{photo, unique};

/// Runs `f` `n` times after one warm-up run; the median time of a run.
pub fn median(n: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A server in this process on a loopback port, with one inspector of
/// Liandu (`bench`, password [`PASSWORD`]); derivatives are left to other
/// processes, so that only what a benchmark measures runs.
pub struct InProcess {
    pub url: String,
    pub app: ducha::app::App,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "correct horse battery";

impl InProcess {
    pub async fn start(adjust: impl FnOnce(&mut ducha::config::ServeSettings)) -> InProcess {
        use ducha::domain::access::{Role, Scope};
        let dir = tempfile::tempdir().unwrap();
        let mut given = ducha::config::ServeSettings::builtin();
        given.general.data_dir = dir.path().to_path_buf();
        given.jobs.derivative_workers = Some(0);
        adjust(&mut given);
        let settings = ducha::config::Settings::resolve(given).unwrap();
        let app = ducha::server::open_app(&settings).await.unwrap();
        app.add_user(ducha::app::NewUser {
            username: "bench".into(),
            role: Role::Inspector,
            scope: Scope::from_claim(&["331102".to_string()]),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(ducha::server::serve(
            settings,
            app.clone(),
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        InProcess {
            url,
            app,
            stop,
            task,
            _dir: dir,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}
