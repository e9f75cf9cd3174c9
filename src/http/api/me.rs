use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{CredentialRef, Principal, PrincipalRef};
use crate::error::AppError;
use crate::http::no_store;
use crate::http::problem::Problem;

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    #[schema(value_type = Object, example = json!({"type": "user", "id": "0193…", "name": "alice"}))]
    pub principal: PrincipalRef,
    #[schema(value_type = Object, example = json!({"kind": "user_access_token", "id": "…"}))]
    pub credential: CredentialRef,
    /// Effective scopes: the credential's own ∩ the principal's current permissions.
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
}

/// Who the presented credential acts for, with its effective scopes and roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_me(principal: Principal) -> Result<HttpResponse, AppError> {
    Ok(no_store(HttpResponse::Ok()).json(MeResponse {
        scopes: principal.scopes.to_strings(),
        principal: principal.principal,
        credential: principal.credential,
        roles: principal.roles,
    }))
}
