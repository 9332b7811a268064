//! How the server serves: its address, protocol options, the download
//! links it signs, its logs, and the clock tests may set on.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::ArgAction;
use clap::builder::BoolishValueParser;

use super::{delta, duration, nonzero};

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Server")]
pub struct ServerSettings {
    /// Address and port to serve gRPC and gRPC-Web on
    #[arg(long, env = "DUCHA_LISTEN_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: SocketAddr,
    /// Serve gRPC server reflection (v1 and v1alpha)
    #[arg(
        long,
        env = "DUCHA_REFLECTION",
        default_value = "true",
        action = ArgAction::Set,
        value_parser = BoolishValueParser::new()
    )]
    pub reflection: bool,
    /// How often the database and the object store are probed for the
    /// health service
    #[arg(long, env = "DUCHA_HEALTH_PROBE_INTERVAL", default_value = "2s", value_parser = duration)]
    pub health_probe_interval: Duration,
    /// Largest request message accepted, in bytes
    #[arg(long, env = "DUCHA_MAX_MESSAGE_BYTES", default_value = "4194304")]
    pub max_message_bytes: usize,
    /// Time in-flight calls get to finish on shutdown
    #[arg(long, env = "DUCHA_SHUTDOWN_GRACE", default_value = "30s", value_parser = duration)]
    pub shutdown_grace: Duration,
    /// Origins allowed to call over gRPC-Web from a browser, comma-separated;
    /// none when unset
    #[arg(long, env = "DUCHA_GRPC_WEB_ORIGINS", value_delimiter = ',')]
    pub grpc_web_origins: Vec<String>,
    /// PEM certificate chain to serve TLS with; plain HTTP/2 when unset
    /// (TLS then ends at the load balancer)
    #[arg(long, env = "DUCHA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the TLS certificate
    #[arg(long, env = "DUCHA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// How the server serves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen_addr: SocketAddr,
    pub reflection: bool,
    pub health_probe_interval: Duration,
    pub max_message_bytes: usize,
    pub shutdown_grace: Duration,
    pub grpc_web_origins: Vec<String>,
    /// Certificate chain and key files, when the server speaks TLS itself.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl ServerSettings {
    pub fn resolve(&self) -> anyhow::Result<ServerOptions> {
        Ok(ServerOptions {
            listen_addr: self.listen_addr,
            reflection: self.reflection,
            health_probe_interval: nonzero(self.health_probe_interval, "health_probe_interval")?,
            max_message_bytes: self.max_message_bytes,
            shutdown_grace: self.shutdown_grace,
            grpc_web_origins: self.grpc_web_origins.clone(),
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(c), Some(k)) => Some((c.clone(), k.clone())),
                (None, None) => None,
                _ => bail!("tls_cert and tls_key go together"),
            },
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Download links")]
pub struct DownloadSettings {
    /// Address clients reach this server at, for the download links it
    /// signs when evidence is kept in a local folder; http(s):// and the
    /// bound address when unset
    #[arg(long, env = "DUCHA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Longest lifetime of a signed download URL
    #[arg(long, env = "DUCHA_DOWNLOAD_URL_MAX_TTL", default_value = "1h", value_parser = duration)]
    pub download_url_max_ttl: Duration,
}

/// How download URLs are made.
#[derive(Debug, Clone)]
pub struct DownloadPolicy {
    /// Base of the links this server serves itself, without a trailing
    /// slash; when not configured, the address the server listens on.
    pub public_url: Option<String>,
    pub max_ttl: Duration,
}

impl DownloadSettings {
    pub fn resolve(&self) -> anyhow::Result<DownloadPolicy> {
        Ok(DownloadPolicy {
            public_url: match &self.public_url {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Some(u.trim_end_matches('/').to_string())
                }
                Some(u) => bail!("public_url: must start with http:// or https://, got {u}"),
                None => None,
            },
            max_ttl: self.download_url_max_ttl,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Logging")]
pub struct LogSettings {
    /// Log format
    #[arg(long, env = "DUCHA_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Testing")]
pub struct TestingSettings {
    /// For tests only: run the server's clock this far ahead of the system
    /// clock (e.g. 3d, or -14d behind), so a test can pass a deadline
    /// without editing the database; never set it in production
    #[arg(
        long,
        env = "DUCHA_TEST_CLOCK_OFFSET",
        allow_hyphen_values = true,
        value_parser = clock_offset
    )]
    pub test_clock_offset: Option<chrono::TimeDelta>,
}

/// A span ahead (3d) or, with a minus, behind (-14d).
fn clock_offset(s: &str) -> Result<chrono::TimeDelta, String> {
    match s.strip_prefix('-') {
        Some(back) => duration(back).map(|d| -delta(d)),
        None => duration(s).map(delta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ServeSettings, Settings, builtin};
    use clap::{Args, Command, FromArgMatches};

    fn testing(args: &[&str]) -> Result<TestingSettings, clap::Error> {
        let cmd = TestingSettings::augment_args(Command::new("ducha")).mut_args(|a| a.env(None));
        let m = cmd.try_get_matches_from([&["ducha"], args].concat())?;
        TestingSettings::from_arg_matches(&m)
    }

    #[test]
    fn the_test_clock_offset_runs_ahead_or_behind() {
        let with = |v: &str| testing(&["--test-clock-offset", v]).map(|t| t.test_clock_offset);
        assert_eq!(with("3d").unwrap(), Some(chrono::TimeDelta::days(3)));
        assert_eq!(with("-14d").unwrap(), Some(chrono::TimeDelta::days(-14)));
        assert!(with("soon").is_err());
        assert_eq!(builtin::<TestingSettings>().test_clock_offset, None);
        let mut s = ServeSettings::builtin();
        s.testing.test_clock_offset = Some(chrono::TimeDelta::days(-14));
        let resolved = Settings::resolve(s).unwrap();
        assert_eq!(
            resolved.test_clock_offset,
            Some(chrono::TimeDelta::days(-14))
        );
    }
}
