//! Cross-cutting response concerns: an access log and metrics that record the
//! matched route pattern (never the raw path or query, which can carry secrets),
//! and security headers on every response.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use super::fallback::wants_page;
use super::problem::problem;
use super::ui::errors::UiError;
use crate::state::AppState;

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    // Every route is named by its pattern (`startup::routes`): no allocation.
    let route = response.request().match_name().unwrap_or("(unmatched)");
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state.metrics.observe(route, method, status, elapsed);
    }
    tracing::info!(%method, %route, status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
    Ok(response)
}

/// The method as a label: the standard ones by name, anything else as one value.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_docs = req.path().starts_with("/docs");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let set = |headers: &mut actix_web::http::header::HeaderMap,
               name: &'static str,
               value: &'static str| {
        if !headers.contains_key(name) {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    };
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    // Swagger UI needs inline styles and its own scripts; everything else is JSON.
    let csp = if is_docs {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    set(headers, "content-security-policy", csp);
    Ok(response)
}

/// The framework answers some errors itself with an empty body (405 with `Allow`):
/// give them the problem+json body every other error has, or the error page when
/// a browser asks for a page.
pub async fn problem_for_bare_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    let bare = response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(CONTENT_TYPE);
    if !bare {
        return Ok(response.map_into_left_body());
    }
    let (req, original) = response.into_parts();
    let mut replacement = if wants_page(&req) {
        HttpResponse::from_error(UiError::page(
            StatusCode::METHOD_NOT_ALLOWED,
            "This address does not take that kind of request.",
        ))
    } else {
        problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            Some("see the Allow header".into()),
            None,
        )
    };
    if let Some(allow) = original.headers().get(ALLOW) {
        replacement.headers_mut().insert(ALLOW, allow.clone());
    }
    Ok(ServiceResponse::new(req, replacement).map_into_right_body())
}
