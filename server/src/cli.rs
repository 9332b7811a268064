//! The `ducha` command line: serve, migrate, manage accounts and tokens.
//!
//! Each command takes the groups of settings it uses (see `config`), and
//! the settings file (`--config`) under them.

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::app::{Core, NewUser};
use crate::auth::seal::KeyFile;
use crate::config::{
    ConfigFile, DatabaseSettings, GeneralSettings, LogSettings, PersonalDataSettings,
    ServeSettings, Settings, SettingsFile, TestingSettings, TokenSettings,
};
use crate::domain::access::{Role, Scope};
use crate::server;
use crate::store::Store;

#[derive(Parser, Debug)]
#[command(
    name = "ducha",
    version,
    about = "Ducha: evidence and case system for environmental inspection"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `args` (the program's name first) over the settings file
    /// they name, if any: each setting is its built-in default, overridden
    /// by the file, then by the environment, then by a flag. A clap error
    /// (help and version too) comes back as a `clap::Error`.
    pub fn parse_with_file<I, T>(args: I) -> anyhow::Result<Cli>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let matches = Cli::command().try_get_matches_from(&args)?;
        let mut path = Vec::new();
        let mut leaf = &matches;
        while let Some((name, sub)) = leaf.subcommand() {
            path.push(name.to_string());
            leaf = sub;
        }
        // A command without the flag takes no file.
        let Ok(Some(config)) = leaf.try_get_one::<PathBuf>("config") else {
            return Ok(Cli::from_arg_matches(&matches)?);
        };
        let file = SettingsFile::read(config)?;
        let mut cmd = Cli::command();
        let sub = path.iter().fold(&mut cmd, |c, name| {
            c.find_subcommand_mut(name)
                .expect("a subcommand just parsed")
        });
        *sub = file.under(std::mem::take(sub));
        let mut cli = Cli::from_arg_matches(&cmd.try_get_matches_from(&args)?)?;
        if let Some(tokens) = cli.command.tokens_mut() {
            tokens.trusted_issuers = file.trusted_issuers().to_vec();
        }
        Ok(cli)
    }
}

/// What `serve` takes: every setting.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub settings: ServeSettings,
}

/// What `migrate` takes: the database and where it is.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub general: GeneralSettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

impl DatabaseArgs {
    /// The database, migrated, with the log set up.
    async fn open(&self) -> anyhow::Result<Store> {
        let data_dir = &self.general.data_dir;
        let database = self.database.resolve(data_dir)?;
        crate::telemetry::init(self.log.log_format);
        server::open_store(data_dir, &database).await
    }
}

/// What the commands that work on the database alone take (`user`,
/// `token revoke`, `calendar load`, `audit verify`): the database and the
/// clock.
#[derive(Args, Debug, Clone)]
pub struct CoreArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub testing: TestingSettings,
}

impl CoreArgs {
    async fn open(&self) -> anyhow::Result<Core> {
        Ok(Core {
            store: self.db.open().await?,
            clock: server::clock(self.testing.test_clock_offset),
        })
    }

    fn data_dir(&self) -> &std::path::Path {
        &self.db.general.data_dir
    }
}

/// What `token issue` takes: the database and the token keys.
#[derive(Args, Debug, Clone)]
pub struct IssueArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    #[command(flatten)]
    pub tokens: TokenSettings,
}

/// What `personal-data rewrap` takes: the database and the key file.
#[derive(Args, Debug, Clone)]
pub struct RewrapArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    #[command(flatten)]
    pub personal_data: PersonalDataSettings,
}

/// What `token jwks` takes: the token keys.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub general: GeneralSettings,
    #[command(flatten)]
    pub tokens: TokenSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

/// What `personal-data add-key` and `use-key` take: where the key file is.
#[derive(Args, Debug, Clone)]
pub struct KeyFileArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub general: GeneralSettings,
    #[command(flatten)]
    pub personal_data: PersonalDataSettings,
}

impl KeyFileArgs {
    fn path(&self) -> PathBuf {
        self.personal_data.resolve(&self.general.data_dir)
    }
}

// Parsed once per process: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gRPC server (migrates the database first)
    Serve(ServeArgs),
    /// Apply database migrations and exit
    Migrate(DatabaseArgs),
    /// Manage local user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Mint and revoke tokens for apps and service accounts
    #[command(subcommand)]
    Token(TokenCommand),
    /// The official working-day calendar
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// The audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The master keys that seal personal data, and their rotation
    #[command(subcommand)]
    PersonalData(PersonalDataCommand),
}

