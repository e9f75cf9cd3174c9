//! What the credential use cases need, and nothing more: the database, time,
//! the signing keys, the caches they fill and the notifier they commit through.
//! `AppState` builds one per request (`state.credentials()`); nothing below the
//! HTTP layer sees the whole state.

use crate::clock::Clock;
use crate::config::Settings;
use crate::infra::metrics::Metrics;
use crate::infra::throttle::LoginThrottle;
use crate::keys::KeyRing;
use crate::secret::password::PasswordHasher;
use crate::store::Db;

use super::changes::ChangeNotifier;
use super::usage::UsageTracker;
use crate::domain::{Grants, Inspection, Principal, ScopeSet};
use crate::infra::cache::{CredentialCache, Weigh};

/// Resolved credentials, by the digest of what was presented.
pub type InspectionCache = CredentialCache<Inspection>;

/// Per heap allocation: what the allocator keeps beside it, and a B-tree
/// node's share per element.
const ALLOCATION: usize = 16;

fn text(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.len() + ALLOCATION
    }
}

/// A B-tree leaf of a set of `String`s: room for eleven keys and the node's
/// own fields, allocated whole however few keys it holds.
const BTREE_LEAF: usize = 11 * std::mem::size_of::<String>() + 16 + ALLOCATION;

/// The heap behind a set of scopes and a list of roles.
pub fn weigh_grants(scopes: &ScopeSet, roles: &[String]) -> usize {
    let scopes: usize = scopes.len().div_ceil(11) * BTREE_LEAF
        + scopes.iter().map(|s| text(s.as_str())).sum::<usize>();
    let roles: usize = roles
        .iter()
        .map(|r| text(r) + std::mem::size_of::<String>())
        .sum();
    scopes + roles + ALLOCATION
}

fn weigh_principal(p: &Principal) -> usize {
    text(&p.principal.id)
        + text(&p.principal.name)
        + text(&p.credential.id)
        + weigh_grants(&p.scopes, &p.roles)
}

impl Weigh for Inspection {
    fn weight(&self) -> usize {
        let optional = |s: &Option<String>| s.as_deref().map_or(0, text);
        let audience = match &self.audience {
            None => 0,
            Some(crate::domain::Audience::One(a)) => text(a),
            Some(crate::domain::Audience::Many(all)) => all.iter().map(|a| text(a) + 24).sum(),
        };
        std::mem::size_of::<Self>()
            + weigh_principal(&self.principal)
            + optional(&self.jti)
            + optional(&self.client_id)
            + optional(&self.session)
            + audience
    }
}

impl Weigh for Grants {
    fn weight(&self) -> usize {
        weigh_grants(&self.permissions, &self.roles)
    }
}

#[derive(Clone, Copy)]
pub struct CredentialDeps<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
    pub keys: &'a KeyRing,
    pub settings: &'a Settings,
    /// Resolved credentials (see `infra::cache` for the rules that keep it correct).
    pub inspections: &'a InspectionCache,
    /// Last-used times waiting to be written.
    pub usage: &'a UsageTracker,
    pub changes: &'a ChangeNotifier,
    /// Passwords: hashing with bounded concurrency, and guessing throttled.
    pub hasher: &'a PasswordHasher,
    pub logins: &'a LoginThrottle,
    pub metrics: &'a Metrics,
}
