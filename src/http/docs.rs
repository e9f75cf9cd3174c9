//! The OpenAPI document, generated from the handlers, and Swagger UI.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api::{
    api_keys, audit, auth, clients, leaked, me, personal_access_tokens as pats, roles, users,
};
use super::{oauth, ops, well_known};

#[derive(OpenApi)]
#[openapi(
    info(title = "Trident", description = "One authorization server for API keys, personal access tokens and OAuth2 M2M tokens."),
    paths(
        auth::issue_session_token, auth::refresh_session_token, auth::revoke_session, auth::revoke_all_sessions,
        me::get_me,
        users::register_user, users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        roles::list_roles, roles::create_role, roles::get_role, roles::replace_role, roles::delete_role,
        api_keys::list_api_keys, api_keys::create_api_key, api_keys::get_api_key, api_keys::revoke_api_key, api_keys::rotate_api_key,
        clients::list_clients, clients::create_client, clients::get_client, clients::update_client, clients::delete_client, clients::rotate_client_secret,
        oauth::issue_token, oauth::introspect_token, oauth::revoke_token, oauth::get_metadata,
        leaked::revoke_leaked_credentials,
        pats::list_pats, pats::create_pat, pats::get_pat, pats::revoke_pat,
        audit::list_audit_events,
        well_known::get_jwks,
        ops::check_health, ops::check_readiness, ops::export_metrics,
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or personal access token")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key; `Authorization: Api-Key <key>` works as well",
            ))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        // Scripts on Trident's own pages: state-changing calls also need the page's
        // CSRF token in `X-CSRF-Token` and a same-origin request.
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "trident_session",
                "The web UI's session (`__Host-trident_session` when the issuer is https); \
                 unsafe methods also need `X-CSRF-Token` from the page",
            ))),
        );
    }
}
