//! The sign-in page: its headers, the cookies it sets, uniform failures,
//! throttling and a fresh session at every sign-in.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use trident::secret::OpaqueSecret;

use super::{
    assert_sent_to_sign_in, me_with_cookie, Browser, Page, ANTI_FORGERY_COOKIE, SESSION_COOKIE,
};
use crate::helpers::{client_from, spawn_app, spawn_app_with, TestApp, TestUser};

/// The headers every page of the UI carries.
fn assert_page_headers(page: &Page, case: &str) {
    let csp = page.header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "case {case}: CSP {csp}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "case {case}: CSP {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "case {case}: CSP {csp}");
    assert!(!csp.contains("unsafe-eval"), "case {case}: CSP {csp}");
    assert_eq!(
        page.header("x-content-type-options"),
        "nosniff",
        "case {case}"
    );
    assert!(
        !page.header("referrer-policy").is_empty(),
        "case {case}: Referrer-Policy"
    );
    assert!(
        page.header("cache-control").contains("no-store"),
        "case {case}: Cache-Control {}",
        page.header("cache-control")
    );
    assert!(
        page.header("content-type").starts_with("text/html"),
        "case {case}: content type"
    );
}

#[tokio::test]
async fn the_login_page_has_a_strict_policy_and_an_http_only_anti_forgery_cookie() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);

    let page = browser.get("/login").await;

    assert_eq!(page.status, 200);
    assert_page_headers(&page, "the sign-in page");
    let cookie = page
        .set_cookie(ANTI_FORGERY_COOKIE)
        .expect("the anti-forgery cookie is set");
    assert!(
        cookie.has("httponly"),
        "the anti-forgery cookie is HttpOnly"
    );
    assert!(
        cookie.has("samesite"),
        "the anti-forgery cookie has SameSite"
    );
    assert_eq!(cookie.attribute("path"), Some("/"));
    assert!(
        cookie.value.len() >= 32,
        "the anti-forgery value is long and random"
    );
    let token = page.csrf_token();
    assert!(!token.is_empty(), "the form carries a CSRF token");
    assert!(
        !page.body.contains(&cookie.value),
        "the page shows a token derived from the cookie, never the cookie itself"
    );
    assert_eq!(page.meta_csrf_token().as_deref(), Some(token.as_str()));
    assert!(
        page.set_cookie(SESSION_COOKIE).is_none(),
        "no session before sign-in"
    );

    let again = browser.get("/login").await;
    assert!(
        again.set_cookie(ANTI_FORGERY_COOKIE).is_none(),
        "a browser that has the anti-forgery cookie keeps it"
    );
    assert_eq!(
        again.csrf_token(),
        token,
        "and its form keeps the same token"
    );
}

#[tokio::test]
async fn signing_in_sets_an_http_only_lax_session_cookie_and_lands_on_the_tokens_page() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::new(&app);

    let page = browser.sign_in(&user).await;

    let cookie = page.set_cookie(SESSION_COOKIE).expect("a session cookie");
    assert!(cookie.value.starts_with("tri_ses_"), "{}", cookie.value);
    assert!(cookie.has("httponly"), "HttpOnly");
    assert_eq!(cookie.attribute("samesite"), Some("Lax"));
    assert_eq!(cookie.attribute("path"), Some("/"));
    assert!(cookie.attribute("domain").is_none(), "a host-only cookie");
    assert!(!cookie.has("secure"), "no Secure on an http issuer");
    let max_age: i64 = cookie
        .attribute("max-age")
        .expect("a Max-Age")
        .parse()
        .unwrap();
    assert!(
        (28_700..=28_800).contains(&max_age),
        "the cookie lives as long as the session: {max_age}"
    );
    assert!(
        !page.body.contains(&cookie.value),
        "the secret is only in the cookie"
    );

    let tokens = browser.get("/tokens").await;
    assert_eq!(tokens.status, 200);
    assert_page_headers(&tokens, "the tokens page");
    assert!(
        tokens.body.contains(&user.username),
        "the page names who is signed in"
    );
    let me = me_with_cookie(&app, &cookie.value).await;
    assert_eq!(me.status(), 200, "the same session works on the API");
}

