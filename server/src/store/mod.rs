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

pub use evidence::{DERIVATIVES_JOB, Segment};
pub use findings::{FINDING, StoredFinding};
pub use jobs::ClaimedJob;
pub use links::{CHECK_RECORD, EVIDENCE};
pub use petitions::PetitionFilter;
pub use rectification::{RECTIFICATION_ITEM, StoredItem};
pub use sealed::SealedColumn;
pub use time::{Ts, now as time_now};
pub use tokens::RefreshUse;
pub use users::User;

use crate::error::Error;

/// Runs `$body` with `$pool` bound to the open pool, whichever database it
/// is. The body is compiled once per driver, so it needs no generic bounds.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

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
    /// Wakes this process's event watchers when a change it made commits.
    pub appended: std::sync::Arc<tokio::sync::Notify>,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => Error::Unavailable("database is busy; retry".into()),
            e => Error::Internal(anyhow::Error::new(e).context("database")),
        }
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
    /// Opens `url` (`sqlite://PATH` or `postgres://...`).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        let db = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("bad SQLite URL {url}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .connect_with(opts)
                    .await
                    .context("opening the SQLite database")?,
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).context("bad PostgreSQL URL")?;
            Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .context("connecting to PostgreSQL")?,
            )
        } else {
            anyhow::bail!("database URL must start with sqlite: or postgres:, got {url}");
        };
        Ok(Store {
            db,
            appended: Default::default(),
        })
    }

    /// Applies the migrations this build carries, in order; safe to run from
    /// several processes at once (the migrator takes a lock).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite(p) => sqlx::migrate!("../migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("../migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn ping(&self) -> Result<(), Error> {
        on_pool!(&self.db, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(&self.db, |p| p.close().await)
    }
}
