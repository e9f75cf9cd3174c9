//! `/api/v1/credentials/revoke`: report leaked Trident secrets (like GitHub's
//! credential revocation API). Open to anyone, rate-limited, and silent about
//! which secrets existed.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::extract::source_ip;
use crate::http::problem::Problem;
use crate::oauth::leaked;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReport {
    /// Up to 100 secrets or tokens found where they should not be.
    pub credentials: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LeakReceipt {
    /// How many were received (not how many existed).
    pub received: usize,
}

#[utoipa::path(post, path = "/api/v1/credentials/revoke", tag = "credentials", request_body = LeakReport,
    responses((status = 202, body = LeakReceipt), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[tracing::instrument(name = "revoke leaked credentials", skip_all)]
pub async fn revoke_leaked_credentials(
    req: HttpRequest,
    body: web::Json<LeakReport>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let ip = source_ip(&req);
    leaked::revoke_leaked(&state.oauth(), &body.credentials, ip).await?;
    Ok(HttpResponse::Accepted().json(LeakReceipt {
        received: body.credentials.len(),
    }))
}
