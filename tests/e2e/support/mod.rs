//! Test harness: a real server on a random loopback port, with its own
//! SQLite file (or, when DUCHA_TEST_DATABASE_URL is set, its own PostgreSQL
//! database) and its own data folder, driven through the SDK. What the
//! tests do with it lives beside it, one module per subject.

pub mod campaigns;
pub mod checks;
pub mod cli;
pub mod dates;
pub mod db;
pub mod enterprises;
pub mod events;
pub mod evidence;
pub mod findings;
pub mod grpc;
pub mod http;
pub mod lossy;
pub mod petitions;
pub mod photos;
// Some of its faults serve only the benchmarks that include it.
#[allow(dead_code)]
pub mod proxy;
pub mod rectification;
pub mod refusals;
pub mod s3;
pub mod supervision;
pub mod units;
pub mod users;

use std::sync::Arc;

use ducha::app::App;
use ducha::clock::ShiftedClock;
use ducha::config::{ServeSettings, Settings};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use db::TestDb;

/// A running server and what it stands on.
pub struct TestServer {
    pub url: String,
    pub app: App,
    /// The server's clock: tests move it instead of editing dates.
    pub clock: Arc<ShiftedClock>,
    pub settings: Settings,
    pub dir: Arc<TempDir>,
    pub db: Arc<TestDb>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn() -> TestServer {
    spawn_with(|_| {}).await
}

/// Starts a server whose settings `adjust` may change.
pub async fn spawn_with(adjust: impl FnOnce(&mut ServeSettings)) -> TestServer {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let db = Arc::new(TestDb::new().await);
    let mut given = ServeSettings::builtin();
    given.general.data_dir = dir.path().to_path_buf();
    given.database.database_url = db.url.clone();
    adjust(&mut given);
    start(
        Settings::resolve(given).expect("valid test settings"),
        dir,
        db,
        Arc::new(ShiftedClock::default()),
    )
    .await
}

async fn start(
    settings: Settings,
    dir: Arc<TempDir>,
    db: Arc<TestDb>,
    clock: Arc<ShiftedClock>,
) -> TestServer {
    let mut app = ducha::server::open_app(&settings)
        .await
        .expect("server opens");
    app.clock = clock.clone();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ducha::server::serve(
        settings.clone(),
        app.clone(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    TestServer {
        url,
        app,
        clock,
        settings,
        dir,
        db,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestServer {
    /// Stops the server and waits until it has finished.
    pub async fn stop(&mut self) {
        self.begin_stop();
        self.stopped().await;
    }

    /// Asks the server to stop, as SIGTERM does, without waiting.
    pub fn begin_stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Waits until the server has stopped.
    pub async fn stopped(&mut self) {
        if let Some(t) = self.task.take() {
            t.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops the server and starts a new one on the same data and database.
    pub async fn restart(mut self) -> TestServer {
        self.stop().await;
        self.twin().await
    }

    /// Another server process on the same database and data, as a second
    /// replica.
    pub async fn twin(&self) -> TestServer {
        start(
            self.settings.clone(),
            self.dir.clone(),
            self.db.clone(),
            self.clock.clone(),
        )
        .await
    }

    /// Moves the server's clock by `days` (back when negative).
    pub fn pass_days(&self, days: i64) {
        self.clock.advance(chrono::TimeDelta::days(days));
    }

    /// Moves the server's clock to the day after `due`: the deadline has
    /// passed.
    pub fn pass_beyond(&self, due: chrono::NaiveDate) {
        self.pass_days((due - self.today()).num_days() + 1);
    }

    /// Today in China by the server's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.app.today()
    }

    /// Runs `sql` on the server's database directly, as someone with
    /// database access would (to tamper with it, or to count); returns the
    /// rows changed. Time is moved with the clock, never here.
    pub async fn raw_sql(&self, sql: &str) -> u64 {
        use secrecy::ExposeSecret;
        let url = self.settings.database.url.expose_secret().to_string();
        macro_rules! run {
            ($pool:expr) => {{
                let pool = $pool;
                sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&pool)
                    .await
                    .expect("raw SQL")
                    .rows_affected()
            }};
        }
        if url.starts_with("sqlite:") {
            run!(sqlx::SqlitePool::connect(&url).await.unwrap())
        } else {
            run!(sqlx::PgPool::connect(&url).await.unwrap())
        }
    }

    /// The first column, as text, of the rows `sql` selects from the
    /// server's database, read directly.
    pub async fn raw_texts(&self, sql: &str) -> Vec<String> {
        use secrecy::ExposeSecret;
        let url = self.settings.database.url.expose_secret().to_string();
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("raw SQL")
        } else {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("raw SQL")
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
