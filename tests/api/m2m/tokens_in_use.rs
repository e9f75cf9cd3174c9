//! M2M tokens at Trident's own API: the client's current permissions, and what
//! disabling or deleting a client does to its tokens.

use serde_json::{json, Value};

use super::{
    access_token, assert_oauth_error, bearer, fixture, me, post_form, set, strings, token_ok,
    Fixture,
};
use crate::helpers::{assert_problem, assert_unauthenticated};

#[tokio::test]
async fn trident_accepts_m2m_tokens_with_the_clients_current_permissions() {
    let Fixture {
        app, admin, client, ..
    } = fixture().await;
    let body = token_ok(&app, &client, &[("scope", "jobs:read")]).await;
    let token = access_token(&body);
    assert_eq!(
        strings(&me(&app, token).await["scopes"]),
        set(&["jobs:read"])
    );

    // Taking the role away narrows the token at once; the token itself is not re-issued.
    let changed = app
        .patch_json(
            &format!("/api/v1/clients/{}", client.id),
            &admin,
            &json!({"roles": []}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let me = me(&app, token).await;
    assert_eq!(
        me["scopes"],
        json!([]),
        "scopes follow the client's current roles"
    );
    assert_eq!(me["roles"], json!([]));

    // Management permissions are checked per scope in the token.
    let operator = app.seed_client_as(&admin, &["admin"]).await;
    for (case, scope, list_status, create_status) in [
        ("clients:read only", "clients:read", 200, 403),
        ("users:read only", "users:read", 403, 403),
        (
            "clients:read and clients:write",
            "clients:read clients:write",
            200,
            201,
        ),
    ] {
        let body = token_ok(&app, &operator, &[("scope", scope)]).await;
        let auth = bearer(access_token(&body));
        let listed = app.get("/api/v1/clients", &auth).await;
        assert_eq!(listed.status(), list_status, "case {case}: list clients");
        let created = app
            .post_json(
                "/api/v1/clients",
                &auth,
                &json!({"name": "made-by-a-machine"}),
            )
            .await;
        assert_eq!(
            created.status(),
            create_status,
            "case {case}: create a client"
        );
    }
}

#[tokio::test]
async fn disabling_or_deleting_a_client_stops_its_tokens_at_once() {
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture().await;
    let path = format!("/api/v1/clients/{}", client.id);
    let token = access_token(&token_ok(&app, &client, &[]).await).to_owned();
    assert_eq!(app.get_me(&bearer(&token)).await.status(), 200);

    let disabled = app
        .patch_json(&path, &admin, &json!({"disabled": true}))
        .await;
    assert_eq!(disabled.status(), 200);
    let disabled: Value = disabled.json().await.unwrap();
    assert_eq!(disabled["disabled"], true);
    assert_unauthenticated(
        app.get_me(&bearer(&token)).await,
        "token of a disabled client",
    )
    .await;
    let response = app.post_token(None, &post_form(&client, &[])).await;
    assert_oauth_error(
        response,
        401,
        "invalid_client",
        "a disabled client asks for a token",
    )
    .await;

    let enabled = app
        .patch_json(&path, &admin, &json!({"disabled": false}))
        .await;
    assert_eq!(enabled.status(), 200);
    let fresh = access_token(&token_ok(&app, &client, &[]).await).to_owned();
    assert_eq!(
        app.get_me(&bearer(&fresh)).await.status(),
        200,
        "enabled again"
    );

    let doomed = app.seed_client_as(&admin, &[&role]).await;
    let doomed_token = access_token(&token_ok(&app, &doomed, &[]).await).to_owned();
    assert_eq!(app.get_me(&bearer(&doomed_token)).await.status(), 200);
    let deleted = app
        .delete(&format!("/api/v1/clients/{}", doomed.id), &admin)
        .await;
    assert_eq!(deleted.status(), 204);
    assert_unauthenticated(
        app.get_me(&bearer(&doomed_token)).await,
        "token of a deleted client",
    )
    .await;
    let response = app.post_token(None, &post_form(&doomed, &[])).await;
    assert_oauth_error(
        response,
        401,
        "invalid_client",
        "a deleted client asks for a token",
    )
    .await;
    let gone = app
        .get(&format!("/api/v1/clients/{}", doomed.id), &admin)
        .await;
    assert_problem(gone, 404, "GET a deleted client").await;
    assert_eq!(
        app.get_me(&bearer(&fresh)).await.status(),
        200,
        "other clients' tokens are untouched"
    );
}
