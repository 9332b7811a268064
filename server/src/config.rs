//! Settings: built-in defaults, then a TOML file (`--config`), then
//! environment variables and command-line flags, each layer overriding the
//! one before. `ducha serve --help` lists every setting with its variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::TrustedIssuer;
use crate::domain::derivative::MAX_NEAR_DISTANCE;
use crate::domain::evidence::UploadLimits;
use crate::domain::signals::SignalPolicy;
use crate::media::tool::MediaTools;

/// One layer of settings; every field optional so layers can be merged.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsLayer {
    /// Folder of the embedded database, the local object store and the
    /// token signing key [default: ./ducha-data]
    #[arg(long, env = "DUCHA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address and port to serve gRPC and gRPC-Web on [default: 127.0.0.1:50051]
    #[arg(long, env = "DUCHA_LISTEN_ADDR")]
    pub listen_addr: Option<SocketAddr>,
    /// postgres://user:pass@host/db for production; SQLite in the data
    /// folder when unset
    #[arg(long, env = "DUCHA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the database pool [default: 10]
    #[arg(long, env = "DUCHA_DATABASE_MAX_CONNECTIONS")]
    pub database_max_connections: Option<u32>,
    /// The longest a call waits for a database connection, and for each
    /// answer of the database, before it is UNAVAILABLE [default: 3s]
    #[arg(long, env = "DUCHA_DATABASE_TIMEOUT")]
    pub database_timeout: Option<String>,
    /// S3 bucket for evidence; the local data folder is used when unset
    #[arg(long, env = "DUCHA_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint URL (MinIO, Garage, OSS, ...); AWS when unset
    #[arg(long, env = "DUCHA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region [default: us-east-1]
    #[arg(long, env = "DUCHA_S3_REGION")]
    pub s3_region: Option<String>,
    /// S3 access key id
    #[arg(long, env = "DUCHA_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key
    #[arg(long, env = "DUCHA_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Path-style S3 addressing (http://host/bucket/key), as MinIO and
    /// Garage need [default: true when an endpoint is set]
    #[arg(long, env = "DUCHA_S3_PATH_STYLE", value_parser = clap::builder::BoolishValueParser::new())]
    pub s3_path_style: Option<bool>,
    /// The longest wait to connect to the object store [default: 3s]
    #[arg(long, env = "DUCHA_S3_CONNECT_TIMEOUT")]
    pub s3_connect_timeout: Option<String>,
    /// The longest wait for each answer of the object store (and for a
    /// request's retries together), before a call is UNAVAILABLE
    /// [default: 10s]
    #[arg(long, env = "DUCHA_S3_TIMEOUT")]
    pub s3_timeout: Option<String>,
    /// How often the database and the object store are probed for the
    /// health service [default: 2s]
    #[arg(long, env = "DUCHA_HEALTH_PROBE_INTERVAL")]
    pub health_probe_interval: Option<String>,
    /// Serve gRPC server reflection (v1 and v1alpha) [default: true]
    #[arg(long, env = "DUCHA_REFLECTION", value_parser = clap::builder::BoolishValueParser::new())]
    pub reflection: Option<bool>,
    /// Issuer (iss) of the tokens this server signs [default: ducha]
    #[arg(long, env = "DUCHA_TOKEN_ISSUER")]
    pub token_issuer: Option<String>,
    /// Audience (aud) that every accepted token must carry [default: ducha]
    #[arg(long, env = "DUCHA_TOKEN_AUDIENCE")]
    pub token_audience: Option<String>,
    /// PEM file of the Ed25519 token signing key; created when missing
    /// [default: DATA_DIR/keys/token-signing.pem]
    #[arg(long, env = "DUCHA_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// Lifetime of access tokens [default: 15m]
    #[arg(long, env = "DUCHA_ACCESS_TOKEN_TTL")]
    pub access_token_ttl: Option<String>,
    /// Lifetime of refresh tokens [default: 30d]
    #[arg(long, env = "DUCHA_REFRESH_TOKEN_TTL")]
    pub refresh_token_ttl: Option<String>,
    /// Largest request message accepted, in bytes [default: 4194304]
    #[arg(long, env = "DUCHA_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Largest evidence file accepted, in bytes [default: 52428800]
    #[arg(long, env = "DUCHA_UPLOAD_MAX_BYTES")]
    pub upload_max_bytes: Option<i64>,
    /// Largest video accepted, in bytes [default: 524288000]
    #[arg(long, env = "DUCHA_UPLOAD_MAX_VIDEO_BYTES")]
    pub upload_max_video_bytes: Option<i64>,
    /// Program that makes a video's poster frame and thumbnail; videos get
    /// no derivatives when it cannot be run [default: ffmpeg]
    #[arg(long, env = "DUCHA_FFMPEG")]
    pub ffmpeg: Option<PathBuf>,
    /// Program that decodes HEIC/HEIF pictures for their derivatives
    /// (libheif's heif-convert); HEIF pictures get none when it cannot be
    /// run [default: heif-convert]
    #[arg(long, env = "DUCHA_HEIF_CONVERT")]
    pub heif_convert: Option<PathBuf>,
    /// The longest one run of ffmpeg or heif-convert may take [default: 2m]
    #[arg(long, env = "DUCHA_MEDIA_TOOL_TIMEOUT")]
    pub media_tool_timeout: Option<String>,
    /// Address space one run of ffmpeg or heif-convert may use, in bytes
    /// [default: 2147483648]
    #[arg(long, env = "DUCHA_MEDIA_TOOL_MEMORY_BYTES")]
    pub media_tool_memory_bytes: Option<u64>,
    /// Largest chunk of an upload in one message, in bytes [default: 4194304]
    #[arg(long, env = "DUCHA_UPLOAD_CHUNK_BYTES")]
    pub upload_chunk_bytes: Option<i64>,
    /// Unfinished uploads one user may have open at once [default: 20]
    #[arg(long, env = "DUCHA_UPLOADS_OPEN_PER_USER")]
    pub uploads_open_per_user: Option<i64>,
    /// Time an upload may stay unfinished before it is cleaned up [default: 7d]
    #[arg(long, env = "DUCHA_UPLOAD_TTL")]
    pub upload_ttl: Option<String>,
    /// How often this process removes expired uploads and their bytes
    /// [default: 1m]
    #[arg(long, env = "DUCHA_UPLOAD_SWEEP_INTERVAL")]
    pub upload_sweep_interval: Option<String>,
    /// A photo farther than this from its check's location is flagged, in
    /// metres [default: 500]
    #[arg(long, env = "DUCHA_SIGNAL_DISTANCE_M")]
    pub signal_distance_m: Option<f64>,
    /// Slack around a check's time window before a photo is flagged as
    /// taken outside it [default: 30m]
    #[arg(long, env = "DUCHA_SIGNAL_TIME_TOLERANCE")]
    pub signal_time_tolerance: Option<String>,
    /// Largest accepted difference between EXIF time and the phone's clock
    /// [default: 10m]
    #[arg(long, env = "DUCHA_SIGNAL_CLOCK_SKEW")]
    pub signal_clock_skew: Option<String>,
    /// Pictures whose 64-bit perceptual hashes differ in at most this many
    /// bits are near-identical (0 to 7) [default: 5]
    #[arg(long, env = "DUCHA_SIGNAL_NEAR_DISTANCE")]
    pub signal_near_distance: Option<u32>,
    /// Derivative jobs this process runs at once; 0 leaves them to other
    /// processes [default: half the CPUs, at least 1]
    #[arg(long, env = "DUCHA_DERIVATIVE_WORKERS")]
    pub derivative_workers: Option<usize>,
    /// Attempts at a background job before its failure is recorded
    /// [default: 5]
    #[arg(long, env = "DUCHA_JOB_MAX_ATTEMPTS")]
    pub job_max_attempts: Option<u32>,
    /// Wait before a failed background job is tried again, doubling with
    /// each attempt up to an hour [default: 30s]
    #[arg(long, env = "DUCHA_JOB_RETRY_DELAY")]
    pub job_retry_delay: Option<String>,
    /// How often this process looks for rectification items gone overdue
    /// (every replica may; each item is escalated once) [default: 5m]
    #[arg(long, env = "DUCHA_OVERDUE_SCAN_INTERVAL")]
    pub overdue_scan_interval: Option<String>,
    /// TOML file of the master keys that seal personal data (complainants,
    /// officials held to account); created with one key when missing
    /// [default: DATA_DIR/keys/personal-data.toml]
    #[arg(long, env = "DUCHA_PERSONAL_DATA_KEYS")]
    pub personal_data_keys: Option<PathBuf>,
    /// Working days a petition officer has to accept or decline a new
    /// petition [default: 2]
    #[arg(long, env = "DUCHA_PETITION_ACCEPT_DAYS")]
    pub petition_accept_days: Option<u32>,
    /// Days a unit has to reply to a dispatched petition, unless the
    /// dispatch names a date [default: 30]
    #[arg(long, env = "DUCHA_PETITION_REPLY_DAYS")]
    pub petition_reply_days: Option<u32>,
    /// A new petition this close to an open one, in metres, is suggested
    /// as a possible repeat [default: 300]
    #[arg(long, env = "DUCHA_PETITION_REPEAT_DISTANCE_M")]
    pub petition_repeat_distance_m: Option<f64>,
    /// Address clients reach this server at, for the download links it
    /// signs when evidence is kept in a local folder [default: http(s):// + the
    /// bound address]
    #[arg(long, env = "DUCHA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Longest lifetime of a signed download URL [default: 1h]
    #[arg(long, env = "DUCHA_DOWNLOAD_URL_MAX_TTL")]
    pub download_url_max_ttl: Option<String>,
    /// Time in-flight calls get to finish on shutdown [default: 30s]
    #[arg(long, env = "DUCHA_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    /// Origins allowed to call over gRPC-Web from a browser, comma-separated
    /// [default: none]
    #[arg(long, env = "DUCHA_GRPC_WEB_ORIGINS", value_delimiter = ',')]
    pub grpc_web_origins: Option<Vec<String>>,
    /// PEM certificate chain to serve TLS with; plain HTTP/2 when unset
    /// (TLS then ends at the load balancer)
    #[arg(long, env = "DUCHA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the TLS certificate
    #[arg(long, env = "DUCHA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// For tests only: run the server's clock this far ahead of the system
    /// clock (e.g. 3d, or -14d behind), so a test can pass a deadline
    /// without editing the database [default: none]
    #[arg(long, env = "DUCHA_TEST_CLOCK_OFFSET", allow_hyphen_values = true)]
    pub test_clock_offset: Option<String>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "DUCHA_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// External issuers whose tokens are accepted; TOML file only
    /// (`[[trusted_issuers]]` tables).
    #[arg(skip)]
    pub trusted_issuers: Option<Vec<TrustedIssuer>>,
}

