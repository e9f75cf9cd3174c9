//! The token endpoint's answers: the token response, RFC 9068 tokens, the issuer
//! and RFC 8414 metadata, token lifetimes, scope and the audience.

use std::collections::BTreeSet;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
use oauth2::{AuthType, RequestTokenError, Scope, TokenResponse};
use serde_json::{json, Value};

use super::{
    access_token, assert_oauth_error, auth_name, bearer, fixture, form, http_client, me,
    oauth_client, post_form, set, strings, token_ok, token_via_oauth2, Fixture, DEFAULT_TTL, JOBS,
};
use crate::helpers::jwt::{jwk_for, jwks, now};
use crate::helpers::{assert_unauthenticated, jwt_claims, TestApp, TestClient};

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

fn space_delimited(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
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
