//! `/api/v1/clients`: registered OAuth2 clients (admin only). Secrets are shown once.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::clients::{
    self, ClientUpdateInput, NewClientInput, RotatedSecret, DEFAULT_SECRET_GRACE,
};
use crate::domain::Principal;
use crate::error::AppError;
use crate::http::no_store;
use crate::http::pagination::{PageBody, PageQuery};
use crate::http::problem::Problem;
use crate::secret::OpaqueSecret;
use crate::state::AppState;
use crate::store::clients::ClientRecord;

#[derive(Serialize, ToSchema)]
pub struct ClientBody {
    /// The resource id used in paths.
    pub id: Uuid,
    /// The OAuth `client_id`.
    pub client_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    /// The client's own access-token lifetime; `null` = the server default.
    pub access_token_ttl_seconds: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ClientRecord> for ClientBody {
    fn from(r: ClientRecord) -> Self {
        ClientBody {
            id: r.client.id,
            client_id: r.client.client_id,
            name: r.client.name,
            roles: r.roles,
            disabled: r.client.disabled,
            access_token_ttl_seconds: r.client.access_token_ttl_seconds,
            created_at: r.client.created_at,
            updated_at: r.client.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewClientBody {
    #[serde(flatten)]
    pub client: ClientBody,
    /// Shown once; Trident keeps only its digest.
    pub client_secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct NewSecretBody {
    pub client_id: String,
    /// Shown once.
    pub client_secret: String,
    pub display_prefix: String,
    pub last_chars: String,
    pub created_at: DateTime<Utc>,
    /// Until when the previous secrets keep working.
    pub previous_secrets_expire_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub access_token_ttl_seconds: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    pub name: Option<String>,
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
    /// `null` resets to the server default.
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<i64>)]
    pub access_token_ttl_seconds: Option<Option<i64>>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long previous secrets keep working, 0 to 2592000 (default 86400).
    pub grace_seconds: Option<i64>,
}

fn issued_client(record: ClientRecord, secret: &OpaqueSecret) -> HttpResponse {
    let location = format!("/api/v1/clients/{}", record.client.id);
    no_store(HttpResponse::Created())
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(NewClientBody {
            client: ClientBody::from(record),
            client_secret: secret.reveal().to_owned(),
        })
}

#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", params(PageQuery),
    responses((status = 200, body = PageBody<ClientBody>), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_clients(
    principal: Principal,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let after = query.cursor(|c| Uuid::parse_str(c).ok())?;
    let page = clients::list(&state.accounts(), &principal, after, query.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, ClientBody::from)))
}

/// Register a client; `client_secret` is shown once.
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", request_body = CreateClientRequest,
    responses((status = 201, body = NewClientBody), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "create client", skip_all)]
pub async fn create_client(
    principal: Principal,
    body: web::Json<CreateClientRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = NewClientInput {
        name: &body.name,
        roles: &body.roles,
        access_token_ttl_seconds: body.access_token_ttl_seconds,
    };
    let (record, secret) = clients::create(&state.accounts(), Some(&principal), input).await?;
    Ok(issued_client(record, &secret))
}

#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients",
    responses((status = 200, body = ClientBody), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_client(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let client = clients::get(&state.accounts(), &principal, *id).await?;
    Ok(HttpResponse::Ok().json(ClientBody::from(client)))
}

/// Rename, change roles or token lifetime, or disable; a disabled client's tokens stop working at once.
#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients", request_body = UpdateClientRequest,
    responses((status = 200, body = ClientBody), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "update client", skip_all)]
pub async fn update_client(
    principal: Principal,
    id: web::Path<Uuid>,
    body: web::Json<UpdateClientRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = ClientUpdateInput {
        name: body.name.as_deref(),
        roles: body.roles.as_deref(),
        disabled: body.disabled,
        access_token_ttl_seconds: body.access_token_ttl_seconds,
    };
    let record = clients::update(&state.accounts(), &principal, *id, input).await?;
    Ok(HttpResponse::Ok().json(ClientBody::from(record)))
}

/// Delete a client; its tokens stop working at once.
#[utoipa::path(delete, path = "/api/v1/clients/{id}", tag = "clients",
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "delete client", skip_all)]
pub async fn delete_client(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    clients::delete(&state.accounts(), &principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a secret; the previous ones keep working for `grace_seconds`.
#[utoipa::path(post, path = "/api/v1/clients/{id}/secrets", tag = "clients", request_body(content = RotateSecretRequest, description = "Optional"),
    responses((status = 201, body = NewSecretBody), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "rotate client secret", skip_all)]
pub async fn rotate_client_secret(
    principal: Principal,
    id: web::Path<Uuid>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let request: RotateSecretRequest = crate::http::optional_json(&body)?;
    let grace = request
        .grace_seconds
        .map_or(DEFAULT_SECRET_GRACE, Duration::seconds);
    let RotatedSecret {
        client,
        row,
        secret,
        ..
    } = clients::rotate_secret(&state.accounts(), &principal, *id, grace).await?;
    Ok(no_store(HttpResponse::Created()).json(NewSecretBody {
        client_id: client.client.client_id,
        client_secret: secret.reveal().to_owned(),
        display_prefix: row.display_prefix,
        last_chars: row.last_chars,
        created_at: row.created_at,
        previous_secrets_expire_at: row.created_at + grace,
    }))
}
