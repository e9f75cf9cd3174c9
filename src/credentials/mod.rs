//! Opaque credentials Trident generates: their format, and the use cases that
//! issue, verify and revoke them.

mod format;
pub mod password;
pub mod sessions;

pub use format::{Digest, OpaqueSecret, SecretKind, BODY_LEN};
