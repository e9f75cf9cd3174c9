//! The protocol side: the token endpoint (RFC 6749), client authentication,
//! introspection (RFC 7662), revocation (RFC 7009), leaked-credential reports
//! and server metadata (RFC 8414). No actix here; every use case takes
//! [`OAuthDeps`].

pub mod client_authentication;
mod deps;
pub mod error;
pub mod introspection;
pub mod leaked;
pub mod metadata;
pub mod params;
pub mod revocation;
pub mod token;

pub use deps::OAuthDeps;
pub use error::OAuthError;
