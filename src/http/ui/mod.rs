//! The web UI: server-rendered pages from `templates/` (askama, escaped by
//! default), one small stylesheet and one small script served by Trident.
//! Handlers here call the same use cases as the JSON API; what is UI-specific is
//! the session cookie, the CSRF checks ([`forms::CheckedForm`]) and the pages.
//!
//! Every page answers with a strict Content-Security-Policy and `no-store` (pages
//! show a user's credentials; the ones that show a secret must never be cached).

pub mod account;
pub mod admin_audit;
pub mod admin_clients;
pub mod admin_roles;
pub mod admin_users;
pub mod api_keys;
pub mod assets;
pub mod error_page;
pub mod errors;
pub mod forms;
pub mod frame;
pub mod pages;
pub mod tokens;
