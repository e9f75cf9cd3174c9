//! Revocation: RFC 7009 at `/oauth/revoke` for every kind of token, and the
//! leaked-credential endpoint (like GitHub's credential revocation API).

use reqwest::Response;
use serde_json::{json, Value};
use trident::secret::{OpaqueSecret, SecretKind};

use crate::helpers::{
    assert_problem, bearer, client_basic_auth, client_from, jwt_claims, refresh_token_of,
    spawn_app_with, TestApp,
};
use crate::introspection::{
    api_key_auth, assert_active, assert_inactive, basic, client_token, create_key, fixture,
    user_with_key, Fixture, Pairs,
};

/// `POST /oauth/revoke` with `headers` and `form`.
pub async fn revoke(app: &TestApp, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Response {
    app.post_form_to(&app.url("/oauth/revoke"), headers, form)
        .await
}

/// Asserts RFC 7009 §2.2's answer: 200 with an empty body, not cached.
async fn assert_revocation_answer(response: Response, case: &str) {
    assert_eq!(response.status(), 200, "case {case}: status");
    assert_eq!(
        response.headers().get("cache-control").unwrap(),
        "no-store",
        "case {case}: Cache-Control"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "",
        "case {case}: empty body"
    );
}

fn access_token_of(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// Borrows owned header or form pairs for a request.
fn pairs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Audit events with `action`, read by the administrator.
async fn audit_events(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/api/v1/audit-events?action={action}"), admin)
        .await;
    assert_eq!(response.status(), 200, "reading the audit log");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------
// RFC 7009
// ---------------------------------------------------------------------------

#[tokio::test]
async fn each_kind_of_token_is_revoked_by_its_holder_and_then_inactive_and_refused() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let jobs = app.seed_role_as(&admin, &["jobs:read"]).await;
    let (user, live) = user_with_key(&app, &admin, &["user"]).await;
    let user_auth = app.auth_for(&user).await;
    let test = create_key(
        &app,
        &user_auth,
        json!({"name": "ci", "environment": "test"}),
    )
    .await;
    let sibling = create_key(&app, &user_auth, json!({"name": "sibling"})).await;
    let revoker = create_key(&app, &user_auth, json!({"name": "revoker"})).await;
    let self_revoking = app.login_ok(&user.username, &user.password).await;
    let doomed = app.login_ok(&user.username, &user.password).await;
    let machine = app.seed_client_as(&admin, &[&jobs]).await;
    let m2m_basic = client_token(&app, &machine).await;
    let m2m_post = client_token(&app, &machine).await;

    let authorization = |value: String| vec![("Authorization", value)];
    let cases: Vec<(&str, Pairs, Pairs, String, String)> = vec![
        (
            "a live API key revokes itself",
            authorization(api_key_auth(&live.key)),
            vec![],
            live.key.clone(),
            api_key_auth(&live.key),
        ),
        (
            "a test API key is revoked by its owner's session",
            authorization(user_auth.clone()),
            vec![],
            test.key.clone(),
            api_key_auth(&test.key),
        ),
        (
            "an API key is revoked through X-API-Key by a sibling key",
            vec![("X-API-Key", revoker.key.clone())],
            vec![],
            sibling.key.clone(),
            api_key_auth(&sibling.key),
        ),
        (
            "a user access token revokes itself",
            authorization(bearer(&self_revoking)),
            vec![],
            access_token_of(&self_revoking),
            bearer(&self_revoking),
        ),
        (
            "a refresh token is revoked by its owner's other session, with that session's access tokens",
            authorization(user_auth.clone()),
            vec![],
            refresh_token_of(&doomed),
            bearer(&doomed),
        ),
        (
            "an M2M token is revoked by its client with client_secret_basic",
            authorization(basic(&machine)),
            vec![],
            m2m_basic.clone(),
            format!("Bearer {m2m_basic}"),
        ),
        (
            "an M2M token is revoked by its client with client_secret_post",
            vec![],
            vec![
                ("client_id", machine.client_id.clone()),
                ("client_secret", machine.client_secret.clone()),
            ],
            m2m_post.clone(),
            format!("Bearer {m2m_post}"),
        ),
    ];
    for (case, headers, params, token, use_as) in &cases {
        assert_active(&app, &introspector, token, case).await;
        assert_eq!(
            app.get_me(use_as).await.status(),
            200,
            "case {case}: works before"
        );
        let mut form = pairs(params);
        form.push(("token", token));
        assert_revocation_answer(revoke(&app, &pairs(headers), &form).await, case).await;
        assert_inactive(&app, &introspector, token, case).await;
        assert_eq!(
            app.get_me(use_as).await.status(),
            401,
            "case {case}: refused after"
        );
    }

    let doomed_access = access_token_of(&doomed);
    assert_inactive(
        &app,
        &introspector,
        &doomed_access,
        "the revoked session's access token",
    )
    .await;
    assert_eq!(
        app.refresh(&refresh_token_of(&doomed)).await.status(),
        401,
        "a revoked refresh token buys nothing"
    );
    assert_eq!(
        app.get_me(&user_auth).await.status(),
        200,
        "other sessions live on"
    );
    assert_active(&app, &introspector, &revoker.key, "the revoking key itself").await;
    let targets: Vec<String> = audit_events(&app, &admin, "token.revoke")
        .await
        .iter()
        .map(|e| e["target"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        targets.len(),
        cases.len(),
        "one audit event per revocation: {targets:?}"
    );
}

#[tokio::test]
async fn a_token_of_another_principal_stays_active_though_the_answer_is_the_same_200() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let jobs = app.seed_role_as(&admin, &["jobs:read"]).await;
    let (alice, alice_key) = user_with_key(&app, &admin, &["user"]).await;
    let alice_session = app.login_ok(&alice.username, &alice.password).await;
    let alice_auth = bearer(&alice_session);
    let alice_access = access_token_of(&alice_session);
    let alice_refresh = refresh_token_of(&alice_session);
    let bob = app.seed_user_as(&admin, &["user"]).await;
    let bob_auth = app.auth_for(&bob).await;
    let machine_a = app.seed_client_as(&admin, &[&jobs]).await;
    let a_token = client_token(&app, &machine_a).await;
    let machine_b = app.seed_client_as(&admin, &[&jobs]).await;
    let admin_client = app.seed_client_as(&admin, &["admin"]).await;

    let alice_key_auth = api_key_auth(&alice_key.key);
    let a_token_auth = format!("Bearer {a_token}");
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "bob revokes alice's API key",
            bob_auth.clone(),
            &alice_key.key,
            &alice_key_auth,
        ),
        (
            "bob revokes alice's access token",
            bob_auth.clone(),
            &alice_access,
            &alice_auth,
        ),
        (
            "bob revokes alice's refresh token",
            bob_auth.clone(),
            &alice_refresh,
            &alice_auth,
        ),
        (
            "client B revokes client A's token",
            basic(&machine_b),
            &a_token,
            &a_token_auth,
        ),
        (
            "client A revokes alice's API key",
            basic(&machine_a),
            &alice_key.key,
            &alice_key_auth,
        ),
        (
            "client A revokes alice's access token",
            basic(&machine_a),
            &alice_access,
            &alice_auth,
        ),
        (
            "alice revokes client A's token",
            alice_auth.clone(),
            &a_token,
            &a_token_auth,
        ),
        (
            "the administrator revokes alice's API key",
            admin.clone(),
            &alice_key.key,
            &alice_key_auth,
        ),
        (
            "the administrator revokes alice's refresh token",
            admin.clone(),
            &alice_refresh,
            &alice_auth,
        ),
        (
            "an admin client revokes client A's token",
            basic(&admin_client),
            &a_token,
            &a_token_auth,
        ),
    ];
    for (case, caller, token, use_as) in cases {
        let response = revoke(&app, &[("Authorization", &caller)], &[("token", token)]).await;
        assert_revocation_answer(response, case).await;
        assert_active(&app, &introspector, token, case).await;
        assert_eq!(app.get_me(use_as).await.status(), 200, "case {case}");
    }
    assert_eq!(
        app.refresh(&alice_refresh).await.status(),
        200,
        "alice's refresh token still buys a new pair"
    );
    assert!(
        audit_events(&app, &admin, "token.revoke").await.is_empty(),
        "nothing was revoked"
    );
}

