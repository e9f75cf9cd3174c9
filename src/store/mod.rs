//! sea-orm queries: entity models in, domain-shaped values out. Every function
//! takes `&impl ConnectionTrait`, so it runs on a pool or inside a transaction.

pub mod api_keys;
pub mod audit;
pub mod browser_sessions;
pub mod clients;
pub mod credential_rows;
mod db;
mod inline_sqlite;
pub mod owned;
pub mod personal_access_tokens;
pub mod refresh_tokens;
pub mod revoked_jtis;
pub mod role_links;
pub mod roles;
pub mod signing_keys;
pub mod usage;
pub mod users;

pub use db::{DatabaseKind, DatabaseSettings, Db};

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write.
    #[error("a record with that {0} already exists")]
    Conflict(&'static str),
    /// The value passes for an existing record's (a look-alike username).
    #[error("that {0} looks like an existing one")]
    LookAlike(&'static str),
    /// A referenced record does not exist.
    #[error("unknown {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl StoreError {
    /// `Some(seconds to wait)` when the store is unavailable rather than refusing
    /// the statement: the one decision behind every 503 (see [`retry_after`]).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            StoreError::Db(e) => retry_after(e),
            StoreError::Conflict(_) | StoreError::LookAlike(_) | StoreError::Missing(_) => None,
        }
    }

    /// Maps a unique violation to `Conflict(what)`, anything else to `Db`.
    pub fn unique(err: DbErr, what: &'static str) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what),
            _ => StoreError::Db(err),
        }
    }
}

/// One page of a list and the cursor of the next, if any.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that more exist.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// [`retry_after`] for an error from anywhere: the first database error in its chain decides.
pub fn retry_after_in(err: &anyhow::Error) -> Option<u64> {
    err.chain().find_map(|cause| {
        if let Some(db) = cause.downcast_ref::<DbErr>() {
            retry_after(db)
        } else {
            cause
                .downcast_ref::<StoreError>()
                .and_then(StoreError::retry_after)
        }
    })
}

/// Whether a database error means "the database cannot serve this now" (503,
/// retry after the returned seconds) rather than "this statement is wrong" (500):
/// no connection, a connection lost mid-request, a full disk, an I/O error, a
/// lock not granted within the busy timeout, a server shutting down or out of
/// resources, a serialization failure. This is the only place that decides it.
pub fn retry_after(err: &DbErr) -> Option<u64> {
    use sea_orm::RuntimeErr;
    const SOON: u64 = 1;
    /// A full disk or failing storage does not clear up in a second.
    const LATER: u64 = 5;
    let sqlx_error = match err {
        DbErr::ConnectionAcquire(_) => return Some(SOON),
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        // The inline SQLite reader's storage failures (its lock timeouts are
        // `ConnectionAcquire`): out of memory or disk, I/O, cannot open.
        DbErr::Conn(RuntimeErr::Internal(_)) => return Some(LATER),
        _ => return None,
    };
    match sqlx_error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(SOON),
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The extended result code; its low byte is the primary one.
                let primary = db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .map(|c| c & 0xff);
                match primary {
                    // BUSY and LOCKED: the busy timeout passed without the lock.
                    Some(5 | 6) => Some(SOON),
                    // NOMEM, READONLY, IOERR, FULL, CANTOPEN.
                    Some(7 | 8 | 10 | 13 | 14) => Some(LATER),
                    _ => None,
                }
            } else if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let code = pg.code();
                match code {
                    // serialization_failure, deadlock_detected, lock_not_available, query_canceled.
                    "40001" | "40P01" | "55P03" | "57014" => Some(SOON),
                    // connection_exception, insufficient_resources (disk full, too many
                    // connections), operator intervention (shutdown, cannot connect now).
                    _ if code.starts_with("08") || code.starts_with("57P") => Some(SOON),
                    _ if code.starts_with("53") => Some(LATER),
                    _ => None,
                }
            } else {
                None
            }
        }
        _ => None,
    }
}
