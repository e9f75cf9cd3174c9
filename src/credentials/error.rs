//! The error of inspecting a credential: it is unusable (one uniform answer,
//! whatever was wrong), the database cannot answer now, or something unexpected.

use crate::error::AppError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// Unknown, expired, revoked, malformed, or not for this use: one answer.
    #[error("authentication failed")]
    Unauthenticated,
    /// Refused for good: unknown, revoked or expired, as no later change can
    /// undo. Answered exactly as [`AuthnError::Unauthenticated`]; the cache
    /// remembers it for a while (see `infra::cache`).
    #[error("authentication failed")]
    Ended,
    /// The database cannot answer now; retry after this many seconds.
    #[error("temporarily unavailable")]
    Unavailable { retry_after: u64 },
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for AuthnError {
    fn from(err: anyhow::Error) -> Self {
        match crate::store::retry_after_in(&err) {
            Some(retry_after) => {
                tracing::error!(error = ?err, "database unavailable");
                AuthnError::Unavailable { retry_after }
            }
            None => AuthnError::Unexpected(err),
        }
    }
}

impl From<StoreError> for AuthnError {
    fn from(err: StoreError) -> Self {
        AuthnError::from(anyhow::Error::new(err))
    }
}

impl From<sea_orm::DbErr> for AuthnError {
    fn from(err: sea_orm::DbErr) -> Self {
        AuthnError::from(StoreError::from(err))
    }
}

/// The management API answers an unusable credential with its uniform 401.
impl From<AuthnError> for AppError {
    fn from(err: AuthnError) -> Self {
        match err {
            AuthnError::Unauthenticated | AuthnError::Ended => AppError::Unauthenticated,
            AuthnError::Unavailable { retry_after } => AppError::Unavailable { retry_after },
            AuthnError::Unexpected(e) => AppError::Unexpected(e),
        }
    }
}
