//! What a principal may currently do.

use super::ScopeSet;

/// A principal's roles and the union of their permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub roles: Vec<String>,
    pub permissions: ScopeSet,
}
