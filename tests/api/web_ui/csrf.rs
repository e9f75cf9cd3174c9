//! Every form is refused unless it comes from one of Trident's own pages
//! (`Origin`, `Sec-Fetch-Site`) and carries the CSRF token of this browser's cookie.

use super::{pat_names, pats_of, Browser, Page, ANTI_FORGERY_COOKIE, SESSION_COOKIE};
use crate::helpers::spawn_app;

/// A forged submission: the headers it comes with and the token it carries.
struct Forgery {
    case: &'static str,
    headers: Vec<(&'static str, String)>,
    token: Option<String>,
}

/// `token` with its first character replaced by a different one.
fn altered(token: &str) -> String {
    let other = if token.starts_with('A') { 'B' } else { 'A' };
    format!("{other}{}", &token[1..])
}

fn forgeries(
    own_origin: &str,
    right: &str,
    other_session: &str,
    pre_sign_in: Option<&str>,
) -> Vec<Forgery> {
    let same = |origin: &str| {
        vec![
            ("origin", origin.to_owned()),
            ("sec-fetch-site", "same-origin".to_owned()),
        ]
    };
    let mut cases = vec![
        Forgery {
            case: "missing token",
            headers: same(own_origin),
            token: None,
        },
        Forgery {
            case: "empty token",
            headers: same(own_origin),
            token: Some(String::new()),
        },
        Forgery {
            case: "wrong token",
            headers: same(own_origin),
            token: Some(altered(right)),
        },
        Forgery {
            case: "another browser's token",
            headers: same(own_origin),
            token: Some(other_session.to_owned()),
        },
        Forgery {
            case: "foreign Origin",
            headers: vec![
                ("origin", "http://evil.example".to_owned()),
                ("sec-fetch-site", "cross-site".to_owned()),
            ],
            token: Some(right.to_owned()),
        },
        Forgery {
            case: "foreign Origin without fetch metadata",
            headers: vec![("origin", "http://evil.example".to_owned())],
            token: Some(right.to_owned()),
        },
        Forgery {
            case: "opaque Origin",
            headers: vec![("origin", "null".to_owned())],
            token: Some(right.to_owned()),
        },
        Forgery {
            case: "Sec-Fetch-Site cross-site",
            headers: vec![("sec-fetch-site", "cross-site".to_owned())],
            token: Some(right.to_owned()),
        },
        Forgery {
            case: "Sec-Fetch-Site same-site",
            headers: vec![("sec-fetch-site", "same-site".to_owned())],
            token: Some(right.to_owned()),
        },
        Forgery {
            case: "own Origin but cross-site fetch",
            headers: vec![
                ("origin", own_origin.to_owned()),
                ("sec-fetch-site", "cross-site".to_owned()),
            ],
            token: Some(right.to_owned()),
        },
    ];
    if let Some(pre_sign_in) = pre_sign_in {
        cases.push(Forgery {
            case: "the sign-in form's token instead of the session's",
            headers: same(own_origin),
            token: Some(pre_sign_in.to_owned()),
        });
    }
    cases
}

async fn submit_forgery(
    browser: &mut Browser<'_>,
    path: &str,
    forgery: &Forgery,
    fields: &[(&str, &str)],
) -> Page {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if let Some(token) = &forgery.token {
        all.push(("csrf_token", token));
    }
    let headers: Vec<(&str, &str)> = forgery
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    browser.submit_with(path, &headers, &all).await
}

#[tokio::test]
async fn minting_from_a_form_needs_this_sessions_token_and_our_own_origin() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let api = app.auth_for(&user).await;
    let mut browser = Browser::new(&app);
    let pre_sign_in = browser.get("/login").await.csrf_token();
    browser.sign_in(&user).await;
    let right = browser.csrf().await;
    assert_ne!(right, pre_sign_in, "signing in changes the token");
    let other = Browser::signed_in(&app, &user).await.csrf().await;
    let fields = [
        ("name", "forged"),
        ("scopes", "tokens:read"),
        ("expiry", "30"),
    ];

