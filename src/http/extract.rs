//! The `Principal` extractor: every protected handler takes one. It accepts
//! `Authorization: Bearer …`, `Authorization: Api-Key …` (schemes are
//! case-insensitive, RFC 9110 §11.1) and `X-API-Key: …`, and refuses ambiguity.
//! Without any of those, the web UI's session cookie is accepted: for a
//! state-changing method only from Trident's own origin and with the session's
//! CSRF token in `X-CSRF-Token`, because a browser sends cookies on its own.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::browser::{is_same_origin, CookieNames};
use super::credential_header::{presented_caller, HeaderError};
use crate::credentials::inspect;
use crate::credentials::presented::PresentedCaller;
use crate::credentials::PresentedCredential;
use crate::domain::Principal;
use crate::error::AppError;
use crate::secret::csrf::verify_csrf;
use crate::secret::SecretKind;
use crate::state::AppState;

/// The CSRF token a cookie-authenticated API call carries (the UI pages hold it).
pub const X_CSRF_TOKEN: &str = "x-csrf-token";

/// The one credential a request's headers present, without I/O; `None` when
/// they present none.
fn presented(req: &HttpRequest) -> Result<Option<PresentedCredential>, AppError> {
    let token = match presented_caller(req.headers()) {
        Ok(PresentedCaller::Nothing) => return Ok(None),
        Ok(PresentedCaller::Bearer(token)) => token,
        // The credential's own format says what it is; the scheme only has to be one we speak.
        Ok(PresentedCaller::Basic(_) | PresentedCaller::Unsupported) => {
            return Err(AppError::Unauthenticated)
        }
        Err(HeaderError::SeveralAuthorizations | HeaderError::SeveralCredentials) => {
            return Err(AppError::BadRequest(
                "present exactly one credential".into(),
            ))
        }
        Err(HeaderError::NotText { .. }) => return Err(AppError::Unauthenticated),
    };
    match PresentedCredential::recognize(token) {
        // A session secret belongs in its cookie only.
        Some(PresentedCredential::Opaque(s)) if s.kind() == SecretKind::BrowserSession => {
            Err(AppError::Unauthenticated)
        }
        Some(credential) => Ok(Some(credential)),
        None => Err(AppError::Unauthenticated),
    }
}

/// The session cookie, with the checks a cookie needs that a header does not.
fn session_cookie(req: &HttpRequest, state: &AppState) -> Result<PresentedCredential, AppError> {
    let cookies = CookieNames::for_settings(&state.settings);
    let secret = cookies
        .session_secret(req)
        .ok_or(AppError::Unauthenticated)?;
    if !req.method().is_safe() {
        let token = req
            .headers()
            .get(X_CSRF_TOKEN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_same_origin(req.headers(), &state.settings.issuer)
            || !verify_csrf(secret.reveal(), token)
        {
            return Err(AppError::Forbidden(
                "a same-origin request with the X-CSRF-Token header".into(),
            ));
        }
    }
    Ok(PresentedCredential::Opaque(secret))
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credential = match (presented(req), &state) {
            (Ok(None), Some(state)) => session_cookie(req, state),
            (Ok(Some(credential)), _) => Ok(credential),
            (Ok(None), None) => Err(AppError::Unauthenticated),
            (Err(e), _) => Err(e),
        };
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("AppState missing")))?;
            Ok(inspect::resolve(&state.credentials(), credential?).await?)
        })
    }
}

/// The address the request came from, for throttling and the audit log.
pub fn source_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|addr| addr.ip().to_string())
}
