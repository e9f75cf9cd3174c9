//! Requests no route answers, and which kind of error answer a request gets.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::ui::errors::UiError;
use crate::error::AppError;

/// Unknown routes: a problem document, or the 404 page for a browser that asks
/// for HTML outside the API's paths (a mistyped page address).
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, UiError> {
    if wants_page(&req) {
        return Err(AppError::NotFound.into());
    }
    Ok(AppError::NotFound.error_response())
}

/// Whether an error for `req` should be an HTML page: a browser asking for HTML,
/// outside the API, OAuth and well-known paths (which answer problem documents).
pub fn wants_page(req: &HttpRequest) -> bool {
    let api = ["/api/", "/oauth/", "/.well-known/"]
        .iter()
        .any(|prefix| req.path().starts_with(prefix));
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    wants_html && !api
}
