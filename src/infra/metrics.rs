//! Metrics in the Prometheus text format, from `prometheus-client`: requests by
//! route, method and status, latency by route, credential checks by kind,
//! environment and outcome, and what the credential caches do.
//!
//! Recording takes no global lock and allocates nothing: label values are
//! `&'static str`s or route names interned once (a shared read lock on each of
//! two maps, the interner and the metric family, then an atomic add).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::cache::CacheStats;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<str>,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    kind: &'static str,
    environment: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

/// What a credential check ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Active,
    Refused,
    Unavailable,
}

impl CheckOutcome {
    const fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Active => "active",
            CheckOutcome::Refused => "refused",
            CheckOutcome::Unavailable => "unavailable",
        }
    }
}

struct CacheMetrics {
    hits: Family<CacheLabels, Counter>,
    refusal_hits: Family<CacheLabels, Counter>,
    misses: Family<CacheLabels, Counter>,
    invalidations: Family<CacheLabels, Counter>,
    evictions: Family<CacheLabels, Counter>,
    entries: Family<CacheLabels, Gauge>,
    bytes: Family<CacheLabels, Gauge>,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    checks: Family<CheckLabels, Counter>,
    caches: CacheMetrics,
    /// Route names, each allocated once.
    routes: RwLock<HashMap<Box<str>, Arc<str>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("trident");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency: Family<RouteLabels, Histogram> =
            Family::new_with_constructor(|| Histogram::new(BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let checks = Family::<CheckLabels, Counter>::default();
        registry.register(
            "credential_checks",
            "Credentials checked (introspection and Trident's own API) by kind, environment and outcome",
            checks.clone(),
        );
        let mut counter = |name: &str, help: &str| {
            let family = Family::<CacheLabels, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let hits = counter(
            "credential_cache_hits",
            "Credential checks answered from the cache",
        );
        let refusal_hits = counter(
            "credential_cache_refusal_hits",
            "Credential checks refused from the cache's memory of dead credentials",
        );
        let misses = counter(
            "credential_cache_misses",
            "Credential checks the database answered",
        );
        let invalidations = counter(
            "credential_cache_invalidations",
            "Changes the cache forgot entries for",
        );
        let evictions = counter(
            "credential_cache_evictions",
            "Entries pushed out of the cache to make room",
        );
        let mut gauge = |name: &str, help: &str| {
            let family = Family::<CacheLabels, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let entries = gauge("credential_cache_entries", "Entries held by the cache");
        let bytes = gauge(
            "credential_cache_bytes",
            "Memory the cache's entries are estimated to take",
        );
        Self {
            registry,
            requests,
            latency,
            checks,
            caches: CacheMetrics {
                hits,
                refusal_hits,
                misses,
                invalidations,
                evictions,
                entries,
                bytes,
            },
            routes: RwLock::new(HashMap::new()),
        }
    }
}

impl Metrics {
    fn route(&self, route: &str) -> Arc<str> {
        if let Some(known) = self
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(route)
        {
            return known.clone();
        }
        self.routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(route.into())
            .or_insert_with(|| route.into())
            .clone()
    }

    /// `route` is the matched route pattern (never the raw path, which could carry ids or tokens).
    pub fn observe(&self, route: &str, method: &'static str, status: u16, elapsed: Duration) {
        let route = self.route(route);
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// A credential checked: what kind, in which environment (`""` when it has
    /// none), and how it ended.
    pub fn credential_checked(
        &self,
        kind: &'static str,
        environment: &'static str,
        outcome: CheckOutcome,
    ) {
        self.checks
            .get_or_create(&CheckLabels {
                kind,
                environment,
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// The text exposition, with the caches' figures as of now.
    pub fn render(&self, caches: &[(&'static str, CacheStats)]) -> String {
        for (cache, stats) in caches {
            let labels = CacheLabels { cache };
            let set = |family: &Family<CacheLabels, Counter>, value: u64| {
                family
                    .get_or_create(&labels)
                    .inner()
                    .store(value, std::sync::atomic::Ordering::Relaxed);
            };
            set(&self.caches.hits, stats.hits);
            set(&self.caches.refusal_hits, stats.refusal_hits);
            set(&self.caches.misses, stats.misses);
            set(&self.caches.invalidations, stats.invalidations);
            set(&self.caches.evictions, stats.evictions);
            let gauge = |family: &Family<CacheLabels, Gauge>, value: u64| {
                family
                    .get_or_create(&labels)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            };
            gauge(&self.caches.entries, stats.entries);
            gauge(&self.caches.bytes, stats.weight);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("/healthz", "GET", 200, Duration::from_millis(2));
        m.observe("/healthz", "GET", 200, Duration::from_millis(200));
        m.credential_checked("api_key", "test", CheckOutcome::Active);
        let text = m.render(&[(
            "inspections",
            CacheStats {
                hits: 7,
                ..CacheStats::default()
            },
        )]);
        assert!(
            text.contains(
                "trident_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains(
            "trident_http_request_duration_seconds_bucket{le=\"0.0025\",route=\"/healthz\"} 1"
        ));
        assert!(text.contains(
            "trident_http_request_duration_seconds_bucket{le=\"0.25\",route=\"/healthz\"} 2"
        ));
        assert!(text.contains("trident_http_request_duration_seconds_count{route=\"/healthz\"} 2"));
        assert!(text.contains(
            "trident_credential_checks_total{kind=\"api_key\",environment=\"test\",outcome=\"active\"} 1"
        ));
        assert!(text.contains("trident_credential_cache_hits_total{cache=\"inspections\"} 7"));
    }
}
