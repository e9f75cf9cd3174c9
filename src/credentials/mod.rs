//! Opaque credentials Trident generates: their format, and the use cases that
//! issue, verify and revoke them.

pub mod api_keys;
mod format;
pub mod password;
pub mod sessions;
pub mod usage;

pub use format::{Digest, OpaqueSecret, SecretKind, BODY_LEN};
