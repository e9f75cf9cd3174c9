//! Targeted invalidation: each kind of change makes the next check of the
//! credentials it affects reflect it, on every node (two on PostgreSQL, one on
//! SQLite), while a bystander's credential stays cached — counted by the
//! cache-hit metric of the node answering. Refusals for good are remembered and
//! never hide a credential issued later. Without a live `LISTEN` the cache is
//! bypassed, and targeted invalidation resumes once the listener is back.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::credential_cache::{wait_until_listening, within};
use crate::helpers::{bearer, postgres_configured, spawn_node, TestApp, TestClient};
use crate::introspection::{
    client_token, create_key, fixture, introspect_text_at, scopes, user_with_key, Fixture, INACTIVE,
};

/// A figure of the inspection cache on the node at `node`, from its `/metrics`.
async fn cache_figure(app: &TestApp, node: &str, figure: &str) -> u64 {
    let text = app
        .client
        .get(format!("{node}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("trident_credential_cache_{figure}_total{{cache=\"inspections\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{prefix} in:\n{text}"))
        .parse()
        .unwrap()
}

/// Introspects `token` on `node`; returns the answer and whether the node's
/// cache answered it (one more hit, no more misses).
async fn introspect_counted(
    app: &TestApp,
    node: &str,
    introspector: &TestClient,
    token: &str,
) -> (Value, bool) {
    let (hits, misses) = (
        cache_figure(app, node, "hits").await,
        cache_figure(app, node, "misses").await,
    );
    let text = introspect_text_at(app, node, introspector, token).await;
    let cached = cache_figure(app, node, "hits").await == hits + 1
        && cache_figure(app, node, "misses").await == misses;
    (serde_json::from_str(&text).unwrap(), cached)
}

/// The nodes of this run: one on SQLite, two sharing PostgreSQL, both listening.
async fn nodes(app: &TestApp) -> Vec<String> {
    let mut nodes = vec![app.address.clone()];
    if postgres_configured() {
        nodes.push(spawn_node(app).await);
        wait_until_listening(app, 2).await;
    }
    nodes
}

/// Introspects `token` on every node until the node answers it from its cache.
async fn warm(app: &TestApp, nodes: &[String], introspector: &TestClient, token: &str) {
    for node in nodes {
        let _ = introspect_text_at(app, node, introspector, token).await;
        let (answer, cached) = introspect_counted(app, node, introspector, token).await;
        assert_eq!(answer["active"], true, "node {node}: {answer}");
        assert!(cached, "node {node} caches an active credential");
    }
}

#[derive(Debug, Clone, Copy)]
enum Case {
    RevokeTheKey,
    RotateItPastItsGrace,
    DisableTheOwner,
    TakeARoleFromTheOwner,
    NarrowTheOwnersRole,
    DeleteTheClient,
    SignTheOwnerOutEverywhere,
}

/// What the affected credential must look like after the change.
enum Expect {
    Inactive,
    WithoutJobsWrite,
}

#[tokio::test]
async fn each_change_reaches_exactly_the_cached_credentials_it_affects_on_every_node() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let nodes = nodes(&app).await;
    let (_, bystander) = user_with_key(&app, &admin, &["user"]).await;
    for case in [
        Case::RevokeTheKey,
        Case::RotateItPastItsGrace,
        Case::DisableTheOwner,
        Case::TakeARoleFromTheOwner,
        Case::NarrowTheOwnersRole,
        Case::DeleteTheClient,
        Case::SignTheOwnerOutEverywhere,
    ] {
        let role = app.seed_role_as(&admin, &["jobs:read", "jobs:write"]).await;
        let (owner, key) = user_with_key(&app, &admin, &["user", &role]).await;
        let owner_auth = app.auth_for(&owner).await;
        let client = app.seed_client_as(&admin, &[&role]).await;
        let session = app.login_ok(&owner.username, &owner.password).await;
        let affected = match case {
            Case::DeleteTheClient => client_token(&app, &client).await,
            Case::SignTheOwnerOutEverywhere => session["access_token"].as_str().unwrap().to_owned(),
            _ => key.key.clone(),
        };
        warm(&app, &nodes, &introspector, &affected).await;
        warm(&app, &nodes, &introspector, &bystander.key).await;

        let (response, expect) = match case {
            Case::RevokeTheKey => (
                app.delete(&format!("/api/v1/api-keys/{}", key.id), &owner_auth)
                    .await,
                Expect::Inactive,
            ),
            Case::RotateItPastItsGrace => (
                app.post_json(
                    &format!("/api/v1/api-keys/{}/rotate", key.id),
                    &owner_auth,
                    &json!({"grace_seconds": 0}),
                )
                .await,
                Expect::Inactive,
            ),
            Case::DisableTheOwner => (
                app.patch_json(
                    &format!("/api/v1/users/{}", owner.id),
                    &admin,
                    &json!({"disabled": true}),
                )
                .await,
                Expect::Inactive,
            ),
            Case::TakeARoleFromTheOwner => (
                app.patch_json(
                    &format!("/api/v1/users/{}", owner.id),
                    &admin,
                    &json!({"roles": ["user"]}),
                )
                .await,
                Expect::WithoutJobsWrite,
            ),
            Case::NarrowTheOwnersRole => (
                app.put_json(
                    &format!("/api/v1/roles/{role}"),
                    &admin,
                    &json!({"permissions": ["jobs:read"]}),
                )
                .await,
                Expect::WithoutJobsWrite,
            ),
            Case::DeleteTheClient => (
                app.delete(&format!("/api/v1/clients/{}", client.id), &admin)
                    .await,
                Expect::Inactive,
            ),
            Case::SignTheOwnerOutEverywhere => {
                (app.logout_all(&bearer(&session)).await, Expect::Inactive)
            }
        };
        assert!(
            response.status().is_success(),
            "{case:?}: {}",
            response.status()
        );

        for node in &nodes {
            let reflected = async || {
                let text = introspect_text_at(&app, node, &introspector, &affected).await;
                match expect {
                    Expect::Inactive => text == INACTIVE,
                    Expect::WithoutJobsWrite => {
                        let answer: Value = serde_json::from_str(&text).unwrap();
                        let granted = scopes(&answer["scope"]);
                        answer["active"] == true && !granted.contains("jobs:write")
                    }
                }
            };
            let took = within(Duration::from_secs(1), reflected).await;
            assert!(
                took.is_some(),
                "{case:?}: node {node} still answers as before the change: {}",
                introspect_text_at(&app, node, &introspector, &affected).await
            );
            let (answer, cached) =
                introspect_counted(&app, node, &introspector, &bystander.key).await;
            assert_eq!(answer["active"], true, "{case:?}: node {node}");
            assert!(
                cached,
                "{case:?}: node {node} forgot a credential the change did not touch"
            );
        }
    }
}

#[tokio::test]
async fn a_credential_is_issued_without_forgetting_anything() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let nodes = nodes(&app).await;
    let (owner, key) = user_with_key(&app, &admin, &["user"]).await;
    warm(&app, &nodes, &introspector, &key.key).await;
    let owner_auth = app.auth_for(&owner).await;
    let _ = create_key(&app, &owner_auth, json!({"name": "another"})).await;
    for node in &nodes {
        let (answer, cached) = introspect_counted(&app, node, &introspector, &key.key).await;
        assert_eq!(answer["active"], true);
        assert!(
            cached,
            "node {node}: a new key of the same owner changes nothing"
        );
    }
}

