//! Everything a request needs, passed explicitly (no globals).

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};

use crate::authn::InspectionCache;
use crate::clock::Clock;
use crate::config::Settings;
use crate::credentials::clients::ClientCache;
use crate::credentials::usage::UsageTracker;
use crate::infra::metrics::Metrics;
use crate::infra::throttle::{LoginThrottle, RateLimiter};
use crate::keys::KeyRing;
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
    /// Resolved credentials; see `cache` for the rules that keep it correct.
    pub inspections: InspectionCache,
    /// Authenticated clients (callers of the OAuth endpoints), under the same rules.
    pub clients: ClientCache,
}

/// The PostgreSQL channel on which nodes announce credential changes.
pub const CHANGES_CHANNEL: &str = "trident_credentials";
/// The payload of the heartbeat every node sends on [`CHANGES_CHANNEL`].
pub const HEARTBEAT: &str = "heartbeat";

impl AppState {
    /// Commits a change that can make credentials less valid, and makes every
    /// node forget what it cached: `NOTIFY` is delivered at commit (PostgreSQL),
    /// and this node clears its cache as soon as the commit returns.
    pub async fn commit_credential_change(&self, txn: DatabaseTransaction) -> Result<(), DbErr> {
        if self.db.postgres().is_some() {
            txn.execute_unprepared(&format!("NOTIFY {CHANGES_CHANNEL}"))
                .await?;
        }
        txn.commit().await?;
        self.forget_credentials();
        Ok(())
    }

    /// Clears every credential cache of this node.
    pub fn forget_credentials(&self) {
        self.inspections.invalidate_all();
        self.clients.invalidate_all();
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