    for forgery in forgeries(&app.address, &right, &other, Some(&pre_sign_in)) {
        let page = submit_forgery(&mut browser, "/tokens", &forgery, &fields).await;

        assert_eq!(page.status, 403, "case {}: status", forgery.case);
        assert!(
            !page.body.contains("tri_pat_"),
            "case {}: no secret",
            forgery.case
        );
        assert!(
            pats_of(&app, &api).await.is_empty(),
            "case {}: no token was minted",
            forgery.case
        );
    }

    let page = browser
        .submit(
            "/tokens",
            &[
                ("csrf_token", right.as_str()),
                ("name", "genuine"),
                ("scopes", "tokens:read"),
                ("expiry", "30"),
            ],
        )
        .await;
    assert_eq!(page.status, 201, "the genuine form: {}", page.body);
    assert!(page.secret().is_some_and(|s| s.starts_with("tri_pat_")));
    assert_eq!(pat_names(&app, &api).await, ["genuine"]);
}

#[tokio::test]
async fn signing_in_needs_the_anti_forgery_cookie_its_token_and_our_own_origin() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::new(&app);
    let right = browser.get("/login").await.csrf_token();
    let other = Browser::new(&app).get("/login").await.csrf_token();
    let credentials = [
        ("username", user.username.as_str()),
        ("password", user.password.as_str()),
    ];

    for forgery in forgeries(&app.address, &right, &other, None) {
        let page = submit_forgery(&mut browser, "/login", &forgery, &credentials).await;

        assert_eq!(page.status, 403, "case {}: status", forgery.case);
        assert!(
            page.set_cookie(SESSION_COOKIE).is_none(),
            "case {}: no session",
            forgery.case
        );
    }

    // The right token, but the browser lost the cookie it belongs to (login CSRF
    // from a page that copied a token).
    let mut cookieless = Browser::new(&app);
    let fields = [
        ("csrf_token", right.as_str()),
        ("username", &user.username),
        ("password", &user.password),
    ];
    let page = cookieless.submit("/login", &fields).await;
    assert_eq!(page.status, 403, "case no anti-forgery cookie: status");
    assert!(
        page.set_cookie(SESSION_COOKIE).is_none(),
        "case no anti-forgery cookie"
    );

    let mut weak = Browser::new(&app);
    weak.jar.insert(ANTI_FORGERY_COOKIE.into(), "short".into());
    let weak_token = weak.get("/login").await.csrf_token();
    assert_ne!(
        weak.cookie(ANTI_FORGERY_COOKIE),
        Some("short"),
        "a planted short anti-forgery cookie is replaced"
    );
    assert!(!weak_token.is_empty());

    browser.sign_in(&user).await;
}

#[tokio::test]
async fn signing_out_and_revoking_need_the_token_too() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let api = app.auth_for(&user).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let minted = browser.mint("kept", &["tokens:read"], "30").await;
    assert_eq!(minted.status, 201);
    let id = pats_of(&app, &api).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = format!("/tokens/{id}/revoke");
    let right = browser.csrf().await;

    for (case, path) in [("sign out", "/logout"), ("revoke", revoke.as_str())] {
        for forgery in forgeries(&app.address, &right, "not-a-token", None) {
            let page = submit_forgery(&mut browser, path, &forgery, &[]).await;
            assert_eq!(page.status, 403, "case {case}, {}: status", forgery.case);
        }
    }

    assert_eq!(browser.get("/tokens").await.status, 200, "still signed in");
    assert_eq!(
        pats_of(&app, &api).await[0]["status"],
        "active",
        "the token was not revoked"
    );
    let page = browser.submit(&revoke, &[("csrf_token", &right)]).await;
    assert_eq!(page.status, 303, "the genuine revocation");
    assert_eq!(pats_of(&app, &api).await[0]["status"], "revoked");
}