#[tokio::test]
async fn a_dead_credential_is_refused_from_memory_and_never_hides_a_new_one() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let node = app.address.clone();
    let (owner, key) = user_with_key(&app, &admin, &["user"]).await;
    let owner_auth = app.auth_for(&owner).await;
    let response = app
        .delete(&format!("/api/v1/api-keys/{}", key.id), &owner_auth)
        .await;
    assert_eq!(response.status(), 204);
    let never_issued =
        trident::secret::OpaqueSecret::generate(trident::secret::SecretKind::LiveApiKey);

    for dead in [key.key.as_str(), never_issued.reveal()] {
        assert_eq!(
            introspect_text_at(&app, &node, &introspector, dead).await,
            INACTIVE
        );
        let (refused, misses) = (
            cache_figure(&app, &node, "refusal_hits").await,
            cache_figure(&app, &node, "misses").await,
        );
        for _ in 0..5 {
            assert_eq!(
                introspect_text_at(&app, &node, &introspector, dead).await,
                INACTIVE
            );
        }
        assert_eq!(
            cache_figure(&app, &node, "refusal_hits").await,
            refused + 5,
            "a dead credential is refused from memory"
        );
        assert_eq!(
            cache_figure(&app, &node, "misses").await,
            misses,
            "without asking the database"
        );
    }

    // The owner's next key, and a key rotated from a live one, work at once:
    // a new secret is never one presented before it was made.
    let fresh = create_key(&app, &owner_auth, json!({"name": "fresh"})).await;
    let text = introspect_text_at(&app, &node, &introspector, &fresh.key).await;
    assert_ne!(text, INACTIVE, "a new key is active at once");
    let rotated = app
        .post_json(
            &format!("/api/v1/api-keys/{}/rotate", fresh.id),
            &owner_auth,
            &json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(rotated.status(), 201);
    let successor: Value = rotated.json().await.unwrap();
    let successor = successor["key"].as_str().unwrap();
    assert_eq!(
        introspect_text_at(&app, &node, &introspector, &fresh.key).await,
        INACTIVE
    );
    assert_ne!(
        introspect_text_at(&app, &node, &introspector, successor).await,
        INACTIVE,
        "the successor is active at once"
    );
}

