//! Settings, in one group per concern: each group is a set of flags with
//! their environment variables and built-in defaults, and resolves into
//! checked values. A setting is given, each way overriding the one
//! before, by its built-in default (stated once, on its flag), the
//! settings file (`--config`, see `file`), the environment, or a flag.
//!
//! Each command takes the groups it uses (see `cli`): a flag it does not
//! take is refused, and an environment variable or file key it does not
//! take is left alone, so one environment and one file serve every
//! command. `ducha serve` takes every group, and `ducha serve --help`
//! lists every setting with its variable under its group's heading.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;

mod file;
mod keys;
mod policies;
mod serving;
mod storage;

#[cfg(test)]
mod readme;

pub use file::{ConfigFile, SettingsFile};
pub use keys::{
    PersonalDataSettings, SessionOptions, SessionSettings, TokenOptions, TokenSettings,
};
pub use policies::{
    JobPolicy, JobSettings, MediaSettings, PetitionPolicy, PetitionSettings, SignalSettings,
    UploadSettings,
};
pub use serving::{
    DownloadPolicy, DownloadSettings, LogFormat, LogSettings, ServerOptions, ServerSettings,
    TestingSettings,
};
pub use storage::{
    DatabaseOptions, DatabaseSettings, GeneralSettings, ObjectStoreOptions, ObjectStoreSettings,
};

use crate::domain::evidence::UploadLimits;
use crate::domain::signals::SignalPolicy;
use crate::media::tool::MediaTools;

/// Every group of settings: what `ducha serve` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub general: GeneralSettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub object_store: ObjectStoreSettings,
    #[command(flatten)]
    pub tokens: TokenSettings,
    #[command(flatten)]
    pub sessions: SessionSettings,
    #[command(flatten)]
    pub personal_data: PersonalDataSettings,
    #[command(flatten)]
    pub server: ServerSettings,
    #[command(flatten)]
    pub downloads: DownloadSettings,
    #[command(flatten)]
    pub uploads: UploadSettings,
    #[command(flatten)]
    pub media: MediaSettings,
    #[command(flatten)]
    pub signals: SignalSettings,
    #[command(flatten)]
    pub petitions: PetitionSettings,
    #[command(flatten)]
    pub jobs: JobSettings,
    #[command(flatten)]
    pub log: LogSettings,
    #[command(flatten)]
    pub testing: TestingSettings,
}

impl ServeSettings {
    /// Every setting at its built-in default (the environment is not read).
    pub fn builtin() -> ServeSettings {
        builtin()
    }
}

/// The settings of `T` at their built-in defaults: the defaults its flags
/// state, without reading the environment.
pub fn builtin<T: clap::Args + clap::FromArgMatches>() -> T {
    let cmd = T::augment_args(clap::Command::new("ducha")).mut_args(|a| a.env(None));
    let matches = cmd
        .try_get_matches_from(["ducha"])
        .expect("the built-in defaults parse");
    T::from_arg_matches(&matches).expect("the built-in defaults parse")
}

/// Settings with every default applied and every value checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database: DatabaseOptions,
    pub object_store: ObjectStoreOptions,
    pub tokens: TokenOptions,
    pub sessions: SessionOptions,
    pub personal_data_keys: PathBuf,
    pub server: ServerOptions,
    pub downloads: DownloadPolicy,
    pub uploads: UploadLimits,
    pub media_tools: MediaTools,
    pub signals: SignalPolicy,
    pub petitions: PetitionPolicy,
    pub jobs: JobPolicy,
    pub log_format: LogFormat,
    /// Tests only: how far the server's clock runs ahead (see `clock`).
    pub test_clock_offset: Option<chrono::TimeDelta>,
}

impl Settings {
    pub fn resolve(s: ServeSettings) -> anyhow::Result<Settings> {
        let data_dir = s.general.data_dir;
        Ok(Settings {
            database: s.database.resolve(&data_dir)?,
            object_store: s.object_store.resolve(&data_dir)?,
            tokens: s.tokens.resolve(&data_dir)?,
            sessions: s.sessions.resolve()?,
            personal_data_keys: s.personal_data.resolve(&data_dir),
            server: s.server.resolve()?,
            downloads: s.downloads.resolve()?,
            uploads: s.uploads.resolve()?,
            media_tools: s.media.resolve()?,
            signals: s.signals.resolve()?,
            petitions: s.petitions.resolve()?,
            jobs: s.jobs.resolve()?,
            log_format: s.log.log_format,
            test_clock_offset: s.testing.test_clock_offset,
            data_dir,
        })
    }

    /// Settings for a server keeping everything under `data_dir`.
    pub fn embedded(data_dir: &Path) -> Settings {
        let mut s = ServeSettings::builtin();
        s.general.data_dir = data_dir.to_path_buf();
        Settings::resolve(s).expect("defaults are valid")
    }
}

/// Parses a span like 15m or 30d.
fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|_| "not a duration like 15m or 30d".to_string())
}

fn nonzero(d: Duration, name: &str) -> anyhow::Result<Duration> {
    if d.is_zero() {
        bail!("{name}: must not be zero");
    }
    Ok(d)
}

fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

fn positive(name: &str, n: i64) -> anyhow::Result<i64> {
    if n > 0 {
        Ok(n)
    } else {
        bail!("{name}: must be positive, got {n}")
    }
}