impl Command {
    /// The token settings of the command, when it takes them.
    fn tokens_mut(&mut self) -> Option<&mut TokenSettings> {
        use TokenCommand::{Issue, Jwks, Revoke};
        match self {
            Command::Serve(args) => Some(&mut args.settings.tokens),
            Command::Token(Issue { settings, .. }) => Some(&mut settings.tokens),
            Command::Token(Jwks { settings }) => Some(&mut settings.tokens),
            Command::Migrate(_)
            | Command::User(_)
            | Command::Token(Revoke { .. })
            | Command::Calendar(_)
            | Command::Audit(_)
            | Command::PersonalData(_) => None,
        }
    }
}

/// Rotation without downtime: `add-key` on the key file every replica
/// reads, restart them one by one (all can now open values sealed with
/// the new key), `use-key` and restart again (the new key seals), then
/// `rewrap`; the old key may then be removed from the file.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum PersonalDataCommand {
    /// Add a fresh random master key; it opens at once and seals only
    /// once made current (with --current, at once)
    AddKey {
        #[arg(long)]
        current: bool,
        #[command(flatten)]
        settings: KeyFileArgs,
    },
    /// Make a key of the file the one that seals
    UseKey {
        id: String,
        #[command(flatten)]
        settings: KeyFileArgs,
    },
    /// Re-wrap every sealed value with the current key (only the small
    /// wrapped data keys change)
    Rewrap {
        #[command(flatten)]
        settings: RewrapArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Load a year's holidays and make-up working days from a TOML file
    /// (format in the README), replacing what was loaded for that year
    Load {
        file: std::path::PathBuf,
        #[command(flatten)]
        settings: CoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check that the audit log's chain of hashes holds; exits with 1 and
    /// names the first bad entry when it does not
    Verify {
        #[command(flatten)]
        settings: CoreArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ScopeArgs {
    /// Role: inspector, unit_liaison, verifier, petition_officer, supervisor,
    /// coordinator, admin or viewer
    #[arg(long)]
    pub role: String,
    /// Unit code the account may see; repeat for several
    #[arg(long = "unit", required_unless_present = "all_units")]
    pub units: Vec<String>,
    /// The account may see every unit
    #[arg(long, conflicts_with = "units")]
    pub all_units: bool,
}

impl ScopeArgs {
    fn parse(&self) -> anyhow::Result<(Role, Scope)> {
        let role = Role::parse(&self.role).with_context(|| {
            let all: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role '{}'; one of: {}", self.role, all.join(", "))
        })?;
        let scope = if self.all_units {
            Scope::All
        } else {
            Scope::Units(self.units.iter().cloned().collect())
        };
        Ok((role, scope))
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input, or
    /// asked for when that is a terminal
    Add {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        settings: CoreArgs,
    },
    /// Set a new password (read like for add); ends the user's sessions
    Passwd {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        settings: CoreArgs,
    },
    /// Disable an account; its tokens stop working at once
    Disable {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        settings: CoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Mint an access token; prints the token on standard output and its id
    /// on standard error
    Issue {
        /// Name of the app or service account
        #[arg(long)]
        subject: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Lifetime, e.g. 30d or 12h
        #[arg(long, default_value = "30d")]
        ttl: String,
        #[command(flatten)]
        settings: IssueArgs,
    },
    /// Revoke a token by its id (the jti printed by issue)
    Revoke {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        settings: CoreArgs,
    },
    /// Print the server's public key as JWKS, for services that verify its tokens
    Jwks {
        #[command(flatten)]
        settings: KeyArgs,
    },
}

fn read_password(confirm: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let pw = if stdin.is_terminal() {
        let pw = rpassword::prompt_password("Password: ")?;
        if confirm && rpassword::prompt_password("Repeat password: ")? != pw {
            bail!("the passwords differ");
        }
        pw
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if pw.is_empty() {
        bail!("no password given");
    }
    Ok(pw)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings::resolve(args.settings)?;
            crate::telemetry::init(settings.log_format);
            let app = server::open_app(&settings).await?;
            let addr = settings.server.listen_addr;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            server::serve(settings, app, listener, server::shutdown_signal()).await
        }
        Command::Migrate(args) => {
            let store = args.open().await?;
            eprintln!("database is up to date ({})", store.backend());
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            scope,
            settings,
        }) => {
            let (role, scope) = scope.parse()?;
            let password = read_password(true)?;
            let app = settings.open().await?;
            app.add_user(NewUser {
                username: username.clone(),
                role,
                scope,
                password,
            })
            .await?;
            eprintln!("user {username} added with role {role}");
            Ok(())
        }
        Command::User(UserCommand::Passwd { username, settings }) => {
            let password = read_password(true)?;
            let app = settings.open().await?;
            app.set_password(&username, &password).await?;
            eprintln!("password of {username} changed; their sessions are ended");
            Ok(())
        }
        Command::User(UserCommand::Disable { username, settings }) => {
            let app = settings.open().await?;
            app.disable_user(&username).await?;
            eprintln!("user {username} disabled");
            Ok(())
        }
        Command::Token(TokenCommand::Issue {
            subject,
            scope,
            ttl,
            settings,
        }) => {
            let (role, scope) = scope.parse()?;
            let ttl: Duration =
                humantime::parse_duration(&ttl).with_context(|| format!("--ttl {ttl}"))?;
            let core = settings.core.open().await?;
            let tokens = settings.tokens.resolve(settings.core.data_dir())?;
            let keys = server::open_keys(&tokens)?;
            let t = core
                .issue_service_token(&keys, &subject, role, &scope, ttl)
                .await?;
            println!("{}", t.token);
            eprintln!(
                "token id {} for {subject}, expires {}",
                t.jti,
                t.expires_at.to_rfc3339()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id, settings }) => {
            let app = settings.open().await?;
            if app.revoke_token(&id).await? {
                eprintln!("token {id} revoked");
            } else {
                eprintln!(
                    "token {id} revoked (it was not minted here: a session or external token id)"
                );
            }
            Ok(())
        }
        Command::Calendar(CalendarCommand::Load { file, settings }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let app = settings.open().await?;
            let by = std::env::var("USER").unwrap_or_else(|_| "ducha calendar load".into());
            let (year, holidays, workdays) = app.load_calendar(&text, &by).await?;
            eprintln!(
                "calendar of {year} loaded: {holidays} holidays, {workdays} make-up working days"
            );
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { settings }) => {
            let app = settings.open().await?;
            let report = app.verify_audit_chain().await?;
            match report.first_break {
                None => {
                    println!("audit chain holds: {} entries", report.intact);
                    Ok(())
                }
                Some(b) => {
                    println!(
                        "audit chain BROKEN at entry {}: {} ({} entries before it hold)",
                        b.seq, b.reason, report.intact
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::PersonalData(PersonalDataCommand::AddKey { current, settings }) => {
            let path = settings.path();
            let mut file = if path.exists() {
                KeyFile::read(&path)?
            } else {
                KeyFile::default()
            };
            let first = file.keys.is_empty();
            let id = file.add_key(current || first);
            file.write(&path)?;
            println!("{id}");
            eprintln!(
                "key {id} added to {}{}",
                path.display(),
                if current || first {
                    "; it seals from the next start"
                } else {
                    "; it opens from the next start, and seals once `use-key` makes it current"
                }
            );
            Ok(())
        }
        Command::PersonalData(PersonalDataCommand::UseKey { id, settings }) => {
            let path = settings.path();
            let mut file = KeyFile::read(&path)?;
            file.make_current(&id)?;
            file.write(&path)?;
            eprintln!("key {id} seals from the next start; then run `ducha personal-data rewrap`");
            Ok(())
        }
        Command::PersonalData(PersonalDataCommand::Rewrap { settings }) => {
            let core = settings.core.open().await?;
            let path = settings.personal_data.resolve(settings.core.data_dir());
            let sealer = KeyFile::load_or_create(&path, &core.store.newest_sealed_values().await?)?;
            let (moved, current) = core.rewrap_personal_data(&sealer).await?;
            eprintln!(
                "{moved} sealed values moved to key {}; {current} were already there",
                sealer.current()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Jwks { settings }) => {
            let tokens = settings.tokens.resolve(&settings.general.data_dir)?;
            crate::telemetry::init(settings.log.log_format);
            let keys = server::open_keys(&tokens)?;
            println!("{}", serde_json::to_string_pretty(&keys.public_jwks())?);
            Ok(())
        }
    }
}
