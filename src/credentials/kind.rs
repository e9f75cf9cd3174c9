//! What every credential kind shares: the trait it implements, who may revoke
//! it and what a revocation reports, and the rule for the names people give it.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::changes::Change;
use super::deps::CredentialDeps;
use super::error::AuthnError;
use crate::domain::{CredentialKind, Inspection, Principal};
use crate::error::AppError;
use crate::secret::OpaqueSecret;

/// A credential's or client's name: see [`crate::domain::check_label`].
pub fn validate_name(name: &str) -> Result<(), AppError> {
    crate::domain::check_label(name).map_err(|e| AppError::validation("name", e.0))
}

/// Who asks for a revocation.
#[derive(Clone, Copy)]
pub enum Revoker<'a> {
    /// RFC 7009: the caller, for credentials it owns (a test credential only
    /// for its test credentials).
    Owner(&'a Principal),
    /// Anyone reporting a leaked secret: whatever exists is revoked.
    LeakReport,
}

/// A credential a revocation ended.
#[derive(Debug)]
pub struct Revoked {
    pub kind: CredentialKind,
    /// The id the audit log names it by (a row id, a session's id, a `jti`).
    pub id: String,
    /// Its principal, for the leak report's audit row.
    pub owner: Option<String>,
    /// What caches must forget.
    pub change: Change,
}

/// What a kind of opaque credential implements. Dispatch is by the secret's
/// kind (an enum, one exhaustive `match` per operation below: a new
/// `SecretKind` does not compile until both name its code), so the trait is
/// never used as `dyn` and its futures need no `Send` bound.
pub(crate) trait Credential {
    /// Whom `secret` stands for now, or one uniform refusal.
    async fn inspect(
        deps: &CredentialDeps<'_>,
        secret: &OpaqueSecret,
        now: DateTime<Utc>,
    ) -> Result<Inspection, AuthnError>;

    /// Ends `secret` if `by` may; `None` when nothing was revoked (unknown,
    /// already revoked, or not the caller's), which callers answer alike.
    async fn revoke(
        db: &impl ConnectionTrait,
        secret: &OpaqueSecret,
        by: Revoker<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Revoked>, AuthnError>;
}
