//! OAuth2 client credentials (RFC 6749 §4.4) for machines: the token endpoint
//! driven by a third-party client library (the `oauth2` crate) with both
//! authentication methods, every RFC 6749 §5.2 error answered as JSON, RFC 9068
//! tokens verified against an independent fetch of the JWKS, RFC 8414 metadata,
//! and what Trident's own API makes of the tokens it issued.

mod admin;
mod bad_requests;
mod client_authentication;
mod forged_tokens;
mod secret_rotation;
mod token_endpoint;
mod tokens_in_use;

use std::collections::BTreeSet;

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, Scope, TokenUrl};
use reqwest::Response;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp, TestClient};

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

async fn me(app: &TestApp, token: &str) -> Value {
    let response = app.get_me(&bearer(token)).await;
    assert_eq!(response.status(), 200, "GET /api/v1/me with an M2M token");
    response.json().await.unwrap()
}

/// `application/x-www-form-urlencoded` serialisation of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
