//! No operation hands out more power than the credential performing it holds:
//! a narrow credential cannot rotate a broad one, a test credential cannot touch
//! live credentials or accounts, and a delegated credential cannot mint one that
//! outlives it.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, random_string, spawn_app, TestApp};

const PATS: &str = "/api/v1/personal-access-tokens";

async fn created(app: &TestApp, path: &str, auth: &str, body: Value) -> Value {
    let response = app.post_json(path, auth, &body).await;
    assert_eq!(response.status(), 201, "POST {path} {body}");
    response.json().await.unwrap()
}

fn api_key(body: &Value) -> String {
    format!("Api-Key {}", body["key"].as_str().unwrap())
}

fn pat(body: &Value) -> String {
    format!("Bearer {}", body["token"].as_str().unwrap())
}

fn rotate_path(key: &Value) -> String {
    format!("/api/v1/api-keys/{}/rotate", key["id"].as_str().unwrap())
}

#[tokio::test]
async fn a_narrow_pat_cannot_rotate_an_owner_wide_key_into_an_admin_key() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    // The administrator's own key, made without scopes: it carries all of its owner's power.
    let wide = created(&app, "/api/v1/api-keys", &admin, json!({ "name": "ops" })).await;
    assert!(wide["scopes"].is_null());
    let narrow = created(
        &app,
        PATS,
        &admin,
        json!({ "name": "key rotator", "scopes": ["api_keys:read", "api_keys:write"], "expires_in_days": 7 }),
    )
    .await;

    let refused = app
        .post_json(
            &rotate_path(&wide),
            &pat(&narrow),
            &json!({ "grace_seconds": 0 }),
        )
        .await;
    let problem = assert_problem(refused, 403, "rotating an owner-wide key").await;
    assert_eq!(problem["type"], "urn:trident:problem:exceeds-caller");
    // Nothing changed: the key still works, and has no successor.
    assert_eq!(app.get_me(&api_key(&wide)).await.status(), 200);
    let listed = app.get_json("/api/v1/api-keys?limit=100", &admin).await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["rotated_from"] != wide["id"]),
        "no successor was issued"
    );

    // And the rest of the attack: a key made by the PAT carries only the PAT's scopes.
    let made = created(
        &app,
        "/api/v1/api-keys",
        &pat(&narrow),
        json!({ "name": "made by the pat", "expires_at": (crate::helpers::utc_now() + chrono::Duration::days(1)).to_rfc3339() }),
    )
    .await;
    let new_admin = app
        .post_json(
            "/api/v1/users",
            &api_key(&made),
            &json!({ "username": format!("mallory{}", random_string(4).to_lowercase()), "password": random_string(20), "roles": ["admin"] }),
        )
        .await;
    assert_problem(new_admin, 403, "creating an admin with the PAT's key").await;
}

#[tokio::test]
async fn a_key_may_be_rotated_by_a_credential_holding_all_it_carries() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let session = app.auth_for(&user).await;
    let scoped = created(
        &app,
        "/api/v1/api-keys",
        &session,
        json!({ "name": "rotator", "scopes": ["api_keys:read", "api_keys:write"] }),
    )
    .await;
    let unscoped = created(&app, "/api/v1/api-keys", &session, json!({ "name": "all" })).await;
    for (case, caller, key, status) in [
        (
            "a scoped key rotates itself",
            api_key(&scoped),
            &scoped,
            201,
        ),
        (
            "a scoped key rotates an owner-wide key",
            api_key(&scoped),
            &unscoped,
            403,
        ),
        (
            "an owner-wide key rotates itself",
            api_key(&unscoped),
            &unscoped,
            201,
        ),
    ] {
        let response = app
            .post_json(&rotate_path(key), &caller, &json!({ "grace_seconds": 60 }))
            .await;
        assert_eq!(response.status(), status, "case {case}");
    }
}

