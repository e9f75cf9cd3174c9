//! OAuth2 client credentials (RFC 6749 §4.4) for machines: the token endpoint
//! driven by a third-party client library (the `oauth2` crate) with both
//! authentication methods, every RFC 6749 §5.2 error answered as JSON, RFC 9068
//! tokens verified against an independent fetch of the JWKS, RFC 8414 metadata,
//! and what Trident's own API makes of the tokens it issued.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse, BasicTokenType};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use reqwest::Response;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, assert_unauthenticated, client_basic_auth, client_from, jwt_claims,
    jwt_segment, spawn_app, spawn_app_with, TestApp, TestClient,
};

/// The permissions of the role the fixture's client holds.
const JOBS: [&str; 2] = ["jobs:read", "jobs:write"];
/// Default M2M token lifetime of the test apps (`client_token_ttl`).
const DEFAULT_TTL: i64 = 900;

/// A running app with a role holding [`JOBS`] and a client holding that role.
struct Fixture {
    app: TestApp,
    admin: String,
    role: String,
    client: TestClient,
}

async fn fixture() -> Fixture {
    fixture_from(spawn_app().await).await
}

async fn fixture_from(app: TestApp) -> Fixture {
    let admin = app.admin_auth().await;
    let role = app.seed_role_as(&admin, &JOBS).await;
    let client = app.seed_client_as(&admin, &[&role]).await;
    Fixture {
        app,
        admin,
        role,
        client,
    }
}

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The third-party client: the `oauth2` crate pointed at the app's token endpoint.
fn oauth_client(app: &TestApp, client_id: &str, secret: &str, auth: AuthType) -> TokenClient {
    BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap())
        .set_auth_type(auth)
}

/// A reqwest client for the `oauth2` crate: no redirects, as its docs require.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn auth_name(auth: &AuthType) -> &'static str {
    match auth {
        AuthType::BasicAuth => "client_secret_basic",
        AuthType::RequestBody => "client_secret_post",
        _ => "another method",
    }
}

/// Fetches a token with the `oauth2` crate, asserting success.
async fn token_via_oauth2(
    app: &TestApp,
    client: &TestClient,
    auth: AuthType,
    scopes: &[&str],
) -> BasicTokenResponse {
    let case = auth_name(&auth);
    let oauth = oauth_client(app, &client.client_id, &client.client_secret, auth);
    let mut request = oauth.exchange_client_credentials();
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    request
        .request_async(&http_client())
        .await
        .unwrap_or_else(|e| panic!("{case}: the token request should succeed: {e:?}"))
}

/// The form of a `client_secret_post` token request, plus `extra` parameters.
fn post_form<'a>(client: &'a TestClient, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
    ];
    form.extend_from_slice(extra);
    form
}

/// A raw `client_secret_post` token request, asserting a 200 and returning the body.
async fn token_ok(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> Value {
    let response = app.post_token(None, &post_form(client, extra)).await;
    assert_eq!(
        response.status(),
        200,
        "token request with {extra:?} should succeed"
    );
    response.json().await.unwrap()
}

/// `Bearer <access_token>`.
fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn access_token(body: &Value) -> &str {
    body["access_token"].as_str().unwrap()
}

/// Asserts an RFC 6749 §5.2 error: status, a JSON body with `error`, no caching.
async fn assert_oauth_error(response: Response, status: u16, error: &str, case: &str) -> Value {
    assert_eq!(response.status(), status, "case {case}: status");
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "case {case}: a JSON error, got content type {content_type:?}"
    );
    assert_eq!(
        headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "case {case}: Cache-Control"
    );
    if status == 401 {
        let challenge = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            challenge.starts_with("Basic"),
            "case {case}: a Basic challenge, got {challenge:?}"
        );
    }
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("case {case}: the body is JSON: {e}"));
    assert_eq!(body["error"], error, "case {case}: error code in {body}");
    assert!(
        body.get("error_description").is_none_or(Value::is_string),
        "case {case}: error_description is a string: {body}"
    );
    body
}

/// The issuer as the server's metadata announces it.
async fn issuer(app: &TestApp) -> String {
    metadata(app).await["issuer"].as_str().unwrap().to_owned()
}

async fn metadata(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET the RFC 8414 metadata");
    response.json().await.unwrap()
}

/// The JWKS, fetched independently of anything the server's own code verifies.
async fn jwks(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET /.well-known/jwks.json");
    response.json().await.unwrap()
}

