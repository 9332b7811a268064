//! The settings file, named by `--config` or `DUCHA_CONFIG`: one flat TOML
//! table of settings by name (`data_dir = "/var/lib/ducha"`), plus the
//! `[[trusted_issuers]]` tables that only the file can give.
//!
//! Its values become the defaults of the command's flags before the
//! command line is parsed: they override the built-in defaults, and the
//! environment and the flags override them. A key that names no setting,
//! or a value its flag would refuse, is an error; a setting the command
//! does not take is left alone, so one file serves every command.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::{Arg, ArgAction, Args, Command};

use super::ServeSettings;
use crate::auth::TrustedIssuer;

/// The flag naming the settings file; every command takes it.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFile {
    /// TOML file with settings; environment variables and flags override it
    #[arg(long, env = "DUCHA_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The key of the tables of external issuers: in the file only.
const TRUSTED_ISSUERS: &str = "trusted_issuers";

/// A settings file, read and checked.
#[derive(Debug)]
pub struct SettingsFile {
    /// Each setting the file gives, as its flag's values.
    values: Vec<(String, Vec<String>)>,
    trusted_issuers: Vec<TrustedIssuer>,
}

impl SettingsFile {
    /// Reads the file at `path`. Every key must name a setting and every
    /// value must be one its flag accepts, whether or not the command at
    /// hand takes it: the file is checked whole by each command.
    pub fn read(path: &Path) -> anyhow::Result<SettingsFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let parsing = || format!("parsing {}", path.display());
        let mut table: toml::Table = toml::from_str(&text).with_context(parsing)?;
        let trusted_issuers = match table.remove(TRUSTED_ISSUERS) {
            Some(v) => v
                .try_into()
                .context(TRUSTED_ISSUERS)
                .with_context(parsing)?,
            None => Vec::new(),
        };
        let every = ServeSettings::augment_args(Command::new("ducha"));
        let mut values = Vec::new();
        for (key, value) in &table {
            let Some(arg) = every.get_arguments().find(|a| a.get_id() == key) else {
                bail!("{}: unknown setting `{key}`", parsing());
            };
            let v = flag_values(arg, value)
                .and_then(|v| check(arg, &v).map(|()| v))
                .with_context(|| key.clone())
                .with_context(parsing)?;
            values.push((key.clone(), v));
        }
        Ok(SettingsFile {
            values,
            trusted_issuers,
        })
    }

    /// The external issuers whose tokens are accepted.
    pub fn trusted_issuers(&self) -> &[TrustedIssuer] {
        &self.trusted_issuers
    }

    /// `cmd` with the file's values as the defaults of the settings it
    /// takes.
    pub fn under(&self, cmd: Command) -> Command {
        cmd.mut_args(
            |a| match self.values.iter().find(|(key, _)| a.get_id() == key) {
                Some((_, values)) => a.default_values(values.clone()),
                None => a,
            },
        )
    }
}

/// A value of the file as the values of the flag of `arg`.
fn flag_values(arg: &Arg, value: &toml::Value) -> anyhow::Result<Vec<String>> {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let values = match value {
        toml::Value::Array(items) if matches!(arg.get_action(), ArgAction::Append) => {
            items.iter().map(scalar).collect::<Option<Vec<_>>>()
        }
        toml::Value::Array(_) => bail!("takes one value, not a list"),
        v => scalar(v).map(|s| vec![s]),
    };
    values.ok_or_else(|| anyhow!("not a value of a setting"))
}

