//! The credential cache: a change reaches it at once on the node that made it,
//! and within a second on another node sharing the PostgreSQL database, while
//! both caches are warm.

use std::time::{Duration, Instant};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{json, Value};

use crate::helpers::{postgres_configured, spawn_node, TestApp, TestClient};
use crate::introspection::{
    api_key_auth, assert_inactive, basic, fixture, introspect, introspect_text_at, me_status_at,
    scopes, strings, user_with_key, Fixture, INACTIVE,
};
use crate::revocation::{report_leak, revoke};

/// On PostgreSQL, waits (bounded) until `nodes` servers hold their `LISTEN`
/// connection: before that a node bypasses its cache, and nothing would be warm.
pub async fn wait_until_listening(app: &TestApp, nodes: i64) {
    if !app.database_url.starts_with("postgres") {
        return;
    }
    let db = app.db().await;
    let query = Statement::from_string(
        db.get_database_backend(),
        "SELECT count(*) AS listeners FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    );
    for _ in 0..500 {
        let row = db.query_one(query.clone()).await.unwrap().unwrap();
        let listeners: i64 = row.try_get("", "listeners").unwrap();
        if listeners >= nodes {
            let _ = db.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{nodes} node(s) should be listening for credential changes within 5 s");
}

/// Introspects `key` and calls `/api/v1/me` with it on every node, several times.
async fn warm(app: &TestApp, introspector: &TestClient, nodes: &[&str], key: &str) {
    for node in nodes {
        for _ in 0..3 {
            let text = introspect_text_at(app, node, introspector, key).await;
            assert_ne!(text, INACTIVE, "node {node}: the key is active");
            assert_eq!(
                me_status_at(app, node, &api_key_auth(key)).await,
                200,
                "node {node}"
            );
        }
    }
}

/// Shows the nodes answer from a warm cache: a probe key, warmed like the
/// others, stays active on every node after its owner is disabled behind the
/// servers' back (plain SQL, no NOTIFY). What a test checks next is therefore
/// invalidation, not a cold lookup.
async fn assert_caches_are_warm(
    app: &TestApp,
    admin: &str,
    introspector: &TestClient,
    nodes: &[&str],
) {
    let (probe, probe_key) = user_with_key(app, admin, &["user"]).await;
    warm(app, introspector, nodes, &probe_key.key).await;
    let db = app.db().await;
    entity::users::Entity::update_many()
        .col_expr(entity::users::Column::Disabled, Expr::value(true))
        .filter(entity::users::Column::Id.eq(uuid::Uuid::parse_str(&probe.id).unwrap()))
        .exec(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    for node in nodes {
        let text = introspect_text_at(app, node, introspector, &probe_key.key).await;
        assert_ne!(
            text, INACTIVE,
            "node {node} should answer from its warm cache"
        );
    }
}

/// Polls `check` every 10 ms, at most 100 times and for at most `limit`;
/// returns when the check that passed began (what it saw was already true then;
/// the time that check itself took on a loaded machine is not the server's).
pub async fn within(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    for _ in 0..100 {
        let began = start.elapsed();
        if check().await {
            return Some(began);
        }
        if start.elapsed() > limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[derive(Debug)]
enum Change {
    RevokeThroughTheApi,
    RevokeAtOAuthRevoke,
    ReportAsLeaked,
    RotateWithNoGrace,
    DisableTheOwner,
    DeleteTheOwner,
}

#[tokio::test]
async fn a_warm_cache_forgets_a_key_the_moment_it_changes_on_the_same_node() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    wait_until_listening(&app, 1).await;
    let node = [app.address.as_str()];
    assert_caches_are_warm(&app, &admin, &introspector, &node).await;
    for change in [
        Change::RevokeThroughTheApi,
        Change::RevokeAtOAuthRevoke,
        Change::ReportAsLeaked,
        Change::RotateWithNoGrace,
        Change::DisableTheOwner,
        Change::DeleteTheOwner,
    ] {
        let case = format!("{change:?}");
        let (owner, key) = user_with_key(&app, &admin, &["user"]).await;
        let owner_auth = app.auth_for(&owner).await;
        warm(&app, &introspector, &node, &key.key).await;
        let status = match change {
            Change::RevokeThroughTheApi => app
                .delete(&format!("/api/v1/api-keys/{}", key.id), &owner_auth)
                .await
                .status(),
            Change::RevokeAtOAuthRevoke => revoke(
                &app,
                &[("Authorization", &api_key_auth(&key.key))],
                &[("token", &key.key)],
            )
            .await
            .status(),
            Change::ReportAsLeaked => report_leak(&app, &app.client, &[&key.key]).await.status(),
            Change::RotateWithNoGrace => app
                .post_json(
                    &format!("/api/v1/api-keys/{}/rotate", key.id),
                    &owner_auth,
                    &json!({"grace_seconds": 0}),
                )
                .await
                .status(),
            Change::DisableTheOwner => app
                .patch_json(
                    &format!("/api/v1/users/{}", owner.id),
                    &admin,
                    &json!({"disabled": true}),
                )
                .await
                .status(),
            Change::DeleteTheOwner => app
                .delete(&format!("/api/v1/users/{}", owner.id), &admin)
                .await
                .status(),
        };
        assert!(
            status.is_success(),
            "case {case}: the change succeeds ({status})"
        );
        assert_inactive(&app, &introspector, &key.key, &case).await;
        assert_eq!(
            app.get_me(&api_key_auth(&key.key)).await.status(),
            401,
            "case {case}: refused at once"
        );
    }

    // Permissions taken away narrow a warm key at once, whether from the role or the user.
    let role = app.seed_role_as(&admin, &["jobs:read", "jobs:write"]).await;
    let (owner, key) = user_with_key(&app, &admin, &["user", &role]).await;
    warm(&app, &introspector, &node, &key.key).await;
    let response = app
        .put_json(
            &format!("/api/v1/roles/{role}"),
            &admin,
            &json!({"permissions": ["jobs:read"]}),
        )
        .await;
    assert_eq!(response.status(), 200, "narrowing the role");
    let answer = introspect(&app, &introspector, &key.key).await;
    assert!(!scopes(&answer["scope"]).contains("jobs:write"), "{answer}");
    assert!(scopes(&answer["scope"]).contains("jobs:read"), "{answer}");
    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", owner.id),
            &admin,
            &json!({"roles": ["user"]}),
        )
        .await;
    assert_eq!(response.status(), 200, "taking the role away");
    let me: Value = app
        .get_me(&api_key_auth(&key.key))
        .await
        .json()
        .await
        .unwrap();
    assert!(!strings(&me["scopes"]).contains("jobs:read"), "{me}");
    assert_eq!(me["roles"], json!(["user"]));
}

#[derive(Debug)]
enum CallerChange {
    DisableTheClient,
    DeleteTheClient,
    RotateItsSecretWithNoGrace,
    ReportItsSecretAsLeaked,
    TakeItsRoleAway,
    TakeThePermissionFromItsRole,
}

#[tokio::test]
async fn a_warm_cache_forgets_an_introspecting_client_the_moment_it_changes() {
    let Fixture { app, admin, .. } = fixture().await;
    wait_until_listening(&app, 1).await;
    let (_, key) = user_with_key(&app, &admin, &["user"]).await;
    for (change, refused) in [
        (CallerChange::DisableTheClient, 401),
        (CallerChange::DeleteTheClient, 401),
        (CallerChange::RotateItsSecretWithNoGrace, 401),
        (CallerChange::ReportItsSecretAsLeaked, 401),
        (CallerChange::TakeItsRoleAway, 403),
        (CallerChange::TakeThePermissionFromItsRole, 403),
    ] {
        let case = format!("{change:?}");
        let role = app.seed_role_as(&admin, &["tokens:introspect"]).await;
        let caller = app.seed_client_as(&admin, &[&role]).await;
        for _ in 0..3 {
            let text = introspect_text_at(&app, &app.address, &caller, &key.key).await;
            assert_ne!(text, INACTIVE, "case {case}: warming up");
        }
        let path = format!("/api/v1/clients/{}", caller.id);
        let status = match change {
            CallerChange::DisableTheClient => app
                .patch_json(&path, &admin, &json!({"disabled": true}))
                .await
                .status(),
            CallerChange::DeleteTheClient => app.delete(&path, &admin).await.status(),
            CallerChange::RotateItsSecretWithNoGrace => app
                .post_json(
                    &format!("{path}/secrets"),
                    &admin,
                    &json!({"grace_seconds": 0}),
                )
                .await
                .status(),
            CallerChange::ReportItsSecretAsLeaked => {
                report_leak(&app, &app.client, &[&caller.client_secret])
                    .await
                    .status()
            }
            CallerChange::TakeItsRoleAway => app
                .patch_json(&path, &admin, &json!({"roles": []}))
                .await
                .status(),
            CallerChange::TakeThePermissionFromItsRole => app
                .put_json(
                    &format!("/api/v1/roles/{role}"),
                    &admin,
                    &json!({"permissions": ["jobs:read"]}),
                )
                .await
                .status(),
        };
        assert!(
            status.is_success(),
            "case {case}: the change succeeds ({status})"
        );
        let response = app
            .post_form_to(
                &app.url("/oauth/introspect"),
                &[("Authorization", &basic(&caller))],
                &[("token", &key.key)],
            )
            .await;
        assert_eq!(response.status(), refused, "case {case}: refused at once");
    }
}

#[tokio::test]
async fn a_key_revoked_on_one_node_is_refused_by_another_within_a_second_while_both_caches_are_warm(
) {
    // Nodes hear of each other's changes through PostgreSQL NOTIFY; SQLite is one
    // node's embedded file. This runs in CI's PostgreSQL pass.
    if !postgres_configured() {
        return;
    }
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let node_b = spawn_node(&app).await;
    let nodes = [app.address.as_str(), node_b.as_str()];
    let (owner, key) = user_with_key(&app, &admin, &["user"]).await;
    let owner_auth = app.auth_for(&owner).await;
    wait_until_listening(&app, 2).await;
    warm(&app, &introspector, &nodes, &key.key).await;
    assert_caches_are_warm(&app, &admin, &introspector, &nodes).await;

    let response = app
        .delete(&format!("/api/v1/api-keys/{}", key.id), &owner_auth)
        .await;
    assert_eq!(response.status(), 204, "revoking the key on node A");
    let revoked = Instant::now();
    let took = within(Duration::from_secs(1), async || {
        me_status_at(&app, &node_b, &api_key_auth(&key.key)).await == 401
            && introspect_text_at(&app, &node_b, &introspector, &key.key).await == INACTIVE
    })
    .await;
    let took = took.unwrap_or_else(|| {
        panic!(
            "node B still accepted the key {:?} after node A revoked it",
            revoked.elapsed()
        )
    });
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    assert_inactive(&app, &introspector, &key.key, "node A").await;
}

#[tokio::test]
async fn a_permission_taken_away_on_one_node_narrows_the_key_on_another_within_a_second() {
    // PostgreSQL only, as above.
    if !postgres_configured() {
        return;
    }
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let node_b = spawn_node(&app).await;
    let nodes = [app.address.as_str(), node_b.as_str()];
    let role = app.seed_role_as(&admin, &["jobs:read", "jobs:write"]).await;
    let (_, key) = user_with_key(&app, &admin, &["user", &role]).await;
    wait_until_listening(&app, 2).await;
    warm(&app, &introspector, &nodes, &key.key).await;
    for node in nodes {
        let text = introspect_text_at(&app, node, &introspector, &key.key).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert!(
            scopes(&answer["scope"]).contains("jobs:write"),
            "node {node}: {answer}"
        );
    }
    assert_caches_are_warm(&app, &admin, &introspector, &nodes).await;

    let response = app
        .put_json(
            &format!("/api/v1/roles/{role}"),
            &admin,
            &json!({"permissions": ["jobs:read"]}),
        )
        .await;
    assert_eq!(response.status(), 200, "narrowing the role on node A");
    let changed = Instant::now();
    let narrowed = async || {
        let me = app
            .client
            .get(format!("{node_b}/api/v1/me"))
            .header("Authorization", api_key_auth(&key.key))
            .send()
            .await
            .unwrap();
        if me.status() != 200 {
            return false;
        }
        let me: Value = me.json().await.unwrap();
        let text = introspect_text_at(&app, &node_b, &introspector, &key.key).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        let me_scopes = strings(&me["scopes"]);
        let introspected = scopes(&answer["scope"]);
        !me_scopes.contains("jobs:write")
            && me_scopes.contains("jobs:read")
            && !introspected.contains("jobs:write")
            && introspected.contains("jobs:read")
    };
    let took = within(Duration::from_secs(1), narrowed)
        .await
        .unwrap_or_else(|| {
            panic!(
                "node B still granted jobs:write {:?} after node A took it away",
                changed.elapsed()
            )
        });
    assert!(took <= Duration::from_secs(1), "took {took:?}");
}

/// The PostgreSQL backends holding this database's `LISTEN` connections, stopped
/// with SIGSTOP (as a half-open connection or a middlebox that drops idle
/// connections would leave them: no error, just silence) until dropped.
struct StoppedListeners(Vec<String>);

impl StoppedListeners {
    async fn stop(app: &TestApp) -> Self {
        let db = app.db().await;
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT pid::text AS pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            ))
            .await
            .unwrap();
        let _ = db.close().await;
        let pids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "pid").unwrap())
            .collect();
        assert!(!pids.is_empty(), "listeners to stop");
        for pid in &pids {
            let status = std::process::Command::new("kill")
                .args(["-STOP", pid])
                .status()
                .unwrap();
            assert!(status.success(), "stopping backend {pid} (needs root)");
        }
        Self(pids)
    }
}

