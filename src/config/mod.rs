//! Settings: parsed once from flags and `TRIDENT_*` environment variables
//! ([`RawSettings`]), validated before anything starts. Secrets are held as
//! `SecretString`.

mod raw;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{Password, Username};
use crate::keys::MasterKeySource;
use crate::keys::{MasterKey, SigningAlgorithm};
use crate::store::{DatabaseKind, DatabaseSettings};

pub use raw::RawSettings;

/// Validated settings, the only form the rest of Trident sees.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub bind: SocketAddr,
    pub issuer: String,
    /// The issuer was derived from the bind address, so it follows the port actually bound.
    issuer_from_bind: bool,
    pub admin: Option<(String, SecretString)>,
    pub master_key: MasterKeySource,
    pub signing_algorithm: SigningAlgorithm,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_max_lifetime: Duration,
    pub ui_session_ttl: Duration,
    pub client_token_ttl: Duration,
    pub client_auth_failures_per_minute: u32,
    pub introspections_per_minute: u32,
    pub allow_registration: bool,
    pub api_key_on_user_create: bool,
    pub credential_cache: bool,
    /// What the credential cache may take, in bytes.
    pub credential_cache_bytes: u64,
    pub pat_max_lifetime_days: u32,
    pub log_format: LogFormat,
    pub login_attempts_per_minute: u32,
    pub password_hash_concurrency: usize,
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Bounds of an M2M access token's lifetime, globally and per client.
pub const MIN_CLIENT_TOKEN_TTL_SECS: u64 = 60;
pub const MAX_CLIENT_TOKEN_TTL_SECS: u64 = 86_400;

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ConfigError {
    /// The variable (or, without one, the flag) to change.
    pub setting: String,
    pub reason: String,
}

fn invalid(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        reason: reason.into(),
    }
}

impl ConfigError {
    /// A value clap refused, named by the variable it came from, or could have
    /// (an operator sets `TRIDENT_*`, not flags); `None` for what is not a
    /// refused value (`--help`, an unknown subcommand), which clap reports itself.
    pub fn from_clap(err: &clap::Error, command: &clap::Command) -> Option<ConfigError> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        if !matches!(
            err.kind(),
            ErrorKind::InvalidValue | ErrorKind::ValueValidation
        ) {
            return None;
        }
        let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
            return None;
        };
        // `--access-token-ttl <ACCESS_TOKEN_TTL>`
        let flag = arg.split_whitespace().next()?;
        let env = find_arg(command, flag.trim_start_matches("--"))
            .and_then(clap::Arg::get_env)
            .map(|env| env.to_string_lossy().into_owned());
        let rendered = err.to_string();
        let reason = rendered
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
            .collect::<Vec<_>>()
            .join(" ");
        Some(ConfigError {
            setting: env.unwrap_or_else(|| flag.to_owned()),
            reason: reason.trim_start_matches("error: ").to_owned(),
        })
    }
}

/// The argument with this long name, in `command` or any of its subcommands.
fn find_arg<'a>(command: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| find_arg(sub, long))
        })
}

impl RawSettings {
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let kind = if self.database_url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
        {
            DatabaseKind::Postgres
        } else {
            return Err(invalid(
                "TRIDENT_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        };
        let bind = self.bind;
        let issuer = match &self.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("http://{bind}"),
        };
        let admin = match (self.admin_username, self.admin_password) {
            (Some(u), Some(p)) => {
                Username::parse(&u).map_err(|e| invalid("TRIDENT_ADMIN_USERNAME", e.0))?;
                Password::parse(p.expose_secret().to_owned())
                    .map_err(|e| invalid("TRIDENT_ADMIN_PASSWORD", e.0))?;
                Some((u, p))
            }
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "TRIDENT_ADMIN_USERNAME",
                    "TRIDENT_ADMIN_USERNAME and TRIDENT_ADMIN_PASSWORD must be set together",
                ))
            }
        };
        let master_key = match (self.master_key, kind) {
            (Some(key), _) => {
                MasterKey::decode(&key)
                    .map_err(|e| invalid("TRIDENT_MASTER_KEY", e.to_string()))?;
                MasterKeySource::Inline(key)
            }
            (None, DatabaseKind::Sqlite) => {
                MasterKeySource::File(key_file_beside(&self.database_url))
            }
            (None, DatabaseKind::Postgres) => return Err(invalid(
                "TRIDENT_MASTER_KEY",
                "required with PostgreSQL so that every node can decrypt the shared signing keys",
            )),
        };
        let secs = Duration::from_secs;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let or_cores = |n: usize| if n == 0 { cores } else { n };
        Ok(Settings {
            database: DatabaseSettings {
                url: SecretString::from(self.database_url),
                kind,
                max_connections: self.db_max_connections,
            },
            bind,
            issuer_from_bind: self.issuer.is_none(),
            issuer,
            admin,
            master_key,
            signing_algorithm: self.signing_algorithm,
            access_token_ttl: secs(self.access_token_ttl),
            refresh_token_ttl: secs(self.refresh_token_ttl),
            session_max_lifetime: secs(self.session_max_lifetime),
            ui_session_ttl: secs(self.ui_session_ttl),
            client_token_ttl: secs(self.client_token_ttl),
            client_auth_failures_per_minute: self.client_auth_failures_per_minute,
            introspections_per_minute: self.introspections_per_minute,
            allow_registration: self.allow_registration,
            api_key_on_user_create: self.api_key_on_user_create,
            credential_cache: self.credential_cache,
            credential_cache_bytes: u64::from(self.credential_cache_mb) << 20,
            pat_max_lifetime_days: self.pat_max_lifetime_days,
            log_format: self.log_format,
            login_attempts_per_minute: self.login_attempts_per_minute,
            password_hash_concurrency: or_cores(self.password_hash_concurrency),
            workers: or_cores(self.workers),
        })
    }
}

