//! The application's state: what the HTTP layer holds, and builds each layer's
//! narrow dependencies from (`credentials()`, `oauth()`, `accounts()`). Nothing
//! below the HTTP layer takes it.

use std::sync::Arc;

use crate::accounts::AccountDeps;
use crate::clock::Clock;
use crate::config::Settings;
use crate::credentials::changes::ChangeNotifier;
use crate::credentials::usage::UsageTracker;
use crate::credentials::CredentialDeps;
use crate::credentials::InspectionCache;
use crate::infra::metrics::Metrics;
use crate::infra::throttle::{LoginThrottle, RateLimiter};
use crate::keys::KeyRing;
use crate::oauth::client_authentication::ClientCache;
use crate::oauth::OAuthDeps;
use crate::secret::password::PasswordHasher;
use crate::store::Db;

pub struct AppState {
    pub db: Db,
    pub keys: Arc<KeyRing>,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// Failed password logins, by account, address and both (see `LoginThrottle`).
    pub logins: LoginThrottle,
    /// Self-registrations and leak reports, by source address.
    pub reports_limiter: RateLimiter,
    /// Failed client authentications, keyed by client id and by source address.
    pub client_auth_limiter: RateLimiter,
    /// Introspection requests, keyed by caller.
    pub introspection_limiter: RateLimiter,
    pub metrics: Metrics,
    /// Last-used times waiting to be written.
    pub usage: UsageTracker,
    /// Resolved credentials; see `infra::cache` for the rules that keep it correct.
    pub inspections: Arc<InspectionCache>,
    /// Authenticated clients (callers of the OAuth endpoints), under the same rules.
    pub clients: Arc<ClientCache>,
    /// Commits changes, and makes the caches above forget what they touched.
    pub changes: ChangeNotifier,
}

impl AppState {
    pub fn credentials(&self) -> CredentialDeps<'_> {
        CredentialDeps {
            db: &self.db,
            clock: self.clock.as_ref(),
            keys: &self.keys,
            settings: &self.settings,
            inspections: &self.inspections,
            usage: &self.usage,
            changes: &self.changes,
            hasher: &self.hasher,
            logins: &self.logins,
            metrics: &self.metrics,
        }
    }

    pub fn oauth(&self) -> OAuthDeps<'_> {
        OAuthDeps {
            credentials: self.credentials(),
            clients: &self.clients,
            client_auth_limiter: &self.client_auth_limiter,
            introspection_limiter: &self.introspection_limiter,
            reports_limiter: &self.reports_limiter,
        }
    }

    pub fn accounts(&self) -> AccountDeps<'_> {
        AccountDeps {
            credentials: self.credentials(),
            reports_limiter: &self.reports_limiter,
        }
    }

    /// The credential caches answer until `until` (PostgreSQL: extended by every
    /// notification that arrives, heartbeats included).
    pub fn trust_credential_caches_until(&self, until: chrono::DateTime<chrono::Utc>) {
        self.inspections.trust_until(until);
        self.clients.trust_until(until);
    }

    /// Turns the credential caches on or off (each also cleared).
    pub fn set_credential_caches(&self, enabled: bool) {
        self.inspections.set_enabled(enabled);
        self.clients.set_enabled(enabled);
    }
}