macro_rules! overlay {
    ($base:ident, $top:ident; $($f:ident),* $(,)?) => {
        $( if $top.$f.is_some() { $base.$f = $top.$f; } )*
    };
}

impl SettingsLayer {
    pub fn from_file(path: &Path) -> anyhow::Result<SettingsLayer> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// `top`'s values win where present.
    pub fn overlay(mut self, top: SettingsLayer) -> SettingsLayer {
        overlay!(self, top; data_dir, listen_addr, database_url, database_max_connections,
            database_timeout, s3_bucket, s3_endpoint, s3_region, s3_access_key_id,
            s3_secret_access_key, s3_path_style, s3_connect_timeout, s3_timeout, health_probe_interval,
            reflection, token_issuer, token_audience, signing_key, access_token_ttl, refresh_token_ttl,
            max_message_bytes, upload_max_bytes, upload_chunk_bytes, uploads_open_per_user, upload_ttl,
            upload_sweep_interval, upload_max_video_bytes, ffmpeg, heif_convert, media_tool_timeout,
            media_tool_memory_bytes,
            signal_distance_m, signal_time_tolerance, signal_clock_skew, signal_near_distance,
            derivative_workers, job_max_attempts, job_retry_delay, overdue_scan_interval, personal_data_keys,
            petition_accept_days, petition_reply_days, petition_repeat_distance_m, public_url, download_url_max_ttl,
            shutdown_grace, grpc_web_origins, tls_cert, tls_key, log_format, test_clock_offset,
            trusted_issuers);
        self
    }
}

