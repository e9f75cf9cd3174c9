//! sea-orm entities: one module per table, no business logic.

pub mod api_keys;
pub mod audit_events;
pub mod browser_sessions;
pub mod client_roles;
pub mod client_secrets;
pub mod clients;
pub mod personal_access_tokens;
pub mod refresh_token_families;
pub mod refresh_tokens;
pub mod revoked_jtis;
pub mod role_permissions;
pub mod roles;
pub mod signing_keys;
pub mod user_roles;
pub mod users;
pub mod write_probes;
