//! `/api/v1/api-keys`: a user's API keys. Secrets are returned once, at creation
//! and rotation, with `Cache-Control: no-store`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use entity::api_keys::Model as ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::credentials::api_keys::{self, NewKey, DEFAULT_GRACE};
use crate::domain::{scope_words, Environment, Principal, ScopeSet};
use crate::error::AppError;
use crate::http::no_store;
use crate::http::pagination::{PageBody, PageQuery};
use crate::http::problem::Problem;
use crate::secret::OpaqueSecret;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ApiKeyBody {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// `live` or `test`.
    pub environment: String,
    /// The key's own scopes; `null` means "whatever the owner currently holds".
    pub scopes: Option<Vec<String>>,
    /// The start of the key, safe to display.
    pub display_prefix: String,
    /// The last characters of the key, safe to display.
    pub last_chars: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key this one replaced by rotation.
    pub rotated_from: Option<Uuid>,
}

impl ApiKeyBody {
    pub fn new(key: ApiKey, now: DateTime<Utc>) -> Self {
        ApiKeyBody {
            status: api_keys::status(&key, now).as_str(),
            id: key.id,
            user_id: key.user_id,
            name: key.name,
            environment: key.environment,
            scopes: key.scopes.as_deref().map(scope_words),
            display_prefix: key.display_prefix,
            last_chars: key.last_chars,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
            rotated_from: key.rotated_from,
        }
    }
}

/// A key just issued: the resource plus the secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct NewApiKeyBody {
    #[serde(flatten)]
    pub api_key: ApiKeyBody,
    /// The secret. Store it now: Trident keeps only its digest.
    pub key: String,
}

impl NewApiKeyBody {
    pub fn new(key: ApiKey, secret: &OpaqueSecret, now: DateTime<Utc>) -> Self {
        NewApiKeyBody {
            api_key: ApiKeyBody::new(key, now),
            key: secret.reveal().to_owned(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// `live` (default) or `test`.
    pub environment: Option<String>,
    /// A subset of your permissions; omitted = follow your permissions.
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateApiKeyRequest {
    /// How long the old key keeps working, 0 to 2592000 (default 86400).
    pub grace_seconds: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyListQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// Another user's keys (needs `api_keys:admin`).
    pub user_id: Option<Uuid>,
}

pub fn parse_scopes(scopes: &[String]) -> Result<ScopeSet, AppError> {
    ScopeSet::parse_all(scopes.iter().map(String::as_str))
        .map_err(|e| AppError::validation("scopes", e.to_string()))
}

fn issued(key: ApiKey, secret: &OpaqueSecret, now: DateTime<Utc>) -> HttpResponse {
    let location = format!("/api/v1/api-keys/{}", key.id);
    no_store(HttpResponse::Created())
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(NewApiKeyBody::new(key, secret, now))
}

/// List your API keys (or, with `api_keys:admin`, anyone's), newest first.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(ApiKeyListQuery),
    responses((status = 200, body = PageBody<ApiKeyBody>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_api_keys(
    principal: Principal,
    query: web::Query<ApiKeyListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let before = paging.cursor(|c| Uuid::parse_str(c).ok())?;
    let page = api_keys::list(
        &state.credentials(),
        &principal,
        query.user_id,
        before,
        paging.limit()?,
    )
    .await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, |k| ApiKeyBody::new(k, now))))
}

/// Create an API key; the secret is in `key`, shown once.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = CreateApiKeyRequest,
    responses((status = 201, body = NewApiKeyBody), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "Invalid field, or a scope you do not hold")),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "create api key", skip_all)]
pub async fn create_api_key(
    principal: Principal,
    body: web::Json<CreateApiKeyRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let environment = match body.environment.as_deref() {
        None => Environment::Live,
        Some(e) => Environment::parse(e)
            .ok_or_else(|| AppError::validation("environment", "must be live or test"))?,
    };
    let key = NewKey {
        name: body.name,
        environment,
        scopes: body.scopes.as_deref().map(parse_scopes).transpose()?,
        expires_at: body.expires_at,
    };
    let (row, secret) = api_keys::create(&state.credentials(), &principal, key).await?;
    Ok(issued(row, &secret, state.clock.now()))
}

#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    responses((status = 200, body = ApiKeyBody), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_api_key(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = api_keys::get(&state.credentials(), &principal, *id).await?;
    Ok(HttpResponse::Ok().json(ApiKeyBody::new(key, state.clock.now())))
}

/// Revoke an API key at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "revoke api key", skip_all)]
pub async fn revoke_api_key(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    api_keys::revoke(&state.credentials(), &principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Issue a successor; the old key keeps working for `grace_seconds`, then stops.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys", request_body(content = RotateApiKeyRequest, description = "Optional"),
    responses((status = 201, body = NewApiKeyBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "rotate api key", skip_all)]
pub async fn rotate_api_key(
    principal: Principal,
    id: web::Path<Uuid>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let request: RotateApiKeyRequest = crate::http::optional_json(&body)?;
    let grace = request
        .grace_seconds
        .map_or(DEFAULT_GRACE, Duration::seconds);
    let (row, secret) = api_keys::rotate(&state.credentials(), &principal, *id, grace).await?;
    Ok(issued(row, &secret, state.clock.now()))
}
