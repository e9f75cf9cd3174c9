//! What the pages answer to input no form of theirs sends: each gets its own
//! status, never a 500.

use super::{pats_of, Browser};
use crate::helpers::spawn_app;

const FORM: &str = "application/x-www-form-urlencoded";

/// One request of the table: a GET when `body` is `None`, else a same-origin
/// POST with that body and content type.
struct Case {
    name: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Option<String>,
    expected: u16,
}

fn get(name: &'static str, path: &str, expected: u16) -> Case {
    Case {
        name,
        path: path.to_owned(),
        content_type: None,
        body: None,
        expected,
    }
}

fn post(
    name: &'static str,
    path: &str,
    content_type: Option<&'static str>,
    body: String,
    expected: u16,
) -> Case {
    Case {
        name,
        path: path.to_owned(),
        content_type,
        body: Some(body),
        expected,
    }
}

#[tokio::test]
async fn malformed_oversized_and_unknown_requests_get_their_own_status_never_a_500() {
    let app = spawn_app().await;
    let alice = app.seed_user(&["user"]).await;
    let bob = app.seed_user(&["user"]).await;
    let mut bobs = Browser::signed_in(&app, &bob).await;
    assert_eq!(bobs.mint("bob's", &["tokens:read"], "30").await.status, 201);
    let bob_api = app.auth_for(&bob).await;
    let bobs_token = pats_of(&app, &bob_api).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::signed_in(&app, &alice).await;
    let csrf = browser.csrf().await;
    let mint = |extra: &str| format!("csrf_token={csrf}&name=x&scopes=tokens:read{extra}");
    let token_only = format!("csrf_token={csrf}");
    let unknown = "/tokens/0190b7a4-0000-7000-8000-000000000000/revoke";
    let bobs_revoke = format!("/tokens/{bobs_token}/revoke");
    let malformed = "/tokens/not-a-uuid/revoke";
    let json = Some("application/json");
    let cases = [
        post(
            "a JSON body",
            "/tokens",
            json,
            r#"{"name":"x"}"#.into(),
            415,
        ),
        post(
            "multipart",
            "/tokens",
            Some("multipart/form-data; boundary=x"),
            mint("&expiry=30"),
            415,
        ),
        post("no content type", "/tokens", None, mint("&expiry=30"), 415),
        post(
            "a form over 16 KiB",
            "/tokens",
            Some(FORM),
            mint(&format!("&expiry=30&padding={}", "a".repeat(20 * 1024))),
            413,
        ),
        get("an unknown token (GET)", unknown, 404),
        post(
            "an unknown token (POST)",
            unknown,
            Some(FORM),
            token_only.clone(),
            404,
        ),
        get("another user's token (GET)", &bobs_revoke, 404),
        post(
            "another user's token (POST)",
            &bobs_revoke,
            Some(FORM),
            token_only.clone(),
            404,
        ),
        get("a malformed id (GET)", malformed, 404),
        post(
            "a malformed id (POST)",
            malformed,
            Some(FORM),
            token_only,
            404,
        ),
        get("a malformed cursor", "/tokens?cursor=not-a-uuid", 400),
        get("a malformed cursor (API keys)", "/api-keys?cursor=x", 400),
        get("a malformed user id", "/admin/users/not-a-uuid", 404),
        get("a malformed audit cursor", "/admin/audit?cursor=abc", 400),
        post(
            "invalid percent-encoding in the form",
            "/tokens",
            Some(FORM),
            mint("&expiry=30&name=%ZZ%&x=%FF"),
            201,
        ),
        post(
            "an unknown expiry",
            "/tokens",
            Some(FORM),
            mint("&expiry=9999"),
            422,
        ),
        post(
            "an impossible date",
            "/tokens",
            Some(FORM),
            mint("&expiry=date&expires_on=9999-99-99"),
            422,
        ),
        post(
            "the last date there is",
            "/tokens",
            Some(FORM),
            mint("&expiry=date&expires_on=262142-12-31"),
            422,
        ),
    ];

    let own = app.address.clone();
    let signed_in_as = format!("<strong id=\"whoami\">{}</strong>", alice.username);
    for case in cases {
        let page = match case.body {
            None => browser.get(&case.path).await,
            Some(body) => {
                let mut headers = vec![("origin", own.as_str()), ("sec-fetch-site", "same-origin")];
                if let Some(content_type) = case.content_type {
                    headers.push(("content-type", content_type));
                }
                browser
                    .request(
                        reqwest::Method::POST,
                        &case.path,
                        &headers,
                        Some(body.into_bytes()),
                    )
                    .await
            }
        };
        let name = case.name;
        assert_eq!(
            page.status, case.expected,
            "case {name}: status ({})",
            page.body
        );
        assert_ne!(page.status, 500, "case {name}: never a 500");
        assert!(
            page.header("content-type").starts_with("text/html"),
            "case {name}: a page answers with a page, not JSON ({})",
            page.header("content-type")
        );
        if page.status >= 400 {
            assert!(
                page.body.contains(&signed_in_as),
                "case {name}: the error page keeps alice's frame ({})",
                page.body
            );
        }
    }
    assert_eq!(
        pats_of(&app, &bob_api).await[0]["status"],
        "active",
        "bob's token is untouched"
    );
}

#[tokio::test]
async fn a_mistyped_page_address_or_method_gets_a_page_and_api_paths_keep_their_problems() {
    let app = spawn_app().await;
    let alice = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &alice).await;
    let html = [("accept", "text/html,application/xhtml+xml,*/*;q=0.8")];

    let page = browser
        .request(reqwest::Method::GET, "/tokenz", &html, None)
        .await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(
        page.body.contains(&format!(
            "<strong id=\"whoami\">{}</strong>",
            alice.username
        )),
        "the 404 page in alice's frame: {}",
        page.body
    );

    for path in ["/api/v1/nothing", "/oauth/nothing", "/.well-known/nothing"] {
        let page = browser
            .request(reqwest::Method::GET, path, &html, None)
            .await;
        assert_eq!(page.status, 404, "{path}");
        assert_eq!(
            page.header("content-type"),
            "application/problem+json",
            "{path}"
        );
    }
    let page = browser
        .request(reqwest::Method::GET, "/tokenz", &[("accept", "*/*")], None)
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(page.header("content-type"), "application/problem+json");

    // A bookmarked sign-out address (POST only): the 405 page, in alice's frame.
    let page = browser
        .request(reqwest::Method::GET, "/logout", &html, None)
        .await;
    assert_eq!(page.status, 405);
    assert_eq!(page.header("allow"), "POST");
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(
        page.body.contains(&format!(
            "<strong id=\"whoami\">{}</strong>",
            alice.username
        )),
        "the 405 page in alice's frame: {}",
        page.body
    );
    let page = browser
        .request(reqwest::Method::PUT, "/api/v1/me", &html, None)
        .await;
    assert_eq!(page.status, 405);
    assert_eq!(page.header("content-type"), "application/problem+json");
}
