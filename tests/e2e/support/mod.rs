//! Test harness: a real server on a random loopback port, with its own
//! SQLite file (or, when DUCHA_TEST_DATABASE_URL is set, its own PostgreSQL
//! database) and its own data folder, driven through the SDK.

// Some of its faults serve only the benchmarks that include it.
pub mod lossy;
pub mod photos;
#[allow(dead_code)]
pub mod proxy;
pub mod s3;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ducha::app::{App, NewUser};
use ducha::clock::ShiftedClock;
use ducha::config::{ServeSettings, Settings};
use ducha::domain::access::{Role, Scope};
use ducha_sdk::{Client, pb};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "correct horse battery";

/// A database of its own for one test; dropped with the test.
pub struct TestDb {
    pub url: Option<String>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// SQLite in the data folder, or a fresh PostgreSQL database.
    pub async fn new() -> TestDb {
        let Ok(admin) = std::env::var("DUCHA_TEST_DATABASE_URL") else {
            return TestDb {
                url: None,
                pg: None,
            };
        };
        let name = format!("ducha_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("DUCHA_TEST_DATABASE_URL must reach PostgreSQL");
        sqlx::Executor::execute(
            &mut conn,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .expect("create test database");
        let url = with_database(&admin, &name);
        TestDb {
            url: Some(url),
            pg: Some((admin, name)),
        }
    }
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside async context: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ = sqlx::Executor::execute(
                            &mut c,
                            sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

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

static USERS: AtomicUsize = AtomicUsize::new(0);

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

    /// A client of `name` (made by `user`) signed in at `url`, the
    /// server's own or a proxy's in front of it, whose calls follow
    /// `policy`.
    pub async fn sign_in(&self, url: &str, name: &str, policy: ducha_sdk::CallPolicy) -> Client {
        let c = Client::builder(url)
            .call_policy(policy)
            .connect()
            .await
            .expect("connect");
        c.login(name, PASSWORD).await.expect("login");
        c
    }

    /// A client that has not signed in.
    pub async fn anonymous(&self) -> Client {
        Client::connect(self.url.clone()).await.expect("connect")
    }

    /// Creates an account with `role` and units (`["*"]` for all), signs it
    /// in, and returns its client and username.
    pub async fn user(&self, role: Role, units: &[&str]) -> (Client, String) {
        let username = format!(
            "{}-{}",
            role.as_str().replace('_', "-"),
            USERS.fetch_add(1, Ordering::Relaxed)
        );
        let scope = Scope::from_claim(&units.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        self.app
            .add_user(NewUser {
                username: username.clone(),
                role,
                scope,
                password: PASSWORD.into(),
            })
            .await
            .expect("add user");
        let client = self.anonymous().await;
        client.login(&username, PASSWORD).await.expect("login");
        (client, username)
    }

    /// A signed-in client of `role` for `units`.
    pub async fn client(&self, role: Role, units: &[&str]) -> Client {
        self.user(role, units).await.0
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Seconds since the epoch as a protobuf timestamp.
pub fn ts(seconds: i64) -> Option<ducha_sdk::prost_types::Timestamp> {
    Some(ducha_sdk::prost_types::Timestamp { seconds, nanos: 0 })
}

/// A valid site check in Liandu (331102), starting at `start`.
pub fn site_check(unit: &str, start: i64) -> pb::CheckRecord {
    pb::CheckRecord {
        kind: pb::CheckKind::SiteCheck as i32,
        unit_code: unit.into(),
        subject: Some(pb::Subject {
            name: "丽水市某印染有限公司".into(),
            credit_code: "91330100799655058B".into(),
        }),
        address: "莲都区南明山街道".into(),
        location: Some(pb::Location {
            latitude: 28.4517,
            longitude: 119.9229,
            accuracy_m: 5.0,
            altitude_m: Some(60.0),
            datum: pb::Datum::Wgs84 as i32,
        }),
        start_time: ts(start),
        end_time: ts(start + 1800),
        checklist: vec![pb::ChecklistItem {
            question: "废水处理设施是否正常运行".into(),
            result: pb::ChecklistResult::NonCompliant as i32,
            note: "二沉池出水浑浊".into(),
        }],
        narrative: "现场检查发现废水处理设施运行不正常。".into(),
        ..Default::default()
    }
}

pub fn create(rec: pb::CheckRecord) -> pb::CreateCheckRecordRequest {
    pb::CreateCheckRecordRequest {
        check_record: Some(rec),
        ..Default::default()
    }
}

/// Creates `rec` as `c`, which must be allowed to.
pub async fn create_record(c: &Client, rec: pb::CheckRecord) -> pb::CheckRecord {
    c.checks()
        .create_check_record(create(rec))
        .await
        .unwrap()
        .into_inner()
        .check_record
        .unwrap()
}

/// A photo of tests/fixtures/photos.
pub fn fixture(name: &str) -> bytes::Bytes {
    bytes::Bytes::from(
        std::fs::read(format!(
            "{}/../tests/fixtures/photos/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
}

/// The field names of an INVALID_ARGUMENT answer.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    ducha_sdk::field_violations(status)
        .into_iter()
        .map(|v| v.field)
        .collect()
}
