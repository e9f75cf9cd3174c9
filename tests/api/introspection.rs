//! RFC 7662 introspection at `/oauth/introspect`: every kind of Trident token
//! side by side, and every way a token can be inactive. The helpers here are
//! shared with `resource_servers.rs`, `revocation.rs` and `credential_cache.rs`.

use std::collections::BTreeSet;

use jsonwebtoken::{Algorithm, EncodingKey};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use trident::secret::{OpaqueSecret, SecretKind};

use crate::helpers::jwt::{now, sign_access_token};
use crate::helpers::{
    bearer, client_basic_auth, jwt_claims, refresh_token_of, spawn_app, TestApp, TestClient,
    TestUser,
};

/// Header or form name/value pairs.
pub type Pairs = Vec<(&'static str, String)>;

/// The one inactive answer, byte for byte.
pub const INACTIVE: &str = r#"{"active":false}"#;

/// A running app and a client allowed to introspect (a role holding only `tokens:introspect`).
pub struct Fixture {
    pub app: TestApp,
    pub admin: String,
    pub introspector: TestClient,
}

pub async fn fixture() -> Fixture {
    fixture_from(spawn_app().await).await
}

pub async fn fixture_from(app: TestApp) -> Fixture {
    let admin = app.admin_auth().await;
    let role = app.seed_role_as(&admin, &["tokens:introspect"]).await;
    let introspector = app.seed_client_as(&admin, &[&role]).await;
    Fixture {
        app,
        admin,
        introspector,
    }
}

/// `Basic` credentials of `client`.
pub fn basic(client: &TestClient) -> String {
    client_basic_auth(&client.client_id, &client.client_secret)
}

pub fn api_key_auth(key: &str) -> String {
    format!("Api-Key {key}")
}

/// Introspects `token` on the node at `base` as `caller` (Basic), with extra form
/// `params`; asserts 200 and `Cache-Control: no-store` and returns the raw body.
pub async fn introspect_text_with(
    app: &TestApp,
    base: &str,
    caller: &TestClient,
    token: &str,
    params: &[(&str, &str)],
) -> String {
    let mut form = vec![("token", token)];
    form.extend_from_slice(params);
    let response = app
        .post_form_to(
            &format!("{base}/oauth/introspect"),
            &[("Authorization", &basic(caller))],
            &form,
        )
        .await;
    assert_eq!(response.status(), 200, "introspection answers 200");
    assert_eq!(
        response.headers().get("cache-control").unwrap(),
        "no-store",
        "introspection answers are never cached"
    );
    response.text().await.unwrap()
}

/// Introspects `token` on the node at `base`; the raw body.
pub async fn introspect_text_at(
    app: &TestApp,
    base: &str,
    caller: &TestClient,
    token: &str,
) -> String {
    introspect_text_with(app, base, caller, token, &[]).await
}

/// Introspects `token` on `app`; the parsed answer.
pub async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    let text = introspect_text_at(app, &app.address, caller, token).await;
    serde_json::from_str(&text).unwrap()
}

pub async fn assert_inactive(app: &TestApp, caller: &TestClient, token: &str, case: &str) {
    let text = introspect_text_at(app, &app.address, caller, token).await;
    assert_eq!(text, INACTIVE, "case {case}: exactly {{\"active\":false}}");
}

pub async fn assert_active(app: &TestApp, caller: &TestClient, token: &str, case: &str) -> Value {
    let answer = introspect(app, caller, token).await;
    assert_eq!(answer["active"], true, "case {case}: active, got {answer}");
    answer
}

