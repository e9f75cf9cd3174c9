//! Trident: one authorization server for API keys, personal access tokens and
//! OAuth2 client-credentials M2M tokens, with RFC 7662 introspection for all.

pub mod accounts;
pub mod clock;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod domain;
pub mod error;
pub mod http;
pub mod infra;
pub mod keys;
pub mod oauth;
pub mod secret;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
