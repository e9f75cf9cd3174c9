//! The error type of Trident's use cases. The HTTP layer renders it as RFC 9457
//! problem+json; the variants say what failed without saying more than the
//! caller may know.

use crate::secret::password::HashError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but a field's value is not acceptable (422).
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The request itself is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid credential was presented; one uniform answer whatever was wrong (401).
    #[error("authentication failed")]
    Unauthenticated,
    /// The credential is valid but lacks this permission (403).
    #[error("missing permission {0}")]
    Forbidden(String),
    /// The change would grant a permission the caller does not hold itself (403);
    /// `field` names what carried it (`roles` or `permissions`).
    #[error("cannot grant {permission}")]
    CannotGrant {
        field: &'static str,
        permission: String,
    },
    /// The result would hold more than the credential asking for it: a scope it
    /// lacks, a life beyond its own, live power from a test credential (403).
    #[error("{0}")]
    ExceedsCaller(String),
    /// The resource does not exist, or is not the caller's to see (404).
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after this many seconds (429).
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// Shedding load or a dependency is down; retry after this many seconds (503).
    #[error("temporarily unavailable")]
    Unavailable { retry_after: u64 },
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

/// An unexpected error is a 503 when a database outage is what caused it.
impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        match crate::store::retry_after_in(&err) {
            Some(retry_after) => {
                tracing::error!(error = ?err, "database unavailable");
                AppError::Unavailable { retry_after }
            }
            None => AppError::Unexpected(err),
        }
    }
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        // Fail closed and say so: 503, never a stale answer.
        if let Some(retry_after) = err.retry_after() {
            tracing::error!(error = %err, "database unavailable");
            return AppError::Unavailable { retry_after };
        }
        match err {
            StoreError::Conflict(what) => {
                AppError::Conflict(format!("a record with that {what} already exists"))
            }
            StoreError::LookAlike(what) => AppError::Conflict(format!(
                "that {what} looks like an existing one; choose another"
            )),
            StoreError::Missing(what) => {
                AppError::validation(what, format!("names {what} that do not exist"))
            }
            StoreError::Db(e) => AppError::Unexpected(anyhow::Error::new(e).context("database")),
        }
    }
}

impl From<crate::domain::InvalidRoleName> for AppError {
    fn from(err: crate::domain::InvalidRoleName) -> Self {
        AppError::validation("roles", err.to_string())
    }
}

impl From<crate::domain::MissingPermission> for AppError {
    fn from(err: crate::domain::MissingPermission) -> Self {
        AppError::Forbidden(err.0.as_str().to_owned())
    }
}

impl From<HashError> for AppError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Overloaded => AppError::Unavailable { retry_after: 1 },
            HashError::Unexpected(e) => AppError::from(e),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::from(StoreError::Db(err))
    }
}