/// Ends this database's `LISTEN` connections from the server's side.
async fn terminate_listeners(app: &TestApp) {
    let db = app.db().await;
    db.execute(Statement::from_string(
        db.get_database_backend(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    ))
    .await
    .unwrap();
    let _ = db.close().await;
}

#[tokio::test]
async fn a_lost_listener_bypasses_the_cache_until_it_is_back_then_invalidation_is_targeted_again() {
    if !postgres_configured() {
        return;
    }
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let nodes = nodes(&app).await;
    let node_b = &nodes[1];
    let (owner, key) = user_with_key(&app, &admin, &["user"]).await;
    let (_, bystander) = user_with_key(&app, &admin, &["user"]).await;
    warm(&app, &nodes, &introspector, &key.key).await;

    terminate_listeners(&app).await;
    let bypassed = within(Duration::from_secs(5), async || {
        let (answer, cached) = introspect_counted(&app, node_b, &introspector, &key.key).await;
        answer["active"] == true && !cached
    })
    .await;
    assert!(
        bypassed.is_some(),
        "node B bypasses its cache without a listener"
    );

    wait_until_listening(&app, 2).await;
    warm(&app, &nodes, &introspector, &key.key).await;
    warm(&app, &nodes, &introspector, &bystander.key).await;
    let owner_auth = app.auth_for(&owner).await;
    let response = app
        .delete(&format!("/api/v1/api-keys/{}", key.id), &owner_auth)
        .await;
    assert_eq!(response.status(), 204);
    let refused = within(Duration::from_secs(1), async || {
        introspect_text_at(&app, node_b, &introspector, &key.key).await == INACTIVE
    })
    .await;
    assert!(refused.is_some(), "node B hears of the revocation again");
    let (answer, cached) = introspect_counted(&app, node_b, &introspector, &bystander.key).await;
    assert_eq!(answer["active"], true);
    assert!(cached, "and forgets only what it names");
}
