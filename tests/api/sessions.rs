//! First-party sessions: login, refresh rotation and reuse detection, logout, `/api/v1/me`.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, assert_unauthenticated, bearer, client_from, jwt_claims, refresh_token_of,
    spawn_app, spawn_app_with,
};

const USER_PERMISSIONS: [&str; 4] = [
    "api_keys:read",
    "api_keys:write",
    "tokens:read",
    "tokens:write",
];

#[tokio::test]
async fn login_returns_a_bearer_token_pair_that_must_not_be_cached() {
    let app = spawn_app().await;

    let response = app.login(&app.admin.username, &app.admin.password).await;

    assert_eq!(response.status(), 200);
    let cache_control = response
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cache_control.contains("no-store"),
        "Cache-Control: {cache_control}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(
        body["access_token"].as_str().unwrap().split('.').count(),
        3,
        "a JWT"
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("tri_rt_"),
        "a prefixed refresh token"
    );
    assert_eq!(app.get_me(&bearer(&body)).await.status(), 200);
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_get_byte_identical_401s() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let disabled = app.seed_user_as(&admin, &["user"]).await;
    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", disabled.id),
            &admin,
            &json!({ "disabled": true }),
        )
        .await;
    assert_eq!(response.status(), 200, "disabling the user");

    let mut bodies = Vec::new();
    for (case, username, password) in [
        (
            "wrong password",
            app.admin.username.as_str(),
            "not-the-password",
        ),
        ("unknown user", "nobody-by-this-name", "not-the-password"),
        (
            "disabled user, right password",
            disabled.username.as_str(),
            disabled.password.as_str(),
        ),
    ] {
        let response = app.login(username, password).await;
        assert_eq!(response.status(), 401, "case {case}");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/problem+json",
            "case {case}"
        );
        bodies.push((case, response.bytes().await.unwrap()));
    }
    for (case, body) in &bodies[1..] {
        assert_eq!(
            body, &bodies[0].1,
            "{case} must answer exactly like {}",
            bodies[0].0
        );
    }
}

/// Asserts a 429 with a Retry-After within a minute.
async fn assert_throttled(response: reqwest::Response, case: &str) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("case {case}: a Retry-After header"))
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(
        (1..=60).contains(&retry_after),
        "case {case}: Retry-After {retry_after}"
    );
    assert_problem(response, 429, case).await;
}

#[tokio::test]
async fn a_guesser_spends_its_own_budget_and_the_owner_signs_in_elsewhere() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    let user = app.seed_user(&["user"]).await;
    let guesser = client_from([127, 0, 0, 11]);
    for i in 0..3 {
        let response = app
            .login_via(&guesser, &user.username, "wrong-password")
            .await;
        assert_eq!(
            response.status(),
            401,
            "failure {} is within the budget",
            i + 1
        );
    }
    let response = app
        .login_via(&guesser, &user.username, &user.password)
        .await;
    assert_throttled(
        response,
        "the guessing address, even with the right password",
    )
    .await;
    let upper = app
        .login_via(&guesser, &user.username.to_uppercase(), "wrong-password")
        .await;
    assert_throttled(upper, "the same account under another case").await;
    let response = app
        .login_via(
            &client_from([127, 0, 0, 12]),
            &user.username,
            &user.password,
        )
        .await;
    assert_eq!(response.status(), 200, "the owner signs in from elsewhere");
}

#[tokio::test]
async fn correct_passwords_spend_no_budget() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    let user = app.seed_user(&["user"]).await;
    let client = client_from([127, 0, 0, 13]);
    for i in 0..10 {
        let response = app.login_via(&client, &user.username, &user.password).await;
        assert_eq!(response.status(), 200, "sign-in {}", i + 1);
    }
}

#[tokio::test]
async fn one_address_sweeping_many_accounts_is_throttled() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    let client = client_from([127, 0, 0, 21]);
    // The address may fail five times the per-account budget, over any usernames.
    for i in 0..15 {
        let response = app
            .login_via(&client, &format!("guess-{i}"), "wrong-password")
            .await;
        assert_eq!(
            response.status(),
            401,
            "failure {} is within the budget",
            i + 1
        );
    }
    let response = app.login_via(&client, "guess-15", "wrong-password").await;
    assert_throttled(response, "the sixteenth failure from one address").await;
    let elsewhere = app
        .login_via(&client_from([127, 0, 0, 22]), "guess-16", "wrong-password")
        .await;
    assert_eq!(
        elsewhere.status(),
        401,
        "other addresses keep their own budget"
    );
}

