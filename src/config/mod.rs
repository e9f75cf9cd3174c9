//! Settings: parsed once from flags and `TRIDENT_*` environment variables,
//! validated before anything starts. Secrets are held as `SecretString`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::domain::{Password, Username};
use crate::keys::MasterKeySource;
use crate::keys::{MasterKey, SigningAlgorithm};
use crate::store::{DatabaseKind, DatabaseSettings};

/// Raw settings as clap reads them; turned into [`Settings`] by [`RawSettings::validate`].
#[derive(clap::Args, Debug, Clone)]
pub struct RawSettings {
    /// Database URL: `sqlite://PATH?mode=rwc` (embedded) or `postgres://…` (shared by several nodes).
    #[arg(
        long,
        env = "TRIDENT_DATABASE_URL",
        default_value = "sqlite://trident.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "TRIDENT_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// Issuer identifier (RFC 8414): the public base URL of this server. Defaults to `http://BIND`.
    #[arg(long, env = "TRIDENT_ISSUER", global = true)]
    pub issuer: Option<String>,
    /// Username of the administrator created on start when no user exists yet.
    #[arg(long, env = "TRIDENT_ADMIN_USERNAME", global = true)]
    pub admin_username: Option<String>,
    /// Password of that administrator.
    #[arg(
        long,
        env = "TRIDENT_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<String>,
    /// Base64 (standard or URL-safe) 32-byte key that encrypts signing keys at rest.
    /// Required for PostgreSQL; on SQLite a key file beside the database is used when unset.
    #[arg(
        long,
        env = "TRIDENT_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,
    /// Algorithm of newly created signing keys: ES256, RS256 or EdDSA.
    #[arg(
        long,
        env = "TRIDENT_SIGNING_ALGORITHM",
        default_value = "ES256",
        global = true
    )]
    pub signing_algorithm: String,
    /// Lifetime of user access tokens, in seconds.
    #[arg(
        long,
        env = "TRIDENT_ACCESS_TOKEN_TTL",
        default_value_t = 600,
        global = true
    )]
    pub access_token_ttl: u64,
    /// Default lifetime of M2M access tokens (client credentials grant), in seconds; a client may set its own.
    #[arg(
        long,
        env = "TRIDENT_CLIENT_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub client_token_ttl: u64,
    /// Failed client authentications allowed per client id, and per source address, in a minute.
    #[arg(
        long,
        env = "TRIDENT_CLIENT_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 20,
        global = true
    )]
    pub client_auth_failures_per_minute: u32,
    /// Introspection requests allowed per caller in a minute.
    #[arg(
        long,
        env = "TRIDENT_INTROSPECTIONS_PER_MINUTE",
        default_value_t = 600_000,
        global = true
    )]
    pub introspections_per_minute: u32,
    /// Lifetime of refresh tokens, in seconds.
    #[arg(
        long,
        env = "TRIDENT_REFRESH_TOKEN_TTL",
        default_value_t = 86_400,
        global = true
    )]
    pub refresh_token_ttl: u64,
    /// Longest a login session lives however often it is refreshed, in seconds (then the user logs in again).
    #[arg(
        long,
        env = "TRIDENT_SESSION_MAX_LIFETIME",
        default_value_t = 30 * 86_400,
        global = true
    )]
    pub session_max_lifetime: u64,
    /// Lifetime of a web UI sign-in, in seconds (then the browser signs in again).
    #[arg(
        long,
        env = "TRIDENT_UI_SESSION_TTL",
        default_value_t = 28_800,
        global = true
    )]
    pub ui_session_ttl: u64,
    /// Allow anyone to register a user account.
    #[arg(
        long,
        env = "TRIDENT_ALLOW_REGISTRATION",
        default_value_t = false,
        global = true
    )]
    pub allow_registration: bool,
    /// Issue a live API key to every user created through the API or the CLI, shown once in the response.
    #[arg(long, env = "TRIDENT_API_KEY_ON_USER_CREATE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub api_key_on_user_create: bool,
    /// Cache resolved credentials in memory (invalidated on every change, on every node).
    #[arg(long, env = "TRIDENT_CREDENTIAL_CACHE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub credential_cache: bool,
    /// Longest lifetime a personal access token may be given, in days.
    #[arg(
        long,
        env = "TRIDENT_PAT_MAX_LIFETIME_DAYS",
        default_value_t = 366,
        global = true
    )]
    pub pat_max_lifetime_days: u32,
    /// Log format: `text` or `json`.
    #[arg(
        long,
        env = "TRIDENT_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: String,
    /// Login attempts allowed per username, and per source address, in a minute.
    #[arg(
        long,
        env = "TRIDENT_LOGIN_ATTEMPTS_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub login_attempts_per_minute: u32,
    /// Password hashes computed at once (argon2id costs 19 MiB each); 0 = number of cores.
    #[arg(
        long,
        env = "TRIDENT_PASSWORD_HASH_CONCURRENCY",
        default_value_t = 0,
        global = true
    )]
    pub password_hash_concurrency: usize,
    /// HTTP worker threads; 0 = number of cores.
    #[arg(long, env = "TRIDENT_WORKERS", default_value_t = 0, global = true)]
    pub workers: usize,
    /// Maximum database connections in the pool.
    #[arg(
        long,
        env = "TRIDENT_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,
}

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
    pub pat_max_lifetime_days: u32,
    pub log_format: LogFormat,
    pub login_attempts_per_minute: u32,
    pub password_hash_concurrency: usize,
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub setting: &'static str,
    pub reason: String,
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
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
        let bind: SocketAddr = self
            .bind
            .parse()
            .map_err(|_| invalid("TRIDENT_BIND", "expected HOST:PORT, e.g. 127.0.0.1:8080"))?;
        let issuer = match &self.issuer {
            Some(issuer) => validate_issuer(issuer)?,
            None => format!("http://{bind}"),
        };
        let admin = match (self.admin_username, self.admin_password) {
            (Some(u), Some(p)) => {
                Username::parse(&u).map_err(|e| invalid("TRIDENT_ADMIN_USERNAME", e.0))?;
                Password::parse(p.clone()).map_err(|e| invalid("TRIDENT_ADMIN_PASSWORD", e.0))?;
                Some((u, SecretString::from(p)))
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
                let key = SecretString::from(key);
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
        let signing_algorithm = self.signing_algorithm.parse().map_err(|_| {
            invalid(
                "TRIDENT_SIGNING_ALGORITHM",
                "expected ES256, RS256 or EdDSA",
            )
        })?;
        let log_format = match self.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid("TRIDENT_LOG_FORMAT", "expected text or json")),
        };
        let access_token_ttl = bounded_secs(
            "TRIDENT_ACCESS_TOKEN_TTL",
            self.access_token_ttl,
            30,
            86_400,
        )?;
        let refresh_token_ttl = bounded_secs(
            "TRIDENT_REFRESH_TOKEN_TTL",
            self.refresh_token_ttl,
            60,
            366 * 86_400,
        )?;
        let session_max_lifetime = bounded_secs(
            "TRIDENT_SESSION_MAX_LIFETIME",
            self.session_max_lifetime,
            3_600,
            366 * 86_400,
        )?;
        let ui_session_ttl = bounded_secs(
            "TRIDENT_UI_SESSION_TTL",
            self.ui_session_ttl,
            300,
            7 * 86_400,
        )?;
        let client_token_ttl = bounded_secs(
            "TRIDENT_CLIENT_TOKEN_TTL",
            self.client_token_ttl,
            MIN_CLIENT_TOKEN_TTL_SECS,
            MAX_CLIENT_TOKEN_TTL_SECS,
        )?;
        if self.client_auth_failures_per_minute == 0 {
            return Err(invalid(
                "TRIDENT_CLIENT_AUTH_FAILURES_PER_MINUTE",
                "must be at least 1",
            ));
        }
        if !(1..=3660).contains(&self.pat_max_lifetime_days) {
            return Err(invalid(
                "TRIDENT_PAT_MAX_LIFETIME_DAYS",
                "must be between 1 and 3660",
            ));
        }
        if self.login_attempts_per_minute == 0 {
            return Err(invalid(
                "TRIDENT_LOGIN_ATTEMPTS_PER_MINUTE",
                "must be at least 1",
            ));
        }
        if self.db_max_connections == 0 {
            return Err(invalid("TRIDENT_DB_MAX_CONNECTIONS", "must be at least 1"));
        }
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
            signing_algorithm,
            access_token_ttl,
            refresh_token_ttl,
            session_max_lifetime,
            ui_session_ttl,
            client_token_ttl,
            client_auth_failures_per_minute: self.client_auth_failures_per_minute,
            introspections_per_minute: self.introspections_per_minute.max(1),
            allow_registration: self.allow_registration,
            api_key_on_user_create: self.api_key_on_user_create,
            credential_cache: self.credential_cache,
            pat_max_lifetime_days: self.pat_max_lifetime_days,
            log_format,
            login_attempts_per_minute: self.login_attempts_per_minute,
            password_hash_concurrency: or_cores(self.password_hash_concurrency),
            workers: or_cores(self.workers),
        })
    }
}

