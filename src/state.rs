//! Everything a request needs, passed explicitly (no globals).

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::credentials::password::PasswordHasher;
use crate::credentials::usage::UsageTracker;
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::store::Db;
use crate::throttle::RateLimiter;

pub struct AppState {
    pub db: Db,
    pub keys: Arc<KeyRing>,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// Login attempts, keyed by username and by source address.
    pub login_limiter: RateLimiter,
    /// Failed client authentications, keyed by client id and by source address.
    pub client_auth_limiter: RateLimiter,
    pub metrics: Metrics,
    /// Last-used times waiting to be written.
    pub usage: UsageTracker,
}