fn jwk_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} is published in {jwks}"))
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {value}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn space_delimited(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn me(app: &TestApp, token: &str) -> Value {
    let response = app.get_me(&bearer(token)).await;
    assert_eq!(response.status(), 200, "GET /api/v1/me with an M2M token");
    response.json().await.unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Joins a header, claims and signature the way a forger would.
fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn sign(alg: Algorithm, kid: &str, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header.typ = Some("at+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `application/x-www-form-urlencoded` serialisation of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

// ---------------------------------------------------------------------------
// Happy paths through a third-party client library
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_client_gets_a_token_with_either_auth_method_through_the_oauth2_crate() {
    let Fixture {
        app, role, client, ..
    } = fixture().await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let case = auth_name(&auth);
        let token = token_via_oauth2(&app, &client, auth, &[]).await;

        assert_eq!(*token.token_type(), BasicTokenType::Bearer, "case {case}");
        assert_eq!(
            token.expires_in(),
            Some(Duration::from_secs(DEFAULT_TTL as u64)),
            "case {case}: the default lifetime is 15 minutes"
        );
        assert!(
            token.refresh_token().is_none(),
            "case {case}: RFC 6749 §4.4.3: no refresh token"
        );
        let granted: BTreeSet<String> = token
            .scopes()
            .unwrap_or_else(|| panic!("case {case}: the granted scope is returned"))
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            granted,
            set(&JOBS),
            "case {case}: no scope asked = every permission"
        );

        let me = me(&app, token.access_token().secret()).await;
        assert_eq!(
            me["principal"],
            json!({"type": "client", "id": client.client_id, "name": client.name}),
            "case {case}"
        );
        assert_eq!(
            me["credential"]["kind"], "client_access_token",
            "case {case}"
        );
        assert_eq!(
            me["credential"]["id"],
            jwt_claims(token.access_token().secret())["jti"],
            "case {case}: the credential is the token, named by its jti"
        );
        assert_eq!(strings(&me["scopes"]), set(&JOBS), "case {case}");
        assert_eq!(me["roles"], json!([role]), "case {case}");
    }
}

#[tokio::test]
async fn the_token_response_is_exactly_rfc_6749_section_5_1() {
    let Fixture { app, client, .. } = fixture().await;
    for (case, content_type) in [
        ("plain form", "application/x-www-form-urlencoded"),
        (
            "form with a charset",
            "application/x-www-form-urlencoded; charset=UTF-8",
        ),
    ] {
        let response = app
            .client
            .post(app.url("/oauth/token"))
            .header("Content-Type", content_type)
            .body(form(&post_form(&client, &[])))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "case {case}");
        let headers = response.headers();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "case {case}"
        );
        assert_eq!(headers["cache-control"], "no-store", "case {case}");
        assert_eq!(headers["pragma"], "no-cache", "case {case}");
        let body: Value = response.json().await.unwrap();
        let members: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            members,
            BTreeSet::from(["access_token", "token_type", "expires_in", "scope"]),
            "case {case}: no refresh_token, nothing unexpected: {body}"
        );
        assert_eq!(body["token_type"], "Bearer", "case {case}");
        assert_eq!(body["expires_in"], DEFAULT_TTL, "case {case}");
        assert_eq!(
            space_delimited(body["scope"].as_str().unwrap()),
            set(&JOBS),
            "case {case}"
        );
    }
}

