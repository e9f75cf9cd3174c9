//! API keys bound to users: the worker story of the seeds.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trident::clock::ManualClock;

use crate::helpers::{assert_problem, spawn_app, TestApp, TestUser};

fn api_key_auth(key: &str) -> String {
    format!("Api-Key {key}")
}

/// Creates a user and returns it with the live key it was issued.
async fn user_with_key(app: &TestApp, roles: &[&str]) -> (TestUser, String) {
    let username = format!(
        "worker-owner-{}",
        crate::helpers::random_string(6).to_lowercase()
    );
    let password = crate::helpers::random_string(20);
    let response = app
        .post_json(
            "/api/v1/users",
            &app.admin_auth().await,
            &json!({ "username": username, "password": password, "roles": roles }),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let key = body["api_key"]["key"]
        .as_str()
        .expect("a key issued at creation")
        .to_owned();
    let user = TestUser {
        id: body["id"].as_str().unwrap().to_owned(),
        username,
        password,
    };
    (user, key)
}

async fn create_key(app: &TestApp, auth: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/api-keys", auth, &body).await
}

async fn create_key_ok(app: &TestApp, auth: &str, body: Value) -> Value {
    let response = create_key(app, auth, body).await;
    assert_eq!(response.status(), 201, "creating a key");
    response.json().await.unwrap()
}

async fn me_status(app: &TestApp, key: &str) -> StatusCode {
    app.get_me(&api_key_auth(key)).await.status()
}

#[tokio::test]
async fn a_new_user_gets_a_live_key_that_acts_for_it_through_every_header_form() {
    let app = spawn_app().await;
    let (user, key) = user_with_key(&app, &["user"]).await;
    assert!(key.starts_with("tri_live_"), "{key}");
    for (case, name, value) in [
        ("Api-Key scheme", "Authorization", format!("Api-Key {key}")),
        (
            "lowercase scheme",
            "Authorization",
            format!("api-key {key}"),
        ),
        ("X-API-Key header", "X-API-Key", key.clone()),
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "case {case}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(
            me["principal"],
            json!({"type": "user", "id": user.id, "name": user.username}),
            "case {case}"
        );
        assert_eq!(me["credential"]["kind"], "api_key", "case {case}");
        assert_eq!(me["credential"]["environment"], "live", "case {case}");
        assert_eq!(me["roles"], json!(["user"]), "case {case}");
    }
}

#[tokio::test]
async fn live_and_test_keys_live_side_by_side_and_listings_never_show_secrets() {
    let app = spawn_app().await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let test_key = create_key_ok(&app, &auth, json!({"name": "ci", "environment": "test"})).await;
    let secret = test_key["key"].as_str().unwrap();
    assert!(secret.starts_with("tri_test_"));
    assert!(secret.starts_with(test_key["display_prefix"].as_str().unwrap()));
    assert!(secret.ends_with(test_key["last_chars"].as_str().unwrap()));
    let me: Value = app
        .get_me(&api_key_auth(secret))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["credential"]["environment"], "test");

    let list: Value = app
        .get("/api/v1/api-keys", &auth)
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the automatic key and the test key");
    for item in items {
        assert!(
            item.get("key").is_none(),
            "a listing never carries the secret"
        );
        assert_eq!(item["status"], "active");
    }
    let text = app
        .get("/api/v1/api-keys", &auth)
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains(secret));
}

