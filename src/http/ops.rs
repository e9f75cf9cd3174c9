//! Liveness, readiness and metrics.

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok")))]
pub async fn check_health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// The database answers a read and takes a write.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200), (status = 503)))]
pub async fn check_readiness(state: web::Data<AppState>) -> HttpResponse {
    if state.db.is_ready(state.clock.now()).await {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .body("the database cannot read or write")
    }
}

/// OpenMetrics text exposition (what Prometheus scrapes).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "application/openmetrics-text")))]
pub async fn export_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(&[
            ("inspections", state.inspections.stats()),
            ("clients", state.clients.stats()),
        ]))
}