#[tokio::test]
async fn access_tokens_are_rfc_9068_jwts_that_verify_against_an_independently_fetched_jwks() {
    let Fixture {
        app, role, client, ..
    } = fixture().await;
    let issuer = issuer(&app).await;
    let body = token_ok(&app, &client, &[("scope", "jobs:read")]).await;
    let token = access_token(&body);
    let jwks = jwks(&app).await;

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    assert_eq!(
        header.alg,
        Algorithm::ES256,
        "the test apps sign with ES256"
    );
    let kid = header.kid.expect("a kid");
    let jwk = jwk_for(&jwks, &kid);
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert!(jwk.get("d").is_none(), "the JWKS holds public keys only");
    let key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[issuer.as_str()]);
    validation.set_issuer(&[issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the signature verifies with the published key, iss and aud match")
        .claims;

    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(
        claims["aud"],
        issuer.as_str(),
        "by default the audience is Trident itself"
    );
    assert_eq!(
        claims["sub"],
        client.client_id.as_str(),
        "RFC 9068 §2.2: sub"
    );
    assert_eq!(claims["client_id"], client.client_id.as_str());
    assert!(
        client.client_id.starts_with("cli_"),
        "client ids live in their own namespace: {}",
        client.client_id
    );
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!((iat - now()).abs() < 60, "iat is now: {claims}");
    assert_eq!(exp - iat, DEFAULT_TTL, "the default lifetime");
    assert_eq!(
        body["expires_in"],
        exp - iat,
        "expires_in matches the token"
    );
    assert_eq!(
        claims["scope"], "jobs:read",
        "scope is a space-delimited string"
    );
    assert_eq!(claims["roles"], json!([role]), "roles is an array");
    let jti = claims["jti"].as_str().expect("a jti");
    assert!(!jti.is_empty());
    for user_only in ["username", "sid"] {
        assert!(
            claims.get(user_only).is_none(),
            "an M2M token carries no {user_only}: {claims}"
        );
    }

    let other = token_ok(&app, &client, &[]).await;
    assert_ne!(
        jwt_claims(access_token(&other))["jti"],
        jti,
        "every token has its own jti"
    );
}

#[tokio::test]
async fn the_issuer_is_the_address_the_server_answers_on() {
    let Fixture { app, client, .. } = fixture().await;
    let metadata = metadata(&app).await;
    assert_eq!(metadata["issuer"], app.address.as_str());
    assert_eq!(metadata["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(metadata["jwks_uri"], app.url("/.well-known/jwks.json"));
    let claims = jwt_claims(access_token(&token_ok(&app, &client, &[]).await));
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], app.address.as_str());
}

#[tokio::test]
async fn metadata_lists_exactly_what_the_token_endpoint_implements() {
    let Fixture { app, .. } = fixture().await;
    let metadata = metadata(&app).await;
    let issuer = metadata["issuer"].as_str().unwrap();
    assert!(
        issuer.starts_with("http://") || issuer.starts_with("https://"),
        "{metadata}"
    );
    assert_eq!(metadata["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{issuer}/.well-known/jwks.json")
    );
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert!(
        metadata.get("authorization_endpoint").is_none(),
        "no authorization endpoint is implemented: {metadata}"
    );
    assert_eq!(
        metadata["response_types_supported"],
        json!([]),
        "RFC 8414 requires the member; without an authorization endpoint it is empty"
    );
    let scopes = strings(&metadata["scopes_supported"]);
    for scope in JOBS.iter().chain(&["users:read", "clients:write"]) {
        assert!(scopes.contains(*scope), "{scope} in scopes_supported");
    }
}

#[tokio::test]
async fn the_token_lifetime_is_the_clients_own_when_set() {
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture().await;
    let created = app
        .post_json(
            "/api/v1/clients",
            &admin,
            &json!({"name": "short-lived", "roles": [role], "access_token_ttl_seconds": 120}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["access_token_ttl_seconds"], 120);
    let short = TestClient {
        id: created["id"].as_str().unwrap().to_owned(),
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        name: "short-lived".into(),
        client_secret: created["client_secret"].as_str().unwrap().to_owned(),
    };
    let lifetime = |body: &Value| {
        let claims = jwt_claims(access_token(body));
        let lived = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(body["expires_in"], lived, "expires_in matches exp - iat");
        lived
    };

    assert_eq!(
        lifetime(&token_ok(&app, &short, &[]).await),
        120,
        "own lifetime"
    );
    assert_eq!(
        lifetime(&token_ok(&app, &client, &[]).await),
        DEFAULT_TTL,
        "server default"
    );

    let path = format!("/api/v1/clients/{}", short.id);
    let changed = app
        .patch_json(&path, &admin, &json!({"access_token_ttl_seconds": 3600}))
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        lifetime(&token_ok(&app, &short, &[]).await),
        3600,
        "changed"
    );
    let reset = app
        .patch_json(&path, &admin, &json!({"access_token_ttl_seconds": null}))
        .await;
    assert_eq!(reset.status(), 200);
    let reset: Value = reset.json().await.unwrap();
    assert_eq!(reset["access_token_ttl_seconds"], Value::Null);
    assert_eq!(
        lifetime(&token_ok(&app, &short, &[]).await),
        DEFAULT_TTL,
        "null resets to the default"
    );
}

// ---------------------------------------------------------------------------
// Scope and audience
// ---------------------------------------------------------------------------

#[tokio::test]
async fn scope_down_scopes_within_the_clients_permissions_and_anything_else_is_invalid_scope() {
    let Fixture {
        app, admin, client, ..
    } = fixture().await;
    let granted: [(&str, Option<&str>, &[&str]); 5] = [
        ("omitted", None, &JOBS),
        ("empty = omitted", Some(""), &JOBS),
        ("one of two", Some("jobs:read"), &["jobs:read"]),
        ("both", Some("jobs:write jobs:read"), &JOBS),
        (
            "the same one twice",
            Some("jobs:read jobs:read"),
            &["jobs:read"],
        ),
    ];
    for (case, scope, expected) in granted {
        let extra: Vec<(&str, &str)> = scope.map(|s| ("scope", s)).into_iter().collect();
        let body = token_ok(&app, &client, &extra).await;
        assert_eq!(
            space_delimited(body["scope"].as_str().unwrap()),
            set(expected),
            "case {case}: response scope"
        );
        let claims = jwt_claims(access_token(&body));
        assert_eq!(
            space_delimited(claims["scope"].as_str().unwrap()),
            set(expected),
            "case {case}: token scope"
        );
        assert_eq!(
            strings(&me(&app, access_token(&body)).await["scopes"]),
            set(expected),
            "case {case}: effective scopes"
        );
    }

    for (case, scope) in [
        ("held by another role", "users:read"),
        ("one granted, one not", "jobs:read users:write"),
        ("unknown anywhere", "jobs:launch"),
        ("not resource:action", "jobs"),
        ("a quote", "jobs:read\""),
        ("a different case", "JOBS:READ"),
    ] {
        let response = app
            .post_token(None, &post_form(&client, &[("scope", scope)]))
            .await;
        assert_oauth_error(response, 400, "invalid_scope", case).await;
    }

    // A third-party client sees the same refusal as a typed error.
    let refused = oauth_client(
        &app,
        &client.client_id,
        &client.client_secret,
        AuthType::BasicAuth,
    )
    .exchange_client_credentials()
    .add_scope(Scope::new("users:read".into()))
    .request_async(&http_client())
    .await;
    match refused {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(*error.error(), BasicErrorResponseType::InvalidScope)
        }
        other => panic!("expected invalid_scope, got {other:?}"),
    }

    // A client holding the admin role may down-scope to one management permission.
    let operator = app.seed_client_as(&admin, &["admin"]).await;
    let token = token_via_oauth2(&app, &operator, AuthType::BasicAuth, &["clients:read"]).await;
    let me = me(&app, token.access_token().secret()).await;
    assert_eq!(strings(&me["scopes"]), set(&["clients:read"]));
}

