//! The HTTP surface: thin handlers, extractors, error rendering, middleware.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod docs;
pub mod error;
pub mod extract;
pub mod me;
pub mod middleware;
pub mod ops;
pub mod pagination;
pub mod roles;
pub mod users;
pub mod well_known;

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::HttpResponseBuilder;

/// Responses that carry credentials must never be cached (RFC 6749 §5.1).
pub fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((actix_web::http::header::PRAGMA, "no-cache"));
    builder
}