#[tokio::test]
async fn guessing_from_many_addresses_cannot_lock_the_owner_out_of_a_known_address() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    let user = app.seed_user(&["user"]).await;
    let home = client_from([127, 0, 1, 1]);
    assert_eq!(
        app.login_via(&home, &user.username, &user.password)
            .await
            .status(),
        200
    );
    // Ten times the per-account budget, each address within its own.
    for i in 0..30u8 {
        let response = app
            .login_via(
                &client_from([127, 0, 2, i]),
                &user.username,
                "wrong-password",
            )
            .await;
        assert_eq!(response.status(), 401, "guess {}", i + 1);
    }
    let response = app
        .login_via(&client_from([127, 0, 3, 1]), &user.username, &user.password)
        .await;
    assert_throttled(
        response,
        "a new address once the account's ceiling is reached",
    )
    .await;
    let response = app.login_via(&home, &user.username, &user.password).await;
    assert_eq!(
        response.status(),
        200,
        "the owner's known address is not held back"
    );
}

#[tokio::test]
async fn an_address_over_its_budget_cannot_lock_a_user_out() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    let user = app.seed_user(&["user"]).await;
    let attacker = client_from([127, 0, 0, 31]);
    for i in 0..15 {
        let response = app
            .login_via(&attacker, &format!("guess-{i}"), "wrong-password")
            .await;
        assert_eq!(response.status(), 401, "attempt {}", i + 1);
    }

    // Refused for the address, these attempts charge nothing to the user's budget.
    for i in 0..40 {
        let response = app
            .login_via(&attacker, &user.username, "wrong-password")
            .await;
        assert_eq!(response.status(), 429, "attacker's attempt {i} on the user");
    }
    let response = app
        .login_via(
            &client_from([127, 0, 0, 32]),
            &user.username,
            &user.password,
        )
        .await;
    assert_eq!(response.status(), 200, "the user signs in from elsewhere");
}

#[tokio::test]
async fn refreshing_issues_a_new_working_pair_that_must_not_be_cached() {
    let app = spawn_app().await;
    let first = app.login_ok(&app.admin.username, &app.admin.password).await;

    let response = app.refresh(&refresh_token_of(&first)).await;

    assert_eq!(response.status(), 200);
    let cache_control = response
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cache_control.contains("no-store"),
        "Cache-Control: {cache_control}"
    );
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["expires_in"], 600);
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "a new refresh token"
    );
    assert_ne!(
        second["access_token"], first["access_token"],
        "a new access token"
    );
    let me: Value = app.get_me(&bearer(&second)).await.json().await.unwrap();
    assert_eq!(me["principal"]["id"], app.admin.id.as_str());
    let third = app.refresh(&refresh_token_of(&second)).await;
    assert_eq!(third.status(), 200, "the successor refreshes in turn");
}

#[tokio::test]
async fn presenting_a_spent_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let first = app.login_ok(&app.admin.username, &app.admin.password).await;
    let second: Value = app
        .refresh(&refresh_token_of(&first))
        .await
        .json()
        .await
        .unwrap();
    let session = jwt_claims(first["access_token"].as_str().unwrap())["sid"].clone();

    let replay = app.refresh(&refresh_token_of(&first)).await;

    assert_unauthenticated(replay, "the spent refresh token").await;
    assert_unauthenticated(
        app.refresh(&refresh_token_of(&second)).await,
        "its successor",
    )
    .await;
    assert_unauthenticated(
        app.get_me(&bearer(&second)).await,
        "the session's newest access token",
    )
    .await;
    assert_unauthenticated(
        app.get_me(&bearer(&first)).await,
        "the session's first access token",
    )
    .await;
    let events: Value = app
        .get(
            "/api/v1/audit-events?action=session.refresh_token_reused",
            &app.admin_auth().await,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one reuse event: {events}");
    assert_eq!(items[0]["action"], "session.refresh_token_reused");
    assert_eq!(
        items[0]["target"]["id"], session,
        "the event names the revoked session"
    );
}

