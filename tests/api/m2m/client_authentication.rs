//! Client authentication (RFC 6749 §2.3.1): how Basic credentials are encoded,
//! uniform answers to every failure, throttling of failures and their audit.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{AuthType, RequestTokenError};
use reqwest::Response;
use serde_json::{json, Value};

use super::{
    access_token, assert_oauth_error, auth_name, fixture, fixture_from, form, http_client,
    oauth_client, Fixture,
};
use crate::helpers::{client_basic_auth, client_from, jwt_claims, spawn_app_with, TestClient};

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
