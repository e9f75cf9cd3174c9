//! `/api/v1/users`: administering users (admin only).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::api_keys::NewApiKeyBody;
use super::error::Problem;
use super::extract::source_ip;
use super::no_store;
use super::pagination::{PageBody, PageQuery};
use crate::accounts::{self, CreatedUser, UserUpdate, USER_ROLE};
use crate::domain::Permission;
use crate::domain::{Password, Principal, RoleName, Username};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users::UserRecord;

#[derive(Serialize, ToSchema)]
pub struct UserBody {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRecord> for UserBody {
    fn from(record: UserRecord) -> Self {
        UserBody {
            id: record.user.id,
            username: record.user.username,
            roles: record.roles,
            disabled: record.user.disabled,
            created_at: record.user.created_at,
            updated_at: record.user.updated_at,
        }
    }
}

/// A new user; with `api_key` (its secret shown this once) when keys are issued on creation.
#[derive(Serialize, ToSchema)]
pub struct CreatedUserBody {
    #[serde(flatten)]
    pub user: UserBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<NewApiKeyBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// Defaults to `["user"]`.
    pub roles: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

pub fn parse_password(password: &SecretString) -> Result<Password, AppError> {
    Password::parse(password.expose_secret().to_owned())
        .map_err(|e| AppError::validation("password", e.0))
}

/// List users, oldest first.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = PageBody<UserBody>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_users(
    principal: Principal,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Permission::UsersRead)?;
    let after = query.cursor(|c| Uuid::parse_str(c).ok())?;
    let page = accounts::list_users(&state, after, query.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, UserBody::from)))
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = CreatedUserBody), (status = 409, body = Problem, description = "Username taken"),
        (status = 422, body = Problem, description = "A field is invalid; `field` names it")),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "create user", skip_all)]
pub async fn create_user(
    principal: Principal,
    body: web::Json<CreateUserRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Permission::UsersWrite)?;
    let username =
        Username::parse(&body.username).map_err(|e| AppError::validation("username", e.0))?;
    let password = parse_password(&body.password)?;
    let roles = match &body.roles {
        Some(roles) => RoleName::parse_all(roles.iter().map(String::as_str))?,
        None => RoleName::parse_all([USER_ROLE])?,
    };
    let issue_key = state.settings.api_key_on_user_create;
    let created = accounts::create_user(
        &state,
        Some(&principal),
        username,
        password,
        roles,
        issue_key,
    )
    .await?;
    Ok(created_user(created, state.clock.now()))
}

/// 201 with the user and, once, its first API key.
fn created_user(created: CreatedUser, now: DateTime<Utc>) -> HttpResponse {
    let location = format!("/api/v1/users/{}", created.record.user.id);
    let body = CreatedUserBody {
        api_key: created
            .api_key
            .map(|(key, secret)| NewApiKeyBody::new(key, &secret, now)),
        user: UserBody::from(created.record),
    };
    no_store(HttpResponse::Created())
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(body)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Self-registration, when `TRIDENT_ALLOW_REGISTRATION` is on (otherwise 404): a
/// user with the `user` role and, by default, a live API key shown once.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = CreatedUserBody), (status = 404, body = Problem, description = "Registration is off"),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[tracing::instrument(name = "register user", skip_all)]
pub async fn register_user(
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let password = parse_password(&body.password)?;
    let created = accounts::register(&state, &body.username, password, source_ip(&req)).await?;
    Ok(created_user(created, state.clock.now()))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    responses((status = 200, body = UserBody), (status = 404, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_user(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Permission::UsersRead)?;
    Ok(HttpResponse::Ok().json(UserBody::from(accounts::get_user(&state, *id).await?)))
}

/// Change a user's password, roles or disabled flag. A new password ends the user's sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUserRequest,
    responses((status = 200, body = UserBody), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Would leave no enabled administrator"), (status = 422, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "update user", skip_all)]
pub async fn update_user(
    principal: Principal,
    id: web::Path<Uuid>,
    body: web::Json<UpdateUserRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Permission::UsersWrite)?;
    let update = UserUpdate {
        password: body.password.as_ref().map(parse_password).transpose()?,
        roles: body
            .roles
            .as_ref()
            .map(|r| RoleName::parse_all(r.iter().map(String::as_str)))
            .transpose()?,
        disabled: body.disabled,
    };
    let record = accounts::update_user(&state, &principal, *id, update).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(record)))
}

/// Delete a user and, with it, all of its credentials.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
#[tracing::instrument(name = "delete user", skip_all)]
pub async fn delete_user(
    principal: Principal,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Permission::UsersWrite)?;
    accounts::delete_user(&state, &principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
