//! What an authenticated request acts for: the principal, the credential that
//! proved it, and the effective scopes and roles.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CredentialKind, MissingPermission, Permission, ScopeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Client,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PrincipalRef {
    #[serde(rename = "type")]
    pub kind: PrincipalKind,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CredentialRef {
    pub kind: CredentialKind,
    pub id: String,
    /// `live` or `test`, for API keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// When the credential stops working by itself (`None`: it does not).
    #[serde(skip)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The credential carries whatever its principal holds now (a user's own
    /// session, an API key made without scopes), not a list of its own.
    #[serde(skip)]
    pub follows_principal: bool,
}

/// Whether an API key acts on live or on test data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Live,
    Test,
}

impl Environment {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(Environment::Live),
            "test" => Some(Environment::Test),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Test => "test",
        }
    }
}

/// A resolved, currently valid credential.
#[derive(Debug, Clone)]
pub struct Principal {
    pub principal: PrincipalRef,
    pub credential: CredentialRef,
    /// The credential's own scopes ∩ the principal's current permissions.
    pub scopes: ScopeSet,
    pub roles: Vec<String>,
}

impl Principal {
    /// Whether the effective scopes hold `scope` (any `resource:action`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether the effective scopes hold one of Trident's own permissions.
    pub fn has(&self, permission: Permission) -> bool {
        self.has_scope(permission.as_str())
    }

    /// Authorises in one line: `principal.require(Permission::UsersWrite)?`.
    pub fn require(&self, permission: Permission) -> Result<(), MissingPermission> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(MissingPermission(permission))
        }
    }

    /// A test credential may act on test credentials only; anything else on either.
    pub fn may_act_on(&self, environment: Environment) -> bool {
        !(self.credential.environment == Some(Environment::Test)
            && environment == Environment::Live)
    }

    /// Whether a credential of principal `id` (of `kind`) in `environment` is
    /// this caller's to revoke (RFC 7009): its own, within its environment.
    pub fn owns(&self, kind: PrincipalKind, id: &str, environment: Environment) -> bool {
        self.principal.kind == kind && self.principal.id == id && self.may_act_on(environment)
    }

    pub fn is_user(&self, user_id: &str) -> bool {
        self.principal.kind == PrincipalKind::User && self.principal.id == user_id
    }
}