#[tokio::test]
async fn resource_or_audience_sets_aud_and_trident_refuses_tokens_meant_for_others() {
    let Fixture { app, client, .. } = fixture().await;
    let issuer = issuer(&app).await;

    // RFC 8707 through the third-party client, as an extra parameter.
    let token = oauth_client(
        &app,
        &client.client_id,
        &client.client_secret,
        AuthType::BasicAuth,
    )
    .exchange_client_credentials()
    .add_extra_param("resource", "https://compute.example")
    .request_async(&http_client())
    .await
    .unwrap();
    let token = token.access_token().secret().to_owned();
    assert_eq!(jwt_claims(&token)["aud"], "https://compute.example");
    assert_unauthenticated(
        app.get_me(&bearer(&token)).await,
        "a token for https://compute.example at Trident",
    )
    .await;

    for (case, extra, aud, accepted_by_trident) in [
        (
            "resource with a path",
            ("resource", "https://compute.example/v1/jobs"),
            "https://compute.example/v1/jobs",
            false,
        ),
        ("audience", ("audience", "compute"), "compute", false),
        (
            "audience naming Trident",
            ("audience", issuer.as_str()),
            issuer.as_str(),
            true,
        ),
        (
            "empty resource = omitted",
            ("resource", ""),
            issuer.as_str(),
            true,
        ),
    ] {
        let body = token_ok(&app, &client, &[extra]).await;
        let token = access_token(&body);
        assert_eq!(jwt_claims(token)["aud"], aud, "case {case}");
        let status = app.get_me(&bearer(token)).await.status();
        let expected = if accepted_by_trident { 200 } else { 401 };
        assert_eq!(status, expected, "case {case}: at Trident's API");
    }

    let too_long = format!("https://compute.example/{}", "a".repeat(600));
    for (case, extra, error) in [
        (
            "relative resource",
            vec![("resource", "/v1/jobs")],
            "invalid_target",
        ),
        (
            "resource without a scheme",
            vec![("resource", "compute.example")],
            "invalid_target",
        ),
        (
            "resource with a fragment",
            vec![("resource", "https://compute.example/#top")],
            "invalid_target",
        ),
        (
            "resource with a control character",
            vec![("resource", "https://compute.example/\u{7}")],
            "invalid_target",
        ),
        (
            "resource too long",
            vec![("resource", too_long.as_str())],
            "invalid_target",
        ),
        (
            "resource and audience together",
            vec![
                ("resource", "https://compute.example"),
                ("audience", "compute"),
            ],
            "invalid_request",
        ),
    ] {
        let response = app.post_token(None, &post_form(&client, &extra)).await;
        assert_oauth_error(response, 400, error, case).await;
    }
}

// ---------------------------------------------------------------------------
// Client authentication (RFC 6749 §2.3.1)
// ---------------------------------------------------------------------------

/// Percent-encodes every byte as `%XX`, upper or lower case hex.
fn percent_encode_all(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let Fixture { app, client, .. } = fixture().await;
    let grant = [("grant_type", "client_credentials")];
    for (case, raw) in [
        (
            "every character percent-encoded",
            format!(
                "{}:{}",
                percent_encode_all(&client.client_id, true),
                percent_encode_all(&client.client_secret, false)
            ),
        ),
        (
            "as the oauth2 crate encodes",
            format!("{}:{}", client.client_id, client.client_secret),
        ),
    ] {
        let authorization = format!("Basic {}", STANDARD.encode(raw));
        let response = app.post_token(Some(&authorization), &grant).await;
        assert_eq!(response.status(), 200, "case {case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            jwt_claims(access_token(&body))["client_id"],
            client.client_id.as_str(),
            "case {case}"
        );
    }
    let lowercase_scheme = format!(
        "basic {}",
        STANDARD.encode(format!("{}:{}", client.client_id, client.client_secret))
    );
    let response = app.post_token(Some(&lowercase_scheme), &grant).await;
    assert_eq!(
        response.status(),
        200,
        "the scheme name is case-insensitive"
    );

    // Wrong secrets full of characters that need encoding are plain wrong secrets.
    let special = "a+b%c:d e\u{e9}";
    let properly_encoded = client_basic_auth(&client.client_id, special);
    let unencoded = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{special}", client.client_id))
    );
    let half_encoded = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:%zz%+%E9%", client.client_id))
    );
    for (case, authorization) in [
        ("form-urlencoded + % : space é", properly_encoded),
        ("the same characters unencoded", unencoded),
        ("broken percent escapes", half_encoded),
    ] {
        let response = app.post_token(Some(&authorization), &grant).await;
        assert_oauth_error(response, 401, "invalid_client", case).await;
    }
    let response = app
        .post_token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
                ("client_secret", special),
            ],
        )
        .await;
    assert_oauth_error(
        response,
        401,
        "invalid_client",
        "client_secret_post with + % : space é",
    )
    .await;

    // And through the third-party client with both methods.
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let case = auth_name(&auth);
        let refused = oauth_client(&app, &client.client_id, special, auth)
            .exchange_client_credentials()
            .request_async(&http_client())
            .await;
        match refused {
            Err(RequestTokenError::ServerResponse(error)) => assert_eq!(
                *error.error(),
                BasicErrorResponseType::InvalidClient,
                "case {case}"
            ),
            other => panic!("case {case}: expected invalid_client, got {other:?}"),
        }
    }
}

