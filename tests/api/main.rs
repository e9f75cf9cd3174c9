//! One integration test binary; a module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_keys;
mod bad_input;
mod browser;
mod cli;
mod credential_cache;
mod database_tls;
mod escalation;
mod grants;
mod helpers;
mod inline_lookups;
mod introspection;
mod jwt;
mod m2m;
mod ops;
mod pats;
mod resource_servers;
mod revocation;
mod roles;
mod sessions;
mod smoke;
mod storage_faults;
mod targeted_invalidation;
mod usernames;
mod users;
mod web_ui;
