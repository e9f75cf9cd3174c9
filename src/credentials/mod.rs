//! Opaque credentials Trident generates: their format, and the use cases that
//! issue, verify and revoke them.

pub mod api_keys;
pub mod clients;
mod format;
pub mod password;
pub mod sessions;
pub mod usage;

pub use format::{random_base62, Digest, OpaqueSecret, SecretKind};