/// One failed authentication as the client sees it: status, challenge and body bytes.
async fn failure_answer(response: Response) -> (u16, Option<String>, Vec<u8>) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_unknown_client_and_a_wrong_secret_get_byte_identical_answers() {
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture().await;
    let other = app.seed_client_as(&admin, &[&role]).await;
    let disabled = app.seed_client_as(&admin, &[&role]).await;
    let deleted = app.seed_client_as(&admin, &[&role]).await;
    let response = app
        .patch_json(
            &format!("/api/v1/clients/{}", disabled.id),
            &admin,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .delete(&format!("/api/v1/clients/{}", deleted.id), &admin)
        .await;
    assert_eq!(response.status(), 204);
    let unknown_id = format!("cli_{}", crate::helpers::random_string(24));
    let truncated = &client.client_secret[..client.client_secret.len() - 1];

    let attempts: [(&str, &str, &str); 7] = [
        ("unknown client_id", &unknown_id, &client.client_secret),
        (
            "client_id of no known shape",
            "someone",
            &client.client_secret,
        ),
        (
            "another client's secret",
            &client.client_id,
            &other.client_secret,
        ),
        ("a truncated secret", &client.client_id, truncated),
        ("a secret of no known shape", &client.client_id, "hunter2"),
        (
            "a disabled client",
            &disabled.client_id,
            &disabled.client_secret,
        ),
        (
            "a deleted client",
            &deleted.client_id,
            &deleted.client_secret,
        ),
    ];
    for basic in [true, false] {
        let method = if basic { "Basic" } else { "client_secret_post" };
        let mut answers = Vec::new();
        for (case, id, secret) in attempts {
            let response = if basic {
                app.post_token(
                    Some(&client_basic_auth(id, secret)),
                    &[("grant_type", "client_credentials")],
                )
                .await
            } else {
                app.post_token(
                    None,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", id),
                        ("client_secret", secret),
                    ],
                )
                .await
            };
            let answer = failure_answer(response).await;
            assert_eq!(answer.0, 401, "{method}, case {case}: status");
            let body: Value = serde_json::from_slice(&answer.2).unwrap();
            assert_eq!(body["error"], "invalid_client", "{method}, case {case}");
            answers.push((case, answer));
        }
        let (first_case, first) = &answers[0];
        for (case, answer) in &answers[1..] {
            assert_eq!(
                answer, first,
                "{method}: case {case} must answer byte for byte like case {first_case}"
            );
        }
    }
}

#[tokio::test]
async fn failed_authentication_is_throttled_but_a_correct_secret_never_is() {
    let app = spawn_app_with(|s| s.client_auth_failures_per_minute = 3).await;
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture_from(app).await;
    let bystander = app.seed_client_as(&admin, &[&role]).await;
    let attempt = |http: reqwest::Client, c: &TestClient, secret: &str| {
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", secret),
        ]);
        let url = app.url("/oauth/token");
        async move {
            http.post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let guesser = [127, 0, 0, 1];
    // More guesses than the budget, for the public client_id, from one address.
    for i in 0..3 {
        let wrong = format!("tri_cs_{}", crate::helpers::random_string(20));
        let response = attempt(client_from(guesser), &client, &wrong).await;
        assert_oauth_error(response, 401, "invalid_client", &format!("failure {i}")).await;
    }
    for (case, ip) in [
        ("a further guess", guesser),
        ("a guess for the same client from elsewhere", [127, 0, 0, 5]),
    ] {
        let response = attempt(client_from(ip), &client, "wrong").await;
        assert_eq!(response.status(), 429, "case {case}: status");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "case {case}: Retry-After in seconds, got {retry_after:?}"
        );
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "case {case}: content type"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].is_string(),
            "case {case}: an OAuth error body: {body}"
        );
    }

    // Nobody who knows the secret is held back by someone else's guesses.
    for (case, ip, who) in [
        (
            "the right secret from the guessing address",
            guesser,
            &client,
        ),
        (
            "the right secret from another address",
            [127, 0, 0, 2],
            &client,
        ),
        (
            "another client from the guessing address",
            guesser,
            &bystander,
        ),
        (
            "another client from another address",
            [127, 0, 0, 3],
            &bystander,
        ),
    ] {
        let response = attempt(client_from(ip), who, &who.client_secret).await;
        assert_eq!(response.status(), 200, "case {case}");
    }
}

#[tokio::test]
async fn throttled_failures_are_not_audited_one_by_one() {
    let app = spawn_app_with(|s| s.client_auth_failures_per_minute = 2).await;
    let admin = app.admin_auth().await;
    let target = app.seed_client_as(&admin, &[]).await;
    for _ in 0..10 {
        let _ = app
            .post_token(
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &target.client_id),
                    ("client_secret", "wrong"),
                ],
            )
            .await;
    }
    let events = app
        .get_json(
            "/api/v1/audit-events?action=client.authenticate&limit=100",
            &admin,
        )
        .await;
    assert_eq!(
        events["items"].as_array().unwrap().len(),
        2,
        "the failures within the budget are audited, the flood beyond it writes nothing"
    );
}

// ---------------------------------------------------------------------------
// Malformed requests (RFC 6749 §3.2, §5.2)
// ---------------------------------------------------------------------------

/// A token request built by hand.
struct RawRequest {
    query: String,
    content_type: Option<&'static str>,
    authorization: Vec<String>,
    body: String,
}

impl RawRequest {
    fn form(pairs: &[(&str, &str)]) -> Self {
        Self {
            query: String::new(),
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: vec![],
            body: form(pairs),
        }
    }