#[tokio::test]
async fn reuse_detection_leaves_the_users_other_sessions_alone() {
    let app = spawn_app().await;
    let victim = app.login_ok(&app.admin.username, &app.admin.password).await;
    let other = app.login_ok(&app.admin.username, &app.admin.password).await;
    app.refresh(&refresh_token_of(&victim)).await;

    app.refresh(&refresh_token_of(&victim)).await;

    assert_eq!(
        app.get_me(&bearer(&other)).await.status(),
        200,
        "the other session's access token"
    );
    assert_eq!(
        app.refresh(&refresh_token_of(&other)).await.status(),
        200,
        "the other session's refresh token"
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_at_most_one_new_pair() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let refresh_token = refresh_token_of(&tokens);

    let responses = join_all((0..20).map(|_| app.refresh(&refresh_token))).await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let winners = statuses.iter().filter(|&&s| s == 200).count();
    assert!(
        winners <= 1,
        "at most one refresh may succeed: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        20 - winners,
        "every other refresh is refused: {statuses:?}"
    );
}

#[tokio::test]
async fn malformed_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let real = refresh_token_of(&tokens);
    let mut flipped = real.clone().into_bytes();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();

    let cases = [
        ("garbage", "garbage".to_owned()),
        ("empty", String::new()),
        ("truncated", real[..real.len() - 1].to_owned()),
        ("one character changed", flipped),
        ("extended", format!("{real}x")),
        ("bare prefix", "tri_rt_".to_owned()),
        (
            "the access token",
            tokens["access_token"].as_str().unwrap().to_owned(),
        ),
        ("very long", format!("tri_rt_{}", "A".repeat(10_000))),
    ];
    for (case, token) in &cases {
        assert_unauthenticated(app.refresh(token).await, case).await;
    }
    assert_eq!(
        app.refresh(&real).await.status(),
        200,
        "the real token was never spent"
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;

    let response = app
        .get_me(&format!("Bearer {}", refresh_token_of(&tokens)))
        .await;

    assert_unauthenticated(response, "a refresh token as a bearer credential").await;
}

#[tokio::test]
async fn logout_ends_that_session_and_only_that_one() {
    let app = spawn_app().await;
    let ended = app.login_ok(&app.admin.username, &app.admin.password).await;
    let kept = app.login_ok(&app.admin.username, &app.admin.password).await;

    let response = app.logout(&refresh_token_of(&ended)).await;

    assert_eq!(response.status(), 204);
    assert_unauthenticated(
        app.refresh(&refresh_token_of(&ended)).await,
        "the logged-out refresh token",
    )
    .await;
    assert_unauthenticated(
        app.get_me(&bearer(&ended)).await,
        "the logged-out access token",
    )
    .await;
    assert_eq!(
        app.get_me(&bearer(&kept)).await.status(),
        200,
        "the other session's access token"
    );
    assert_eq!(
        app.refresh(&refresh_token_of(&kept)).await.status(),
        200,
        "the other session's refresh token"
    );
}

#[tokio::test]
async fn logout_answers_204_whatever_the_token() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let spent = refresh_token_of(&tokens);
    app.logout(&spent).await;

    for (case, token) in [
        ("garbage", "garbage".to_owned()),
        ("empty", String::new()),
        (
            "an access token",
            tokens["access_token"].as_str().unwrap().to_owned(),
        ),
        ("already logged out", spent),
    ] {
        assert_eq!(app.logout(&token).await.status(), 204, "case {case}");
    }
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_caller_and_no_one_elses() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let one = app.login_ok(&user.username, &user.password).await;
    let two = app.login_ok(&user.username, &user.password).await;
    let bystander = app.login_ok(&app.admin.username, &app.admin.password).await;

    let response = app.logout_all(&bearer(&one)).await;

    assert_eq!(response.status(), 204);
    for (case, tokens) in [("first session", &one), ("second session", &two)] {
        assert_unauthenticated(
            app.get_me(&bearer(tokens)).await,
            &format!("{case}: access token"),
        )
        .await;
        assert_unauthenticated(
            app.refresh(&refresh_token_of(tokens)).await,
            &format!("{case}: refresh token"),
        )
        .await;
    }
    assert_eq!(
        app.get_me(&bearer(&bystander)).await.status(),
        200,
        "another user's session"
    );
    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        200,
        "the user can log in again"
    );
}

#[tokio::test]
async fn logout_all_requires_a_credential() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .send()
        .await
        .unwrap();

    assert_unauthenticated(response, "no credential").await;
}

#[tokio::test]
async fn me_describes_the_principal_the_credential_its_scopes_and_roles() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let tokens = app.login_ok(&user.username, &user.password).await;

    let response = app.get_me(&bearer(&tokens)).await;

    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap();
    let jti = jwt_claims(tokens["access_token"].as_str().unwrap())["jti"].clone();
    assert_eq!(
        me["principal"],
        json!({ "type": "user", "id": user.id, "name": user.username })
    );
    assert_eq!(
        me["credential"],
        json!({ "kind": "user_access_token", "id": jti })
    );
    let mut scopes: Vec<String> = serde_json::from_value(me["scopes"].clone()).unwrap();
    scopes.sort();
    assert_eq!(scopes, USER_PERMISSIONS);
    assert_eq!(me["roles"], json!(["user"]));
}