#[tokio::test]
async fn a_test_key_acts_on_test_keys_only() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let test = created(
        &app,
        "/api/v1/api-keys",
        &admin,
        json!({ "name": "sandbox", "environment": "test" }),
    )
    .await;
    let live = created(
        &app,
        "/api/v1/api-keys",
        &admin,
        json!({ "name": "production" }),
    )
    .await;
    let test_auth = api_key(&test);
    let live_id = live["id"].as_str().unwrap();
    let refusals = [
        (
            "create a live key",
            app.post_json("/api/v1/api-keys", &test_auth, &json!({ "name": "x" })).await,
        ),
        (
            "rotate a live key",
            app.post_json(&rotate_path(&live), &test_auth, &json!({})).await,
        ),
        (
            "revoke a live key",
            app.delete(&format!("/api/v1/api-keys/{live_id}"), &test_auth).await,
        ),
        (
            "mint a PAT",
            app.post_json(
                PATS,
                &test_auth,
                &json!({ "name": "x", "scopes": ["api_keys:read"], "expires_in_days": 1 }),
            )
            .await,
        ),
        (
            "create a user",
            app.post_json(
                "/api/v1/users",
                &test_auth,
                &json!({ "username": format!("u{}", random_string(6).to_lowercase()), "password": random_string(20) }),
            )
            .await,
        ),
        (
            "create a role",
            app.post_json(
                "/api/v1/roles",
                &test_auth,
                &json!({ "name": format!("r{}", random_string(6).to_lowercase()), "permissions": ["jobs:read"] }),
            )
            .await,
        ),
        (
            "register a client",
            app.post_json("/api/v1/clients", &test_auth, &json!({ "name": "x", "roles": [] }))
                .await,
        ),
        (
            "sign the owner out everywhere",
            app.client
                .post(app.url("/api/v1/auth/logout-all"))
                .header("Authorization", &test_auth)
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (case, response) in refusals {
        assert_problem(response, 403, case).await;
    }
    // RFC 7009 answers 200 either way, and revokes nothing live.
    let revoked = app
        .post_form_to(
            &app.url("/oauth/revoke"),
            &[("Authorization", &test_auth)],
            &[("token", live["key"].as_str().unwrap())],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        app.get_me(&api_key(&live)).await.status(),
        200,
        "the live key works"
    );
    assert_eq!(
        app.get_me(&admin).await.status(),
        200,
        "the admin's session works"
    );

    // Test credentials are its own business.
    let other_test = created(
        &app,
        "/api/v1/api-keys",
        &test_auth,
        json!({ "name": "t2", "environment": "test" }),
    )
    .await;
    assert!(other_test["key"].as_str().unwrap().starts_with("tri_test_"));
    let rotated = app
        .post_json(&rotate_path(&other_test), &test_auth, &json!({}))
        .await;
    assert_eq!(rotated.status(), 201);
}

#[tokio::test]
async fn a_pat_cannot_mint_a_credential_that_outlives_it() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let session = app.auth_for(&user).await;
    let short = created(
        &app,
        PATS,
        &session,
        json!({ "name": "two days", "scopes": ["api_keys:read", "api_keys:write", "tokens:write"], "expires_in_days": 2 }),
    )
    .await;
    let in_days =
        |days: i64| (crate::helpers::utc_now() + chrono::Duration::days(days)).to_rfc3339();
    for (case, path, body, status) in [
        (
            "a key that never expires",
            "/api/v1/api-keys",
            json!({ "name": "k" }),
            422,
        ),
        (
            "a key that outlives it",
            "/api/v1/api-keys",
            json!({ "name": "k", "expires_at": in_days(3) }),
            422,
        ),
        (
            "a key within its life",
            "/api/v1/api-keys",
            json!({ "name": "k", "expires_at": in_days(1) }),
            201,
        ),
        (
            "a PAT that outlives it",
            PATS,
            json!({ "name": "p", "scopes": ["api_keys:read"], "expires_in_days": 30 }),
            422,
        ),
        (
            "a PAT within its life",
            PATS,
            json!({ "name": "p", "scopes": ["api_keys:read"], "expires_in_days": 1 }),
            201,
        ),
    ] {
        let response = app.post_json(path, &pat(&short), &body).await;
        assert_eq!(response.status(), status, "case {case}");
        if status == 422 {
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["field"], "expires_at", "case {case}");
        }
    }
    // Rotating a key that never expires would hand out the same.
    let forever = created(
        &app,
        "/api/v1/api-keys",
        &session,
        json!({ "name": "forever", "scopes": ["api_keys:read"] }),
    )
    .await;
    let refused = app
        .post_json(&rotate_path(&forever), &pat(&short), &json!({}))
        .await;
    assert_problem(refused, 422, "rotating a non-expiring key").await;
}
