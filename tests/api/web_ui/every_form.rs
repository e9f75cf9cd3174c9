//! Sweeps over every form of the UI: none acts on a cross-site submission, and
//! the administration forms act only for users holding the permission.

use serde_json::{json, Value};

use super::{pats_of, Browser, Page};
use crate::helpers::{spawn_app, TestApp, TestUser};

/// Every address a UI form posts to, with objects that exist.
fn form_paths(user: &str, role: &str, client: &str, key: &str, pat: &str) -> Vec<String> {
    vec![
        "/login".into(),
        "/logout".into(),
        "/register".into(),
        "/tokens".into(),
        format!("/tokens/{pat}/revoke"),
        "/api-keys".into(),
        format!("/api-keys/{key}/rotate"),
        format!("/api-keys/{key}/revoke"),
        "/admin/users".into(),
        format!("/admin/users/{user}"),
        format!("/admin/users/{user}/delete"),
        "/admin/roles".into(),
        format!("/admin/roles/{role}"),
        format!("/admin/roles/{role}/delete"),
        "/admin/clients".into(),
        format!("/admin/clients/{client}"),
        format!("/admin/clients/{client}/secrets"),
        format!("/admin/clients/{client}/delete"),
    ]
}

fn admin_user(app: &TestApp) -> TestUser {
    TestUser {
        id: app.admin.id.clone(),
        username: app.admin.username.clone(),
        password: app.admin.password.clone(),
    }
}

async fn status_of(app: &TestApp, path: &str, authorization: &str) -> u16 {
    app.get(path, authorization).await.status().as_u16()
}

