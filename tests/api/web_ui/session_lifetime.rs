//! How a browser session ends: signing out, expiry, and the user being disabled.
//! Each ends it on the server, so a copied cookie stops working at once.

use serde_json::json;

use super::sign_in::expire_session;
use super::{assert_sent_to_sign_in, me_with_cookie, Browser, SESSION_COOKIE};
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn signing_out_deletes_the_session_so_a_replayed_cookie_is_refused() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let session = browser.session();
    let csrf = browser.csrf().await;

    let page = browser.submit("/logout", &[("csrf_token", &csrf)]).await;

    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        page.location().starts_with("/login"),
        "to the sign-in page: {}",
        page.location()
    );
    let removal = page
        .set_cookie(SESSION_COOKIE)
        .expect("the browser is told to forget the cookie");
    assert!(removal.is_removal(), "Max-Age=0: {removal:?}");
    assert!(removal.value.is_empty(), "the removal carries no secret");
    assert!(browser.cookie(SESSION_COOKIE).is_none());
    // A copy of the cookie (another tab, a thief) is dead on the server too.
    assert_sent_to_sign_in(&app, &session, "after sign-out").await;
}

#[tokio::test]
async fn an_expired_session_is_sent_to_the_login_page() {
    // The expiry is moved behind the server's back: no credential cache.
    let app = spawn_app_with(|s| s.credential_cache = false).await;
    let user = app.seed_user(&["user"]).await;
    let browser = Browser::signed_in(&app, &user).await;
    let session = browser.session();
    assert_eq!(
        me_with_cookie(&app, &session).await.status(),
        200,
        "before expiry"
    );

    expire_session(&app, &session).await;

    assert_sent_to_sign_in(&app, &session, "expired").await;
}

#[tokio::test]
async fn disabling_the_user_ends_their_browser_session_at_once() {
    // The credential cache stays on: disabling must reach past it.
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let session = browser.session();
    assert_eq!(browser.get("/tokens").await.status, 200, "a warm session");
    assert_eq!(me_with_cookie(&app, &session).await.status(), 200);

    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", user.id),
            &app.admin_auth().await,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200, "disabling the user");

    assert_sent_to_sign_in(&app, &session, "disabled user").await;
    let mut again = Browser::new(&app);
    let form = again.get("/login").await.csrf_token();
    let page = again
        .submit(
            "/login",
            &[
                ("csrf_token", &form),
                ("username", &user.username),
                ("password", &user.password),
            ],
        )
        .await;
    assert_ne!(page.status, 303, "a disabled user cannot sign in again");
    assert!(page.set_cookie(SESSION_COOKIE).is_none());

    // Enabled again: the session that was open before stays ended.
    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", user.id),
            &app.admin_auth().await,
            &json!({"disabled": false}),
        )
        .await;
    assert_eq!(response.status(), 200, "enabling the user again");
    assert_sent_to_sign_in(&app, &session, "re-enabled user, old session").await;
}

#[tokio::test]
async fn a_password_reset_ends_every_browser_session_of_the_user() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let other = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let session = browser.session();
    assert_eq!(browser.get("/tokens").await.status, 200, "a warm session");
    let bystander = Browser::signed_in(&app, &other).await.session();

    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", user.id),
            &app.admin_auth().await,
            &json!({"password": "a-brand-new-password-42"}),
        )
        .await;
    assert_eq!(response.status(), 200, "resetting the password");

    assert_sent_to_sign_in(&app, &session, "after a password reset").await;
    assert_eq!(
        me_with_cookie(&app, &bystander).await.status(),
        200,
        "another user's session is untouched"
    );
}

#[tokio::test]
async fn logging_out_everywhere_and_reporting_the_cookie_as_leaked_end_the_session() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;

    let everywhere = Browser::signed_in(&app, &user).await;
    let response = app.logout_all(&app.auth_for(&user).await).await;
    assert!(response.status().is_success(), "logging out everywhere");
    assert_sent_to_sign_in(&app, &everywhere.session(), "logged out everywhere").await;

    let leaked = Browser::signed_in(&app, &user).await;
    let response = crate::revocation::report_leak(&app, &app.client, &[&leaked.session()]).await;
    assert_eq!(response.status(), 202, "the leak report");
    assert_sent_to_sign_in(&app, &leaked.session(), "reported as leaked").await;
}

#[tokio::test]
async fn signing_out_a_made_up_session_changes_nothing_and_flushes_no_cache() {
    use trident::secret::csrf::csrf_token;
    use trident::secret::{OpaqueSecret, SecretKind};

    // The credential cache stays on: a flush would show as a change moved behind
    // the server's back suddenly being seen.
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let (_, key) = crate::introspection::user_with_key(&app, &admin, &["user"]).await;
    let with_key = format!("Api-Key {}", key.key);
    assert_eq!(app.get_me(&with_key).await.status(), 200, "warming the key");
    app.expire_api_key(&key.id).await;
    assert_eq!(app.get_me(&with_key).await.status(), 200, "still cached");

    // A well-formed cookie nobody was given, with the CSRF token anyone can
    // compute for it, from a client that sends no Origin.
    let made_up = OpaqueSecret::generate(SecretKind::BrowserSession);
    let response = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("{SESSION_COOKIE}={}", made_up.reveal()))
        .form(&[("csrf_token", csrf_token(made_up.reveal()))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sent to the sign-in page");

    assert_eq!(
        app.get_me(&with_key).await.status(),
        200,
        "signing out a session that does not exist flushed no cache"
    );
}
