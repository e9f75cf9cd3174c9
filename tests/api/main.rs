//! One integration test binary; a module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_keys;
mod bad_input;
mod cli;
mod helpers;
mod jwt;
mod m2m;
mod ops;
mod pats;
mod roles;
mod sessions;
mod smoke;
mod users;
