//! Personal access tokens minted from the tokens page: shown once and never
//! cached, exactly the scopes and expiry chosen, and names escaped everywhere.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{pat_names, pats_of, Browser, PATS};
use crate::helpers::{spawn_app, TestUser};

#[tokio::test]
async fn a_minted_token_is_shown_once_on_a_page_that_is_never_cached() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &user).await;

    let page = browser.mint("laptop", &["tokens:read"], "30").await;

    assert_eq!(page.status, 201, "{}", page.body);
    assert_eq!(page.header("cache-control"), "no-store");
    let secret = page.secret().expect("the page shows the secret");
    assert!(secret.starts_with("tri_pat_"), "{secret}");
    assert_eq!(
        page.body.matches(&secret).count(),
        1,
        "shown once on the page"
    );
    let me = app.get_me(&format!("Bearer {secret}")).await;
    assert_eq!(me.status(), 200, "the secret shown is the token's");

    let listed = browser.get("/tokens").await;
    assert_eq!(listed.status, 200);
    assert!(listed.body.contains("laptop"), "the token is listed");
    assert!(!listed.body.contains(&secret), "never shown again");
    let id = pats_of(&app, &format!("Bearer {secret}")).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirm = browser.get(&format!("/tokens/{id}/revoke")).await;
    assert_eq!(confirm.status, 200);
    assert!(
        !confirm.body.contains(&secret),
        "not on the confirmation page either"
    );
}

#[tokio::test]
async fn a_token_name_with_markup_is_escaped_on_every_page() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let hostile = "<script>alert(1)</script>";
    let response = app
        .post_json(
            PATS,
            &admin,
            &json!({"name": hostile, "scopes": ["tokens:read"], "expires_in_days": 7}),
        )
        .await;
    assert_eq!(response.status(), 201, "minting through the API");
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_user = TestUser {
        id: app.admin.id.clone(),
        username: app.admin.username.clone(),
        password: app.admin.password.clone(),
    };
    let mut browser = Browser::signed_in(&app, &admin_user).await;

    let listed = browser.get("/tokens").await;
    let confirm = browser.get(&format!("/tokens/{id}/revoke")).await;
    let minted = browser.mint(hostile, &["tokens:read"], "7").await;

    for (case, page, status) in [
        ("the tokens list", &listed, 200),
        ("the revocation confirmation", &confirm, 200),
        ("the new secret's page", &minted, 201),
    ] {
        assert_eq!(page.status, status, "case {case}: status");
        assert!(
            !page.body.contains(hostile),
            "case {case}: the name is never raw"
        );
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                || page
                    .body
                    .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "case {case}: the name is shown, escaped"
        );
    }
}

fn expires_at(pat: &Value) -> DateTime<Utc> {
    pat["expires_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn tokens_minted_in_the_ui_get_exactly_the_ticked_scopes_and_the_chosen_expiry() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let api = app.auth_for(&user).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let on = (crate::helpers::utc_now() + Duration::days(10)).date_naive();
    let end_of_that_day = on
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let cases: [(&str, &[&str], &str, DateTime<Utc>); 3] = [
        (
            "30 days",
            &["tokens:read"],
            "30",
            crate::helpers::utc_now() + Duration::days(30),
        ),
        (
            "7 days, two scopes",
            &["api_keys:read", "tokens:read"],
            "7",
            crate::helpers::utc_now() + Duration::days(7),
        ),
        ("a date", &["api_keys:write"], "date", end_of_that_day),
    ];

    for (case, scopes, expiry, expected) in cases {
        let csrf = browser.csrf().await;
        let date = on.format("%Y-%m-%d").to_string();
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("name", case),
            ("expiry", expiry),
            ("expires_on", date.as_str()),
        ];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        let page = browser.submit("/tokens", &fields).await;
        assert_eq!(page.status, 201, "case {case}: {}", page.body);

        let pats = pats_of(&app, &api).await;
        let pat = pats
            .iter()
            .find(|p| p["name"] == case)
            .unwrap_or_else(|| panic!("case {case}: the token is listed"));
        let mut got: Vec<&str> = pat["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, scopes, "case {case}: exactly the ticked scopes");
        let drift = (expires_at(pat) - expected).num_seconds().abs();
        assert!(
            drift <= 60,
            "case {case}: expires {} (off by {drift}s)",
            pat["expires_at"]
        );
    }
}

#[tokio::test]
async fn scopes_the_user_does_not_hold_are_refused_next_to_the_scopes() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let api = app.auth_for(&user).await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let offered = browser.get("/tokens").await;
    assert!(
        !offered.body.contains(r#"value="users:write""#),
        "the form offers only the user's permissions"
    );
    let cases: [(&str, &[&str]); 4] = [
        ("a permission not held", &["users:write"]),
        ("one held, one not", &["tokens:read", "roles:write"]),
        ("not a scope at all", &["NOT A SCOPE"]),
        ("none ticked", &[]),
    ];

    for (case, scopes) in cases {
        let csrf = browser.csrf().await;
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("name", "crafted-name"),
            ("expiry", "30"),
        ];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        let page = browser.submit("/tokens", &fields).await;

        assert_eq!(page.status, 422, "case {case}: status");
        assert!(page.secret().is_none(), "case {case}: no secret");
        assert!(
            page.body.contains(r#"id="scopes-error""#),
            "case {case}: the error is next to the scopes"
        );
        assert!(
            page.body.contains(r#"value="crafted-name""#),
            "case {case}: the name is kept"
        );
        assert!(
            pat_names(&app, &api).await.is_empty(),
            "case {case}: nothing minted"
        );
    }
}
