//! Leaf utilities with no knowledge of Trident's concepts: the credential
//! cache, rate limiting, metrics.

pub mod cache;
pub mod metrics;
pub mod throttle;