#[tokio::test]
async fn behind_an_https_issuer_the_cookies_are_secure_and_host_prefixed() {
    let issuer = "https://trident.example";
    let app = spawn_app_with(|s| s.issuer = Some(issuer.into())).await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::new(&app);
    browser.origin = issuer.into();

    let form = browser.get("/login").await;
    let anti_forgery = form
        .set_cookie("__Host-trident_csrf")
        .expect("the anti-forgery cookie is __Host- prefixed");
    assert!(
        anti_forgery.has("secure"),
        "the anti-forgery cookie is Secure"
    );
    assert!(anti_forgery.has("httponly"));
    assert_eq!(anti_forgery.attribute("path"), Some("/"));
    assert!(anti_forgery.attribute("domain").is_none());
    assert!(
        form.set_cookie(ANTI_FORGERY_COOKIE).is_none(),
        "no unprefixed cookie"
    );

    let csrf = form.csrf_token();
    let page = browser
        .submit(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", &user.username),
                ("password", &user.password),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), "/");
    let session = page
        .set_cookie("__Host-trident_session")
        .expect("the session cookie is __Host- prefixed");
    assert!(session.has("secure"), "Secure");
    assert!(session.has("httponly"), "HttpOnly");
    assert_eq!(session.attribute("samesite"), Some("Lax"));
    assert_eq!(session.attribute("path"), Some("/"));
    assert!(
        session.attribute("domain").is_none(),
        "__Host- forbids Domain"
    );
    assert!(
        page.set_cookie(SESSION_COOKIE).is_none(),
        "no unprefixed cookie"
    );

    let tokens = browser.get("/tokens").await;
    assert_eq!(
        tokens.status, 200,
        "the prefixed cookie signs the browser in"
    );
    let mut unprefixed = Browser::new(&app);
    unprefixed
        .jar
        .insert(SESSION_COOKIE.into(), session.value.clone());
    assert_eq!(
        unprefixed.get("/tokens").await.status,
        303,
        "behind https the unprefixed name is not read (it could be planted over http)"
    );
}

/// Signs in with a wrong credential from `browser` and returns the page.
async fn failed_sign_in(browser: &mut Browser<'_>, username: &str, password: &str) -> Page {
    let csrf = browser.get("/login").await.csrf_token();
    browser
        .submit(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_page() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let unknown = "nobody-here";
    let password = "a-Wrong-Password-123";
    let mut browser = Browser::new(&app);

    let wrong_password = failed_sign_in(&mut browser, &user.username, password).await;
    let unknown_user = failed_sign_in(&mut browser, unknown, password).await;

    for (case, page, username) in [
        ("wrong password", &wrong_password, user.username.as_str()),
        ("unknown user", &unknown_user, unknown),
    ] {
        assert!(
            [401, 200].contains(&page.status),
            "case {case}: status {}",
            page.status
        );
        assert!(
            page.set_cookie(SESSION_COOKIE).is_none(),
            "case {case}: no session"
        );
        assert!(
            page.body.contains("Incorrect username or password."),
            "case {case}: the one message"
        );
        assert_eq!(
            page.attribute_after(r#"name="username""#, "value")
                .as_deref(),
            Some(username),
            "case {case}: the username is kept"
        );
        assert!(
            !page.body.contains(password),
            "case {case}: the password is not echoed"
        );
        assert_eq!(
            page.header("cache-control"),
            "no-store",
            "case {case}: not cached"
        );
    }
    assert_eq!(
        wrong_password.status, unknown_user.status,
        "the same status"
    );
    assert_eq!(
        wrong_password.body.replace(&user.username, "USERNAME"),
        unknown_user.body.replace(unknown, "USERNAME"),
        "the same page, but for the username typed"
    );
}

#[tokio::test]
async fn a_username_with_markup_is_escaped_when_the_form_is_shown_again() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let hostile = r#""><script>alert(1)</script>"#;

    let page = failed_sign_in(&mut browser, hostile, "whatever-password").await;

    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(
        page.body.contains("&lt;script&gt;") || page.body.contains("&#60;script&#62;"),
        "the username is kept, escaped"
    );
}

#[tokio::test]
async fn a_link_can_neither_make_the_login_page_say_something_nor_sign_anyone_out() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::new(&app);

    let notice = browser.get("/login?done=signed-out").await;
    assert!(
        notice.body.contains("You are signed out."),
        "a known notice"
    );
    let injected = browser
        .get("/login?done=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error=Your+password+expired")
        .await;
    assert_eq!(injected.status, 200);
    assert!(!injected.body.contains("alert(1)"), "no text from the link");
    assert!(
        !injected.body.contains("Your password expired"),
        "no text from the link"
    );

    browser.sign_in(&user).await;
    let get_logout = browser.get("/logout").await;
    assert_eq!(get_logout.status, 405, "signing out takes a POST");
    assert_eq!(browser.get("/tokens").await.status, 200, "still signed in");
}

#[tokio::test]
async fn sign_in_attempts_are_throttled_like_the_api_login() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    let user = app.seed_user(&["user"]).await;
    // Its own address, so the server's own logins in the harness do not count.
    let mut browser = Browser::with_client(&app, client_from([127, 0, 0, 31]));

    for attempt in 1..=3 {
        let page = failed_sign_in(&mut browser, &user.username, "wrong-password-123").await;
        assert_eq!(page.status, 401, "attempt {attempt} is within the budget");
    }
    let throttled = failed_sign_in(&mut browser, &user.username, &user.password).await;

    assert_eq!(throttled.status, 429, "even the right password waits");
    assert!(throttled.set_cookie(SESSION_COOKIE).is_none(), "no session");
    let retry_after: u64 = throttled
        .header("retry-after")
        .parse()
        .unwrap_or_else(|_| panic!("a Retry-After header, got {:?}", throttled.headers));
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let api = app
        .login_via(
            &client_from([127, 0, 0, 31]),
            &user.username,
            &user.password,
        )
        .await;
    assert_eq!(
        api.status(),
        429,
        "the API login from that address shares its budget"
    );
    let elsewhere = app.login(&user.username, &user.password).await;
    assert_eq!(
        elsewhere.status(),
        200,
        "the user signs in from another address"
    );
}

