//! Operations: health, readiness, metrics, the OpenAPI document and Swagger UI, and the
//! security headers every response carries.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;

    let response = app.client.get(app.url("/healthz")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readyz_answers_200_when_the_database_does() {
    let app = spawn_app().await;

    let response = app.client.get(app.url("/readyz")).send().await.unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_in_prometheus_text() {
    let app = spawn_app().await;
    app.client.get(app.url("/healthz")).send().await.unwrap();

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "content type {content_type}"
    );
    let text = response.text().await.unwrap();
    let healthz = text
        .lines()
        .find(|l| l.starts_with("trident_http_requests_total{") && l.contains("route=\"/healthz\""))
        .unwrap_or_else(|| panic!("a /healthz counter in:\n{text}"));
    let count: f64 = healthz.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{healthz}");
    // OpenMetrics names a counter's family without `_total`, and ends with EOF.
    assert!(text.contains("# TYPE trident_http_requests counter"));
    assert!(text.contains("trident_http_request_duration_seconds_bucket"));
    assert!(text.contains("# TYPE trident_http_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE trident_credential_cache_hits counter"));
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn metrics_label_route_patterns_never_raw_paths() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    app.client
        .get(app.url(&format!("/api/v1/users/{id}")))
        .send()
        .await
        .unwrap();
    app.client
        .get(app.url("/leaked-secret-in-path"))
        .send()
        .await
        .unwrap();

    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(
        text.contains("route=\"/api/v1/users/{id}\""),
        "the pattern is the label:\n{text}"
    );
    assert!(!text.contains(&id), "the id is not a label");
    assert!(
        !text.contains("leaked-secret-in-path"),
        "unmatched paths are not labels"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_api_and_its_security_schemes() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "OpenAPI 3: {}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/auth/token",
        "/api/v1/auth/token/refresh",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/me",
    ] {
        assert!(doc["paths"].get(path).is_some(), "documents {path}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["basic"]["type"], "http");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    assert_eq!(schemes["session_cookie"]["type"], "apiKey");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = spawn_app().await;

    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(
        redirect.status().is_redirection(),
        "/docs redirects: {}",
        redirect.status()
    );
    assert_eq!(redirect.headers().get("location").unwrap(), "/docs/");

    let response = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "content type {content_type}"
    );
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "Swagger UI HTML");
}

#[tokio::test]
async fn every_response_carries_nosniff() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let user_auth = app.auth_for(&user).await;

    let cases = [
        (
            "healthz",
            app.client.get(app.url("/healthz")).send().await.unwrap(),
        ),
        (
            "metrics",
            app.client.get(app.url("/metrics")).send().await.unwrap(),
        ),
        (
            "jwks",
            app.client
                .get(app.url("/.well-known/jwks.json"))
                .send()
                .await
                .unwrap(),
        ),
        (
            "openapi",
            app.client
                .get(app.url("/api-docs/openapi.json"))
                .send()
                .await
                .unwrap(),
        ),
        (
            "docs",
            app.client.get(app.url("/docs/")).send().await.unwrap(),
        ),
        (
            "docs redirect",
            app.client.get(app.url("/docs")).send().await.unwrap(),
        ),
        ("me", app.get_me(&admin).await),
        (
            "401",
            app.client.get(app.url("/api/v1/me")).send().await.unwrap(),
        ),
        ("403", app.get("/api/v1/users", &user_auth).await),
        (
            "404",
            app.client.get(app.url("/nope")).send().await.unwrap(),
        ),
        (
            "405",
            app.client
                .put(app.url("/api/v1/users"))
                .send()
                .await
                .unwrap(),
        ),
        (
            "413",
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("Content-Type", "application/json")
                .body("x".repeat(17 * 1024))
                .send()
                .await
                .unwrap(),
        ),
        (
            "415",
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("Content-Type", "text/plain")
                .body("{}")
                .send()
                .await
                .unwrap(),
        ),
        (
            "login",
            app.login(&app.admin.username, &app.admin.password).await,
        ),
    ];
    for (case, response) in cases {
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("nosniff".to_owned()),
            "case {case} (status {})",
            response.status()
        );
    }
}

#[tokio::test]
async fn a_running_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let Some(path) = app
        .database_url
        .strip_prefix("sqlite://")
        .and_then(|rest| rest.split('?').next())
    else {
        return; // PostgreSQL keeps its own files
    };
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is private");
    }
}