    fn with_authorization(mut self, value: String) -> Self {
        self.authorization.push(value);
        self
    }

    fn with_query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    fn with_content_type(mut self, content_type: Option<&'static str>) -> Self {
        self.content_type = content_type;
        self
    }

    async fn send(self, app: &TestApp) -> Response {
        let mut url = app.url("/oauth/token");
        if !self.query.is_empty() {
            url = format!("{url}?{}", self.query);
        }
        let mut request = app.client.post(url).body(self.body);
        if let Some(content_type) = self.content_type {
            request = request.header("Content-Type", content_type);
        }
        for value in self.authorization {
            request = request.header("Authorization", value);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn malformed_token_requests_get_rfc_6749_errors_as_json() {
    let Fixture { app, client, .. } = fixture().await;
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let basic = client_basic_auth(id, secret);
    let grant = ("grant_type", "client_credentials");
    let creds = [grant, ("client_id", id), ("client_secret", secret)];
    let with = |extra: &[(&str, &str)]| {
        let mut pairs = creds.to_vec();
        pairs.extend_from_slice(extra);
        RawRequest::form(&pairs)
    };
    let basic_of = |raw: &[u8]| format!("Basic {}", STANDARD.encode(raw));
    let query_credentials = form(&[("client_id", id), ("client_secret", secret)]);

    let cases: Vec<(&str, RawRequest, u16, &str)> = vec![
        (
            "Basic and client_secret together",
            RawRequest::form(&[grant, ("client_secret", secret)]).with_authorization(basic.clone()),
            400,
            "invalid_request",
        ),
        (
            "Basic and a different client_id in the body",
            RawRequest::form(&[grant, ("client_id", "cli_someoneelse")])
                .with_authorization(basic.clone()),
            400,
            "invalid_request",
        ),
        (
            "two Authorization headers",
            RawRequest::form(&[grant])
                .with_authorization(basic.clone())
                .with_authorization(basic.clone()),
            400,
            "invalid_request",
        ),
        (
            "credentials in the query string",
            RawRequest::form(&[grant]).with_query(&query_credentials),
            400,
            "invalid_request",
        ),
        (
            "grant_type in the query string",
            RawRequest::form(&creds[1..]).with_query("grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
        (
            "an empty query string parameter",
            with(&[]).with_query("x="),
            400,
            "invalid_request",
        ),
        (
            "a JSON body",
            RawRequest {
                query: String::new(),
                content_type: Some("application/json"),
                authorization: vec![],
                body: json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret})
                    .to_string(),
            },
            400,
            "invalid_request",
        ),
        (
            "a form body labelled text/plain",
            with(&[]).with_content_type(Some("text/plain")),
            400,
            "invalid_request",
        ),
        (
            "a form body labelled multipart",
            with(&[]).with_content_type(Some("multipart/form-data; boundary=x")),
            400,
            "invalid_request",
        ),
        (
            "no content type",
            with(&[]).with_content_type(None),
            400,
            "invalid_request",
        ),
        (
            "repeated grant_type",
            with(&[("grant_type", "client_credentials")]),
            400,
            "invalid_request",
        ),
        ("repeated scope", with(&[("scope", "jobs:read"), ("scope", "jobs:write")]), 400, "invalid_request"),
        (
            "repeated client_secret",
            RawRequest::form(&[grant, ("client_id", id), ("client_secret", secret), ("client_secret", secret)]),
            400,
            "invalid_request",
        ),
        (
            "missing grant_type",
            RawRequest::form(&creds[1..]),
            400,
            "invalid_request",
        ),
        (
            "empty grant_type",
            RawRequest::form(&[("grant_type", ""), creds[1], creds[2]]),
            400,
            "invalid_request",
        ),
        (
            "grant_type password",
            RawRequest::form(&[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "guess"),
                creds[1],
                creds[2],
            ]),
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type authorization_code",
            RawRequest::form(&[("grant_type", "authorization_code"), ("code", "x"), creds[1], creds[2]]),
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type refresh_token",
            RawRequest::form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), creds[1], creds[2]]),
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type jwt-bearer",
            RawRequest::form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                creds[1],
                creds[2],
            ]),
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type in capitals",
            RawRequest::form(&[("grant_type", "CLIENT_CREDENTIALS"), creds[1], creds[2]]),
            400,
            "unsupported_grant_type",
        ),
        (
            "no client authentication",
            RawRequest::form(&[grant]),
            401,
            "invalid_client",
        ),
        (
            "client_id without a secret",
            RawRequest::form(&[grant, ("client_id", id)]),
            401,
            "invalid_client",
        ),
        (
            "client_secret without a client_id",
            RawRequest::form(&[grant, ("client_secret", secret)]),
            401,
            "invalid_client",
        ),
        (
            "Basic that is not base64",
            RawRequest::form(&[grant]).with_authorization("Basic !!!not-base64!!!".into()),
            401,
            "invalid_client",
        ),
        (
            "Basic without a colon",
            RawRequest::form(&[grant]).with_authorization(basic_of(id.as_bytes())),
            401,
            "invalid_client",
        ),
        (
            "Basic with an empty secret",
            RawRequest::form(&[grant]).with_authorization(basic_of(format!("{id}:").as_bytes())),
            401,
            "invalid_client",
        ),
        (
            "Basic that is not UTF-8",
            RawRequest::form(&[grant]).with_authorization(basic_of(b"\xff\xfe:\xc3")),
            401,
            "invalid_client",
        ),
        (
            "Basic with nothing after the scheme",
            RawRequest::form(&[grant]).with_authorization("Basic ".into()),
            401,
            "invalid_client",
        ),
    ];
    for (case, request, status, error) in cases {
        let response = request.send(&app).await;
        assert_oauth_error(response, status, error, case).await;
    }

    // Another scheme is not client authentication: refused as a client error, never a 500.
    for (case, authorization) in [
        (
            "a Bearer token instead of Basic",
            format!("Bearer {secret}"),
        ),
        ("an unknown scheme", "Digest username=\"x\"".to_owned()),
    ] {
        let response = RawRequest::form(&[grant])
            .with_authorization(authorization)
            .send(&app)
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        let expected = match status {
            400 => "invalid_request",
            401 => "invalid_client",
            other => panic!("case {case}: expected 400 or 401, got {other}: {body}"),
        };
        assert_eq!(body["error"], expected, "case {case}");
    }
}

