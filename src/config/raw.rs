//! The settings as clap reads them from flags and `TRIDENT_*` variables: every
//! value is parsed and range-checked here, so a wrong one is refused naming
//! its flag before anything starts. What needs several settings at once is
//! checked by [`RawSettings::validate`](super::RawSettings).

use std::net::SocketAddr;

use secrecy::SecretString;

use super::{LogFormat, MAX_CLIENT_TOKEN_TTL_SECS, MIN_CLIENT_TOKEN_TTL_SECS};
use crate::keys::SigningAlgorithm;

/// Raw settings as clap reads them; turned into [`super::Settings`] by `validate`.
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
    pub bind: SocketAddr,
    /// Issuer identifier (RFC 8414): the public base URL of this server. Defaults to `http://BIND`.
    #[arg(long, env = "TRIDENT_ISSUER", value_parser = issuer, global = true)]
    pub issuer: Option<String>,
    /// Username of the administrator created on start when no user exists yet.
    #[arg(long, env = "TRIDENT_ADMIN_USERNAME", global = true)]
    pub admin_username: Option<String>,
    /// Password of that administrator.
    #[arg(
        long,
        env = "TRIDENT_ADMIN_PASSWORD",
        hide_env_values = true,
        value_parser = secret,
        global = true
    )]
    pub admin_password: Option<SecretString>,
    /// Base64 (standard or URL-safe) 32-byte key that encrypts signing keys at rest.
    /// Required for PostgreSQL; on SQLite a key file beside the database is used when unset.
    #[arg(
        long,
        env = "TRIDENT_MASTER_KEY",
        hide_env_values = true,
        value_parser = secret,
        global = true
    )]
    pub master_key: Option<SecretString>,
    /// Algorithm of newly created signing keys: ES256, RS256 or EdDSA.
    #[arg(
        long,
        env = "TRIDENT_SIGNING_ALGORITHM",
        default_value = "ES256",
        ignore_case = true,
        global = true
    )]
    pub signing_algorithm: SigningAlgorithm,
    /// Lifetime of user access tokens, in seconds.
    #[arg(
        long,
        env = "TRIDENT_ACCESS_TOKEN_TTL",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(30..=86_400),
        global = true
    )]
    pub access_token_ttl: u64,
    /// Default lifetime of M2M access tokens (client credentials grant), in seconds; a client may set its own.
    #[arg(
        long,
        env = "TRIDENT_CLIENT_TOKEN_TTL",
        default_value_t = 900,
        value_parser = clap::value_parser!(u64).range(MIN_CLIENT_TOKEN_TTL_SECS..=MAX_CLIENT_TOKEN_TTL_SECS),
        global = true
    )]
    pub client_token_ttl: u64,
    /// Failed client authentications allowed per client id, and per source address, in a minute.
    #[arg(
        long,
        env = "TRIDENT_CLIENT_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub client_auth_failures_per_minute: u32,
    /// Introspection requests allowed per caller in a minute.
    #[arg(
        long,
        env = "TRIDENT_INTROSPECTIONS_PER_MINUTE",
        default_value_t = 600_000,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub introspections_per_minute: u32,
    /// Lifetime of refresh tokens, in seconds.
    #[arg(
        long,
        env = "TRIDENT_REFRESH_TOKEN_TTL",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(60..=366 * 86_400),
        global = true
    )]
    pub refresh_token_ttl: u64,
    /// Longest a login session lives however often it is refreshed, in seconds (then the user logs in again).
    #[arg(
        long,
        env = "TRIDENT_SESSION_MAX_LIFETIME",
        default_value_t = 30 * 86_400,
        value_parser = clap::value_parser!(u64).range(3_600..=366 * 86_400),
        global = true
    )]
    pub session_max_lifetime: u64,
    /// Lifetime of a web UI sign-in, in seconds (then the browser signs in again).
    #[arg(
        long,
        env = "TRIDENT_UI_SESSION_TTL",
        default_value_t = 28_800,
        value_parser = clap::value_parser!(u64).range(300..=7 * 86_400),
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
    /// Cache resolved credentials in memory (each change forgets what it touched, on every node).
    #[arg(long, env = "TRIDENT_CREDENTIAL_CACHE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub credential_cache: bool,
    /// Memory the credential cache may take, in MiB (about 750 credentials per MiB).
    #[arg(
        long,
        env = "TRIDENT_CREDENTIAL_CACHE_MB",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..=65536),
        global = true
    )]
    pub credential_cache_mb: u32,
    /// Longest lifetime a personal access token may be given, in days.
    #[arg(
        long,
        env = "TRIDENT_PAT_MAX_LIFETIME_DAYS",
        default_value_t = 366,
        value_parser = clap::value_parser!(u32).range(1..=3660),
        global = true
    )]
    pub pat_max_lifetime_days: u32,
    /// Log format.
    #[arg(
        long,
        env = "TRIDENT_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    /// Login attempts allowed per username, and per source address, in a minute.
    #[arg(
        long,
        env = "TRIDENT_LOGIN_ATTEMPTS_PER_MINUTE",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..),
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
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub db_max_connections: u32,
}

/// A secret value: held so that it is never printed (`Debug` shows `[REDACTED]`).
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// RFC 8414 §2: the issuer is an https (or, for local use, http) URL without
/// query or fragment; a trailing slash is dropped.
fn issuer(value: &str) -> Result<String, String> {
    let refused = || {
        "expected an http(s) URL without query or fragment, e.g. https://auth.example.com"
            .to_owned()
    };
    let url = url::Url::parse(value).map_err(|_| refused())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && !value.contains(['?', '#', ' ']);
    match plain {
        true => Ok(value.trim_end_matches('/').to_owned()),
        false => Err(refused()),
    }
}
