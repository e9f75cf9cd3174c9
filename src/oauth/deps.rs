//! What the protocol endpoints need: the credential layer's dependencies, the
//! cache of authenticated clients, and their rate limiters.

use super::client_authentication::ClientCache;
use crate::credentials::CredentialDeps;
use crate::infra::throttle::RateLimiter;

#[derive(Clone, Copy)]
pub struct OAuthDeps<'a> {
    pub credentials: CredentialDeps<'a>,
    /// Authenticated clients (callers of the OAuth endpoints).
    pub clients: &'a ClientCache,
    /// Failed client authentications, by client id and by source address.
    pub client_auth_limiter: &'a RateLimiter,
    /// Introspection requests, by caller.
    pub introspection_limiter: &'a RateLimiter,
    /// Leak reports, by source address.
    pub reports_limiter: &'a RateLimiter,
}
