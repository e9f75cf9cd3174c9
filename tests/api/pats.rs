//! Personal access tokens through the API (the web UI comes with #5).

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};

const PATS: &str = "/api/v1/personal-access-tokens";

async fn mint(app: &TestApp, auth: &str, body: Value) -> reqwest::Response {
    app.post_json(PATS, auth, &body).await
}

async fn mint_ok(app: &TestApp, auth: &str, body: Value) -> Value {
    let response = mint(app, auth, body).await;
    assert_eq!(response.status(), 201, "minting a PAT");
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

fn bearer(token: &Value) -> String {
    format!("Bearer {}", token["token"].as_str().unwrap())
}

#[tokio::test]
async fn a_pat_acts_for_its_user_with_exactly_the_scopes_chosen() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let auth = app.auth_for(&user).await;
    let pat = mint_ok(
        &app,
        &auth,
        json!({"name": "laptop", "scopes": ["api_keys:read"], "expires_in_days": 30}),
    )
    .await;
    let secret = pat["token"].as_str().unwrap();
    assert!(secret.starts_with("tri_pat_"));
    assert!(secret.starts_with(pat["display_prefix"].as_str().unwrap()));
    assert!(secret.ends_with(pat["last_chars"].as_str().unwrap()));
    let me: Value = app.get_me(&bearer(&pat)).await.json().await.unwrap();
    assert_eq!(me["principal"]["id"], user.id.as_str());
    assert_eq!(me["credential"]["kind"], "personal_access_token");
    assert_eq!(me["scopes"], json!(["api_keys:read"]));

    let listed = app.get(PATS, &auth).await.text().await.unwrap();
    assert!(!listed.contains(secret), "listings never carry the secret");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["items"][0]["status"], "active");
}

