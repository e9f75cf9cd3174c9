//! Signing in and out, self-registration, and the pages at phone size.

use serde_json::{json, Value};

use super::harness::{browse, Browser, DESKTOP, PHONE};
use crate::helpers::{random_string, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_admin_signs_in_through_the_login_page_and_lands_on_the_tokens_page() {
    browse(spawn_app(), |app, b| async move {
        b.go("/login").await;
        b.snap("login").await;

        // A wrong password keeps us on the sign-in page with one vague message.
        b.fill("#username", &app.admin.username).await;
        b.fill("#password", "not-the-password").await;
        b.click_and_load("#sign-in").await;
        let error = b.text("#login-error").await;
        assert_eq!(error, "Incorrect username or password.");
        assert_eq!(b.path().await, "/login");
        assert_eq!(
            b.value("#username").await,
            app.admin.username,
            "the username is kept"
        );
        b.snap("login-wrong-password").await;

        b.fill("#password", &app.admin.password).await;
        b.click_and_load("#sign-in").await;
        assert_eq!(b.text("#whoami").await, app.admin.username);
        assert_eq!(b.path().await, "/tokens");
        b.snap("tokens-empty").await;

        // Signed in, `/` and `/login` both lead to the tokens page.
        b.go("/").await;
        assert_eq!(b.path().await, "/tokens");
        b.go("/login").await;
        assert_eq!(b.path().await, "/tokens");
    })
    .await;
}

#[tokio::test]
async fn signing_out_from_the_top_bar_ends_the_session() {
    browse(spawn_app(), |app, b| async move {
        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.click_xpath(
            "//header//form[contains(@class, 'signout')]//button[normalize-space(.)='Sign out']",
        )
        .await;
        b.find("#sign-in").await;
        assert_eq!(b.path().await, "/login");
        assert!(
            b.source().await.contains("You are signed out."),
            "the sign-in page says so"
        );
        b.snap("login-signed-out").await;

        for page in ["/tokens", "/api-keys"] {
            b.go(page).await;
            assert_eq!(b.path().await, "/login", "{page} needs a session again");
        }
    })
    .await;
}

#[tokio::test]
async fn registration_in_the_browser_shows_a_first_api_key_and_signs_the_new_user_in() {
    let app = spawn_app_with(|s| s.allow_registration = true);
    browse(app, |app, b| async move {
        b.go("/login").await;
        b.click_xpath("//a[@href='/register']").await;
        b.find("form[action='/register']").await;
        assert_eq!(b.path().await, "/register");
        b.snap("register").await;

        let username = format!("newcomer-{}", random_string(6).to_lowercase());
        b.fill("#username", &username).await;
        b.fill("#password", &random_string(20)).await;
        b.click_and_load("form[action='/register'] button[type=submit]")
            .await;

        let key = b.value("input#secret").await;
        assert!(!key.is_empty(), "the welcome page shows the first API key");
        assert_eq!(b.text("#whoami").await, username);
        b.snap("register-welcome").await;
        let response = app.get_me(&format!("Api-Key {key}")).await;
        assert_eq!(response.status(), 200, "the first API key works");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["principal"]["name"], username.as_str());
        assert_eq!(me["credential"]["kind"], "api_key");

        b.click_and_load("#done").await;
        b.find("#mint-form").await;
        assert_eq!(b.path().await, "/tokens");
        assert_eq!(b.text("#whoami").await, username);
        assert!(
            !b.source().await.contains(&key),
            "the key is never shown again"
        );
        b.snap("register-then-tokens").await;
    })
    .await;
}

#[tokio::test]
async fn the_main_pages_fit_a_phone_screen_without_sideways_scrolling() {
    browse(spawn_app(), |app, b| async move {
        // Something in each table, so the phone layout is seen with data.
        let admin = app.admin_auth().await;
        let seeds = [
            (
                "/api/v1/personal-access-tokens",
                json!({"name": "laptop", "scopes": ["tokens:read", "api_keys:read"], "expires_in_days": 30}),
            ),
            ("/api/v1/api-keys", json!({"name": "billing-worker"})),
        ];
        for (path, body) in seeds {
            let response = app.post_json(path, &admin, &body).await;
            assert_eq!(response.status(), 201, "seeding {path}");
        }

        b.set_size(PHONE).await;
        b.go("/login").await;
        b.find("#sign-in").await;
        b.snap("phone-login").await;
        assert_fits_sideways(&b, "/login").await;
        b.sign_in(&app.admin.username, &app.admin.password).await;
        for (page, shot) in [("/tokens", "phone-tokens"), ("/api-keys", "phone-api-keys")] {
            b.go(page).await;
            b.find("main h1").await;
            b.snap(shot).await;
            assert_fits_sideways(&b, page).await;
        }
        b.set_size(DESKTOP).await;
    })
    .await;
}

/// The page is no wider than the window (a wide table may scroll inside its box).
async fn assert_fits_sideways(b: &Browser, page: &str) {
    let overflow = b
        .client()
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(0) <= 0,
        "{page} scrolls sideways on a phone by {overflow}px"
    );
}