#[tokio::test]
async fn effective_scopes_are_the_keys_own_intersected_with_the_owners_current_permissions() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let role = app
        .post_json(
            "/api/v1/roles",
            &admin,
            &json!({"name": "jobs", "permissions": ["jobs:write", "jobs:read"]}),
        )
        .await;
    assert_eq!(role.status(), 201);
    let (user, follows_owner) = user_with_key(&app, &["user", "jobs"]).await;
    let auth = app.auth_for(&user).await;
    let narrow = create_key_ok(
        &app,
        &auth,
        json!({"name": "narrow", "scopes": ["jobs:write"]}),
    )
    .await;
    let narrow = narrow["key"].as_str().unwrap();

    let me: Value = app
        .get_me(&api_key_auth(narrow))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["scopes"], json!(["jobs:write"]));
    let me: Value = app
        .get_me(&api_key_auth(&follows_owner))
        .await
        .json()
        .await
        .unwrap();
    assert!(me["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("jobs:read")));

    // Taking the role away narrows every key at once.
    let changed = app
        .patch_json(
            &format!("/api/v1/users/{}", user.id),
            &admin,
            &json!({"roles": ["user"]}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let me: Value = app
        .get_me(&api_key_auth(narrow))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["scopes"], json!([]));
    let me: Value = app
        .get_me(&api_key_auth(&follows_owner))
        .await
        .json()
        .await
        .unwrap();
    assert!(!me["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("jobs:read")));
}

#[tokio::test]
async fn scopes_must_be_valid_and_held_by_the_owner() {
    let app = spawn_app().await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    for (case, scopes, mentioned) in [
        ("too broad", json!(["users:write"]), "users:write"),
        ("unknown", json!(["jobs:launch"]), "jobs:launch"),
        ("malformed", json!(["Not A Scope"]), "Not A Scope"),
    ] {
        let response = create_key(&app, &auth, json!({"name": "k", "scopes": scopes})).await;
        let body = assert_problem(response, 422, case).await;
        assert_eq!(body["field"], "scopes", "case {case}");
        assert!(
            body["detail"].as_str().unwrap().contains(mentioned),
            "case {case}: {body}"
        );
    }
    for (case, body, field) in [
        ("empty name", json!({"name": ""}), "name"),
        ("long name", json!({"name": "x".repeat(101)}), "name"),
        (
            "bad environment",
            json!({"name": "k", "environment": "prod"}),
            "environment",
        ),
        (
            "past expiry",
            json!({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let problem = assert_problem(create_key(&app, &auth, body).await, 422, case).await;
        assert_eq!(problem["field"], field, "case {case}");
    }
    let response = create_key(&app, &auth, json!({"name": "k", "owner": "someone"})).await;
    assert_problem(response, 400, "unknown field").await;
}

#[tokio::test]
async fn a_key_can_only_mint_keys_no_more_powerful_than_itself() {
    let app = spawn_app().await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let minter = create_key_ok(
        &app,
        &auth,
        json!({"name": "minter", "scopes": ["api_keys:write"]}),
    )
    .await;
    let minter = api_key_auth(minter["key"].as_str().unwrap());

    let too_much = create_key(
        &app,
        &minter,
        json!({"name": "x", "scopes": ["api_keys:read"]}),
    )
    .await;
    assert_problem(too_much, 422, "wider than the minting key").await;
    let child = create_key_ok(&app, &minter, json!({"name": "child"})).await;
    assert_eq!(
        child["scopes"],
        json!(["api_keys:write"]),
        "an unscoped child inherits the minter's scopes"
    );
    let listing = app.get("/api/v1/api-keys", &minter).await;
    assert_problem(listing, 403, "the minting key cannot read keys").await;
}

#[tokio::test]
async fn later_uses_reach_last_used_at_with_the_next_batch() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = crate::helpers::spawn_app_on(clock.clone(), |_| {}).await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let keys: Vec<Value> = create_keys(&app, &auth, 3).await;
    let last_used = async |id: &str, auth: &str| -> Option<chrono::DateTime<chrono::Utc>> {
        let key: Value = app
            .get(&format!("/api/v1/api-keys/{id}"), auth)
            .await
            .json()
            .await
            .unwrap();
        key["last_used_at"].as_str().map(|s| s.parse().unwrap())
    };
    for key in &keys {
        assert_eq!(me_status(&app, key["key"].as_str().unwrap()).await, 200);
    }
    let first = last_used(keys[0]["id"].as_str().unwrap(), &auth)
        .await
        .unwrap();
    clock.advance(chrono::Duration::hours(1));
    // The session token has expired meanwhile.
    let auth = app.auth_for(&user).await;
    for key in &keys {
        assert_eq!(me_status(&app, key["key"].as_str().unwrap()).await, 200);
    }
    // The batch is written every few seconds: wait (bounded) for it.
    let later = first + chrono::Duration::minutes(59);
    let mut written = false;
    for _ in 0..300 {
        let mut all = true;
        for key in &keys {
            all &= last_used(key["id"].as_str().unwrap(), &auth)
                .await
                .is_some_and(|at| at >= later);
        }
        if all {
            written = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        written,
        "every key's later use was written in one batch: first {first}, now {:?}",
        last_used(keys[0]["id"].as_str().unwrap(), &auth).await
    );
}

/// Creates `count` keys as `auth`.
async fn create_keys(app: &crate::helpers::TestApp, auth: &str, count: usize) -> Vec<Value> {
    let mut keys = Vec::new();
    for i in 0..count {
        keys.push(create_key_ok(app, auth, json!({"name": format!("batched-{i}")})).await);
    }
    keys
}

#[tokio::test]
async fn a_grace_period_ends_when_the_servers_clock_passes_it_even_with_the_cache_warm() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = crate::helpers::spawn_app_on(clock.clone(), |_| {}).await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let original = create_key_ok(&app, &auth, json!({"name": "batch"})).await;
    let old_secret = original["key"].as_str().unwrap().to_owned();
    let id = original["id"].as_str().unwrap();
    let rotated = app
        .post_json(
            &format!("/api/v1/api-keys/{id}/rotate"),
            &auth,
            &json!({"grace_seconds": 3600}),
        )
        .await;
    assert_eq!(rotated.status(), 201);
    let rotated: Value = rotated.json().await.unwrap();
    let new_secret = rotated["key"].as_str().unwrap().to_owned();
    // Used once each, so both are in the credential cache.
    assert_eq!(me_status(&app, &old_secret).await, 200, "inside the grace");
    assert_eq!(me_status(&app, &new_secret).await, 200, "the new key");

    clock.advance(chrono::Duration::seconds(3599));
    assert_eq!(
        me_status(&app, &old_secret).await,
        200,
        "a second before its end"
    );
    clock.advance(chrono::Duration::seconds(2));
    assert_eq!(me_status(&app, &old_secret).await, 401, "after its end");
    assert_eq!(me_status(&app, &new_secret).await, 200, "the new key stays");
}

#[tokio::test]
async fn rotation_runs_both_keys_through_the_grace_period_and_then_only_the_new_one() {
    // The test moves a key's expiry behind the server's back, as time would;
    // a warm credential cache would (rightly) still hold the old expiry.
    let app = crate::helpers::spawn_app_with(|s| s.credential_cache = false).await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let original = create_key_ok(
        &app,
        &auth,
        json!({"name": "batch", "environment": "test", "scopes": ["tokens:read"]}),
    )
    .await;
    let old_secret = original["key"].as_str().unwrap().to_owned();
    let id = original["id"].as_str().unwrap();

    let rotated = app
        .post_json(
            &format!("/api/v1/api-keys/{id}/rotate"),
            &auth,
            &json!({"grace_seconds": 3600}),
        )
        .await;
    assert_eq!(rotated.status(), 201);
    let rotated: Value = rotated.json().await.unwrap();
    let new_secret = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["name"], "batch");
    assert_eq!(rotated["environment"], "test");
    assert_eq!(rotated["scopes"], json!(["tokens:read"]));
    assert_eq!(rotated["rotated_from"], id);
    assert_eq!(
        me_status(&app, &old_secret).await,
        200,
        "old key inside its grace period"
    );
    assert_eq!(me_status(&app, &new_secret).await, 200, "new key");

    let again = app
        .post_json(&format!("/api/v1/api-keys/{id}/rotate"), &auth, &json!({}))
        .await;
    assert_problem(again, 409, "rotating a key twice").await;

    // Past the grace period: move the old key's end into the past, as time would.
    app.expire_api_key(id).await;
    assert_eq!(
        me_status(&app, &old_secret).await,
        401,
        "old key after its grace period"
    );
    assert_eq!(me_status(&app, &new_secret).await, 200);

    let successor = rotated["id"].as_str().unwrap();
    let immediate = app
        .post_json(
            &format!("/api/v1/api-keys/{successor}/rotate"),
            &auth,
            &json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(immediate.status(), 201);
    assert_eq!(
        me_status(&app, &new_secret).await,
        401,
        "grace 0 ends the old key at once"
    );

    for (case, grace) in [("negative", -1), ("beyond 30 days", 2_592_001)] {
        let fresh = create_key_ok(&app, &auth, json!({"name": "g"})).await;
        let response = app
            .post_json(
                &format!("/api/v1/api-keys/{}/rotate", fresh["id"].as_str().unwrap()),
                &auth,
                &json!({"grace_seconds": grace}),
            )
            .await;
        assert_problem(response, 422, case).await;
    }
}

#[tokio::test]
async fn revoked_expired_and_malformed_keys_get_one_uniform_401() {
    let app = spawn_app().await;
    let (user, key) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let revoked = create_key_ok(&app, &auth, json!({"name": "r"})).await;
    let response = app
        .delete(
            &format!("/api/v1/api-keys/{}", revoked["id"].as_str().unwrap()),
            &auth,
        )
        .await;
    assert_eq!(response.status(), 204);
    let expired = create_key_ok(
        &app,
        &auth,
        json!({"name": "e", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    app.expire_api_key(expired["id"].as_str().unwrap()).await;

    let mut broken = key.clone().into_bytes();
    broken[12] = if broken[12] == b'A' { b'B' } else { b'A' };
    let cases = [
        ("truncated", key[..key.len() - 1].to_owned()),
        ("checksum broken", String::from_utf8(broken).unwrap()),
        ("wrong prefix", key.replacen("tri_live_", "tri_prod_", 1)),
        (
            "other kind's prefix",
            key.replacen("tri_live_", "tri_test_", 1),
        ),
        ("revoked", revoked["key"].as_str().unwrap().to_owned()),
        ("expired", expired["key"].as_str().unwrap().to_owned()),
        ("empty", String::new()),
    ];
    let mut bodies = Vec::new();
    for (case, presented) in cases {
        let response = app.get_me(&api_key_auth(&presented)).await;
        assert_eq!(response.status(), 401, "case {case}");
        assert!(
            response.headers().get("www-authenticate").is_some(),
            "case {case}"
        );
        bodies.push((case, response.text().await.unwrap()));
    }
    for (case, body) in &bodies {
        assert_eq!(body, &bodies[0].1, "case {case} answers like the others");
    }
    assert_eq!(me_status(&app, &key).await, 200, "the good key still works");
}

#[tokio::test]
async fn another_users_key_is_not_found_but_an_admin_can_list_and_revoke_it() {
    let app = spawn_app().await;
    let (alice, alice_key) = user_with_key(&app, &["user"]).await;
    let (bob, _) = user_with_key(&app, &["user"]).await;
    let alice_auth = app.auth_for(&alice).await;
    let bob_auth = app.auth_for(&bob).await;
    let list: Value = app
        .get("/api/v1/api-keys", &alice_auth)
        .await
        .json()
        .await
        .unwrap();
    let alice_key_id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/api-keys/{alice_key_id}");

    assert_problem(
        app.get(&path, &bob_auth).await,
        404,
        "bob reads alice's key",
    )
    .await;
    assert_problem(
        app.delete(&path, &bob_auth).await,
        404,
        "bob revokes alice's key",
    )
    .await;
    let rotate = app
        .post_json(&format!("{path}/rotate"), &bob_auth, &json!({}))
        .await;
    assert_problem(rotate, 404, "bob rotates alice's key").await;
    let peek = app
        .get(&format!("/api/v1/api-keys?user_id={}", alice.id), &bob_auth)
        .await;
    assert_problem(peek, 403, "bob lists alice's keys").await;
    assert_eq!(me_status(&app, &alice_key).await, 200);

    let admin = app.admin_auth().await;
    let listed: Value = app
        .get(&format!("/api/v1/api-keys?user_id={}", alice.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_eq!(me_status(&app, &alice_key).await, 401);
    let events: Value = app
        .get(
            &format!("/api/v1/audit-events?action=api_key.revoke&target={alice_key_id}"),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["items"][0]["actor"]["id"], app.admin.id.as_str());
}

#[tokio::test]
async fn disabling_a_user_stops_its_keys_at_once_and_deleting_it_deletes_them() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let (user, key) = user_with_key(&app, &["user"]).await;
    let user_path = format!("/api/v1/users/{}", user.id);
    let listed: Value = app
        .get(&format!("/api/v1/api-keys?user_id={}", user.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    let key_id = listed["items"][0]["id"].as_str().unwrap().to_owned();

    assert_eq!(
        app.patch_json(&user_path, &admin, &json!({"disabled": true}))
            .await
            .status(),
        200
    );
    assert_eq!(me_status(&app, &key).await, 401, "disabled owner");
    assert_eq!(
        app.patch_json(&user_path, &admin, &json!({"disabled": false}))
            .await
            .status(),
        200
    );
    assert_eq!(me_status(&app, &key).await, 200, "re-enabled owner");

    assert_eq!(app.delete(&user_path, &admin).await.status(), 204);
    assert_eq!(me_status(&app, &key).await, 401, "deleted owner");
    assert_problem(
        app.get(&format!("/api/v1/api-keys/{key_id}"), &admin).await,
        404,
        "the key row is gone",
    )
    .await;
}

#[tokio::test]
async fn creation_first_use_rotation_and_revocation_are_audited_and_last_use_is_recorded() {
    let app = spawn_app().await;
    let (user, _) = user_with_key(&app, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let key = create_key_ok(&app, &auth, json!({"name": "audited"})).await;
    let id = key["id"].as_str().unwrap();
    assert!(key["last_used_at"].is_null());
    assert_eq!(me_status(&app, key["key"].as_str().unwrap()).await, 200);
    assert_eq!(me_status(&app, key["key"].as_str().unwrap()).await, 200);
    let fetched: Value = app
        .get(&format!("/api/v1/api-keys/{id}"), &auth)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        fetched["last_used_at"].is_string(),
        "first use is recorded at once"
    );
    let rotated: Value = app
        .post_json(&format!("/api/v1/api-keys/{id}/rotate"), &auth, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.delete(
            &format!("/api/v1/api-keys/{}", rotated["id"].as_str().unwrap()),
            &auth
        )
        .await
        .status(),
        204
    );

    let admin = app.admin_auth().await;
    for action in ["api_key.create", "api_key.first_use", "api_key.rotate"] {
        let events: Value = app
            .get(
                &format!("/api/v1/audit-events?action={action}&target={id}"),
                &admin,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            events["items"].as_array().unwrap().len(),
            1,
            "one {action} event"
        );
    }
    let first_use: Value = app
        .get(
            &format!("/api/v1/audit-events?action=api_key.first_use&target={id}"),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !first_use.to_string().contains(key["key"].as_str().unwrap()),
        "the audit log never holds a secret"
    );
}

#[tokio::test]
async fn hostile_headers_get_4xx_never_500() {
    let app = spawn_app().await;
    let (_, key) = user_with_key(&app, &["user"]).await;
    let huge = format!("Api-Key {}", "A".repeat(10_000));
    let response = app.get_me(&huge).await;
    assert!(
        matches!(response.status().as_u16(), 400 | 401 | 431),
        "10 kB header: {}",
        response.status()
    );

    let two = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", format!("Api-Key {key}"))
        .header("Authorization", format!("Api-Key {key}"))
        .send()
        .await
        .unwrap();
    assert_problem(two, 400, "two Authorization headers").await;
    let both = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", format!("Api-Key {key}"))
        .header("X-API-Key", key.as_str())
        .send()
        .await
        .unwrap();
    assert_problem(both, 400, "Authorization and X-API-Key").await;

    // reqwest refuses to send a NUL byte, so speak HTTP by hand.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!("GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Api-Key {}\0x\r\nConnection: close\r\n\r\n", key);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        status_line.contains(" 400 ") || status_line.contains(" 401 "),
        "NUL byte: {status_line}"
    );
}

#[tokio::test]
async fn self_registration_is_off_by_default_and_when_on_hands_out_a_live_key() {
    let closed = spawn_app().await;
    let body = json!({"username": "newcomer", "password": "a-long-password"});
    let response = closed
        .client
        .post(closed.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "registration off").await;

    let open = crate::helpers::spawn_app_with(|s| s.allow_registration = true).await;
    let response = open
        .client
        .post(open.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["roles"], json!(["user"]));
    let key = created["api_key"]["key"].as_str().unwrap();
    let me: Value = open.get_me(&api_key_auth(key)).await.json().await.unwrap();
    assert_eq!(me["principal"]["name"], "newcomer");
    let again = open
        .client
        .post(open.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "username taken").await;
    let weak = open
        .client
        .post(open.url("/api/v1/auth/register"))
        .json(&json!({"username": "other", "password": "short", "roles": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_problem(weak, 400, "roles cannot be chosen when registering").await;
}
