//! The protocol side: JWT access tokens (RFC 9068), the token endpoint
//! (RFC 6749) and server metadata (RFC 8414). No actix here.

pub mod error;
pub mod introspection;
pub mod jwt;
pub mod metadata;
pub mod token;

pub use error::OAuthError;

/// The `client_id` of tokens Trident issues to its own users through
/// `/api/v1/auth/token` (RFC 9068 §2.2 requires the claim on every access token).
/// Registered clients get generated ids with their own prefix, so this cannot collide.
pub const FIRST_PARTY_CLIENT_ID: &str = "trident";
