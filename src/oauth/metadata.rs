//! Authorization server metadata, RFC 8414 §2: exactly what this server implements.

use serde::Serialize;

use super::token::GrantType;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: &'static [&'static str],
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: &'static [&'static str],
    pub jwks_uri: String,
    pub grant_types_supported: &'static [&'static str],
    pub token_endpoint_auth_methods_supported: &'static [&'static str],
    /// RFC 8414 §2 makes this member REQUIRED, and Trident has no authorization
    /// endpoint, so it supports no response type: the empty list is the true
    /// answer. Leaving the member out would fail validators that insist on it,
    /// and any value in it would be false.
    pub response_types_supported: &'static [&'static str],
    pub scopes_supported: Vec<String>,
    pub service_documentation: String,
}

pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

pub fn metadata(issuer: &str, scopes_supported: Vec<String>) -> Metadata {
    Metadata {
        issuer: issuer.to_owned(),
        token_endpoint: format!("{issuer}/oauth/token"),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        grant_types_supported: GrantType::SUPPORTED,
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        response_types_supported: &[],
        scopes_supported,
        service_documentation: format!("{issuer}/docs/"),
    }
}
