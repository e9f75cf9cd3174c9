//! Secrets: the format of the opaque ones Trident generates, the anti-forgery
//! tokens derived from cookies, and password hashing.

pub mod csrf;
mod opaque;
pub mod password;

pub use opaque::{random_base62, Digest, OpaqueSecret, SecretKind};
