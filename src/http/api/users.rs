//! `/api/v1/users`: administering users (admin only).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::api_keys::NewApiKeyBody;
use crate::accounts::users::{self, CreatedUser, NewUserInput, UserUpdateInput};
use crate::domain::Principal;
use crate::error::AppError;
use crate::http::extract::source_ip;
use crate::http::no_store;
use crate::http::pagination::{PageBody, PageQuery};
use crate::http::problem::Problem;
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

/// List users, oldest first.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = PageBody<UserBody>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_users(
    principal: Principal,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let after = query.cursor(|c| Uuid::parse_str(c).ok())?;
    let page = users::list(&state.accounts(), &principal, after, query.limit()?).await?;
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
    let input = NewUserInput {
        username: &body.username,
        password: &body.password,
        roles: body.roles.as_deref(),
    };
    let created = users::create(&state.accounts(), &principal, input).await?;
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
    let password = users::parse_password(&body.password)?;
    let created =
        users::register(&state.accounts(), &body.username, password, source_ip(&req)).await?;
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
    let user = users::get(&state.accounts(), &principal, *id).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
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
    let input = UserUpdateInput {
        password: body.password.as_ref(),
        roles: body.roles.as_deref(),
        disabled: body.disabled,
    };
    let record = users::update(&state.accounts(), &principal, *id, input).await?;
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
    users::delete(&state.accounts(), &principal, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
