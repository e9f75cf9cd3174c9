//! Self-registration at `/register`: absent unless switched on; when on, it
//! creates the user, signs the browser in and shows the first API key once.

use serde_json::Value;

use super::{Browser, ANTI_FORGERY_COOKIE, SESSION_COOKIE};
use crate::helpers::{random_string, spawn_app, spawn_app_with};

#[tokio::test]
async fn registration_is_not_found_when_switched_off() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let login = browser.get("/login").await;
    assert!(!login.body.contains(r#"href="/register""#), "no link to it");

    let page = browser.get("/register").await;
    assert_eq!(page.status, 404, "GET /register");

    let csrf = login.csrf_token();
    let username = format!("newcomer-{}", random_string(6).to_lowercase());
    let page = browser
        .submit(
            "/register",
            &[
                ("csrf_token", &csrf),
                ("username", &username),
                ("password", "a-long-enough-password"),
            ],
        )
        .await;
    assert_eq!(page.status, 404, "POST /register");
    assert!(page.set_cookie(SESSION_COOKIE).is_none());
    assert_eq!(
        app.login(&username, "a-long-enough-password")
            .await
            .status(),
        401,
        "no user was created"
    );
}

#[tokio::test]
async fn registering_creates_the_user_signs_in_and_shows_the_first_api_key_once() {
    let app = spawn_app_with(|s| s.allow_registration = true).await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/register").await;
    assert_eq!(form.status, 200);
    assert!(form.set_cookie(ANTI_FORGERY_COOKIE).is_some());
    let username = format!("newcomer-{}", random_string(6).to_lowercase());
    let password = random_string(20);

    let page = browser
        .submit(
            "/register",
            &[
                ("csrf_token", &form.csrf_token()),
                ("username", &username),
                ("password", &password),
            ],
        )
        .await;

    assert_eq!(page.status, 201, "{}", page.body);
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(!page.body.contains(&password), "the password is not echoed");
    let cookie = page.set_cookie(SESSION_COOKIE).expect("signed in at once");
    assert!(cookie.has("httponly"));
    assert_eq!(cookie.attribute("samesite"), Some("Lax"));
    let key = page.secret().expect("the first API key is shown");
    assert!(
        key.starts_with("tri_live_") || key.starts_with("tri_test_"),
        "{key}"
    );
    let me = app.get_me(&format!("Api-Key {key}")).await;
    assert_eq!(me.status(), 200, "the key shown works");
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["principal"]["name"], username.as_str());

    let tokens = browser.get("/tokens").await;
    assert_eq!(tokens.status, 200, "the browser is signed in");
    assert!(tokens.body.contains(&username));
    let keys = browser.get("/api-keys").await;
    assert_eq!(keys.status, 200);
    assert!(!keys.body.contains(&key), "the key is never shown again");
    assert_eq!(app.login(&username, &password).await.status(), 200);
}

#[tokio::test]
async fn registration_errors_are_shown_next_to_the_field_with_the_username_kept() {
    let app = spawn_app_with(|s| s.allow_registration = true).await;
    let mut browser = Browser::new(&app);
    let good_name = format!("someone-{}", random_string(6).to_lowercase());
    let good_password = "a-long-enough-password";
    let cases = [
        (
            "bad username",
            "no spaces allowed!",
            good_password,
            "username",
        ),
        ("short password", good_name.as_str(), "short", "password"),
        (
            "taken username",
            app.admin.username.as_str(),
            good_password,
            "username",
        ),
    ];

    for (case, username, password, field) in cases {
        let csrf = browser.get("/register").await.csrf_token();
        let page = browser
            .submit(
                "/register",
                &[
                    ("csrf_token", &csrf),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;

        assert_eq!(page.status, 422, "case {case}: status");
        assert!(
            page.set_cookie(SESSION_COOKIE).is_none(),
            "case {case}: no session"
        );
        assert!(page.secret().is_none(), "case {case}: no key");
        let kept = page.attribute_after(r#"name="username""#, "value");
        assert_eq!(
            kept.as_deref(),
            Some(username),
            "case {case}: username kept"
        );
        for other in ["username", "password"] {
            let has_error = field_section(&page.body, other).contains(r#"class="error""#);
            assert_eq!(
                has_error,
                other == field,
                "case {case}: an error next to {other}: {has_error}"
            );
        }
        assert!(
            !page.body.contains(&format!(r#"value="{password}""#)),
            "case {case}: the password is not echoed"
        );
    }
    assert_eq!(
        app.login(&good_name, "short").await.status(),
        401,
        "no user was created"
    );
}

/// The markup of the form field holding the input named `name`, up to the next field.
fn field_section<'a>(body: &'a str, name: &str) -> &'a str {
    let input = format!(r#"name="{name}""#);
    let Some(at) = body.find(&input) else {
        return "";
    };
    let rest = &body[at..];
    let end = rest
        .find(r#"<div class="field"#)
        .or_else(|| rest.find(r#"<div class="actions"#))
        .unwrap_or(rest.len());
    &rest[..end]
}
