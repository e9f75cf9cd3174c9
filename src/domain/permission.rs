//! The permissions Trident itself checks, as a type: a typo does not compile, and
//! the one list of privileged permissions lives here. Roles may hold any other
//! `resource:action` scope (an application's own, such as `jobs:write`); those
//! are plain [`Scope`](super::Scope)s.

use std::fmt;

/// A permission of Trident's own API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    UsersRead,
    UsersWrite,
    RolesRead,
    RolesWrite,
    ClientsRead,
    ClientsWrite,
    AuditRead,
    ApiKeysRead,
    ApiKeysWrite,
    /// Other users' API keys.
    ApiKeysAdmin,
    /// Personal access tokens (`tokens:read`, `tokens:write`).
    TokensRead,
    TokensWrite,
    /// Calling `/oauth/introspect`: what resource servers hold.
    TokensIntrospect,
    KeysRotate,
}

impl Permission {
    /// Every permission, in the order the built-in `admin` role lists them.
    pub const ALL: [Permission; 14] = [
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::RolesRead,
        Permission::RolesWrite,
        Permission::ClientsRead,
        Permission::ClientsWrite,
        Permission::AuditRead,
        Permission::ApiKeysRead,
        Permission::ApiKeysWrite,
        Permission::ApiKeysAdmin,
        Permission::TokensRead,
        Permission::TokensWrite,
        Permission::TokensIntrospect,
        Permission::KeysRotate,
    ];

    /// The permissions that give power over other principals or over Trident
    /// itself (the built-in `admin` role holds them, and the self-service ones).
    /// The self-service permissions of the `user` role (`api_keys:read|write`,
    /// `tokens:read|write`: one's own keys and PATs) and application permissions
    /// are not among them.
    pub const PRIVILEGED: [Permission; 10] = [
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::RolesRead,
        Permission::RolesWrite,
        Permission::ClientsRead,
        Permission::ClientsWrite,
        Permission::AuditRead,
        Permission::ApiKeysAdmin,
        Permission::TokensIntrospect,
        Permission::KeysRotate,
    ];

    /// The scope string, `resource:action`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::UsersRead => "users:read",
            Permission::UsersWrite => "users:write",
            Permission::RolesRead => "roles:read",
            Permission::RolesWrite => "roles:write",
            Permission::ClientsRead => "clients:read",
            Permission::ClientsWrite => "clients:write",
            Permission::AuditRead => "audit:read",
            Permission::ApiKeysRead => "api_keys:read",
            Permission::ApiKeysWrite => "api_keys:write",
            Permission::ApiKeysAdmin => "api_keys:admin",
            Permission::TokensRead => "tokens:read",
            Permission::TokensWrite => "tokens:write",
            Permission::TokensIntrospect => "tokens:introspect",
            Permission::KeysRotate => "keys:rotate",
        }
    }

    /// Whether a scope string names a privileged permission.
    pub fn is_privileged(scope: &str) -> bool {
        Self::PRIVILEGED.iter().any(|p| p.as_str() == scope)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A credential lacks a permission it needs (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing permission {0}")]
pub struct MissingPermission(pub Permission);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scope;

    #[test]
    fn every_permission_is_a_valid_scope_and_named_once() {
        let mut seen = std::collections::BTreeSet::new();
        for p in Permission::ALL {
            assert!(Scope::parse(p.as_str()).is_ok(), "{p}");
            assert!(seen.insert(p.as_str()), "{p} named twice");
        }
        for p in Permission::PRIVILEGED {
            assert!(Permission::ALL.contains(&p), "{p}");
            assert!(Permission::is_privileged(p.as_str()));
        }
        assert!(!Permission::is_privileged("api_keys:write"));
        assert!(!Permission::is_privileged("jobs:write"));
    }
}