/// Parses `values` as the flag of `arg` would.
fn check(arg: &Arg, values: &[String]) -> anyhow::Result<()> {
    let long = arg.get_long().expect("every setting has a flag");
    let alone = arg
        .clone()
        .env(None)
        .requires(clap::builder::Resettable::Reset);
    let args = values.iter().map(|v| format!("--{long}={v}"));
    match Command::new("ducha")
        .arg(alone)
        .try_get_matches_from(std::iter::once("ducha".to_string()).chain(args))
    {
        Ok(_) => Ok(()),
        Err(e) => {
            // The first paragraph of clap's message, on one line.
            let text = e.to_string();
            let text = text.trim_start_matches("error: ");
            let text = text.split("\n\n").next().unwrap_or_default();
            bail!("{}", text.split_whitespace().collect::<Vec<_>>().join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ServeSettings, builtin};
    use clap::FromArgMatches;
    use std::time::Duration;

    /// `ServeSettings` from `args` over `file`, the environment unread.
    fn serve(file: &str, args: &[&str]) -> anyhow::Result<ServeSettings> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ducha.toml");
        std::fs::write(&path, file)?;
        let file = SettingsFile::read(&path)?;
        let cmd = ServeSettings::augment_args(Command::new("ducha")).mut_args(|a| a.env(None));
        let cmd = file.under(cmd);
        let m = cmd.try_get_matches_from([&["ducha"], args].concat())?;
        let mut s = ServeSettings::from_arg_matches(&m)?;
        s.tokens.trusted_issuers = file.trusted_issuers().to_vec();
        Ok(s)
    }

    #[test]
    fn the_file_overrides_the_defaults_and_flags_override_the_file() {
        let file = "database_timeout = \"5s\"\nupload_max_bytes = 1000\nreflection = false\n\
                    signal_distance_m = 250.5\ngrpc_web_origins = [\"https://a.example\", \"https://b.example\"]\n\
                    test_clock_offset = \"-2d\"\n";
        let s = serve(file, &[]).unwrap();
        assert_eq!(s.database.database_timeout, Duration::from_secs(5));
        assert_eq!(s.uploads.upload_max_bytes, 1000);
        assert!(!s.server.reflection);
        assert_eq!(s.signals.signal_distance_m, 250.5);
        assert_eq!(
            s.server.grpc_web_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(
            s.testing.test_clock_offset,
            Some(chrono::TimeDelta::days(-2))
        );
        // What the file does not name keeps its built-in default.
        let builtin: ServeSettings = builtin();
        assert_eq!(s.uploads.upload_ttl, builtin.uploads.upload_ttl);

        let s = serve(
            file,
            &[
                "--database-timeout",
                "7s",
                "--grpc-web-origins",
                "https://c.example",
            ],
        )
        .unwrap();
        assert_eq!(s.database.database_timeout, Duration::from_secs(7));
        assert_eq!(s.server.grpc_web_origins, ["https://c.example"]);
        assert_eq!(s.uploads.upload_max_bytes, 1000);
    }

    #[test]
    fn a_key_that_names_no_setting_is_an_error() {
        let e = serve("data_dri = \"typo\"\n", &[]).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown setting `data_dri`"),
            "{e:#}"
        );
        let e = serve("config = \"other.toml\"\n", &[]).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown setting `config`"),
            "{e:#}"
        );
    }

    #[test]
    fn a_bad_value_in_the_file_names_its_key() {
        for (file, key, why) in [
            (
                "database_timeout = \"soon\"",
                "database_timeout",
                "not a duration",
            ),
            (
                "upload_max_bytes = \"many\"",
                "upload_max_bytes",
                "invalid digit",
            ),
            (
                "log_format = \"xml\"",
                "log_format",
                "possible values: text, json",
            ),
            ("reflection = \"maybe\"", "reflection", "not a boolean"),
            ("data_dir = [\"a\", \"b\"]", "data_dir", "not a list"),
            ("data_dir = { a = 1 }", "data_dir", "not a value"),
        ] {
            let e = format!("{:#}", serve(file, &[]).unwrap_err());
            assert!(
                e.contains("ducha.toml: ") && e.contains(&format!("{key}: ")),
                "{e}"
            );
            assert!(e.contains(why), "{file}: {e}");
        }
    }

    #[test]
    fn a_command_takes_from_the_file_only_the_settings_it_has() {
        #[derive(clap::Args)]
        struct Few {
            #[command(flatten)]
            general: crate::config::GeneralSettings,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ducha.toml");
        std::fs::write(
            &path,
            "data_dir = \"/srv/ducha\"\ns3_bucket = \"evidence\"\n",
        )
        .unwrap();
        let file = SettingsFile::read(&path).unwrap();
        let cmd = file.under(Few::augment_args(Command::new("ducha")).mut_args(|a| a.env(None)));
        let few = Few::from_arg_matches(&cmd.try_get_matches_from(["ducha"]).unwrap()).unwrap();
        assert_eq!(few.general.data_dir, Path::new("/srv/ducha"));

        // The file is checked whole all the same.
        std::fs::write(&path, "data_dir = \"/srv/ducha\"\nupload_ttl = \"soon\"\n").unwrap();
        let e = format!("{:#}", SettingsFile::read(&path).unwrap_err());
        assert!(
            e.contains("upload_ttl: ") && e.contains("not a duration"),
            "{e}"
        );
    }

    #[test]
    fn trusted_issuers_come_from_the_file() {
        let s = serve(
            "[[trusted_issuers]]\nissuer = \"https://idp.example\"\npem_files = [\"idp.pem\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.tokens.trusted_issuers.len(), 1);
        assert_eq!(s.tokens.trusted_issuers[0].issuer, "https://idp.example");
    }
}
