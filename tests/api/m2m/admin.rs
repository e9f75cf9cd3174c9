//! Client registration and management: the admin API, `trident client create`,
//! and re-enabling a client.

use std::collections::BTreeSet;
use std::time::Duration;

use oauth2::{AuthType, TokenResponse};
use serde_json::{json, Value};

use super::{
    access_token, auth_name, bearer, fixture, me, set, strings, token_ok, token_via_oauth2, Fixture,
};
use crate::helpers::{assert_problem, assert_unauthenticated, TestClient};

#[tokio::test]
async fn clients_are_managed_through_the_admin_api_and_secrets_are_shown_once() {
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture().await;
    let response = app
        .post_json(
            "/api/v1/clients",
            &admin,
            &json!({"name": "billing-worker", "roles": [role]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert!(
        secret.starts_with("tri_cs_"),
        "a recognisable secret: {secret}"
    );
    assert!(secret.len() >= 43, "≥ 256 bits of base62: {secret}");
    assert!(created["client_id"].as_str().unwrap().starts_with("cli_"));
    assert_eq!(created["name"], "billing-worker");
    assert_eq!(created["roles"], json!([role]));
    assert_eq!(created["disabled"], false);
    assert_eq!(created["access_token_ttl_seconds"], Value::Null);
    let id = created["id"].as_str().unwrap();

    let fetched = app.get(&format!("/api/v1/clients/{id}"), &admin).await;
    assert_eq!(fetched.status(), 200);
    let fetched: Value = fetched.json().await.unwrap();
    assert_eq!(fetched["client_id"], created["client_id"]);
    assert!(fetched.get("client_secret").is_none(), "shown once only");

    let listed = app.get("/api/v1/clients", &admin).await;
    assert_eq!(listed.status(), 200);
    let text = listed.text().await.unwrap();
    assert!(
        !text.contains(secret) && !text.contains(&client.client_secret),
        "no secrets in listings"
    );
    let listed: Value = serde_json::from_str(&text).unwrap();
    let ids: BTreeSet<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.contains(&client.client_id) && ids.contains(created["client_id"].as_str().unwrap())
    );
    assert!(listed.get("next_cursor").is_some(), "{listed}");

    let renamed = app
        .patch_json(
            &format!("/api/v1/clients/{id}"),
            &admin,
            &json!({"name": "billing"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(renamed.json::<Value>().await.unwrap()["name"], "billing");

    for (case, body, field) in [
        ("empty name", json!({"name": ""}), "name"),
        (
            "lifetime under a minute",
            json!({"name": "x", "access_token_ttl_seconds": 59}),
            "access_token_ttl_seconds",
        ),
        (
            "lifetime over a day",
            json!({"name": "x", "access_token_ttl_seconds": 86_401}),
            "access_token_ttl_seconds",
        ),
    ] {
        let response = app.post_json("/api/v1/clients", &admin, &body).await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], field, "case {case}");
    }

    let user = app.seed_user_as(&admin, &["user"]).await;
    let user_auth = app.auth_for(&user).await;
    let token = access_token(&token_ok(&app, &client, &[]).await).to_owned();
    for (case, auth) in [
        ("a plain user", user_auth),
        ("a client without clients:*", bearer(&token)),
    ] {
        assert_problem(app.get("/api/v1/clients", &auth).await, 403, case).await;
        let response = app
            .post_json("/api/v1/clients", &auth, &json!({"name": "sneaky"}))
            .await;
        assert_problem(response, 403, case).await;
    }
}

#[tokio::test]
async fn trident_client_create_prints_credentials_that_get_a_token_from_the_running_server() {
    let Fixture { app, role, .. } = fixture().await;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trident"));
    command
        .args([
            "client",
            "create",
            "--name",
            "nightly-report",
            "--role",
            &role,
        ])
        .current_dir(std::env::temp_dir())
        .kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TRIDENT_") {
            command.env_remove(name);
        }
    }
    command
        .env("TRIDENT_DATABASE_URL", &app.database_url)
        .env("TRIDENT_MASTER_KEY", &app.master_key);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("trident client create finishes in time")
        .expect("running trident");
    assert!(
        output.status.success(),
        "trident client create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON on stdout ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let client = TestClient {
        id: printed["id"].as_str().unwrap_or_default().to_owned(),
        client_id: printed["client_id"].as_str().unwrap().to_owned(),
        name: "nightly-report".into(),
        client_secret: printed["client_secret"].as_str().unwrap().to_owned(),
    };
    assert!(client.client_id.starts_with("cli_"), "{printed}");
    assert!(client.client_secret.starts_with("tri_cs_"), "{printed}");

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let case = auth_name(&auth);
        let token = token_via_oauth2(&app, &client, auth, &["jobs:write"]).await;
        let me = me(&app, token.access_token().secret()).await;
        assert_eq!(
            me["principal"],
            json!({"type": "client", "id": client.client_id, "name": "nightly-report"}),
            "case {case}"
        );
        assert_eq!(strings(&me["scopes"]), set(&["jobs:write"]), "case {case}");
        assert_eq!(me["roles"], json!([role]), "case {case}");
    }
}

#[tokio::test]
async fn re_enabling_a_client_or_leaking_its_secret_never_revives_old_tokens() {
    let Fixture {
        app, admin, client, ..
    } = fixture().await;
    let path = format!("/api/v1/clients/{}", client.id);
    let old = access_token(&token_ok(&app, &client, &[]).await).to_owned();
    for disabled in [true, false] {
        let response = app
            .patch_json(&path, &admin, &json!({"disabled": disabled}))
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_unauthenticated(
        app.get_me(&bearer(&old)).await,
        "a token from before the client was disabled",
    )
    .await;
    let fresh = access_token(&token_ok(&app, &client, &[]).await).to_owned();
    assert_eq!(
        app.get_me(&bearer(&fresh)).await.status(),
        200,
        "a token issued after re-enabling"
    );

    // A reported secret ends the tokens bought with it, too.
    let rotated = app
        .post_json(
            &format!("{path}/secrets"),
            &admin,
            &json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(rotated.status(), 201);
    let rotated: Value = rotated.json().await.unwrap();
    let report = app
        .client
        .post(app.url("/api/v1/credentials/revoke"))
        .json(&json!({"credentials": [rotated["client_secret"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 202);
    assert_unauthenticated(
        app.get_me(&bearer(&fresh)).await,
        "a token of a client whose secret leaked",
    )
    .await;
}
