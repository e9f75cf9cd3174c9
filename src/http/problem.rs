//! RFC 9457 problem details for every error of the management API, and the
//! handlers that turn framework-level rejections (bad JSON, bad path, bad query)
//! into the same shape instead of plain text.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::AppError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field the problem is about, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub fn problem(
    status: StatusCode,
    code: &str,
    title: &'static str,
    detail: Option<String>,
    field: Option<String>,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .json(Problem {
            kind: format!("urn:trident:problem:{code}"),
            title,
            status: status.as_u16(),
            detail,
            field,
        })
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::CannotGrant { .. } | AppError::ExceedsCaller(_) => {
                StatusCode::FORBIDDEN
            }
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = match self {
            AppError::Validation { field, message } => problem(
                status,
                "validation",
                "Invalid request field",
                Some(format!("{field}: {message}")),
                Some(field.clone()),
            ),
            AppError::BadRequest(detail) => problem(
                status,
                "bad-request",
                "Malformed request",
                Some(detail.clone()),
                None,
            ),
            AppError::Unauthenticated => problem(
                status,
                "unauthenticated",
                "Authentication required",
                Some("a valid credential is required".into()),
                None,
            ),
            AppError::Forbidden(scope) => problem(
                status,
                "forbidden",
                "Insufficient permission",
                Some(format!("this requires the {scope} permission")),
                None,
            ),
            AppError::CannotGrant { field, permission } => problem(
                status,
                "cannot-grant",
                "Cannot grant a permission the caller does not hold",
                Some(format!(
                    "{field}: granting {permission} requires holding it; \
                     no credential can make one more powerful than itself"
                )),
                None,
            ),
            AppError::ExceedsCaller(detail) => problem(
                status,
                "exceeds-caller",
                "The result would hold more than the calling credential",
                Some(detail.clone()),
                None,
            ),
            AppError::NotFound => problem(status, "not-found", "Not found", None, None),
            AppError::Conflict(detail) => {
                problem(status, "conflict", "Conflict", Some(detail.clone()), None)
            }
            AppError::TooManyRequests { .. } => {
                problem(status, "rate-limited", "Too many requests", None, None)
            }
            AppError::Unavailable { .. } => {
                problem(status, "unavailable", "Temporarily unavailable", None, None)
            }
            AppError::Unexpected(cause) => {
                // The cause chain goes to the log, never to the client.
                tracing::error!(error = ?cause, "unexpected error");
                problem(status, "internal", "Internal server error", None, None)
            }
        };
        let headers = response.headers_mut();
        match self {
            AppError::Unauthenticated => {
                headers.append(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"trident\""),
                );
                headers.append(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Api-Key realm=\"trident\""),
                );
            }
            AppError::TooManyRequests { retry_after } | AppError::Unavailable { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

/// Malformed, oversized or mistyped JSON bodies become problem+json.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let response = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
                Some(err.to_string()),
                None,
            )
        }
        JsonPayloadError::ContentType => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            Some("expected Content-Type: application/json".into()),
            None,
        ),
        JsonPayloadError::Deserialize(e) => problem(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            Some(format!("invalid JSON body: {e}")),
            None,
        ),
        _ => problem(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            Some("invalid JSON body".into()),
            None,
        ),
    };
    actix_web::error::InternalError::from_response(err, response).into()
}

/// A path parameter that does not parse names nothing that exists.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    actix_web::error::InternalError::from_response(err, AppError::NotFound.error_response()).into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let response = AppError::BadRequest(format!("invalid query string: {err}")).error_response();
    actix_web::error::InternalError::from_response(err, response).into()
}
