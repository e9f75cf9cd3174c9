//! The `Principal` extractor: every protected handler takes one. It accepts
//! `Authorization: Bearer …`, `Authorization: Api-Key …` (schemes are
//! case-insensitive, RFC 9110 §11.1) and `X-API-Key: …`, and refuses ambiguity.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::authn::{self, PresentedCredential};
use crate::domain::Principal;
use crate::error::AppError;
use crate::state::AppState;

const X_API_KEY: &str = "x-api-key";

/// Finds the one credential a request presents, without I/O.
fn presented(headers: &HeaderMap) -> Result<PresentedCredential, AppError> {
    let mut authorization = headers.get_all(AUTHORIZATION);
    let mut api_key = headers.get_all(X_API_KEY);
    let first = authorization.next();
    let key = api_key.next();
    if authorization.next().is_some()
        || api_key.next().is_some()
        || (first.is_some() && key.is_some())
    {
        return Err(AppError::BadRequest(
            "present exactly one credential".into(),
        ));
    }
    let (scheme, token) = match (first, key) {
        (Some(value), None) => {
            let value = value.to_str().map_err(|_| AppError::Unauthenticated)?;
            let (scheme, token) = value.split_once(' ').ok_or(AppError::Unauthenticated)?;
            (scheme, token.trim())
        }
        (None, Some(value)) => (
            "api-key",
            value
                .to_str()
                .map_err(|_| AppError::Unauthenticated)?
                .trim(),
        ),
        _ => return Err(AppError::Unauthenticated),
    };
    // The credential's own format says what it is; the scheme only has to be one we speak.
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("api-key")) {
        return Err(AppError::Unauthenticated);
    }
    PresentedCredential::recognize(token).ok_or(AppError::Unauthenticated)
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credential = presented(req.headers());
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("AppState missing")))?;
            authn::resolve(&state, credential?).await
        })
    }
}

/// The address the request came from, for throttling and the audit log.
pub fn source_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|addr| addr.ip().to_string())
}
