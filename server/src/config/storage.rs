//! Where Ducha keeps things: the data folder, the database and the object
//! store of evidence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::{duration, nonzero};

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "General")]
pub struct GeneralSettings {
    /// Folder of the embedded database, the local object store and the
    /// keys
    #[arg(long, env = "DUCHA_DATA_DIR", default_value = "ducha-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseSettings {
    /// postgres://user:pass@host/db for production; SQLite in the data
    /// folder when unset
    #[arg(long, env = "DUCHA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the database pool
    #[arg(long, env = "DUCHA_DATABASE_MAX_CONNECTIONS", default_value = "10")]
    pub database_max_connections: u32,
    /// The longest a call waits for a database connection, and for each
    /// answer of the database, before it is UNAVAILABLE
    #[arg(long, env = "DUCHA_DATABASE_TIMEOUT", default_value = "3s", value_parser = duration)]
    pub database_timeout: Duration,
}

/// The database to open, and how.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub url: SecretString,
    pub max_connections: u32,
    pub timeout: Duration,
}

impl DatabaseSettings {
    pub fn resolve(&self, data_dir: &Path) -> anyhow::Result<DatabaseOptions> {
        let url = match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", data_dir.join("ducha.db").display()),
        };
        Ok(DatabaseOptions {
            url: SecretString::from(url),
            max_connections: self.database_max_connections,
            timeout: nonzero(self.database_timeout, "database_timeout")?,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Object store")]
pub struct ObjectStoreSettings {
    /// S3 bucket for evidence; the local data folder is used when unset
    #[arg(long, env = "DUCHA_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint URL (MinIO, Garage, OSS, ...); AWS when unset
    #[arg(long, env = "DUCHA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region
    #[arg(long, env = "DUCHA_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// S3 access key id
    #[arg(long, env = "DUCHA_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key
    #[arg(long, env = "DUCHA_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Path-style S3 addressing (http://host/bucket/key), as MinIO and
    /// Garage need; when unset, true when an endpoint is set
    #[arg(long, env = "DUCHA_S3_PATH_STYLE", value_parser = clap::builder::BoolishValueParser::new())]
    pub s3_path_style: Option<bool>,
    /// The longest wait to connect to the object store
    #[arg(long, env = "DUCHA_S3_CONNECT_TIMEOUT", default_value = "3s", value_parser = duration)]
    pub s3_connect_timeout: Duration,
    /// The longest wait for each answer of the object store (and for a
    /// request's retries together), before a call is UNAVAILABLE
    #[arg(long, env = "DUCHA_S3_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub s3_timeout: Duration,
}

/// The object store to open, and how.
#[derive(Debug, Clone)]
pub enum ObjectStoreOptions {
    Local {
        root: PathBuf,
    },
    S3 {
        bucket: String,
        endpoint: Option<String>,
        region: String,
        access_key_id: Option<String>,
        secret_access_key: Option<SecretString>,
        path_style: bool,
        connect_timeout: Duration,
        /// For each answer, and a request's retries together.
        timeout: Duration,
    },
}

impl ObjectStoreSettings {
    pub fn resolve(&self, data_dir: &Path) -> anyhow::Result<ObjectStoreOptions> {
        let Some(bucket) = &self.s3_bucket else {
            return Ok(ObjectStoreOptions::Local {
                root: data_dir.join("objects"),
            });
        };
        Ok(ObjectStoreOptions::S3 {
            bucket: bucket.clone(),
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone().map(SecretString::from),
            path_style: self.s3_path_style.unwrap_or(self.s3_endpoint.is_some()),
            connect_timeout: nonzero(self.s3_connect_timeout, "s3_connect_timeout")?,
            timeout: nonzero(self.s3_timeout, "s3_timeout")?,
        })
    }
}