#[derive(Debug, Clone)]
pub enum ObjectStoreSettings {
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

/// How background jobs run.
#[derive(Debug, Clone, Copy)]
pub struct JobPolicy {
    /// Derivative jobs this process runs at once; 0 runs none.
    pub derivative_workers: usize,
    pub max_attempts: u32,
    /// Wait after the first failure; doubles with each.
    pub retry_delay: Duration,
    pub overdue_scan_interval: Duration,
    /// How often expired uploads and their bytes are removed.
    pub upload_sweep_interval: Duration,
}

/// Deadlines and repeat detection of petitions.
#[derive(Debug, Clone, Copy)]
pub struct PetitionPolicy {
    /// Working days to accept or decline.
    pub accept_days: u32,
    /// Days to reply, unless the dispatch names a date.
    pub reply_days: u32,
    pub repeat_distance_m: f64,
}

/// How download URLs are made.
#[derive(Debug, Clone)]
pub struct DownloadPolicy {
    /// Base of the links this server serves itself, without a trailing
    /// slash; when not configured, the address the server listens on.
    pub public_url: Option<String>,
    pub max_ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings with every default applied and every value checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen_addr: SocketAddr,
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub database_timeout: Duration,
    pub object_store: ObjectStoreSettings,
    pub health_probe_interval: Duration,
    pub reflection: bool,
    pub token_issuer: String,
    pub token_audience: String,
    pub signing_key: PathBuf,
    pub personal_data_keys: PathBuf,
    pub petitions: PetitionPolicy,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub max_message_bytes: usize,
    pub uploads: UploadLimits,
    pub jobs: JobPolicy,
    pub downloads: DownloadPolicy,
    pub signals: SignalPolicy,
    pub media_tools: MediaTools,
    /// Tests only: how far the server's clock runs ahead (see `clock`).
    pub test_clock_offset: Option<chrono::TimeDelta>,
    pub shutdown_grace: Duration,
    pub grpc_web_origins: Vec<String>,
    /// Certificate chain and key files, when the server speaks TLS itself.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub log_format: LogFormat,
    pub trusted_issuers: Vec<TrustedIssuer>,
}

fn duration(name: &str, value: Option<String>, default: &str) -> anyhow::Result<Duration> {
    let v = value.unwrap_or_else(|| default.to_string());
    humantime::parse_duration(&v)
        .with_context(|| format!("{name}: '{v}' is not a duration like 15m or 30d"))
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

fn positive(name: &str, value: Option<i64>, default: i64) -> anyhow::Result<i64> {
    match value.unwrap_or(default) {
        n if n > 0 => Ok(n),
        n => bail!("{name}: must be positive, got {n}"),
    }
}

impl Settings {
    pub fn resolve(l: SettingsLayer) -> anyhow::Result<Settings> {
        let data_dir = l.data_dir.unwrap_or_else(|| PathBuf::from("ducha-data"));
        let database_url = match l.database_url {
            Some(u) => u,
            None => format!("sqlite://{}", data_dir.join("ducha.db").display()),
        };
        let object_store = match l.s3_bucket {
            Some(bucket) => ObjectStoreSettings::S3 {
                bucket,
                path_style: l.s3_path_style.unwrap_or(l.s3_endpoint.is_some()),
                endpoint: l.s3_endpoint,
                region: l.s3_region.unwrap_or_else(|| "us-east-1".into()),
                access_key_id: l.s3_access_key_id,
                secret_access_key: l.s3_secret_access_key.map(SecretString::from),
                connect_timeout: nonzero(
                    duration("s3_connect_timeout", l.s3_connect_timeout, "3s")?,
                    "s3_connect_timeout",
                )?,
                timeout: nonzero(duration("s3_timeout", l.s3_timeout, "10s")?, "s3_timeout")?,
            },
            None => ObjectStoreSettings::Local {
                root: data_dir.join("objects"),
            },
        };
        let log_format = match l.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log_format: '{other}' is neither text nor json"),
        };
        let access_token_ttl = duration("access_token_ttl", l.access_token_ttl, "15m")?;
        if access_token_ttl > Duration::from_secs(24 * 3600) {
            bail!("access_token_ttl: access tokens are meant to be short-lived; at most 24h");
        }
        Ok(Settings {
            listen_addr: l
                .listen_addr
                .unwrap_or_else(|| "127.0.0.1:50051".parse().expect("literal address")),
            database_url: SecretString::from(database_url),
            database_max_connections: l.database_max_connections.unwrap_or(10),
            database_timeout: nonzero(
                duration("database_timeout", l.database_timeout, "3s")?,
                "database_timeout",
            )?,
            object_store,
            health_probe_interval: nonzero(
                duration("health_probe_interval", l.health_probe_interval, "2s")?,
                "health_probe_interval",
            )?,
            reflection: l.reflection.unwrap_or(true),
            token_issuer: l.token_issuer.unwrap_or_else(|| "ducha".into()),
            token_audience: l.token_audience.unwrap_or_else(|| "ducha".into()),
            signing_key: l
                .signing_key
                .unwrap_or_else(|| data_dir.join("keys").join("token-signing.pem")),
            personal_data_keys: l
                .personal_data_keys
                .unwrap_or_else(|| data_dir.join("keys").join("personal-data.toml")),
            petitions: PetitionPolicy {
                accept_days: match l.petition_accept_days.unwrap_or(2) {
                    0 => bail!("petition_accept_days: must be at least 1"),
                    n => n,
                },
                reply_days: match l.petition_reply_days.unwrap_or(30) {
                    0 => bail!("petition_reply_days: must be at least 1"),
                    n => n,
                },
                repeat_distance_m: match l.petition_repeat_distance_m.unwrap_or(300.0) {
                    d if d.is_finite() && d >= 0.0 => d,
                    d => bail!("petition_repeat_distance_m: must be zero or positive, got {d}"),
                },
            },
            access_token_ttl,
            refresh_token_ttl: duration("refresh_token_ttl", l.refresh_token_ttl, "30d")?,
            max_message_bytes: l.max_message_bytes.unwrap_or(4 * 1024 * 1024),
            uploads: UploadLimits {
                max_file_bytes: positive("upload_max_bytes", l.upload_max_bytes, 50 * 1024 * 1024)?,
                max_video_bytes: positive(
                    "upload_max_video_bytes",
                    l.upload_max_video_bytes,
                    500 * 1024 * 1024,
                )?,
                max_chunk_bytes: positive(
                    "upload_chunk_bytes",
                    l.upload_chunk_bytes,
                    4 * 1024 * 1024,
                )?,
                max_open_per_user: positive("uploads_open_per_user", l.uploads_open_per_user, 20)?,
                ttl: duration("upload_ttl", l.upload_ttl, "7d")?,
            },
            signals: SignalPolicy {
                max_distance_m: match l.signal_distance_m.unwrap_or(500.0) {
                    d if d.is_finite() && d > 0.0 => d,
                    d => bail!("signal_distance_m: must be positive, got {d}"),
                },
                time_tolerance: delta(duration(
                    "signal_time_tolerance",
                    l.signal_time_tolerance,
                    "30m",
                )?),
                max_clock_skew: delta(duration("signal_clock_skew", l.signal_clock_skew, "10m")?),
                max_near_distance: match l.signal_near_distance.unwrap_or(5) {
                    d if d <= MAX_NEAR_DISTANCE => d,
                    d => bail!("signal_near_distance: must be 0 to {MAX_NEAR_DISTANCE}, got {d}"),
                },
            },
            jobs: JobPolicy {
                // Half the cores: the other half stays with the calls.
                derivative_workers: l.derivative_workers.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
                }),
                max_attempts: match l.job_max_attempts.unwrap_or(5) {
                    0 => bail!("job_max_attempts: must be at least 1"),
                    n => n,
                },
                retry_delay: duration("job_retry_delay", l.job_retry_delay, "30s")?,
                overdue_scan_interval: nonzero(
                    duration("overdue_scan_interval", l.overdue_scan_interval, "5m")?,
                    "overdue_scan_interval",
                )?,
                upload_sweep_interval: nonzero(
                    duration("upload_sweep_interval", l.upload_sweep_interval, "1m")?,
                    "upload_sweep_interval",
                )?,
            },
            downloads: DownloadPolicy {
                public_url: match l.public_url {
                    Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                        Some(u.trim_end_matches('/').to_string())
                    }
                    Some(u) => bail!("public_url: must start with http:// or https://, got {u}"),
                    None => None,
                },
                max_ttl: duration("download_url_max_ttl", l.download_url_max_ttl, "1h")?,
            },
            media_tools: MediaTools {
                ffmpeg: l.ffmpeg.unwrap_or_else(|| "ffmpeg".into()),
                heif_convert: l.heif_convert.unwrap_or_else(|| "heif-convert".into()),
                timeout: nonzero(
                    duration("media_tool_timeout", l.media_tool_timeout, "2m")?,
                    "media_tool_timeout",
                )?,
                memory_bytes: match l.media_tool_memory_bytes.unwrap_or(2 << 30) {
                    n if n >= 64 << 20 => n,
                    n => bail!("media_tool_memory_bytes: at least 67108864, got {n}"),
                },
            },
            test_clock_offset: match l.test_clock_offset {
                None => None,
                Some(t) => {
                    let (back, span) = match t.strip_prefix('-') {
                        Some(rest) => (true, rest.to_string()),
                        None => (false, t.clone()),
                    };
                    let d = delta(duration("test_clock_offset", Some(span), "0s")?);
                    Some(if back { -d } else { d })
                }
            },
            shutdown_grace: duration("shutdown_grace", l.shutdown_grace, "30s")?,
            grpc_web_origins: l.grpc_web_origins.unwrap_or_default(),
            tls: match (l.tls_cert, l.tls_key) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => bail!("tls_cert and tls_key go together"),
            },
            log_format,
            trusted_issuers: l.trusted_issuers.unwrap_or_default(),
            data_dir,
        })
    }

    /// Settings for a server keeping everything under `data_dir`.
    pub fn embedded(data_dir: &Path) -> Settings {
        Settings::resolve(SettingsLayer {
            data_dir: Some(data_dir.to_path_buf()),
            ..Default::default()
        })
        .expect("defaults are valid")
    }
}