#[tokio::test]
async fn minting_rejects_bad_scopes_and_expiries_naming_the_field() {
    let app = spawn_app_with(|s| s.pat_max_lifetime_days = 90).await;
    let user = app.seed_user(&["user"]).await;
    let auth = app.auth_for(&user).await;
    let cases = [
        (
            "too broad",
            json!({"name": "x", "scopes": ["users:write"], "expires_in_days": 7}),
            "scopes",
        ),
        (
            "malformed scope",
            json!({"name": "x", "scopes": ["nope"], "expires_in_days": 7}),
            "scopes",
        ),
        (
            "no scopes",
            json!({"name": "x", "scopes": [], "expires_in_days": 7}),
            "scopes",
        ),
        (
            "no expiry",
            json!({"name": "x", "scopes": ["tokens:read"]}),
            "expires_in_days",
        ),
        (
            "both expiries",
            json!({"name": "x", "scopes": ["tokens:read"], "expires_in_days": 7, "expires_at": "2999-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            "beyond the maximum",
            json!({"name": "x", "scopes": ["tokens:read"], "expires_in_days": 91}),
            "expires_at",
        ),
        (
            "in the past",
            json!({"name": "x", "scopes": ["tokens:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            "zero days",
            json!({"name": "x", "scopes": ["tokens:read"], "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            "blank name",
            json!({"name": "  ", "scopes": ["tokens:read"], "expires_in_days": 7}),
            "name",
        ),
    ];
    for (case, body, field) in cases {
        let problem = assert_problem(mint(&app, &auth, body).await, 422, case).await;
        assert_eq!(problem["field"], field, "case {case}");
    }
    let unknown = mint(
        &app,
        &auth,
        json!({"name": "x", "scopes": ["tokens:read"], "expires_in_days": 7, "admin": true}),
    )
    .await;
    assert_problem(unknown, 400, "unknown field").await;
}

#[tokio::test]
async fn a_pat_mints_nothing_more_powerful_than_itself() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let auth = app.auth_for(&user).await;
    let reader = mint_ok(
        &app,
        &auth,
        json!({"name": "r", "scopes": ["tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let refused = mint(
        &app,
        &bearer(&reader),
        json!({"name": "x", "scopes": ["tokens:read"], "expires_in_days": 7}),
    )
    .await;
    assert_problem(refused, 403, "a PAT without tokens:write mints no PAT").await;
    let key = app
        .post_json("/api/v1/api-keys", &bearer(&reader), &json!({"name": "k"}))
        .await;
    assert_problem(key, 403, "a PAT without api_keys:write mints no API key").await;

    let minter = mint_ok(
        &app,
        &auth,
        json!({"name": "m", "scopes": ["tokens:write", "tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let wider = mint(
        &app,
        &bearer(&minter),
        json!({"name": "x", "scopes": ["api_keys:read"], "expires_in_days": 7}),
    )
    .await;
    assert_problem(wider, 422, "wider than the minting PAT").await;
    let child = mint_ok(
        &app,
        &bearer(&minter),
        // No later than the minting PAT itself (`escalation.rs` holds the rule).
        json!({"name": "c", "scopes": ["tokens:read"], "expires_in_days": 6}),
    )
    .await;
    assert_eq!(child["scopes"], json!(["tokens:read"]));
}

#[tokio::test]
async fn revoked_expired_and_foreign_pats_are_refused() {
    // The expiry is moved behind the server's back, so the cache is off here.
    let app = spawn_app_with(|s| s.credential_cache = false).await;
    let alice = app.seed_user(&["user"]).await;
    let bob = app.seed_user(&["user"]).await;
    let alice_auth = app.auth_for(&alice).await;
    let pat = mint_ok(
        &app,
        &alice_auth,
        json!({"name": "p", "scopes": ["tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let path = format!("{PATS}/{}", pat["id"].as_str().unwrap());

    let bob_auth = app.auth_for(&bob).await;
    assert_problem(
        app.get(&path, &bob_auth).await,
        404,
        "bob reads alice's PAT",
    )
    .await;
    assert_problem(
        app.delete(&path, &bob_auth).await,
        404,
        "bob revokes alice's PAT",
    )
    .await;
    assert_eq!(app.get_me(&bearer(&pat)).await.status(), 200);

    assert_eq!(app.delete(&path, &alice_auth).await.status(), 204);
    assert_eq!(app.get_me(&bearer(&pat)).await.status(), 401, "revoked");
    let fetched: Value = app.get(&path, &alice_auth).await.json().await.unwrap();
    assert_eq!(fetched["status"], "revoked");

    let expiring = mint_ok(
        &app,
        &alice_auth,
        json!({"name": "e", "scopes": ["tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let conn = sea_orm::Database::connect(&app.database_url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &conn,
        "UPDATE personal_access_tokens SET expires_at = '2001-01-01 00:00:00+00:00' WHERE name = 'e'",
    )
    .await
    .unwrap();
    assert_eq!(
        app.get_me(&bearer(&expiring)).await.status(),
        401,
        "expired"
    );
}

#[tokio::test]
async fn losing_a_role_narrows_every_pat_at_once_and_use_is_audited() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let role = app
        .post_json(
            "/api/v1/roles",
            &admin,
            &json!({"name": "jobs", "permissions": ["jobs:write"]}),
        )
        .await;
    assert_eq!(role.status(), 201);
    let user = app.seed_user(&["user", "jobs"]).await;
    let auth = app.auth_for(&user).await;
    let pat = mint_ok(
        &app,
        &auth,
        json!({"name": "j", "scopes": ["jobs:write", "tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let me: Value = app.get_me(&bearer(&pat)).await.json().await.unwrap();
    assert_eq!(me["scopes"], json!(["jobs:write", "tokens:read"]));

    let changed = app
        .patch_json(
            &format!("/api/v1/users/{}", user.id),
            &admin,
            &json!({"roles": ["user"]}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let me: Value = app.get_me(&bearer(&pat)).await.json().await.unwrap();
    assert_eq!(me["scopes"], json!(["tokens:read"]));

    let id = pat["id"].as_str().unwrap();
    for action in ["pat.create", "pat.first_use"] {
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
        assert!(!events.to_string().contains(pat["token"].as_str().unwrap()));
    }
}

async fn introspect(app: &TestApp, caller: &str, token: &str) -> Value {
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .header("Authorization", caller)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_pat_is_introspected_revokes_itself_and_can_be_reported_as_leaked() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user(&["user"]).await;
    let auth = app.auth_for(&user).await;
    let pat = mint_ok(
        &app,
        &auth,
        json!({"name": "ci", "scopes": ["tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let secret = pat["token"].as_str().unwrap();

    let answer = introspect(&app, &admin, secret).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "personal_access_token");
    assert_eq!(answer["scope"], "tokens:read");
    assert_eq!(answer["sub"], user.id.as_str());
    assert_eq!(answer["username"], user.username.as_str());
    assert_eq!(answer["credential_id"], pat["id"]);
    assert_eq!(
        answer["exp"],
        json!(
            chrono::DateTime::parse_from_rfc3339(pat["expires_at"].as_str().unwrap())
                .unwrap()
                .timestamp()
        )
    );

    // A PAT may revoke itself (RFC 7009).
    let revoked = app
        .client
        .post(app.url("/oauth/revoke"))
        .header("Authorization", bearer(&pat))
        .form(&[("token", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect(&app, &admin, secret).await,
        json!({"active": false})
    );
    assert_eq!(app.get_me(&bearer(&pat)).await.status(), 401);

    let leaked = mint_ok(
        &app,
        &auth,
        json!({"name": "pasted", "scopes": ["tokens:read"], "expires_in_days": 7}),
    )
    .await;
    let report = app
        .client
        .post(app.url("/api/v1/credentials/revoke"))
        .json(&json!({"credentials": [leaked["token"], "tri_pat_not-a-real-token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 202);
    assert_eq!(
        app.get_me(&bearer(&leaked)).await.status(),
        401,
        "a reported PAT is revoked"
    );
}
