//! The HTTP surface: thin handlers, extractors, error rendering, middleware.

pub mod api;
pub mod body;
pub mod browser;
pub mod credential_header;
pub mod docs;
pub mod extract;
pub mod fallback;
pub mod middleware;
pub mod oauth;
pub mod oauth_error;
pub mod ops;
pub mod pagination;
pub mod problem;
pub mod ui;
pub mod well_known;

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::HttpResponseBuilder;
use serde::{Deserialize, Deserializer};

use crate::error::AppError;

/// Responses that carry credentials must never be cached (RFC 6749 §5.1).
pub fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((actix_web::http::header::PRAGMA, "no-cache"));
    builder
}

/// An optional JSON body: empty means the defaults, anything else must parse.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// For PATCH fields where `null` means "clear": absent → `None`, `null` → `Some(None)`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