/// The status of `GET /api/v1/me` on the node at `base`.
pub async fn me_status_at(app: &TestApp, base: &str, authorization: &str) -> u16 {
    app.client
        .get(format!("{base}/api/v1/me"))
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An API key as created: its resource `id`, its secret `key`, and the whole body.
pub struct IssuedKey {
    pub id: String,
    pub key: String,
    pub body: Value,
}

impl IssuedKey {
    fn from_body(body: Value) -> Self {
        IssuedKey {
            id: body["id"].as_str().unwrap().to_owned(),
            key: body["key"].as_str().unwrap().to_owned(),
            body,
        }
    }
}

/// `POST /api/v1/api-keys` as `authorization`, asserting 201.
pub async fn create_key(app: &TestApp, authorization: &str, body: Value) -> IssuedKey {
    let response = app
        .post_json("/api/v1/api-keys", authorization, &body)
        .await;
    assert_eq!(response.status(), 201, "creating API key {body}");
    IssuedKey::from_body(response.json().await.unwrap())
}

/// Creates a user holding `roles`; returns it with the live API key it was issued.
pub async fn user_with_key(app: &TestApp, admin: &str, roles: &[&str]) -> (TestUser, IssuedKey) {
    let user = app.seed_user_as(admin, roles).await;
    // `seed_user_as` drops the key issued at creation: make one the same way a user would.
    let session = app.auth_for(&user).await;
    let key = create_key(app, &session, json!({"name": "worker"})).await;
    (user, key)
}

/// An M2M access token for `client` (client_secret_post).
pub async fn client_token(app: &TestApp, client: &TestClient) -> String {
    let response = app
        .post_token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
                ("client_secret", &client.client_secret),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "client {} gets a token",
        client.name
    );
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

pub fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {value}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The members of an RFC 7662 `scope` (space-delimited).
pub fn scopes(scope: &Value) -> BTreeSet<String> {
    scope
        .as_str()
        .unwrap_or_else(|| panic!("a scope string: {scope}"))
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn timestamp(rfc3339: &Value) -> i64 {
    rfc3339
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp()
}

/// Checks an active answer has exactly `expected`'s members with its values;
/// `scope` and `roles` are compared as sets.
fn assert_answer(answer: &Value, expected: &Value, case: &str) {
    let members = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        members(answer),
        members(expected),
        "case {case}: the members of {answer}"
    );
    for (name, want) in expected.as_object().unwrap() {
        let got = &answer[name];
        match name.as_str() {
            "scope" => assert_eq!(scopes(got), scopes(want), "case {case}: scope"),
            "roles" => assert_eq!(strings(got), strings(want), "case {case}: roles"),
            _ => assert_eq!(got, want, "case {case}: {name}"),
        }
    }
}

/// Re-signs `token`'s claims, changed by `change`, with the server's real key:
/// only the changed claim can make the server refuse it.
fn resign(signing: &(String, EncodingKey), token: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = jwt_claims(token);
    change(&mut claims);
    sign_access_token(Algorithm::ES256, &signing.0, &claims, &signing.1)
}

// ---------------------------------------------------------------------------
// Every kind, side by side
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_kind_of_token_is_introspected_side_by_side_with_all_its_fields() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let issuer = app.address.clone();
    let jobs = app.seed_role_as(&admin, &["jobs:read", "jobs:write"]).await;
    let user = app.seed_user_as(&admin, &["user", &jobs]).await;
    let before = now();
    let session = app.login_ok(&user.username, &user.password).await;
    let after = now();
    let user_auth = bearer(&session);
    let live = create_key(&app, &user_auth, json!({"name": "worker"})).await;
    let test = create_key(
        &app,
        &user_auth,
        json!({"name": "ci", "environment": "test", "scopes": ["jobs:read"],
               "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let machine = app.seed_client_as(&admin, &[&jobs]).await;
    let m2m = client_token(&app, &machine).await;
    let me: Value = app.get_me(&user_auth).await.json().await.unwrap();
    let user_scope = strings(&me["scopes"])
        .into_iter()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(user_scope.contains("jobs:write"), "{user_scope}");
    let roles = json!(["user", jobs]);
    let user_principal = json!({"type": "user", "id": user.id, "name": user.username});

    let live_answer = introspect(&app, &introspector, &live.key).await;
    assert_answer(
        &live_answer,
        &json!({
            "active": true, "token_type": "api_key", "scope": user_scope, "sub": user.id,
            "iat": timestamp(&live.body["created_at"]), "iss": issuer,
            "username": user.username, "principal": user_principal, "roles": roles,
            "environment": "live", "credential_id": live.id,
        }),
        "live API key",
    );

    let test_answer = introspect(&app, &introspector, &test.key).await;
    assert_answer(
        &test_answer,
        &json!({
            "active": true, "token_type": "api_key", "scope": "jobs:read", "sub": user.id,
            "exp": timestamp(&json!("2999-01-01T00:00:00Z")),
            "iat": timestamp(&test.body["created_at"]), "iss": issuer,
            "username": user.username, "principal": user_principal, "roles": roles,
            "environment": "test", "credential_id": test.id,
        }),
        "test API key",
    );

    let access = session["access_token"].as_str().unwrap();
    let claims = jwt_claims(access);
    assert_eq!(scopes(&claims["scope"]), scopes(&json!(user_scope)));
    let access_answer = introspect(&app, &introspector, access).await;
    assert_answer(
        &access_answer,
        &json!({
            "active": true, "token_type": "access_token", "scope": claims["scope"],
            "sub": user.id, "exp": claims["exp"], "iat": claims["iat"], "iss": issuer,
            "jti": claims["jti"], "aud": issuer, "client_id": "trident",
            "username": user.username, "principal": user_principal, "roles": roles,
            "credential_id": claims["jti"],
        }),
        "user access token",
    );

    let refresh = refresh_token_of(&session);
    let refresh_answer = introspect(&app, &introspector, &refresh).await;
    let issued = refresh_answer["iat"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&issued),
        "refresh token issued at login: {issued} not in {before}..={after}"
    );
    let credential_id = refresh_answer["credential_id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(credential_id).is_ok(),
        "{credential_id}"
    );
    assert_answer(
        &refresh_answer,
        &json!({
            "active": true, "token_type": "refresh_token", "scope": user_scope,
            "sub": user.id, "exp": issued + 86_400, "iat": issued, "iss": issuer,
            "client_id": "trident", "username": user.username,
            "principal": user_principal, "roles": roles, "credential_id": credential_id,
        }),
        "refresh token",
    );

    let m2m_claims = jwt_claims(&m2m);
    let m2m_answer = introspect(&app, &introspector, &m2m).await;
    assert_answer(
        &m2m_answer,
        &json!({
            "active": true, "token_type": "access_token", "scope": "jobs:read jobs:write",
            "sub": machine.client_id, "exp": m2m_claims["exp"], "iat": m2m_claims["iat"],
            "iss": issuer, "jti": m2m_claims["jti"], "aud": issuer,
            "client_id": machine.client_id,
            "principal": {"type": "client", "id": machine.client_id, "name": machine.name},
            "roles": [jobs], "credential_id": m2m_claims["jti"],
        }),
        "M2M access token",
    );
    assert!(
        machine.client_id.starts_with("cli_"),
        "{}",
        machine.client_id
    );

    let ids: BTreeSet<&str> = [
        &live_answer,
        &test_answer,
        &access_answer,
        &refresh_answer,
        &m2m_answer,
    ]
    .iter()
    .map(|a| a["credential_id"].as_str().unwrap())
    .collect();
    assert_eq!(ids.len(), 5, "every credential has its own id");

    // `token_type_hint` is only a hint: a wrong or unknown one changes nothing.
    for (case, token, answer) in [
        ("live API key", live.key.as_str(), &live_answer),
        ("test API key", test.key.as_str(), &test_answer),
        ("user access token", access, &access_answer),
        ("refresh token", refresh.as_str(), &refresh_answer),
        ("M2M access token", m2m.as_str(), &m2m_answer),
    ] {
        for hint in ["access_token", "refresh_token", "api_key", "no_such_hint"] {
            let text = introspect_text_with(
                &app,
                &app.address,
                &introspector,
                token,
                &[("token_type_hint", hint)],
            )
            .await;
            let hinted: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(&hinted, answer, "case {case} with hint {hint}");
        }
    }
}

// ---------------------------------------------------------------------------
// Every inactive case
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_inactive_token_gets_exactly_active_false_and_nothing_else() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let signing = app.active_signing_key().await;
    let db = app.db().await;
    let mut cases: Vec<(&str, String)> = Vec::new();

    for (case, kind) in [
        ("unknown live API key", SecretKind::LiveApiKey),
        ("unknown test API key", SecretKind::TestApiKey),
        ("unknown refresh token", SecretKind::RefreshToken),
        (
            "unknown personal access token",
            SecretKind::PersonalAccessToken,
        ),
    ] {
        cases.push((case, OpaqueSecret::generate(kind).reveal().to_owned()));
    }

    let (owner, good) = user_with_key(&app, &admin, &["user"]).await;
    let owner_auth = app.auth_for(&owner).await;
    let mut broken = good.key.clone().into_bytes();
    broken[12] = if broken[12] == b'A' { b'B' } else { b'A' };
    cases.extend([
        ("malformed: plain text", "not a token".to_owned()),
        (
            "malformed: truncated key",
            good.key[..good.key.len() - 1].to_owned(),
        ),
        (
            "malformed: broken checksum",
            String::from_utf8(broken).unwrap(),
        ),
        (
            "malformed: JWT-shaped garbage",
            "eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_owned(),
        ),
    ]);

    // API keys: expired (never used, so nothing is cached), revoked, rotated away.
    let expired = create_key(
        &app,
        &owner_auth,
        json!({"name": "expiring", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    entity::api_keys::Entity::update_many()
        .col_expr(
            entity::api_keys::Column::ExpiresAt,
            Expr::value(crate::helpers::utc_now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::api_keys::Column::Id.eq(uuid::Uuid::parse_str(&expired.id).unwrap()))
        .exec(&db)
        .await
        .unwrap();
    cases.push(("expired API key", expired.key));
    let revoked = create_key(&app, &owner_auth, json!({"name": "revoked"})).await;
    let response = app
        .delete(&format!("/api/v1/api-keys/{}", revoked.id), &owner_auth)
        .await;
    assert_eq!(response.status(), 204, "revoking a key");
    cases.push(("revoked API key", revoked.key));
    let rotated = create_key(&app, &owner_auth, json!({"name": "rotated"})).await;
    let response = app
        .post_json(
            &format!("/api/v1/api-keys/{}/rotate", rotated.id),
            &owner_auth,
            &json!({"grace_seconds": 0}),
        )
        .await;
    assert_eq!(response.status(), 201, "rotating a key with no grace");
    cases.push(("API key rotated past its grace", rotated.key));

    // Owners disabled or deleted take their keys and sessions with them.
    let (disabled, disabled_key) = user_with_key(&app, &admin, &["user"]).await;
    let disabled_session = app.login_ok(&disabled.username, &disabled.password).await;
    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", disabled.id),
            &admin,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200, "disabling a user");
    cases.extend([
        ("API key of a disabled owner", disabled_key.key),
        (
            "access token of a disabled user",
            disabled_session["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            "refresh token of a disabled user",
            refresh_token_of(&disabled_session),
        ),
    ]);
    let (deleted, deleted_key) = user_with_key(&app, &admin, &["user"]).await;
    let deleted_session = app.login_ok(&deleted.username, &deleted.password).await;
    let response = app
        .delete(&format!("/api/v1/users/{}", deleted.id), &admin)
        .await;
    assert_eq!(response.status(), 204, "deleting a user");
    cases.extend([
        ("API key of a deleted owner", deleted_key.key),
        (
            "access token of a deleted user",
            deleted_session["access_token"].as_str().unwrap().to_owned(),
        ),
        (
            "refresh token of a deleted user",
            refresh_token_of(&deleted_session),
        ),
    ]);

    // Sessions: spent, reused (family revoked), logged out, expired, forged.
    let first = app.login_ok(&owner.username, &owner.password).await;
    let response = app.refresh(&refresh_token_of(&first)).await;
    assert_eq!(response.status(), 200, "a refresh");
    let second: Value = response.json().await.unwrap();
    cases.push(("spent refresh token", refresh_token_of(&first)));
    let reused = app.login_ok(&owner.username, &owner.password).await;
    let successor: Value = app
        .refresh(&refresh_token_of(&reused))
        .await
        .json()
        .await
        .unwrap();
    let response = app.refresh(&refresh_token_of(&reused)).await;
    assert_eq!(
        response.status(),
        401,
        "presenting a spent refresh token again"
    );
    cases.extend([
        (
            "refresh token of a family revoked after reuse",
            refresh_token_of(&successor),
        ),
        (
            "access token of a session revoked after reuse",
            successor["access_token"].as_str().unwrap().to_owned(),
        ),
    ]);
    let ended = app.login_ok(&owner.username, &owner.password).await;
    assert_eq!(app.logout(&refresh_token_of(&ended)).await.status(), 204);
    cases.extend([
        ("refresh token after logout", refresh_token_of(&ended)),
        (
            "access token after logout",
            ended["access_token"].as_str().unwrap().to_owned(),
        ),
    ]);
    let stale = app.login_ok(&owner.username, &owner.password).await;
    let digest = OpaqueSecret::parse(&refresh_token_of(&stale))
        .unwrap()
        .digest();
    let moved = entity::refresh_tokens::Entity::update_many()
        .col_expr(
            entity::refresh_tokens::Column::ExpiresAt,
            Expr::value(crate::helpers::utc_now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::refresh_tokens::Column::Digest.eq(digest.as_bytes().to_vec()))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(moved.rows_affected, 1, "the refresh token's row");
    cases.push(("expired refresh token", refresh_token_of(&stale)));
    let live_access = second["access_token"].as_str().unwrap().to_owned();
    let past = now() - 3_600;
    cases.extend([
        (
            "expired user access token",
            resign(&signing, &live_access, |c| {
                c["iat"] = json!(past - 600);
                c["exp"] = json!(past);
            }),
        ),
        (
            "user access token from a foreign issuer",
            resign(&signing, &live_access, |c| {
                c["iss"] = json!("https://elsewhere.example");
            }),
        ),
    ]);
    let mut segments: Vec<String> = live_access.split('.').map(str::to_owned).collect();
    let mut widened = jwt_claims(&live_access);
    widened["scope"] = json!("users:write");
    segments[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        widened.to_string(),
    );
    cases.push(("user access token with altered claims", segments.join(".")));

    // Clients: disabled, deleted, expired or foreign tokens, and a secret as a token.
    let jobs = app.seed_role_as(&admin, &["jobs:read"]).await;
    let disabled_client = app.seed_client_as(&admin, &[&jobs]).await;
    let disabled_client_token = client_token(&app, &disabled_client).await;
    let response = app
        .patch_json(
            &format!("/api/v1/clients/{}", disabled_client.id),
            &admin,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200, "disabling a client");
    let deleted_client = app.seed_client_as(&admin, &[&jobs]).await;
    let deleted_client_token = client_token(&app, &deleted_client).await;
    let response = app
        .delete(&format!("/api/v1/clients/{}", deleted_client.id), &admin)
        .await;
    assert_eq!(response.status(), 204, "deleting a client");
    let machine = app.seed_client_as(&admin, &[&jobs]).await;
    let m2m = client_token(&app, &machine).await;
    cases.extend([
        ("M2M token of a disabled client", disabled_client_token),
        ("M2M token of a deleted client", deleted_client_token),
        (
            "expired M2M token",
            resign(&signing, &m2m, |c| {
                c["iat"] = json!(past - 600);
                c["exp"] = json!(past);
            }),
        ),
        (
            "M2M token from a foreign issuer",
            resign(&signing, &m2m, |c| {
                c["iss"] = json!("https://elsewhere.example");
            }),
        ),
        (
            "client secret presented as a token",
            machine.client_secret.clone(),
        ),
    ]);
    let _ = db.close().await;

    for (case, token) in &cases {
        assert_inactive(&app, &introspector, token, case).await;
    }
    // The same caller still gets active answers for live tokens.
    for (case, token) in [
        ("the owner's good key", good.key.as_str()),
        ("the session after a refresh", live_access.as_str()),
        ("the untouched client's token", m2m.as_str()),
    ] {
        assert_active(&app, &introspector, token, case).await;
    }
}