impl Drop for StoppedListeners {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", pid])
                .status();
        }
    }
}

#[tokio::test]
async fn a_listener_that_goes_silent_is_noticed_and_the_cache_is_bypassed_within_seconds() {
    if !postgres_configured() {
        return;
    }
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let node_b = spawn_node(&app).await;
    let nodes = [app.address.as_str(), node_b.as_str()];
    let (owner, key) = user_with_key(&app, &admin, &["user"]).await;
    let owner_auth = app.auth_for(&owner).await;
    wait_until_listening(&app, 2).await;
    warm(&app, &introspector, &nodes, &key.key).await;
    assert_caches_are_warm(&app, &admin, &introspector, &nodes).await;

    let stopped = StoppedListeners::stop(&app).await;
    let response = app
        .delete(&format!("/api/v1/api-keys/{}", key.id), &owner_auth)
        .await;
    assert_eq!(response.status(), 204, "revoking the key on node A");
    let revoked = Instant::now();
    // Node B never hears of it; its silent listener must be caught by the heartbeat.
    let mut last_active = None;
    while revoked.elapsed() < Duration::from_secs(8) {
        if introspect_text_at(&app, &node_b, &introspector, &key.key).await != INACTIVE {
            last_active = Some(revoked.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        last_active.is_none_or(|t| t < Duration::from_millis(4500)),
        "node B still answered active {last_active:?} after the revocation"
    );
    let old = stopped.0.clone();
    drop(stopped);

    // New listeners take over, and the caches serve again.
    let db = app.db().await;
    let replaced = within(Duration::from_secs(10), async || {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT pid::text AS pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            ))
            .await
            .unwrap();
        rows.iter()
            .filter(|r| !old.contains(&r.try_get::<String>("", "pid").unwrap()))
            .count()
            >= 2
    })
    .await;
    let _ = db.close().await;
    assert!(replaced.is_some(), "both nodes listen again");
    assert_caches_are_warm(&app, &admin, &introspector, &nodes).await;
}
