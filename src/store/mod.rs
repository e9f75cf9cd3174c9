//! sea-orm queries: entity models in, domain-shaped values out. Every function
//! takes `&impl ConnectionTrait`, so it runs on a pool or inside a transaction.

pub mod api_keys;
pub mod audit;
pub mod browser_sessions;
pub mod clients;
pub mod credential_rows;
mod db;
pub mod owned;
pub mod personal_access_tokens;
pub mod refresh_tokens;
pub mod revoked_jtis;
pub mod role_links;
pub mod roles;
pub mod signing_keys;
pub mod users;

pub use db::Db;

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write.
    #[error("a record with that {0} already exists")]
    Conflict(&'static str),
    /// A referenced record does not exist.
    #[error("unknown {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl StoreError {
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