#[tokio::test]
async fn only_post_is_allowed_at_the_token_endpoint() {
    let Fixture { app, client, .. } = fixture().await;
    let query = form(&post_form(&client, &[]));
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .client
            .request(
                method.clone(),
                format!("{}?{query}", app.url("/oauth/token")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "case {method}");
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413_and_unknown_parameters_are_ignored() {
    let Fixture { app, client, .. } = fixture().await;
    let padding = "p".repeat(9 * 1024);
    let response = app
        .post_token(None, &post_form(&client, &[("padding", &padding)]))
        .await;
    assert_eq!(response.status(), 413, "a body over 8 KiB");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");

    // RFC 6749 §3.2: unrecognised parameters are ignored.
    let padding = "p".repeat(7 * 1024);
    let body = token_ok(&app, &client, &[("padding", &padding), ("foo", "bar")]).await;
    assert!(body["access_token"].is_string());
}

// ---------------------------------------------------------------------------
// Tokens at Trident's own API
// ---------------------------------------------------------------------------

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

/// Rotates `client`'s secret with `grace_seconds` (or the default), returning the new secret.
async fn rotate(
    app: &TestApp,
    admin: &str,
    client: &TestClient,
    grace_seconds: Option<i64>,
) -> String {
    let path = format!("/api/v1/clients/{}/secrets", client.id);
    let body = match grace_seconds {
        Some(grace) => json!({"grace_seconds": grace}),
        None => json!({}),
    };
    let response = app.post_json(&path, admin, &body).await;
    assert_eq!(
        response.status(),
        201,
        "rotating with grace {grace_seconds:?}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], client.client_id.as_str());
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, client.client_secret, "a new secret");
    secret
}

fn with_secret(client: &TestClient, secret: &str) -> TestClient {
    TestClient {
        id: client.id.clone(),
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        client_secret: secret.to_owned(),
    }
}

async fn secret_works(app: &TestApp, client: &TestClient) -> bool {
    let basic = app
        .post_token(
            Some(&client_basic_auth(&client.client_id, &client.client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await
        .status();
    let post = app.post_token(None, &post_form(client, &[])).await.status();
    assert_eq!(basic, post, "both auth methods agree");
    assert!(basic == 200 || basic == 401, "status {basic}");
    basic == 200
}

#[tokio::test]
async fn a_rotated_secret_keeps_working_during_its_grace_and_stops_after_it() {
    // The grace period is ended behind the server's back (as time would), so the
    // credential cache, which rightly remembers the old end, is off here.
    let Fixture {
        app, admin, client, ..
    } = fixture_from(crate::helpers::spawn_app_with(|s| s.credential_cache = false).await).await;
    let before = chrono::Utc::now();
    let path = format!("/api/v1/clients/{}/secrets", client.id);
    let response = app.post_json(&path, &admin, &json!({})).await;
    assert_eq!(response.status(), 201);
    let rotated: Value = response.json().await.unwrap();
    let expires: chrono::DateTime<chrono::Utc> = rotated["previous_secrets_expire_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let grace = (expires - before).num_seconds();
    assert!(
        (86_390..=86_410).contains(&grace),
        "default grace is a day: {grace}"
    );
    let new = with_secret(&client, rotated["client_secret"].as_str().unwrap());

    assert!(
        secret_works(&app, &client).await,
        "the old secret inside its grace"
    );
    assert!(secret_works(&app, &new).await, "the new secret");

    // End the grace period without sleeping: move the old secret's expiry into the past.
    let db = app.db().await;
    let row_id = uuid::Uuid::parse_str(&client.id).unwrap();
    let moved = entity::client_secrets::Entity::update_many()
        .col_expr(
            entity::client_secrets::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::client_secrets::Column::ClientId.eq(row_id))
        .filter(entity::client_secrets::Column::ExpiresAt.is_not_null())
        .exec(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    assert_eq!(moved.rows_affected, 1, "one secret was in its grace period");

    assert!(
        !secret_works(&app, &client).await,
        "the old secret after its grace"
    );
    assert!(
        secret_works(&app, &new).await,
        "the new secret after the grace"
    );
}

#[tokio::test]
async fn rotating_with_no_grace_stops_the_previous_secrets_at_once() {
    let Fixture {
        app, admin, client, ..
    } = fixture().await;
    let second = with_secret(&client, &rotate(&app, &admin, &client, None).await);
    let third = with_secret(&client, &rotate(&app, &admin, &client, Some(0)).await);
    for (case, c, works) in [
        ("the first secret", &client, false),
        ("the second secret", &second, false),
        ("the newest secret", &third, true),
    ] {
        assert_eq!(secret_works(&app, c).await, works, "case {case}");
    }
    for (case, grace) in [("negative grace", -1), ("grace over 30 days", 2_592_001)] {
        let response = app
            .post_json(
                &format!("/api/v1/clients/{}/secrets", client.id),
                &admin,
                &json!({"grace_seconds": grace}),
            )
            .await;
        assert_problem(response, 422, case).await;
    }
    assert!(
        secret_works(&app, &third).await,
        "refused rotations change nothing"
    );
}

#[tokio::test]
async fn forged_m2m_tokens_are_refused() {
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture().await;
    let real = access_token(&token_ok(&app, &client, &[("scope", "jobs:read")]).await).to_owned();
    let header = jwt_segment(&real, 0);
    let claims = jwt_claims(&real);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let jwks = jwks(&app).await;
    let jwk = jwk_for(&jwks, &kid).clone();
    let (header_segment, _) = real.split_once('.').unwrap();
    let (unsigned, signature) = real.rsplit_once('.').unwrap();
    let tamper = |claims: &Value| {
        format!(
            "{header_segment}.{}.{signature}",
            b64(claims.to_string().as_bytes())
        )
    };
    let mut widened = claims.clone();
    widened["scope"] = json!("jobs:read jobs:write users:write");
    widened["roles"] = json!(["admin"]);
    let other = app.seed_client_as(&admin, &[&role]).await;
    let mut impersonating = claims.clone();
    impersonating["sub"] = json!(other.client_id);
    impersonating["client_id"] = json!(other.client_id);
    let other_token = access_token(&token_ok(&app, &other, &[]).await).to_owned();
    let (_, other_signature) = other_token.rsplit_once('.').unwrap();

    // The server's real key signs these, so only the claim under test is wrong.
    let (real_kid, real_key) = app.active_signing_key().await;
    assert_eq!(real_kid, kid);
    let resign = |change: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        change(&mut c);
        sign(Algorithm::ES256, &kid, &c, &real_key)
    };
    let control = resign(&|c| c["jti"] = json!(uuid::Uuid::new_v4().to_string()));
    assert_eq!(
        app.get_me(&bearer(&control)).await.status(),
        200,
        "a token re-signed with the real key and unchanged claims is accepted"
    );

    let cases = [
        ("tampered scope and roles", tamper(&widened)),
        ("tampered subject", tamper(&impersonating)),
        ("signature stripped", format!("{unsigned}.")),
        (
            "another token's signature",
            format!("{unsigned}.{other_signature}"),
        ),
        (
            "alg none",
            assemble(
                &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                &claims,
                "",
            ),
        ),
        (
            "HS256 keyed with the public JWK",
            sign(
                Algorithm::HS256,
                &kid,
                &claims,
                &EncodingKey::from_secret(jwk.to_string().as_bytes()),
            ),
        ),
        (
            "HS256 keyed with the JWK's x coordinate",
            sign(
                Algorithm::HS256,
                &kid,
                &claims,
                &EncodingKey::from_secret(jwk["x"].as_str().unwrap().as_bytes()),
            ),
        ),
        (
            "an unknown kid",
            sign(Algorithm::ES256, "no-such-key", &claims, &real_key),
        ),
        (
            "expired",
            resign(&|c| {
                c["iat"] = json!(now() - 2_000);
                c["exp"] = json!(now() - 1_000);
            }),
        ),
        (
            "issued in the future",
            resign(&|c| {
                c["iat"] = json!(now() + 3_600);
                c["exp"] = json!(now() + 4_000);
            }),
        ),
        (
            "another issuer",
            resign(&|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "sub differs from client_id",
            resign(&|c| c["sub"] = json!(other.client_id)),
        ),
        (
            "a client that does not exist",
            resign(&|c| {
                let ghost = format!("cli_{}", crate::helpers::random_string(24));
                c["sub"] = json!(ghost);
                c["client_id"] = json!(ghost);
            }),
        ),
        (
            "an audience other than Trident",
            resign(&|c| c["aud"] = json!("https://compute.example")),
        ),
        (
            "the client secret as a bearer token",
            client.client_secret.clone(),
        ),
    ];
    for (case, token) in &cases {
        assert_unauthenticated(app.get_me(&bearer(token)).await, case).await;
    }

    // Claims the server owns are re-read, never trusted from the token.
    let claiming_more = resign(&|c| {
        c["scope"] = json!("jobs:read users:write");
        c["roles"] = json!(["admin"]);
    });
    let me = me(&app, &claiming_more).await;
    assert_eq!(
        strings(&me["scopes"]),
        set(&["jobs:read"]),
        "scopes ∩ current permissions"
    );
    assert_eq!(
        me["roles"],
        json!([role]),
        "roles come from the client's record"
    );
    assert_eq!(
        app.get_me(&bearer(&real)).await.status(),
        200,
        "the real token still works"
    );
}

// ---------------------------------------------------------------------------
// Registration: admin API and CLI
// ---------------------------------------------------------------------------

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
