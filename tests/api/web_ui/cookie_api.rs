//! The JSON API with the session cookie: reads work, changes need our own origin
//! and the page's token in `X-CSRF-Token`; the session secret works nowhere but
//! in its cookie.

use serde_json::{json, Value};

use super::{pat_names, Browser, PATS, SESSION_COOKIE};
use crate::helpers::{assert_problem, assert_unauthenticated, spawn_app};
use crate::introspection::{assert_inactive, fixture};

#[tokio::test]
async fn the_api_reads_with_the_session_cookie_alone() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &user).await;

    let me = browser
        .request(reqwest::Method::GET, "/api/v1/me", &[], None)
        .await;

    assert_eq!(me.status, 200, "{}", me.body);
    let me: Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["credential"]["kind"], "browser_session");
    assert_eq!(me["principal"]["id"], user.id.as_str());
    let pats = browser.request(reqwest::Method::GET, PATS, &[], None).await;
    assert_eq!(pats.status, 200, "listing with the cookie");
}

#[tokio::test]
async fn cookie_authenticated_changes_need_the_csrf_header_and_our_own_origin() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let api = app.auth_for(&user).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let token = browser
        .get("/tokens")
        .await
        .meta_csrf_token()
        .expect("signed-in pages carry the token for scripts");
    let other = Browser::signed_in(&app, &user).await.csrf().await;
    let own = app.address.clone();
    let json = ("content-type", "application/json");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no X-CSRF-Token", vec![json, ("origin", &own)]),
        (
            "an empty X-CSRF-Token",
            vec![json, ("origin", &own), ("x-csrf-token", "")],
        ),
        (
            "another session's token",
            vec![json, ("origin", &own), ("x-csrf-token", &other)],
        ),
        (
            "the session secret as the token",
            vec![json, ("origin", &own), ("x-csrf-token", "tri_ses_x")],
        ),
        (
            "a foreign Origin",
            vec![
                json,
                ("origin", "http://evil.example"),
                ("x-csrf-token", &token),
            ],
        ),
        (
            "Sec-Fetch-Site cross-site",
            vec![
                json,
                ("sec-fetch-site", "cross-site"),
                ("x-csrf-token", &token),
            ],
        ),
    ];
    let body = json!({"name": "from a script", "scopes": ["tokens:read"], "expires_in_days": 7})
        .to_string()
        .into_bytes();

    for (case, headers) in &cases {
        let page = browser
            .request(reqwest::Method::POST, PATS, headers, Some(body.clone()))
            .await;
        assert_eq!(page.status, 403, "case {case}: status ({})", page.body);
        assert_eq!(
            page.header("content-type"),
            "application/problem+json",
            "case {case}: a problem document"
        );
        assert!(
            pat_names(&app, &api).await.is_empty(),
            "case {case}: nothing minted"
        );
    }
    let revoke_all = browser
        .request(
            reqwest::Method::DELETE,
            &format!("{PATS}/00000000-0000-0000-0000-000000000000"),
            &[("origin", &own)],
            None,
        )
        .await;
    assert_eq!(revoke_all.status, 403, "DELETE is a change too");

    let page = browser
        .request(
            reqwest::Method::POST,
            PATS,
            &[
                json,
                ("origin", &own),
                ("sec-fetch-site", "same-origin"),
                ("x-csrf-token", &token),
            ],
            Some(body),
        )
        .await;
    assert_eq!(
        page.status, 201,
        "same origin with the token: {}",
        page.body
    );
    assert_eq!(pat_names(&app, &api).await, ["from a script"]);
}

#[tokio::test]
async fn a_session_secret_is_refused_outside_its_cookie_and_inactive_at_introspection() {
    let fixture = fixture().await;
    let app = &fixture.app;
    let user = app.seed_user_as(&fixture.admin, &["user"]).await;
    let browser = Browser::signed_in(app, &user).await;
    let secret = browser.session();

    for (case, header, value) in [
        ("Bearer", "authorization", format!("Bearer {secret}")),
        ("Api-Key", "authorization", format!("Api-Key {secret}")),
        ("X-API-Key", "x-api-key", secret.clone()),
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_unauthenticated(response, case).await;
    }
    // A header wins over the cookie: a bad header is not rescued by a good cookie.
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Bearer {secret}"))
        .header("cookie", format!("{SESSION_COOKIE}={secret}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "session secret in the header and the cookie").await;

    assert_inactive(app, &fixture.introspector, &secret, "a browser session").await;
}
