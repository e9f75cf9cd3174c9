//! `TRIDENT_CREDENTIAL_CACHE_MB` bounds what the credential cache really takes:
//! the cache's own estimate of each entry (what it weighs entries by) is
//! checked here against the heap the entries take, counted by a counting
//! allocator, plus what the allocator keeps beside each allocation.
#![allow(clippy::unwrap_used)]

use std::alloc::System;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use trident::credentials::changes::dependencies_of;
use trident::credentials::InspectionCache;
use trident::domain::{
    CredentialKind, CredentialRef, Environment, Inspection, Principal, PrincipalKind, PrincipalRef,
    ScopeSet,
};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// What glibc's malloc keeps beside each allocation: an 8-byte header, and
/// sizes rounded up to 16 bytes (half of that on average).
const PER_ALLOCATION: usize = 16;

/// An API key as the cache holds it: a user with the built-in `user` role.
fn api_key_inspection(i: usize) -> Inspection {
    Inspection {
        principal: Principal {
            principal: PrincipalRef {
                kind: PrincipalKind::User,
                id: uuid::Uuid::new_v4().to_string(),
                name: format!("customer-{i:06}"),
            },
            credential: CredentialRef {
                kind: CredentialKind::ApiKey,
                id: uuid::Uuid::new_v4().to_string(),
                environment: Some(Environment::Live),
                expires_at: None,
                follows_principal: true,
            },
            scopes: ScopeSet::parse_all([
                "api_keys:read",
                "api_keys:write",
                "tokens:read",
                "tokens:write",
            ])
            .unwrap(),
            roles: vec!["user".to_owned()],
        },
        expires_at: None,
        issued_at: Some(at()),
        not_before: None,
        jti: None,
        audience: None,
        client_id: None,
        session: None,
    }
}

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

#[test]
fn the_configured_size_bounds_the_memory_the_cache_takes() {
    const BUDGET: u64 = 16 << 20;
    let region = Region::new(GLOBAL);
    let cache = InspectionCache::new(true, BUDGET).unwrap();
    // Far more credentials than fit: the cache fills, then evicts.
    for i in 0..60_000 {
        let inspection = Arc::new(api_key_inspection(i));
        let key = InspectionCache::key(&[b"credential".as_slice(), i.to_be_bytes().as_slice()]);
        let dependencies = dependencies_of(&inspection);
        cache.insert(
            key,
            inspection.clone(),
            &dependencies,
            None,
            cache.ticket(),
            at(),
        );
    }
    let change = region.change();
    let live_bytes = change.bytes_allocated as i64 - change.bytes_deallocated as i64
        + change.bytes_reallocated as i64;
    let live_allocations = change.allocations as i64 - change.deallocations as i64;
    let taken = live_bytes + live_allocations * PER_ALLOCATION as i64;
    let stats = cache.stats();
    assert!(stats.evictions > 0, "the cache filled: {stats:?}");
    let taken_per_entry = taken as f64 / stats.entries as f64;
    let estimated_per_entry = stats.weight as f64 / stats.entries as f64;
    println!(
        "{} entries: {taken} bytes taken ({taken_per_entry:.0} per entry), \
         {} estimated ({estimated_per_entry:.0} per entry), budget {BUDGET}",
        stats.entries, stats.weight
    );
    assert!(
        taken as f64 <= BUDGET as f64 * 1.10,
        "the cache took {taken} bytes for a budget of {BUDGET}"
    );
    assert!(
        taken as f64 >= BUDGET as f64 * 0.70,
        "the cache took {taken} bytes for a budget of {BUDGET}: its estimate is far too high"
    );
    drop(cache);
}