fn bounded_secs(
    setting: &'static str,
    value: u64,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(Duration::from_secs(value))
    } else {
        Err(invalid(
            setting,
            format!("must be between {min} and {max} seconds"),
        ))
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

/// RFC 8414 §2: the issuer is an https (or, for local use, http) URL without query or fragment.
fn validate_issuer(issuer: &str) -> Result<String, ConfigError> {
    let trimmed = issuer.trim_end_matches('/');
    let scheme_ok = trimmed.starts_with("https://") || trimmed.starts_with("http://");
    let host = trimmed.split("://").nth(1).unwrap_or("");
    if !scheme_ok || host.is_empty() || trimmed.contains(['?', '#', ' ']) {
        return Err(invalid(
            "TRIDENT_ISSUER",
            "expected an http(s) URL without query or fragment, e.g. https://auth.example.com",
        ));
    }
    Ok(trimmed.to_owned())
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
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: RawSettings,
    }

    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["trident"];
        argv.extend_from_slice(args);
        Cli::parse_from(argv).settings.validate()
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
        ];
        for (args, setting) in cases {
            let err = parse(args).unwrap_err();
            assert_eq!(err.setting, *setting, "case {args:?}");
        }
    }

    #[test]
    fn issuer_loses_its_trailing_slash() {
        let settings = parse(&["--issuer", "https://auth.example.com/"]).unwrap();
        assert_eq!(settings.issuer, "https://auth.example.com");
    }
}
