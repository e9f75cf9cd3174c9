//! OAuth errors on the wire: RFC 6749 §5.2 JSON (never problem+json), with the
//! challenge and `Retry-After` each one calls for, and `no-store`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::no_store;
use crate::oauth::OAuthError;

/// RFC 6749 §5.2 error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            OAuthError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::TemporarilyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let OAuthError::ServerError(cause) = self {
            tracing::error!(error = ?cause, "unexpected error at the token endpoint");
        }
        let mut response = no_store(HttpResponse::build(self.status_code()));
        match self {
            // §5.2: 401 with a challenge for the scheme the client tried; Basic is the one we offer.
            OAuthError::InvalidClient { .. } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"trident\""),
                ));
            }
            OAuthError::TooManyRequests { retry_after }
            | OAuthError::TemporarilyUnavailable { retry_after } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after)));
            }
            _ => {}
        }
        response.json(OAuthErrorBody {
            error: self.code(),
            error_description: self.description(),
        })
    }
}
