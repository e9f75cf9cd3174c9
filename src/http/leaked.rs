//! `/api/v1/credentials/revoke`: report leaked Trident secrets (like GitHub's
//! credential revocation API). Open to anyone, rate-limited, and silent about
//! which secrets existed.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::Problem;
use super::extract::source_ip;
use crate::error::AppError;
use crate::oauth::introspection;
use crate::state::AppState;

const MAX_CREDENTIALS: usize = 100;

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
    if let Some(ip) = &ip {
        state
            .reports_limiter
            .check(
                &format!("leak:{}", crate::infra::throttle::address_key(ip)),
                state.clock.now(),
            )
            .map_err(|w| AppError::TooManyRequests {
                retry_after: w.num_seconds().max(1) as u64,
            })?;
    }
    if body.credentials.is_empty() || body.credentials.len() > MAX_CREDENTIALS {
        return Err(AppError::validation(
            "credentials",
            format!("send 1 to {MAX_CREDENTIALS} credentials"),
        ));
    }
    introspection::revoke_leaked(&state, &body.credentials, ip).await?;
    Ok(HttpResponse::Accepted().json(LeakReceipt {
        received: body.credentials.len(),
    }))
}
