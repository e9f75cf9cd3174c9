//! Malformed requests (RFC 6749 §3.2, §5.2): errors as JSON, the allowed method
//! and the size of the body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Response;
use serde_json::{json, Value};

use super::{assert_oauth_error, fixture, form, post_form, token_ok, Fixture};
use crate::helpers::{client_basic_auth, TestApp};

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
