//! `/api/v1/personal-access-tokens`: a user's PATs. The secret is returned once.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::api_keys::parse_scopes;
use crate::credentials::personal_access_tokens::{self as pats, NewToken};
use crate::domain::{scope_words, Principal};
use crate::error::AppError;
use crate::http::no_store;
use crate::http::pagination::{PageBody, PageQuery};
use crate::http::problem::Problem;
use crate::secret::OpaqueSecret;
use crate::state::AppState;
use crate::store::personal_access_tokens::Pat;

#[derive(Serialize, ToSchema)]
pub struct PatBody {
    pub id: Uuid,
    pub name: String,
    /// The scopes chosen at minting; effective scopes also depend on the owner's current permissions.
    pub scopes: Vec<String>,
    pub display_prefix: String,
    pub last_chars: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PatBody {
    pub fn new(token: Pat, now: DateTime<Utc>) -> Self {
        PatBody {
            status: pats::status(&token, now).as_str(),
            id: token.id,
            name: token.name,
            scopes: scope_words(&token.scopes),
            display_prefix: token.display_prefix,
            last_chars: token.last_chars,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewPatBody {
    #[serde(flatten)]
    pub pat: PatBody,
    /// The secret. Store it now: Trident keeps only its digest.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatRequest {
    pub name: String,
    /// A non-empty subset of your permissions.
    pub scopes: Vec<String>,
    /// Lifetime in days (or give `expires_at`).
    pub expires_in_days: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn expiry(body: &CreatePatRequest, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    match (body.expires_in_days, body.expires_at) {
        (Some(_), Some(_)) => Err(AppError::validation(
            "expires_at",
            "give expires_in_days or expires_at, not both",
        )),
        (None, None) => Err(AppError::validation(
            "expires_in_days",
            "an expiry is required",
        )),
        (Some(days), None) if !(1..=3660).contains(&days) => Err(AppError::validation(
            "expires_in_days",
            "must be a positive number of days",
        )),
        (Some(days), None) => Ok(now + Duration::days(days)),
        (None, Some(at)) => Ok(at),
    }
}

#[utoipa::path(get, path = "/api/v1/personal-access-tokens", tag = "personal-access-tokens", params(PageQuery),
    responses((status = 200, body = PageBody<PatBody>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_pats(
    principal: Principal,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let before = query.cursor(|c| Uuid::parse_str(c).ok())?;
    let page = pats::list(&state.credentials(), &principal, before, query.limit()?).await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, |t| PatBody::new(t, now))))
}

/// Mint a personal access token; the secret is in `token`, shown once.
#[utoipa::path(post, path = "/api/v1/personal-access-tokens", tag = "personal-access-tokens", request_body = CreatePatRequest,
    responses((status = 201, body = NewPatBody), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "Invalid field, a scope you do not hold, or an expiry beyond the maximum")),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "create personal access token", skip_all)]
pub async fn create_pat(
    principal: Principal,
    body: web::Json<CreatePatRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let token = NewToken {
        expires_at: expiry(&body, now)?,
        scopes: parse_scopes(&body.scopes)?,
        name: body.into_inner().name,
    };
    let (row, secret) = pats::create(&state.credentials(), &principal, token).await?;
    Ok(issued(row, &secret, now))
}

fn issued(row: Pat, secret: &OpaqueSecret, now: DateTime<Utc>) -> HttpResponse {
    let location = format!("/api/v1/personal-access-tokens/{}", row.id);
    no_store(HttpResponse::Created())
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(NewPatBody {
            pat: PatBody::new(row, now),
            token: secret.reveal().to_owned(),
        })
}

#[utoipa::path(get, path = "/api/v1/personal-access-tokens/{id}", tag = "personal-access-tokens",
    responses((status = 200, body = PatBody), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_pat(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let token = pats::get(&state.credentials(), &principal, *id).await?;
    Ok(HttpResponse::Ok().json(PatBody::new(token, state.clock.now())))
}

/// Revoke a personal access token at once.
#[utoipa::path(delete, path = "/api/v1/personal-access-tokens/{id}", tag = "personal-access-tokens",
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "revoke personal access token", skip_all)]
pub async fn revoke_pat(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    pats::revoke(&state.credentials(), &principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
