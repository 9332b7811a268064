//! The database: SQLite (the embedded default) or PostgreSQL, picked by the
//! URL's scheme. Each query is written once with `$N` parameters, which both
//! drivers accept, and run on whichever pool is open (see `on_pool!`).

mod accountability;
mod assessment;
mod calendar;
mod campaigns;
mod checks;
mod devices;
mod enterprises;
mod evidence;
mod findings;
mod jobs;
mod ledger;
mod links;
pub(crate) mod log;
mod petition_register;
mod petitions;
mod rectification;
mod sealed;
mod supervision;
mod time;
mod tokens;
mod units;
mod users;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use checks::StoredCheck;
pub use evidence::{DERIVATIVES_JOB, Segment};
pub use findings::{FINDING, StoredFinding};
pub use jobs::ClaimedJob;
pub use links::{CHECK_RECORD, EVIDENCE};
pub use rectification::{RECTIFICATION_ITEM, StoredItem};
pub use sealed::SealedColumn;
pub use time::{Ts, now as time_now};
pub use tokens::RefreshUse;
pub use users::User;

use crate::error::Error;

/// Runs `$body` with `$pool` bound to the store's open pool, whichever
/// database it is, within the store's timeout: a database that does not
/// answer makes the call UNAVAILABLE instead of hanging it. The body is
/// compiled once per driver, so it needs no generic bounds.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::store::on_pool!($store, ($store).timeout, |$pool| $body)
    };
    // A report that reads a whole register in one query gets longer.
    ($store:expr, report, |$pool:ident| $body:expr) => {
        $crate::store::on_pool!(
            $store,
            ($store).timeout * $crate::store::REPORT_TIMEOUTS,
            |$pool| $body
        )
    };
    ($store:expr, $limit:expr, |$pool:ident| $body:expr) => {
        $crate::store::bounded($limit, async {
            match &($store).db {
                $crate::store::Db::Sqlite($pool) => $body,
                $crate::store::Db::Postgres($pool) => $body,
            }
        })
        .await
    };
}
pub(crate) use on_pool;

/// How many times `database_timeout` a report may take.
pub(crate) const REPORT_TIMEOUTS: u32 = 20;

/// `op` within `limit`; past it, the error a connection gets that timed out.
/// A transaction cut off here was never committed and rolls back.
pub(crate) async fn bounded<T>(
    limit: Duration,
    op: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    match tokio::time::timeout(limit, op).await {
        Ok(r) => r,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the database did not answer within {limit:?}"),
        ))),
    }
}

/// Narrows a list query to `units` (`Option<Vec<String>>`): no filter for
/// None, nothing for an empty list. The column is `unit_code` unless named.
macro_rules! push_unit_filter {
    ($q:expr, $units:expr) => {
        $crate::store::push_unit_filter!($q, $units, "unit_code")
    };
    ($q:expr, $units:expr, $column:literal) => {
        if let Some(units) = $units {
            if units.is_empty() {
                $q.push(" AND FALSE");
            } else {
                $q.push(concat!(" AND ", $column, " IN ("));
                let mut s = $q.separated(", ");
                for u in units {
                    s.push_bind(u.clone());
                }
                s.push_unseparated(")");
            }
        }
    };
}
pub(crate) use push_unit_filter;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// The longest an operation waits for a connection and for the
    /// database's answer.
    timeout: Duration,
    /// One connection of its own for the health probe, so that a busy pool
    /// is not taken for an unreachable database.
    probe: Db,
    /// Wakes this process's event watchers when a change it made commits.
    pub appended: std::sync::Arc<tokio::sync::Notify>,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if is_outage(&e) {
            // The caller may retry; the operator needs the cause.
            tracing::warn!(error = %e, "database unavailable");
            return Error::Unavailable(
                "the database cannot be reached or is busy; retry later".into(),
            );
        }
        Error::Internal(anyhow::Error::new(e).context("database"))
    }
}

