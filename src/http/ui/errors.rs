//! Why a page could not be shown, as a page: each application error becomes a
//! status and a sentence that says what to do.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::HttpRequest;

use crate::error::AppError;

/// A path segment of a page that names nothing (e.g. not a UUID): the 404 page.
pub fn path_error(_: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    UiError::from(AppError::NotFound).into()
}

/// A page's query string that does not parse: the 400 page.
pub fn query_error(_: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    UiError::page(StatusCode::BAD_REQUEST, "This address is malformed.").into()
}

/// Why a page could not be shown.
pub enum UiError {
    /// Not signed in (or the session ended): to the sign-in page.
    SignIn,
    Page {
        status: StatusCode,
        message: String,
        retry_after: Option<u64>,
    },
}

impl UiError {
    pub fn page(status: StatusCode, message: impl Into<String>) -> Self {
        UiError::Page {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<crate::domain::MissingPermission> for UiError {
    fn from(err: crate::domain::MissingPermission) -> Self {
        AppError::from(err).into()
    }
}

impl From<AppError> for UiError {
    fn from(err: AppError) -> Self {
        let page = |status, message: &str| UiError::page(status, message);
        match err {
            AppError::Unauthenticated => UiError::SignIn,
            AppError::Forbidden(scope) => UiError::page(
                StatusCode::FORBIDDEN,
                format!("Your account needs the {scope} permission for this page."),
            ),
            AppError::CannotGrant { permission, .. } => UiError::page(
                StatusCode::FORBIDDEN,
                format!("You cannot grant {permission}: your account does not hold it."),
            ),
            AppError::ExceedsCaller(reason) => UiError::page(StatusCode::FORBIDDEN, reason),
            AppError::NotFound => page(StatusCode::NOT_FOUND, "There is nothing here."),
            AppError::Validation { field, message } => UiError::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: {message}"),
            ),
            AppError::BadRequest(message) => UiError::page(StatusCode::BAD_REQUEST, message),
            AppError::Conflict(message) => UiError::page(StatusCode::CONFLICT, message),
            AppError::TooManyRequests { retry_after } => UiError::Page {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: format!("Too many attempts. Try again in {retry_after} seconds."),
                retry_after: Some(retry_after),
            },
            AppError::Unavailable { retry_after } => UiError::Page {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "Trident is busy. Try again in a moment.".into(),
                retry_after: Some(retry_after),
            },
            AppError::Unexpected(e) => {
                tracing::error!(error = ?e, "unexpected error on a page");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. Try again.",
                )
            }
        }
    }
}

impl fmt::Debug for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UiError::SignIn => f.write_str("sign in"),
            UiError::Page { status, .. } => write!(f, "page {status}"),
        }
    }
}

impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
