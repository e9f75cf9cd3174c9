use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::store::Page;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<u64, AppError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(n),
            _ => Err(AppError::validation(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// Parses the cursor with `parse`; a cursor that does not parse is a client error.
    pub fn cursor<T>(&self, parse: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, AppError> {
        self.cursor
            .as_deref()
            .map(|c| {
                parse(c).ok_or_else(|| {
                    AppError::validation("cursor", "not a cursor this list returned")
                })
            })
            .transpose()
    }
}

/// `{items: [...], next_cursor}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> PageBody<T> {
    pub fn from_page<R>(page: Page<R>, map: impl FnMut(R) -> T) -> Self {
        PageBody {
            items: page.items.into_iter().map(map).collect(),
            next_cursor: page.next_cursor,
        }
    }
}
