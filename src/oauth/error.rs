//! Token endpoint errors, RFC 6749 §5.2 (and RFC 8707 §2 for `invalid_target`).

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// "The request is missing a required parameter, includes an unsupported
    /// parameter value (other than grant type), repeats a parameter, includes
    /// multiple credentials, utilizes more than one mechanism for authenticating
    /// the client, or is otherwise malformed."
    #[error("{0}")]
    InvalidRequest(String),
    /// The body exceeded the endpoint's limit (reported as `invalid_request`, HTTP 413).
    #[error("the request body is too large")]
    TooLarge,
    /// "Client authentication failed (e.g., unknown client, no client
    /// authentication included, or unsupported authentication method)."
    /// `basic` records whether the client tried the Authorization header.
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    /// "The authorization grant type is not supported by the authorization server."
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    /// "The requested scope is invalid, unknown, malformed, or exceeds the scope
    /// granted by the resource owner."
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."
    #[error("{0}")]
    InvalidTarget(String),
    /// RFC 6750 §3.1: the caller is authenticated but lacks this permission (HTTP 403).
    #[error("this requires the {0} permission")]
    InsufficientScope(crate::domain::Permission),
    /// Too many failed attempts; retry after this many seconds (HTTP 429).
    #[error("too many failed attempts")]
    TooManyRequests { retry_after: u64 },
    /// "The authorization server is currently unable to handle the request due
    /// to a temporary overloading or maintenance of the server" (RFC 6749 §4.1.2.1,
    /// as HTTP 503 with `Retry-After`): shedding load, or the database is down.
    #[error("temporarily unavailable; retry later")]
    TemporarilyUnavailable { retry_after: u64 },
    /// "The authorization server encountered an unexpected condition."
    #[error(transparent)]
    ServerError(anyhow::Error),
}

/// RFC 6749 §5.2: `error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )`.
pub fn is_description_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
}

impl OAuthError {
    /// The `error` code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::TooLarge => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::InsufficientScope(_) => "insufficient_scope",
            OAuthError::TooManyRequests { .. } => "slow_down",
            OAuthError::TemporarilyUnavailable { .. } => "temporarily_unavailable",
            OAuthError::ServerError(_) => "server_error",
        }
    }

    /// A human-readable `error_description`, never naming which part of a
    /// credential was wrong, and within the characters RFC 6749 §5.2 allows
    /// (`%x20-21 / %x23-5B / %x5D-7E`). The messages never quote raw input (only
    /// values that parsed, such as a scope); anything outside the set becomes `?`
    /// all the same, so no future message can break the rule.
    pub fn description(&self) -> Option<String> {
        match self {
            OAuthError::ServerError(_) => None,
            other => Some(
                other
                    .to_string()
                    .chars()
                    .map(|c| if is_description_char(c) { c } else { '?' })
                    .collect(),
            ),
        }
    }
}

/// A database outage anywhere in the cause chain is `temporarily_unavailable`, never `server_error`.
impl From<anyhow::Error> for OAuthError {
    fn from(err: anyhow::Error) -> Self {
        match crate::store::retry_after_in(&err) {
            Some(retry_after) => {
                tracing::error!(error = ?err, "database unavailable");
                OAuthError::TemporarilyUnavailable { retry_after }
            }
            None => OAuthError::ServerError(err),
        }
    }
}

impl From<crate::error::AppError> for OAuthError {
    fn from(err: crate::error::AppError) -> Self {
        match err {
            crate::error::AppError::Unavailable { retry_after } => {
                OAuthError::TemporarilyUnavailable { retry_after }
            }
            crate::error::AppError::Unexpected(e) => OAuthError::from(e),
            other => OAuthError::ServerError(anyhow::anyhow!(other)),
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(err: crate::store::StoreError) -> Self {
        OAuthError::from(anyhow::Error::new(err))
    }
}

/// A caller whose credential does not authenticate is an unknown client.
impl From<crate::credentials::AuthnError> for OAuthError {
    fn from(err: crate::credentials::AuthnError) -> Self {
        use crate::credentials::AuthnError;
        match err {
            AuthnError::Unauthenticated | AuthnError::Ended => {
                OAuthError::InvalidClient { basic: false }
            }
            AuthnError::Unavailable { retry_after } => {
                OAuthError::TemporarilyUnavailable { retry_after }
            }
            AuthnError::Unexpected(e) => OAuthError::from(e),
        }
    }
}