#[tokio::test]
async fn revocation_answers_200_for_unknown_malformed_and_already_revoked_tokens() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let (user, key) = user_with_key(&app, &admin, &["user"]).await;
    let user_auth = app.auth_for(&user).await;
    let spare = create_key(&app, &user_auth, json!({"name": "spare"})).await;
    let hinted = create_key(&app, &user_auth, json!({"name": "hinted"})).await;
    let caller = api_key_auth(&key.key);
    let unknown_key = OpaqueSecret::generate(SecretKind::LiveApiKey);
    let unknown_refresh = OpaqueSecret::generate(SecretKind::RefreshToken);

    for (case, form) in [
        ("an unknown API key", vec![("token", unknown_key.reveal())]),
        (
            "an unknown refresh token",
            vec![("token", unknown_refresh.reveal())],
        ),
        ("malformed text", vec![("token", "not a token")]),
        (
            "a JWT-shaped string",
            vec![("token", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")],
        ),
        (
            "a client secret",
            vec![("token", introspector.client_secret.as_str())],
        ),
        ("a key, the first time", vec![("token", spare.key.as_str())]),
        ("the same key again", vec![("token", spare.key.as_str())]),
        (
            "a key with an unknown hint",
            vec![
                ("token", hinted.key.as_str()),
                ("token_type_hint", "no_such_hint"),
            ],
        ),
        (
            "an unknown key with a refresh_token hint",
            vec![
                ("token", unknown_key.reveal()),
                ("token_type_hint", "refresh_token"),
            ],
        ),
    ] {
        let response = revoke(&app, &[("Authorization", &caller)], &form).await;
        assert_revocation_answer(response, case).await;
    }
    assert_inactive(&app, &introspector, &spare.key, "the revoked key").await;
    assert_inactive(
        &app,
        &introspector,
        &hinted.key,
        "an unknown hint is ignored",
    )
    .await;
    assert_active(&app, &introspector, &key.key, "the caller").await;

    let response = revoke(&app, &[], &[("token", key.key.as_str())]).await;
    assert_eq!(response.status(), 401, "no credential");
    assert!(response.headers().get("www-authenticate").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let wrong = client_basic_auth(
        &introspector.client_id,
        OpaqueSecret::generate(SecretKind::ClientSecret).reveal(),
    );
    let response = revoke(&app, &[("Authorization", &wrong)], &[("token", &key.key)]).await;
    assert_eq!(response.status(), 401, "a wrong client secret");
    let response = revoke(&app, &[("Authorization", &caller)], &[]).await;
    assert_eq!(response.status(), 400, "no token");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_active(
        &app,
        &introspector,
        &key.key,
        "refused requests revoke nothing",
    )
    .await;
}

// ---------------------------------------------------------------------------
// Leaked credentials
// ---------------------------------------------------------------------------

pub async fn report_leak(
    app: &TestApp,
    client: &reqwest::Client,
    credentials: &[&str],
) -> Response {
    client
        .post(app.url("/api/v1/credentials/revoke"))
        .json(&json!({ "credentials": credentials }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn leaked_credentials_of_every_kind_are_revoked_and_audited_without_saying_which_existed() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let jobs = app.seed_role_as(&admin, &["jobs:read"]).await;
    let (user, live) = user_with_key(&app, &admin, &["user"]).await;
    let user_auth = app.auth_for(&user).await;
    let test = create_key(
        &app,
        &user_auth,
        json!({"name": "ci", "environment": "test"}),
    )
    .await;
    let keeper = create_key(&app, &user_auth, json!({"name": "keeper"})).await;
    let leaked_session = app.login_ok(&user.username, &user.password).await;
    let jwt_session = app.login_ok(&user.username, &user.password).await;
    let machine = app.seed_client_as(&admin, &[&jobs]).await;
    let m2m = client_token(&app, &machine).await;
    let leaky = app.seed_client_as(&admin, &[&jobs]).await;
    // Authenticated once, so a warm client cache must forget it too.
    client_token(&app, &leaky).await;
    let unknown = OpaqueSecret::generate(SecretKind::LiveApiKey);
    let leaked_refresh = refresh_token_of(&leaked_session);
    let leaked_jwt = access_token_of(&jwt_session);
    let batch = [
        live.key.as_str(),
        test.key.as_str(),
        leaked_refresh.as_str(),
        leaked_jwt.as_str(),
        m2m.as_str(),
        leaky.client_secret.as_str(),
        unknown.reveal(),
        "hello, world",
    ];

    // Anyone may report: no credential on the request.
    let response = report_leak(&app, &app.client, &batch).await;
    assert_eq!(response.status(), 202);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt, json!({"received": batch.len()}));

    for (case, token, use_as) in [
        ("leaked live key", live.key.clone(), api_key_auth(&live.key)),
        ("leaked test key", test.key.clone(), api_key_auth(&test.key)),
        (
            "leaked refresh token",
            leaked_refresh.clone(),
            bearer(&leaked_session),
        ),
        (
            "leaked user access token",
            leaked_jwt.clone(),
            bearer(&jwt_session),
        ),
        ("leaked M2M token", m2m.clone(), format!("Bearer {m2m}")),
    ] {
        assert_inactive(&app, &introspector, &token, case).await;
        assert_eq!(app.get_me(&use_as).await.status(), 401, "case {case}");
    }
    assert_inactive(
        &app,
        &introspector,
        &access_token_of(&leaked_session),
        "the access token of the leaked refresh token's session",
    )
    .await;
    assert_eq!(app.refresh(&leaked_refresh).await.status(), 401);
    let response = app
        .post_token(
            Some(&basic(&leaky)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        response.status(),
        401,
        "a leaked client secret stops authenticating"
    );
    assert_active(&app, &introspector, &keeper.key, "a key that did not leak").await;
    assert_eq!(
        app.get_me(&user_auth).await.status(),
        200,
        "a session that did not leak"
    );
    client_token(&app, &machine).await;

    let events = audit_events(&app, &admin, "credential.leaked").await;
    let mut targets: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["target"]["type"].as_str().unwrap().to_owned(),
                e["target"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    targets.sort();
    let mut expected = vec![
        ("api_key".to_owned(), live.id.clone()),
        ("api_key".to_owned(), test.id.clone()),
        (
            "session".to_owned(),
            jwt_claims(&access_token_of(&leaked_session))["sid"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            "access_token".to_owned(),
            jwt_claims(&leaked_jwt)["jti"].as_str().unwrap().to_owned(),
        ),
        (
            "access_token".to_owned(),
            jwt_claims(&m2m)["jti"].as_str().unwrap().to_owned(),
        ),
        ("client_secret".to_owned(), leaky.id.clone()),
    ];
    expected.sort();
    assert_eq!(targets, expected, "one audit event per existing credential");
    for event in &events {
        assert_eq!(event["source_ip"], "127.0.0.1", "{event}");
        if event["target"]["type"] == "api_key" {
            assert_eq!(event["details"]["owner"], user.id.as_str(), "{event}");
        }
    }

    // The same batch again, or one where nothing exists, answers just the same.
    for (case, credentials) in [
        ("the same batch again", batch.to_vec()),
        (
            "nothing that exists",
            vec![unknown.reveal(), "hello, world"],
        ),
    ] {
        let response = report_leak(&app, &app.client, &credentials).await;
        assert_eq!(response.status(), 202, "case {case}");
        let receipt: Value = response.json().await.unwrap();
        assert_eq!(
            receipt,
            json!({"received": credentials.len()}),
            "case {case}"
        );
    }
}

#[tokio::test]
async fn revoking_what_is_already_revoked_records_nothing_new() {
    let Fixture { app, admin, .. } = fixture().await;
    let jobs = app.seed_role_as(&admin, &["jobs:read"]).await;
    let (user, key) = user_with_key(&app, &admin, &["user"]).await;
    let leaked_session = app.login_ok(&user.username, &user.password).await;
    let jwt_session = app.login_ok(&user.username, &user.password).await;
    let machine = app.seed_client_as(&admin, &[&jobs]).await;
    let m2m = client_token(&app, &machine).await;
    let leaky = app.seed_client_as(&admin, &[&jobs]).await;
    let user_jwt = access_token_of(&jwt_session);
    let user_jwt_id = jwt_claims(&user_jwt)["jti"].as_str().unwrap().to_owned();
    let m2m_id = jwt_claims(&m2m)["jti"].as_str().unwrap().to_owned();
    let session_id = jwt_claims(&access_token_of(&leaked_session))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let leaked_refresh = refresh_token_of(&leaked_session);
    // Every case runs before the one assertion, so a failure names all the kinds it affects.
    let mut audited: Vec<(&str, Vec<usize>)> = Vec::new();
    for (case, token, target) in [
        (
            "an API key reported as leaked",
            key.key.as_str(),
            key.id.as_str(),
        ),
        (
            "a refresh token reported as leaked",
            leaked_refresh.as_str(),
            session_id.as_str(),
        ),
        (
            "a user access token reported as leaked",
            user_jwt.as_str(),
            user_jwt_id.as_str(),
        ),
        (
            "an M2M token reported as leaked",
            m2m.as_str(),
            m2m_id.as_str(),
        ),
        (
            "a client secret reported as leaked",
            leaky.client_secret.as_str(),
            leaky.id.as_str(),
        ),
    ] {
        let path = format!("/api/v1/audit-events?action=credential.leaked&target={target}");
        let mut counts = Vec::new();
        for _ in 0..2 {
            let response = report_leak(&app, &app.client, &[token]).await;
            assert_eq!(response.status(), 202, "case {case}");
            let events: Value = app.get(&path, &admin).await.json().await.unwrap();
            counts.push(events["items"].as_array().unwrap().len());
        }
        audited.push((case, counts));
    }

    // The same at /oauth/revoke: a second revocation of one's own token changes nothing.
    let own = app.login_ok(&user.username, &user.password).await;
    let own_jwt = access_token_of(&own);
    let own_jti = jwt_claims(&own_jwt)["jti"].as_str().unwrap().to_owned();
    let caller = app.auth_for(&user).await;
    let spare = create_key(&app, &caller, json!({"name": "spare"})).await;
    for (case, token, target) in [
        (
            "an API key at /oauth/revoke",
            spare.key.as_str(),
            spare.id.as_str(),
        ),
        (
            "a user access token at /oauth/revoke",
            own_jwt.as_str(),
            own_jti.as_str(),
        ),
    ] {
        let path = format!("/api/v1/audit-events?action=token.revoke&target={target}");
        let mut counts = Vec::new();
        for _ in 0..2 {
            let response = revoke(&app, &[("Authorization", &caller)], &[("token", token)]).await;
            assert_revocation_answer(response, case).await;
            let events: Value = app.get(&path, &admin).await.json().await.unwrap();
            counts.push(events["items"].as_array().unwrap().len());
        }
        audited.push((case, counts));
    }
    let once: Vec<(&str, Vec<usize>)> = audited
        .iter()
        .map(|(case, _)| (*case, vec![1, 1]))
        .collect();
    assert_eq!(
        audited, once,
        "audit events after each of two reports (credential.leaked) or revocations (token.revoke)"
    );
}

#[tokio::test]
async fn a_leak_report_carries_one_to_a_hundred_credentials() {
    let app = crate::helpers::spawn_app().await;
    let unknown: Vec<String> = (0..101)
        .map(|_| {
            OpaqueSecret::generate(SecretKind::LiveApiKey)
                .reveal()
                .to_owned()
        })
        .collect();
    let all: Vec<&str> = unknown.iter().map(String::as_str).collect();
    for (case, credentials) in [("none", &all[..0]), ("a hundred and one", &all[..])] {
        let response = report_leak(&app, &app.client, credentials).await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], "credentials", "case {case}");
    }
    for (case, credentials) in [("one", &all[..1]), ("a hundred", &all[..100])] {
        let response = report_leak(&app, &app.client, credentials).await;
        assert_eq!(response.status(), 202, "case {case}");
        let receipt: Value = response.json().await.unwrap();
        assert_eq!(
            receipt,
            json!({"received": credentials.len()}),
            "case {case}"
        );
    }
}

#[tokio::test]
async fn leak_reports_are_rate_limited_per_source_address() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 2).await;
    let unknown = OpaqueSecret::generate(SecretKind::LiveApiKey);
    let reporter = client_from([127, 0, 0, 2]);
    for attempt in 1..=2 {
        let response = report_leak(&app, &reporter, &[unknown.reveal()]).await;
        assert_eq!(response.status(), 202, "report {attempt}");
    }
    let response = report_leak(&app, &reporter, &[unknown.reveal()]).await;
    assert!(
        response.headers().get("retry-after").is_some(),
        "a throttled reporter is told when to come back"
    );
    assert_problem(response, 429, "third report within a minute").await;
    let elsewhere = client_from([127, 0, 0, 3]);
    let response = report_leak(&app, &elsewhere, &[unknown.reveal()]).await;
    assert_eq!(response.status(), 202, "another address has its own budget");
}

/// Makes the database refuse audit rows of `actions`, as a crash between the
/// change and its audit row would leave them unwritten.
async fn refuse_audit_rows(app: &TestApp, actions: &[&str]) {
    use sea_orm::ConnectionTrait;
    let db = app.db().await;
    let list = actions
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let statements = if app.database_url.starts_with("postgres") {
        vec![
            format!(
                "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN \
                 IF NEW.action IN ({list}) THEN RAISE EXCEPTION 'audit refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
                .to_owned(),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             WHEN NEW.action IN ({list}) BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
        )]
    };
    for statement in statements {
        db.execute_unprepared(&statement).await.unwrap();
    }
    let _ = db.close().await;
}

#[tokio::test]
async fn a_revocation_whose_audit_row_cannot_be_written_does_not_happen() {
    // The cache would remember the key as active; this test is about the database.
    let app = spawn_app_with(|s| s.credential_cache = false).await;
    let Fixture {
        app,
        admin,
        introspector,
    } = crate::introspection::fixture_from(app).await;
    let (user, key) = user_with_key(&app, &admin, &["user"]).await;
    let leaked = create_key(
        &app,
        &app.auth_for(&user).await,
        json!({ "name": "leaked" }),
    )
    .await;
    let session = app.login_ok(&user.username, &user.password).await;
    refuse_audit_rows(
        &app,
        &["token.revoke", "credential.leaked", "session.logout"],
    )
    .await;

    let auth = api_key_auth(&key.key);
    let response = revoke(&app, &[("Authorization", &auth)], &[("token", &key.key)]).await;
    assert!(
        response.status().is_server_error(),
        "RFC 7009 revocation fails"
    );
    assert_active(
        &app,
        &introspector,
        &key.key,
        "the key is not revoked without its audit row",
    )
    .await;

    let response = report_leak(&app, &app.client, &[&leaked.key]).await;
    assert!(response.status().is_server_error(), "the leak report fails");
    assert_active(&app, &introspector, &leaked.key, "nor by a leak report").await;

    let response = app.logout(&refresh_token_of(&session)).await;
    assert!(response.status().is_server_error(), "logout fails");
    assert_eq!(
        app.refresh(&refresh_token_of(&session)).await.status(),
        200,
        "the session was not ended without its audit row"
    );
}
