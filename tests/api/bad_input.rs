//! Hostile and malformed requests: every one gets a deliberate 4xx, never a 500.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, assert_unauthenticated, spawn_app};

#[tokio::test]
async fn a_body_over_16_kib_is_413() {
    let app = spawn_app().await;
    let body = json!({ "username": "a", "password": "p".repeat(16 * 1024) }).to_string();
    assert!(body.len() > 16 * 1024);

    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_problem(response, 413, "a 16 KiB password").await;
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read() {
    let app = spawn_app().await;
    let body = json!({ "username": "a", "password": "p".repeat(15 * 1024) });

    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_unauthenticated(response, "a 15 KiB password is checked, and wrong").await;
}

#[tokio::test]
async fn a_json_endpoint_refuses_other_content_types_with_415() {
    let app = spawn_app().await;
    let body =
        json!({ "username": app.admin.username, "password": app.admin.password }).to_string();

    for (case, content_type) in [
        ("text/plain", Some("text/plain")),
        ("a form", Some("application/x-www-form-urlencoded")),
        ("XML", Some("application/xml")),
        ("none", None),
    ] {
        let mut request = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        assert_problem(request.send().await.unwrap(), 415, case).await;
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;

    for (case, body) in [
        ("unterminated object", "{"),
        ("not JSON", "username=admin&password=x"),
        ("an array", "[]"),
        ("null", "null"),
        ("a missing value", r#"{"username": , "password": "x"}"#),
        (
            "trailing garbage",
            r#"{"username": "a", "password": "b"} trailing"#,
        ),
        ("a missing field", r#"{"username": "a"}"#),
        (
            "an unknown field",
            r#"{"username": "a", "password": "b", "otp": "123456"}"#,
        ),
        (
            "a number for a string",
            r#"{"username": 5, "password": "b"}"#,
        ),
        (
            "invalid UTF-8 escape",
            r#"{"username": "\udc00", "password": "b"}"#,
        ),
        ("empty", ""),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, case).await;
    }
}

#[tokio::test]
async fn an_oversized_authorization_header_is_401_not_500() {
    let app = spawn_app().await;
    let jwt_shaped = format!(
        "{}.{}.{}",
        "a".repeat(4_000),
        "b".repeat(4_000),
        "c".repeat(2_000)
    );

    for (case, authorization) in [
        (
            "10 kB bearer garbage",
            format!("Bearer {}", "x".repeat(10_000)),
        ),
        ("10 kB JWT-shaped token", format!("Bearer {jwt_shaped}")),
        (
            "10 kB API key",
            format!("Api-Key tri_live_{}", "x".repeat(10_000)),
        ),
        ("10 kB without a scheme", "x".repeat(10_000)),
    ] {
        assert_unauthenticated(app.get_me(&authorization).await, case).await;
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;

    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/users",
        "/api/v1/users/x/y",
        "/.well-known/nope",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_problem(response, 404, path).await;
    }
}

/// Known resources with a method they do not support.
const WRONG_METHODS: [(&str, &str, &str); 8] = [
    ("PUT", "/api/v1/users", "GET"),
    ("DELETE", "/api/v1/roles", "GET"),
    (
        "POST",
        "/api/v1/users/00000000-0000-0000-0000-000000000000",
        "GET",
    ),
    ("POST", "/api/v1/roles/admin", "GET"),
    ("GET", "/api/v1/auth/token", "POST"),
    ("GET", "/api/v1/auth/token/refresh", "POST"),
    ("POST", "/api/v1/me", "GET"),
    ("DELETE", "/healthz", "GET"),
];

#[tokio::test]
async fn a_wrong_method_on_a_known_resource_is_405_naming_the_allowed_ones() {
    let app = spawn_app().await;

    let mut wrong = Vec::new();
    for (method, path, allowed) in WRONG_METHODS {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        let allow = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if response.status() != 405 || !allow.contains(allowed) {
            wrong.push(format!(
                "case {method} {path}: status {}, Allow {allow:?} (expected 405 with {allowed})",
                response.status()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_wrong_method_answer_is_a_problem_document() {
    let app = spawn_app().await;

    let mut wrong = Vec::new();
    for (method, path, _) in WRONG_METHODS {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if status != 405 || content_type != "application/problem+json" {
            wrong.push(format!(
                "case {method} {path}: status {status}, Content-Type {content_type:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn bad_query_strings_are_4xx_problems() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, query) in [
        ("a non-numeric limit", "limit=ten"),
        ("a negative limit", "limit=-1"),
        ("an unknown parameter", "order=desc"),
    ] {
        let response = app.get(&format!("/api/v1/users?{query}"), &admin).await;
        assert_problem(response, 400, case).await;
    }
    let response = app
        .get("/api/v1/audit-events?since=yesterday", &admin)
        .await;
    assert_problem(response, 400, "a malformed timestamp").await;
}

#[tokio::test]
async fn hostile_path_segments_are_404_not_500() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for path in [
        "/api/v1/users/'%20OR%20'1'='1",
        "/api/v1/users/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/users/%00",
        "/api/v1/roles/'%3B%20DROP%20TABLE%20roles%3B--",
        "/api/v1/roles/%F0%9F%9A%80",
        "/api/v1/roles/%FF",
    ] {
        let response = app.get(path, &admin).await;
        let status = response.status().as_u16();
        assert!(status < 500, "case {path}: status {status}");
        assert_problem(response, 404, path).await;
    }
    let roles: Value = app.get("/api/v1/roles", &admin).await.json().await.unwrap();
    assert!(
        roles["items"].as_array().unwrap().len() >= 2,
        "the roles table is intact"
    );
}

#[tokio::test]
async fn nul_bytes_in_any_input_are_answered_with_4xx_not_500() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    let login = app.login("nul\0byte", "whatever-password").await;
    let mut answers = vec![("a username with NUL at login", &[401][..], login)];
    for (case, path, expected) in [
        (
            "a role name with NUL",
            "/api/v1/roles/nul%00byte",
            &[404][..],
        ),
        ("a user id with NUL", "/api/v1/users/nul%00byte", &[404]),
        // Nothing matches such a filter; refusing it outright would do as well.
        (
            "an audit action filter with NUL",
            "/api/v1/audit-events?action=a%00b",
            &[200, 400, 422],
        ),
        (
            "an audit actor filter with NUL",
            "/api/v1/audit-events?actor=a%00b",
            &[200, 400, 422],
        ),
        (
            "a user cursor with NUL",
            "/api/v1/users?cursor=a%00b",
            &[422],
        ),
    ] {
        answers.push((case, expected, app.get(path, &admin).await));
    }
    let replace = app
        .put_json(
            "/api/v1/roles/nul%00byte",
            &admin,
            &json!({ "permissions": [] }),
        )
        .await;
    answers.push(("PUT of a role name with NUL", &[404], replace));

    let wrong: Vec<String> = answers
        .iter()
        .filter(|(_, expected, response)| !expected.contains(&response.status().as_u16()))
        .map(|(case, expected, response)| {
            format!(
                "case {case}: status {} (expected one of {expected:?})",
                response.status()
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// RFC 6749 §5.2: `error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )`.
fn within_rfc6749_description_chars(description: &str) -> bool {
    description
        .chars()
        .all(|c| matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}'))
}

#[tokio::test]
async fn oauth_error_descriptions_stay_in_rfc6749_characters_and_never_echo_input() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let client = app.seed_client_as(&admin, &[]).await;
    let credentials = [
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
    ];
    let hostile = ["jobs:\"read\\", "jöbs:read", "a:b\u{202e}c", "<script>:x"];
    for raw in hostile {
        let mut scope = vec![("grant_type", "client_credentials"), ("scope", raw)];
        scope.extend_from_slice(&credentials);
        let repeated_name = format!("{raw}x");
        let repeated = vec![
            ("grant_type", "client_credentials"),
            (repeated_name.as_str(), "1"),
            (repeated_name.as_str(), "2"),
        ];
        for (case, form) in [("scope", scope), ("repeated parameter", repeated)] {
            let response = app.post_token(None, &form).await;
            assert_eq!(response.status(), 400, "case {case} {raw:?}");
            let body: Value = response.json().await.unwrap();
            let description = body["error_description"].as_str().unwrap_or_default();
            assert!(
                within_rfc6749_description_chars(description),
                "case {case} {raw:?}: {description:?}"
            );
            assert!(
                !description.contains(raw),
                "case {case} {raw:?}: the input is not echoed: {description:?}"
            );
        }
    }
}