#[tokio::test]
async fn no_form_of_the_ui_acts_on_a_cross_site_submission() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let victim = app.seed_user_as(&admin, &["user"]).await;
    let role = app.seed_role_as(&admin, &["tokens:read"]).await;
    let client = app.seed_client_as(&admin, &[&role]).await;
    let key: Value = app
        .post_json(
            "/api/v1/api-keys",
            &admin,
            &json!({"name": "k", "environment": "live", "scopes": ["tokens:read"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let key_id = key["id"].as_str().unwrap();
    let pat: Value = app
        .post_json(
            "/api/v1/personal-access-tokens",
            &admin,
            &json!({"name": "p", "scopes": ["tokens:read"], "expires_in_days": 7}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pat_id = pat["id"].as_str().unwrap();
    let mut browser = Browser::signed_in(&app, &admin_user(&app)).await;
    let right = browser.csrf().await;
    // Fields that would make each form act, were it accepted.
    let fields = [
        ("name", "forged"),
        ("username", "forged-user"),
        ("password", "a-long-enough-password"),
        ("roles", "admin"),
        ("permissions", "tokens:read"),
        ("scopes", "tokens:read"),
        ("environment", "live"),
        ("expiry", "30"),
        ("grace_seconds", "0"),
        ("disabled", "on"),
    ];
    let paths = form_paths(&victim.id, &role, &client.id, key_id, pat_id);

    for path in &paths {
        let missing: Page = browser.submit(path, &fields).await;
        assert_eq!(missing.status, 403, "POST {path} without a token");
        let mut with_token = fields.to_vec();
        with_token.push(("csrf_token", &right));
        let foreign = browser
            .submit_with(path, &[("origin", "http://evil.example")], &with_token)
            .await;
        assert_eq!(foreign.status, 403, "POST {path} from a foreign origin");
        let cross = browser
            .submit_with(path, &[("sec-fetch-site", "cross-site")], &with_token)
            .await;
        assert_eq!(cross.status, 403, "POST {path} from a cross-site request");
    }

    assert_eq!(browser.get("/tokens").await.status, 200, "still signed in");
    let user: Value = app
        .get(&format!("/api/v1/users/{}", victim.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["disabled"], false, "the user is untouched");
    assert_eq!(
        user["roles"],
        json!(["user"]),
        "the user's roles are untouched"
    );
    assert_eq!(
        status_of(&app, &format!("/api/v1/roles/{role}"), &admin).await,
        200
    );
    let client_now: Value = app
        .get(&format!("/api/v1/clients/{}", client.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(client_now["disabled"], false, "the client is untouched");
    let token = app
        .post_token(
            Some(&crate::helpers::client_basic_auth(
                &client.client_id,
                &client.client_secret,
            )),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(token.status(), 200, "the client's secret still works");
    let keys = app
        .get_me(&format!("Api-Key {}", key["key"].as_str().unwrap()))
        .await;
    assert_eq!(keys.status(), 200, "the API key still works");
    let pats = pats_of(&app, &admin).await;
    assert_eq!(pats.len(), 1, "no token was minted");
    assert_eq!(pats[0]["status"], "active", "no token was revoked");
    assert_eq!(
        app.login("forged-user", "a-long-enough-password")
            .await
            .status(),
        401,
        "no user was created"
    );
}

#[tokio::test]
async fn administration_pages_and_forms_refuse_a_user_without_the_permission() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let role = app.seed_role_as(&admin, &["tokens:read"]).await;
    let client = app.seed_client_as(&admin, &[&role]).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let csrf = browser.csrf().await;
    let tokens = browser.get("/tokens").await;
    assert!(
        !tokens.body.contains("/admin/"),
        "no administration links for a user"
    );

    for path in [
        "/admin/users".to_owned(),
        format!("/admin/users/{}", app.admin.id),
        "/admin/roles".to_owned(),
        format!("/admin/roles/{role}"),
        "/admin/clients".to_owned(),
        format!("/admin/clients/{}", client.id),
        "/admin/audit".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 403, "GET {path}");
        assert!(
            page.body
                .contains(&format!("<strong id=\"whoami\">{}</strong>", user.username))
                && page.body.contains("action=\"/logout\""),
            "GET {path}: the refusal keeps the user's frame with Sign out: {}",
            page.body
        );
        assert!(!page.body.contains("/admin/"), "GET {path}: no admin links");
    }

    let cases = [
        (
            "make oneself an administrator",
            format!("/admin/users/{}", user.id),
            vec![("roles", "admin"), ("roles", "user")],
        ),
        (
            "disable the administrator",
            format!("/admin/users/{}", app.admin.id),
            vec![("disabled", "on"), ("roles", "admin")],
        ),
        (
            "delete the administrator",
            format!("/admin/users/{}/delete", app.admin.id),
            vec![],
        ),
        (
            "create a user",
            "/admin/users".to_owned(),
            vec![
                ("username", "made-by-a-user"),
                ("password", "a-long-enough-password"),
                ("roles", "admin"),
            ],
        ),
        (
            "grant a role more",
            format!("/admin/roles/{role}"),
            vec![("permissions", "users:write")],
        ),
        (
            "rotate a client's secret",
            format!("/admin/clients/{}/secrets", client.id),
            vec![],
        ),
        (
            "delete a client",
            format!("/admin/clients/{}/delete", client.id),
            vec![],
        ),
    ];
    for (case, path, fields) in cases {
        let mut fields = fields;
        fields.push(("csrf_token", &csrf));
        let page = browser.submit(&path, &fields).await;
        assert_eq!(page.status, 403, "case {case}: POST {path}");
    }

    let me: Value = app
        .get_me(&app.auth_for(&user).await)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !me["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "users:write"),
        "the user gained nothing: {me}"
    );
    let admin_now: Value = app
        .get(&format!("/api/v1/users/{}", app.admin.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        admin_now["disabled"], false,
        "the administrator is untouched"
    );
    assert_eq!(
        status_of(&app, &format!("/api/v1/clients/{}", client.id), &admin).await,
        200,
        "the client still exists"
    );
    assert_eq!(
        app.login("made-by-a-user", "a-long-enough-password")
            .await
            .status(),
        401,
        "no user was created"
    );
}
