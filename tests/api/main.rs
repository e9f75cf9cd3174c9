//! One integration test binary; a module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_keys;
mod helpers;
mod smoke;
