//! `/api/v1/roles`: roles and their permissions (admin only).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::Problem;
use super::pagination::{PageBody, PageQuery};
use crate::accounts;
use crate::domain::Permission;
use crate::domain::{Principal, RoleName, ScopeSet};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::roles::RoleRecord;

const MAX_DESCRIPTION_CHARS: usize = 500;

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

pub fn parse_permissions(permissions: &[String]) -> Result<ScopeSet, AppError> {
    ScopeSet::parse_all(permissions.iter().map(String::as_str))
        .map_err(|e| AppError::validation("permissions", e.to_string()))
}

/// A path segment that is not a valid role name names no role.
fn existing_role_name(name: &str) -> Result<RoleName, AppError> {
    RoleName::parse(name).map_err(|_| AppError::NotFound)
}

pub fn check_description(description: &str) -> Result<(), AppError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS
        || description.chars().any(char::is_control)
    {
        return Err(AppError::validation(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters, no control characters"),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", params(PageQuery),
    responses((status = 200, body = PageBody<RoleBody>), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_roles(
    principal: Principal,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Permission::RolesRead)?;
    let after = query.cursor(|c| Some(c.to_owned()))?;
    let page = accounts::list_roles(&state, after.as_deref(), query.limit()?).await?;
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
    principal.require(Permission::RolesWrite)?;
    let name = RoleName::parse(&body.name).map_err(|e| AppError::validation("name", e.0))?;
    check_description(&body.description)?;
    let permissions = parse_permissions(&body.permissions)?;
    let record =
        accounts::create_role(&state, &principal, name, &body.description, permissions).await?;
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
    principal.require(Permission::RolesRead)?;
    let name = existing_role_name(&name)?;
    Ok(HttpResponse::Ok().json(RoleBody::from(
        accounts::get_role(&state, name.as_str()).await?,
    )))
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
    principal.require(Permission::RolesWrite)?;
    let name = existing_role_name(&name)?;
    check_description(&body.description)?;
    let permissions = parse_permissions(&body.permissions)?;
    let record = accounts::replace_role(
        &state,
        &principal,
        name.as_str(),
        &body.description,
        permissions,
    )
    .await?;
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
    principal.require(Permission::RolesWrite)?;
    let name = existing_role_name(&name)?;
    accounts::delete_role(&state, &principal, name.as_str()).await?;
    Ok(HttpResponse::NoContent().finish())
}