#[cfg(test)]
mod readme_table {
    //! The README's settings table is checked against the settings
    //! themselves, so neither can drift from the other: every setting has
    //! its row with its environment variable, every row names a setting,
    //! and the default the README states is the one `--help` states.

    use clap::{Args, Command};

    /// Without backticks and a trailing "(...)" gloss, spaces collapsed.
    fn plain(s: &str) -> String {
        let s = s.replace('`', "");
        let s = match (s.rfind(" ("), s.ends_with(')')) {
            (Some(i), true) => s[..i].to_string(),
            _ => s,
        };
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    struct Row {
        names: Vec<String>,
        envs: Vec<String>,
        default: String,
    }

    fn rows() -> Vec<Row> {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("## Settings")
            .nth(1)
            .expect("a Settings section")
            .split("\n## ")
            .next()
            .unwrap();
        table
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
                let list = |c: &str| -> Vec<String> {
                    c.split(',')
                        .map(|x| x.trim().trim_matches('`').to_string())
                        .filter(|x| x.starts_with(|c: char| c.is_ascii_alphabetic()))
                        .collect()
                };
                Row {
                    names: list(cells[0]),
                    envs: list(cells[1]),
                    default: plain(cells[2]),
                }
            })
            .collect()
    }

    #[test]
    fn the_readme_states_every_setting_as_the_code_does() {
        let cmd = super::SettingsLayer::augment_args(Command::new("ducha"));
        let rows = rows();
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for arg in cmd.get_arguments() {
            let name = arg.get_id().as_str().to_string();
            let Some(row) = rows.iter().find(|r| r.names.contains(&name)) else {
                problems.push(format!("{name}: no row in the README"));
                continue;
            };
            seen.push(name.clone());
            let env = arg
                .get_env()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !row.envs.contains(&env) {
                problems.push(format!("{name}: README says {:?}, code {env}", row.envs));
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if let Some(d) = help.split("[default: ").nth(1) {
                let d = plain(d.trim_end().trim_end_matches(']'));
                if d != row.default {
                    problems.push(format!(
                        "{name}: README's default is {:?}, --help's {d:?}",
                        row.default
                    ));
                }
            }
        }
        for r in &rows {
            for n in &r.names {
                // Only in the TOML file: not a flag.
                if n != "trusted_issuers" && !seen.contains(n) {
                    problems.push(format!("{n}: in the README, not a setting"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[cfg(test)]
mod test_clock {
    use super::*;

    #[test]
    fn the_test_clock_offset_runs_ahead_or_behind() {
        let with = |v: &str| {
            Settings::resolve(SettingsLayer {
                data_dir: Some("/tmp/ducha-config-test".into()),
                test_clock_offset: Some(v.into()),
                ..Default::default()
            })
            .map(|s| s.test_clock_offset)
        };
        assert_eq!(with("3d").unwrap(), Some(chrono::TimeDelta::days(3)));
        assert_eq!(with("-14d").unwrap(), Some(chrono::TimeDelta::days(-14)));
        assert!(with("soon").is_err());
        let unset = Settings::embedded(Path::new("/tmp/ducha-config-test"));
        assert_eq!(unset.test_clock_offset, None);
    }
}
