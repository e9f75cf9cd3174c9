//! `/api/v1/roles`: roles and their permissions (admin only).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::roles::{self, RoleInput};
use crate::domain::Principal;
use crate::error::AppError;
use crate::http::pagination::{PageBody, PageQuery};
use crate::http::problem::Problem;
use crate::state::AppState;
use crate::store::roles::RoleRecord;

#[derive(Serialize, ToSchema)]
pub struct RoleBody {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
}

impl From<RoleRecord> for RoleBody {
    fn from(record: RoleRecord) -> Self {
        RoleBody {
            name: record.role.name,
            description: record.role.description,
            permissions: record.permissions,
            builtin: record.role.builtin,
            created_at: record.role.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `resource:action` strings.
    pub permissions: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRoleRequest {
    #[serde(default)]
    pub description: String,
    pub permissions: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", params(PageQuery),
    responses((status = 200, body = PageBody<RoleBody>), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_roles(
    principal: Principal,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let after = query.cursor(|c| Some(c.to_owned()))?;
    let page = roles::list(
        &state.accounts(),
        &principal,
        after.as_deref(),
        query.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, RoleBody::from)))
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = CreateRoleRequest,
    responses((status = 201, body = RoleBody), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "create role", skip_all)]
pub async fn create_role(
    principal: Principal,
    body: web::Json<CreateRoleRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = RoleInput {
        description: &body.description,
        permissions: &body.permissions,
    };
    let record = roles::create(&state.accounts(), &principal, &body.name, input).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/roles/{}", record.role.name),
        ))
        .json(RoleBody::from(record)))
}

#[utoipa::path(get, path = "/api/v1/roles/{name}", tag = "roles",
    responses((status = 200, body = RoleBody), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_role(
    principal: Principal,
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let role = roles::get(&state.accounts(), &principal, &name).await?;
    Ok(HttpResponse::Ok().json(RoleBody::from(role)))
}

/// Replace a role's description and permissions; every holder's credentials narrow or widen at once.
#[utoipa::path(put, path = "/api/v1/roles/{name}", tag = "roles", request_body = ReplaceRoleRequest,
    responses((status = 200, body = RoleBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "replace role", skip_all)]
pub async fn replace_role(
    principal: Principal,
    name: web::Path<String>,
    body: web::Json<ReplaceRoleRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = RoleInput {
        description: &body.description,
        permissions: &body.permissions,
    };
    let record = roles::replace(&state.accounts(), &principal, &name, input).await?;
    Ok(HttpResponse::Ok().json(RoleBody::from(record)))
}

#[utoipa::path(delete, path = "/api/v1/roles/{name}", tag = "roles",
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem, description = "Built-in role")),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "delete role", skip_all)]
pub async fn delete_role(
    principal: Principal,
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    roles::delete(&state.accounts(), &principal, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}