#[tokio::test]
async fn me_without_a_usable_credential_is_401_with_challenges() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let access = tokens["access_token"].as_str().unwrap();

    let no_header = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_unauthenticated(no_header, "no Authorization header").await;
    let garbage_key = app
        .client
        .get(app.url("/api/v1/me"))
        .header("X-API-Key", "garbage")
        .send()
        .await
        .unwrap();
    assert_unauthenticated(garbage_key, "a garbage X-API-Key").await;
    for (case, authorization) in [
        ("empty", String::new()),
        ("scheme only", "Bearer".to_owned()),
        ("scheme and a space", "Bearer ".to_owned()),
        ("garbage token", "Bearer garbage".to_owned()),
        ("three dots of nothing", "Bearer a.b.c".to_owned()),
        ("Basic credentials", "Basic dXNlcjpwYXNzd29yZA==".to_owned()),
        ("token without scheme", access.to_owned()),
        ("unknown scheme", format!("Token {access}")),
        (
            "truncated access token",
            format!("Bearer {}", &access[..access.len() - 2]),
        ),
    ] {
        assert_unauthenticated(app.get_me(&authorization).await, case).await;
    }
    let non_ascii = app
        .client
        .get(app.url("/api/v1/me"))
        .header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer j\xfcrgen").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_unauthenticated(non_ascii, "a non-ASCII header value").await;
}

#[tokio::test]
async fn me_refuses_ambiguous_credentials() {
    let app = spawn_app().await;
    let auth = app.admin_auth().await;

    let two_authorizations = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", &auth)
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_problem(two_authorizations, 400, "two Authorization headers").await;
    let authorization_and_key = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", &auth)
        .header("X-API-Key", "tri_live_whatever")
        .send()
        .await
        .unwrap();
    assert_problem(authorization_and_key, 400, "Authorization and X-API-Key").await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let access = tokens["access_token"].as_str().unwrap();

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app.get_me(&format!("{scheme} {access}")).await;
        assert_eq!(response.status(), 200, "case {scheme}");
    }
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_their_sha256_digest() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let refresh_token = refresh_token_of(&tokens);

    let db = app.db().await;
    let rows = entity::refresh_tokens::Entity::find()
        .all(&db)
        .await
        .unwrap();
    let _ = db.close().await;

    let digest = ring::digest::digest(&ring::digest::SHA256, refresh_token.as_bytes());
    assert!(
        rows.iter().any(|row| row.digest == digest.as_ref()),
        "the token's SHA-256 digest is stored"
    );
    for row in &rows {
        assert_ne!(
            row.digest,
            refresh_token.as_bytes(),
            "never the token itself"
        );
    }
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{EntityTrait, QueryFilter};
    // The session's start is moved behind the server's back, so the cache is off.
    let app = spawn_app_with(|s| {
        s.credential_cache = false;
        s.session_max_lifetime = 3_600;
        s.refresh_token_ttl = 86_400;
    })
    .await;
    let user = app.seed_user(&["user"]).await;
    let tokens = app.login_ok(&user.username, &user.password).await;
    // Nothing a one-hour session issues outlives the hour, whatever the refresh TTL.
    let claims = crate::helpers::jwt_claims(tokens["access_token"].as_str().unwrap());
    let refreshed: serde_json::Value = app
        .refresh(&refresh_token_of(&tokens))
        .await
        .json()
        .await
        .unwrap();
    let db = app.db().await;
    let family = entity::refresh_token_families::Entity::find_by_id(
        uuid::Uuid::parse_str(claims["sid"].as_str().unwrap()).unwrap(),
    )
    .one(&db)
    .await
    .unwrap()
    .unwrap();
    let newest = entity::refresh_tokens::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(
            &entity::refresh_tokens::Column::FamilyId,
            family.id,
        ))
        .all(&db)
        .await
        .unwrap();
    for token in &newest {
        assert!(
            token.expires_at <= family.created_at + chrono::Duration::hours(1),
            "a refresh token ends with its session"
        );
    }

    // A day later, the session is over, though its refresh token has not been used.
    entity::refresh_token_families::Entity::update_many()
        .col_expr(
            entity::refresh_token_families::Column::CreatedAt,
            Expr::value(crate::helpers::utc_now() - chrono::Duration::days(1)),
        )
        .filter(sea_orm::ColumnTrait::eq(
            &entity::refresh_token_families::Column::Id,
            family.id,
        ))
        .exec(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    assert_eq!(
        app.refresh(&refresh_token_of(&refreshed)).await.status(),
        401
    );
    assert_unauthenticated(app.get_me(&bearer(&refreshed)).await, "its access token").await;
}
