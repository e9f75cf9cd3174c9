//! `/.well-known/jwks.json` (RFC 7517 §5): the public keys of every published signing key.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

use crate::state::AppState;

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery",
    responses((status = 200, content_type = "application/jwk-set+json", description = "The JWK set")))]
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        // Short, so a rotation reaches verifiers quickly.
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(300),
        ]))
        .json(state.keys.jwks().as_ref())
}
