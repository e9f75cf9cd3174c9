//! What the credential use cases need, and nothing more: the database, time,
//! the signing keys, the caches they fill and the notifier they commit through.
//! `AppState` builds one per request (`state.credentials()`); nothing below the
//! HTTP layer sees the whole state.

use crate::clock::Clock;
use crate::config::Settings;
use crate::infra::throttle::LoginThrottle;
use crate::keys::KeyRing;
use crate::secret::password::PasswordHasher;
use crate::store::Db;

use super::changes::ChangeNotifier;
use super::usage::UsageTracker;
use crate::domain::Inspection;
use crate::infra::cache::CredentialCache;

/// Resolved credentials, by the digest of what was presented.
pub type InspectionCache = CredentialCache<Inspection>;

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
}
