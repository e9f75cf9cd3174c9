//! `/api/v1/auth/*`: first-party login, refresh rotation, logout.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::credentials::sessions::{self, TokenPair};
use crate::domain::{Password, Principal, PrincipalKind};
use crate::error::AppError;
use crate::http::extract::source_ip;
use crate::http::no_store;
use crate::http::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        TokenResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token.reveal().to_owned(),
            token_type: "Bearer",
            expires_in: pair.expires_in,
        }
    }
}

fn tokens(pair: TokenPair) -> HttpResponse {
    no_store(HttpResponse::Ok()).json(TokenResponse::from(pair))
}

/// Log in with username and password.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse, description = "An access token and a refresh token"),
        (status = 401, body = Problem, description = "Wrong username or password (one answer for both)"),
        (status = 429, body = Problem, description = "Too many attempts; see Retry-After"),
        (status = 503, body = Problem, description = "Shedding load; see Retry-After"),
    ))]
#[tracing::instrument(name = "issue session token", skip_all)]
pub async fn issue_session_token(
    req: HttpRequest,
    body: web::Json<LoginRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let LoginRequest { username, password } = body.into_inner();
    let password = Password::presented(secrecy::ExposeSecret::expose_secret(&password).to_owned());
    let pair = sessions::login(&state.credentials(), &username, password, source_ip(&req)).await?;
    Ok(tokens(pair))
}

/// Exchange a refresh token for a new pair; the presented token stops working.
#[utoipa::path(post, path = "/api/v1/auth/token/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, description = "Unknown, expired, spent or revoked refresh token"),
    ))]
#[tracing::instrument(name = "refresh session token", skip_all)]
pub async fn refresh_session_token(
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let presented = secrecy::ExposeSecret::expose_secret(&body.refresh_token);
    let pair = sessions::refresh(&state.credentials(), presented, source_ip(&req)).await?;
    Ok(tokens(pair))
}

/// End the session a refresh token belongs to (its access tokens stop working too).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Done, whether or not the token existed")))]
#[tracing::instrument(name = "revoke session", skip_all)]
pub async fn revoke_session(
    body: web::Json<RefreshRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    sessions::logout(
        &state.credentials(),
        secrecy::ExposeSecret::expose_secret(&body.refresh_token),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of the calling user.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "revoke all sessions", skip_all)]
pub async fn revoke_all_sessions(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if principal.principal.kind != PrincipalKind::User {
        return Err(AppError::Forbidden("a user credential".into()));
    }
    sessions::logout_all(&state.credentials(), &principal).await?;
    Ok(HttpResponse::NoContent().finish())
}