#[tokio::test]
async fn signing_in_again_gives_a_new_session_and_ends_the_old_one() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::new(&app);
    // The sign-in form's token belongs to the anti-forgery cookie, which outlives sessions.
    let csrf = browser.get("/login").await.csrf_token();
    browser.sign_in(&user).await;
    let old = browser.session();

    let page = browser
        .submit(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", &user.username),
                ("password", &user.password),
            ],
        )
        .await;

    assert_eq!(page.status, 303, "{}", page.body);
    let new = browser.session();
    assert_ne!(new, old, "a fresh session secret at every sign-in");
    assert_eq!(
        browser.get("/tokens").await.status,
        200,
        "the new session works"
    );
    assert_sent_to_sign_in(&app, &old, "the replaced session").await;
}

/// The session behind `secret` expires now, behind the server's back.
pub async fn expire_session(app: &TestApp, secret: &str) {
    let digest = OpaqueSecret::parse(secret)
        .expect("a well-formed session secret")
        .digest();
    let db = app.db().await;
    let moved = entity::browser_sessions::Entity::update_many()
        .col_expr(
            entity::browser_sessions::Column::ExpiresAt,
            Expr::value(crate::helpers::utc_now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::browser_sessions::Column::Digest.eq(digest.as_bytes().to_vec()))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(moved.rows_affected, 1, "the session row exists");
    let _ = db.close().await;
}

/// How a session can end on the server while the browser keeps its cookie.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Expired,
    LoggedOutEverywhere,
}

/// Ends the session of `browser` on the server only; the browser keeps its cookie.
async fn end_behind_the_browsers_back(
    app: &TestApp,
    browser: &Browser<'_>,
    user: &TestUser,
    how: Ending,
) {
    match how {
        Ending::Expired => expire_session(app, &browser.session()).await,
        Ending::LoggedOutEverywhere => {
            let response = app.logout_all(&app.auth_for(user).await).await;
            assert!(response.status().is_success(), "logging out everywhere");
        }
    }
    assert_sent_to_sign_in(app, &browser.session(), &format!("{how:?}")).await;
}

#[tokio::test]
async fn a_browser_whose_session_ended_can_sign_in_and_register_again() {
    // The expiry is moved behind the server's back: no credential cache.
    let app = spawn_app_with(|s| {
        s.credential_cache = false;
        s.allow_registration = true;
    })
    .await;

    for how in [Ending::Expired, Ending::LoggedOutEverywhere] {
        let user = app.seed_user(&["user"]).await;
        let mut browser = Browser::signed_in(&app, &user).await;
        end_behind_the_browsers_back(&app, &browser, &user, how).await;

        // Sign in from the login page, as the redirect invites.
        let form = browser.get("/login").await;
        assert_eq!(form.status, 200, "case {how:?}: the sign-in page");
        let page = browser
            .submit(
                "/login",
                &[
                    ("csrf_token", &form.csrf_token()),
                    ("username", &user.username),
                    ("password", &user.password),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "case {how:?}: signing in again");
        assert!(
            page.set_cookie(SESSION_COOKIE).is_some(),
            "case {how:?}: a new session"
        );
        assert_eq!(browser.get("/tokens").await.status, 200, "case {how:?}");
    }

    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    end_behind_the_browsers_back(&app, &browser, &user, Ending::LoggedOutEverywhere).await;
    let form = browser.get("/register").await;
    assert_eq!(form.status, 200, "the registration page");
    let username = format!(
        "newcomer-{}",
        crate::helpers::random_string(6).to_lowercase()
    );
    let page = browser
        .submit(
            "/register",
            &[
                ("csrf_token", &form.csrf_token()),
                ("username", &username),
                ("password", "a-long-enough-password"),
            ],
        )
        .await;
    assert_eq!(
        page.status, 201,
        "registering from a browser with an ended session"
    );
}

#[tokio::test]
async fn home_is_the_first_section_the_user_may_open() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user(&["user"]).await;
    let role = app
        .seed_role_as(&admin, &["users:read", "users:write"])
        .await;
    let manager = app.seed_user_as(&admin, &[&role]).await;

    let mut browser = Browser::signed_in(&app, &user).await;
    assert_eq!(browser.get("/").await.location(), "/tokens", "a plain user");

    let mut browser = Browser::signed_in(&app, &manager).await;
    assert_eq!(
        browser.get("/").await.location(),
        "/admin/users",
        "a user manager without tokens:read"
    );
    assert_eq!(browser.get("/login").await.location(), "/admin/users");
    let page = browser.get("/admin/users").await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(r#"href="/tokens""#) && !page.body.contains(r#"href="/api-keys""#),
        "no links to sections it cannot open"
    );
}