impl Settings {
    /// Records the address actually bound (port 0 picks one): a derived issuer follows it.
    pub fn bound_to(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        if self.issuer_from_bind {
            self.issuer = format!("http://{addr}");
        }
        self
    }
}

/// `sqlite://data/trident.db?mode=rwc` → `data/trident.db.key`.
fn key_file_beside(database_url: &str) -> PathBuf {
    let path = database_url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        PathBuf::from("trident.db.key")
    } else {
        PathBuf::from(format!("{path}.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: RawSettings,
    }

    /// As `main` does: clap's refusals named by their variable, then `validate`.
    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["trident"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli.settings.validate(),
            Err(e) => Err(ConfigError::from_clap(&e, &Cli::command()).expect("a refused value")),
        }
    }

    #[test]
    fn defaults_are_valid_and_use_embedded_sqlite() {
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.database.kind, DatabaseKind::Sqlite);
        assert_eq!(settings.issuer, "http://127.0.0.1:8080");
        assert!(
            matches!(settings.master_key, MasterKeySource::File(ref p) if p == &PathBuf::from("trident.db.key"))
        );
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let cases: &[(&[&str], &str)] = &[
            (&["--bind", "nonsense"], "TRIDENT_BIND"),
            (&["--database-url", "mysql://x"], "TRIDENT_DATABASE_URL"),
            (
                &["--database-url", "postgres://localhost/x"],
                "TRIDENT_MASTER_KEY",
            ),
            (&["--issuer", "ftp://x"], "TRIDENT_ISSUER"),
            (&["--issuer", "https://x/?q=1"], "TRIDENT_ISSUER"),
            (
                &["--signing-algorithm", "HS256"],
                "TRIDENT_SIGNING_ALGORITHM",
            ),
            (&["--admin-username", "root"], "TRIDENT_ADMIN_USERNAME"),
            (&["--access-token-ttl", "1"], "TRIDENT_ACCESS_TOKEN_TTL"),
            (&["--log-format", "xml"], "TRIDENT_LOG_FORMAT"),
            (
                &["--pat-max-lifetime-days", "0"],
                "TRIDENT_PAT_MAX_LIFETIME_DAYS",
            ),
            (&["--db-max-connections", "0"], "TRIDENT_DB_MAX_CONNECTIONS"),
        ];
        for (args, setting) in cases {
            let err = parse(args).unwrap_err();
            assert_eq!(err.setting, *setting, "case {args:?}");
        }
    }

    #[test]
    fn a_refused_value_says_what_was_wrong_on_one_line() {
        let err = parse(&["--access-token-ttl", "1"]).unwrap_err();
        assert!(err.reason.contains("30..=86400"), "{err}");
        let err = parse(&["--signing-algorithm", "HS256"]).unwrap_err();
        assert!(
            err.reason.contains("ES256"),
            "the choices are listed: {err}"
        );
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn issuer_loses_its_trailing_slash() {
        let settings = parse(&["--issuer", "https://auth.example.com/"]).unwrap();
        assert_eq!(settings.issuer, "https://auth.example.com");
    }
}