/// Whether `e` means the database cannot answer now (down, unreachable,
/// overloaded, locked, shutting down) rather than a fault of the query.
fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // PostgreSQL: connection exception (08), too many connections,
            // out of resources (53), shutting down or starting (57P0x);
            // SQLite: busy and locked, with their extended codes.
            c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P0")
                || matches!(&*c, "5" | "6" | "261" | "262" | "517" | "773")
        }),
        _ => false,
    }
}

/// A location stored as columns, when it has all it needs.
pub(crate) fn location_from_columns(
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    altitude_m: Option<f64>,
    datum: Option<&str>,
) -> Result<Option<crate::domain::geo::Location>, Error> {
    use crate::domain::geo::{Datum, Location};
    match (latitude, longitude, datum) {
        (Some(latitude), Some(longitude), Some(d)) => Ok(Some(Location {
            latitude,
            longitude,
            accuracy_m: accuracy_m.unwrap_or(0.0),
            altitude_m,
            datum: Datum::parse(d).ok_or_else(|| Error::internal(format!("stored datum {d}")))?,
        })),
        _ => Ok(None),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Opens `url` (`sqlite://PATH` or `postgres://...`). No operation waits
    /// longer than `timeout` for a connection or an answer.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        timeout: Duration,
    ) -> anyhow::Result<Store> {
        let (db, probe) = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("bad SQLite URL {url}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(timeout)
                .foreign_keys(true);
            let pool = |n| {
                SqlitePoolOptions::new()
                    .max_connections(n)
                    .acquire_timeout(timeout)
            };
            (
                Db::Sqlite(
                    pool(max_connections)
                        .connect_with(opts.clone())
                        .await
                        .context("opening the SQLite database")?,
                ),
                Db::Sqlite(pool(1).connect_lazy_with(opts)),
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // A statement the server gave up on does not run on unseen: the
            // database ends it too, past the longest bound of any operation.
            let statement_timeout = (timeout * REPORT_TIMEOUTS).as_millis().to_string();
            let opts = PgConnectOptions::from_str(url)
                .context("bad PostgreSQL URL")?
                .options([("statement_timeout", statement_timeout.as_str())]);
            let pool = |n| {
                PgPoolOptions::new()
                    .max_connections(n)
                    .acquire_timeout(timeout)
            };
            (
                Db::Postgres(
                    pool(max_connections)
                        .connect_with(opts.clone())
                        .await
                        .context("connecting to PostgreSQL")?,
                ),
                Db::Postgres(pool(1).connect_lazy_with(opts)),
            )
        } else {
            anyhow::bail!("database URL must start with sqlite: or postgres:, got {url}");
        };
        Ok(Store {
            db,
            timeout,
            probe,
            appended: Default::default(),
        })
    }

    /// Applies the migrations this build carries, in order; safe to run from
    /// several processes at once (the migrator takes a lock).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite(p) => sqlx::migrate!("../migrations/sqlite").run(p).await?,
            Db::Postgres(p) => {
                // A migration may build an index over millions of rows: it
                // runs without the statement timeout of ordinary work, on a
                // connection that is closed afterwards.
                let mut conn = p.acquire().await?.detach();
                sqlx::query("SET statement_timeout = 0")
                    .execute(&mut conn)
                    .await?;
                let ran = sqlx::migrate!("../migrations/postgres")
                    .run(&mut conn)
                    .await;
                let _ = sqlx::Connection::close(conn).await;
                ran?
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers within `limit`, on a connection of its
    /// own.
    pub async fn probe(&self, limit: Duration) -> Result<(), Error> {
        bounded(limit, async {
            match &self.probe {
                Db::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
                Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
            }
        })
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        for db in [&self.db, &self.probe] {
            match db {
                Db::Sqlite(p) => p.close().await,
                Db::Postgres(p) => p.close().await,
            }
        }
    }
}
