//! Managing principals and RBAC: users, roles and clients. Every change is
//! audited, and every rule about who may do it is here, once, for the API and
//! the web UI alike: each use case checks its caller's permission first.

pub mod audit;
pub mod clients;
pub mod grants;
pub mod roles;
pub mod users;

use crate::credentials::CredentialDeps;
use crate::infra::throttle::RateLimiter;

pub const ADMIN_ROLE: &str = "admin";
pub const USER_ROLE: &str = "user";

/// What the account use cases need: the credential layer's dependencies (they
/// issue first API keys and client secrets, and commit changes through its
/// notifier), and the limiter of self-registrations.
#[derive(Clone, Copy)]
pub struct AccountDeps<'a> {
    pub credentials: CredentialDeps<'a>,
    /// Self-registrations (and leak reports), by source address.
    pub reports_limiter: &'a RateLimiter,
}
