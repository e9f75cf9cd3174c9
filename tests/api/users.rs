//! `/api/v1/users`: administering users, and what each change does to live credentials.

use std::collections::HashMap;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, assert_unauthenticated, bearer, random_string, refresh_token_of, spawn_app,
    TestApp,
};
use crate::introspection::client_token;

/// Sorted effective scopes from `/api/v1/me`.
async fn scopes_of(app: &TestApp, authorization: &str) -> Vec<String> {
    let response = app.get_me(authorization).await;
    assert_eq!(response.status(), 200, "GET /api/v1/me");
    let me: Value = response.json().await.unwrap();
    let mut scopes: Vec<String> = serde_json::from_value(me["scopes"].clone()).unwrap();
    scopes.sort();
    scopes
}

fn user_path(id: &str) -> String {
    format!("/api/v1/users/{id}")
}

#[tokio::test]
async fn creating_a_user_answers_201_with_its_location_and_the_default_role() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let username = format!("new-{}", random_string(6).to_lowercase());

    let response = app
        .post_json(
            "/api/v1/users",
            &admin,
            &json!({ "username": username, "password": random_string(16) }),
        )
        .await;

    assert_eq!(response.status(), 201);
    let location = response
        .headers()
        .get("location")
        .expect("a Location header");
    let location = location.to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "id {id} is a UUID");
    assert_eq!(location, user_path(id));
    assert_eq!(body["username"], username.as_str());
    assert_eq!(body["roles"], json!(["user"]));
    assert_eq!(body["disabled"], false);
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    let fetched: Value = app.get(&location, &admin).await.json().await.unwrap();
    for field in [
        "id",
        "username",
        "roles",
        "disabled",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(fetched[field], body[field], "GET {location}: {field}");
    }
}

#[tokio::test]
async fn a_taken_username_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;

    let response = app
        .post_json(
            "/api/v1/users",
            &admin,
            &json!({ "username": user.username, "password": random_string(16) }),
        )
        .await;

    assert_problem(response, 409, "duplicate username").await;
}

#[tokio::test]
async fn invalid_usernames_are_rejected_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, username) in [
        ("a space", "jane doe".to_owned()),
        ("a quote", "o'neil".to_owned()),
        ("SQL", "robert'); DROP TABLE users;--".to_owned()),
        ("markup", "<script>alert(1)</script>".to_owned()),
        ("a NUL byte", "nul\0byte".to_owned()),
        ("a newline", "two\nlines".to_owned()),
        ("empty", String::new()),
        ("65 characters", "x".repeat(65)),
    ] {
        let response = app
            .post_json(
                "/api/v1/users",
                &admin,
                &json!({ "username": username, "password": random_string(16) }),
            )
            .await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], "username", "case {case}");
    }
    let users: Value = app.get("/api/v1/users", &admin).await.json().await.unwrap();
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        1,
        "only the admin exists"
    );
}

#[tokio::test]
async fn unicode_usernames_are_accepted_and_round_trip_exactly() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for username in ["björk", "用户", "Δ1.ε_ζ-η@θ+ι", &"x".repeat(64)] {
        let password = random_string(16);
        let response = app
            .post_json(
                "/api/v1/users",
                &admin,
                &json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(response.status(), 201, "case {username}");
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["username"], username, "case {username}: response");
        let fetched: Value = app
            .get(&user_path(created["id"].as_str().unwrap()), &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(fetched["username"], username, "case {username}: GET");
        let tokens = app.login_ok(username, &password).await;
        let me: Value = app.get_me(&bearer(&tokens)).await.json().await.unwrap();
        assert_eq!(me["principal"]["name"], username, "case {username}: /me");
    }
}

#[tokio::test]
async fn a_short_password_is_rejected_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    let response = app
        .post_json(
            "/api/v1/users",
            &admin,
            &json!({ "username": "shorty", "password": "1234567" }),
        )
        .await;

    let problem = assert_problem(response, 422, "a 7-character password").await;
    assert_eq!(problem["field"], "password");
}

#[tokio::test]
async fn common_breached_and_patterned_passwords_are_refused_when_set() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    for password in [
        "password",
        "12345678",
        "passw0rd",
        "qwertyuiop",
        "aaaaaaaaaa",
        "trident123",
    ] {
        let create = app
            .post_json(
                "/api/v1/users",
                &admin,
                &json!({ "username": format!("u{}", random_string(8).to_lowercase()), "password": password }),
            )
            .await;
        let problem = assert_problem(create, 422, password).await;
        assert_eq!(problem["field"], "password", "case {password}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("too easy to guess"),
            "case {password}: says why"
        );
        let reset = app
            .patch_json(
                &user_path(&user.id),
                &admin,
                &json!({ "password": password }),
            )
            .await;
        assert_problem(reset, 422, password).await;
    }
    // The old password still works: nothing was changed.
    app.login_ok(&user.username, &user.password).await;
}

#[tokio::test]
async fn an_unknown_role_is_rejected_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    let response = app
        .post_json(
            "/api/v1/users",
            &admin,
            &json!({ "username": "ghost", "password": random_string(16), "roles": ["user", "wizard"] }),
        )
        .await;

    let problem = assert_problem(response, 422, "an unknown role").await;
    assert_eq!(problem["field"], "roles");
    let users: Value = app.get("/api/v1/users", &admin).await.json().await.unwrap();
    assert!(
        !users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "ghost"),
        "no half-created user"
    );
}

#[tokio::test]
async fn malformed_user_bodies_are_400() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, body) in [
        (
            "an unknown field",
            json!({ "username": "eve", "password": random_string(16), "admin": true }),
        ),
        (
            "a number for the username",
            json!({ "username": 5, "password": random_string(16) }),
        ),
        ("no password", json!({ "username": "eve" })),
        (
            "roles as a string",
            json!({ "username": "eve", "password": random_string(16), "roles": "admin" }),
        ),
    ] {
        let response = app.post_json("/api/v1/users", &admin, &body).await;
        assert_problem(response, 400, case).await;
    }
}

#[tokio::test]
async fn listing_users_pages_through_everyone_exactly_once() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let mut expected = vec![app.admin.id.clone()];
    for _ in 0..5 {
        expected.push(app.seed_user_as(&admin, &["user"]).await.id);
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=2&cursor={c}"),
            None => "/api/v1/users?limit=2".to_owned(),
        };
        let response = app.get(&path, &admin).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "page {pages} has {} items", items.len());
        for item in items {
            *seen
                .entry(item["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        pages += 1;
        assert!(pages <= 10, "pagination does not end");
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    assert_eq!(pages, 3, "6 users, 2 a page");
    for id in &expected {
        assert_eq!(seen.get(id), Some(&1), "user {id} appears exactly once");
    }
    assert_eq!(seen.len(), expected.len(), "no one else appears");
}

#[tokio::test]
async fn out_of_range_limits_and_foreign_cursors_are_422() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, query, field) in [
        ("limit 0", "limit=0", "limit"),
        ("limit 1000", "limit=1000", "limit"),
        (
            "a cursor this list never returned",
            "cursor=not-a-cursor",
            "cursor",
        ),
    ] {
        let response = app.get(&format!("/api/v1/users?{query}"), &admin).await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], field, "case {case}");
    }
}

#[tokio::test]
async fn an_unknown_or_malformed_user_id_is_404() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let unknown = user_path(&uuid::Uuid::new_v4().to_string());
    let malformed = user_path("not-a-uuid");

    for path in [&unknown, &malformed] {
        assert_problem(app.get(path, &admin).await, 404, &format!("GET {path}")).await;
        let patch = app
            .patch_json(path, &admin, &json!({ "disabled": true }))
            .await;
        assert_problem(patch, 404, &format!("PATCH {path}")).await;
        assert_problem(
            app.delete(path, &admin).await,
            404,
            &format!("DELETE {path}"),
        )
        .await;
    }
}

#[tokio::test]
async fn the_user_role_may_not_administer_users() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let auth = app.auth_for(&user).await;
    let admin_path = user_path(&app.admin.id);
    let own_path = user_path(&user.id);

    let cases = [
        ("list users", app.get("/api/v1/users", &auth).await),
        ("read a user", app.get(&admin_path, &auth).await),
        (
            "create a user",
            app.post_json(
                "/api/v1/users",
                &auth,
                &json!({ "username": "sneaky", "password": random_string(16), "roles": ["admin"] }),
            )
            .await,
        ),
        (
            "promote itself",
            app.patch_json(&own_path, &auth, &json!({ "roles": ["admin"] }))
                .await,
        ),
        (
            "disable the admin",
            app.patch_json(&admin_path, &auth, &json!({ "disabled": true }))
                .await,
        ),
        ("delete the admin", app.delete(&admin_path, &auth).await),
    ];
    for (case, response) in cases {
        assert_problem(response, 403, case).await;
    }

    let admin = app.admin_auth().await;
    let me: Value = app.get_me(&admin).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["admin"]), "the admin is untouched");
    let own: Value = app.get(&own_path, &admin).await.json().await.unwrap();
    assert_eq!(
        own["roles"],
        json!(["user"]),
        "the user did not promote itself"
    );
}

#[tokio::test]
async fn the_users_api_requires_a_credential() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .unwrap();

    assert_unauthenticated(response, "GET /api/v1/users without a credential").await;
}

#[tokio::test]
async fn changing_a_password_ends_the_users_sessions_and_the_new_password_works() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let before = app.login_ok(&user.username, &user.password).await;
    let new_password = random_string(20);

    let response = app
        .patch_json(
            &user_path(&user.id),
            &admin,
            &json!({ "password": new_password }),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_unauthenticated(
        app.refresh(&refresh_token_of(&before)).await,
        "the old session's refresh token",
    )
    .await;
    assert_unauthenticated(
        app.get_me(&bearer(&before)).await,
        "the old session's access token",
    )
    .await;
    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        401,
        "the old password"
    );
    assert_eq!(
        app.login(&user.username, &new_password).await.status(),
        200,
        "the new password"
    );
}

#[tokio::test]
async fn a_too_short_new_password_is_rejected_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;

    let response = app
        .patch_json(
            &user_path(&user.id),
            &admin,
            &json!({ "password": "short" }),
        )
        .await;

    let problem = assert_problem(response, 422, "a 5-character password").await;
    assert_eq!(problem["field"], "password");
    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        200,
        "the old password still works"
    );
}

#[tokio::test]
async fn disabling_a_user_refuses_its_tokens_at_once_and_its_logins() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let tokens = app.login_ok(&user.username, &user.password).await;

    let response = app
        .patch_json(&user_path(&user.id), &admin, &json!({ "disabled": true }))
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["disabled"], true);
    assert_unauthenticated(app.get_me(&bearer(&tokens)).await, "the access token").await;
    assert_unauthenticated(
        app.refresh(&refresh_token_of(&tokens)).await,
        "the refresh token",
    )
    .await;
    assert_unauthenticated(app.login(&user.username, &user.password).await, "a login").await;

    let response = app
        .patch_json(&user_path(&user.id), &admin, &json!({ "disabled": false }))
        .await;
    assert_eq!(response.status(), 200, "enabling the user again");
    assert_eq!(
        app.login(&user.username, &user.password).await.status(),
        200,
        "a login after enabling"
    );
}

#[tokio::test]
async fn role_changes_narrow_an_existing_access_token_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let full = scopes_of(&app, &auth).await;
    assert!(!full.is_empty(), "the user role grants scopes");

    let response = app
        .patch_json(&user_path(&user.id), &admin, &json!({ "roles": [] }))
        .await;
    assert_eq!(response.status(), 200, "taking every role away");
    let me: Value = app.get_me(&auth).await.json().await.unwrap();
    assert_eq!(me["scopes"], json!([]), "no scopes left");
    assert_eq!(me["roles"], json!([]), "no roles left");

    let response = app
        .patch_json(&user_path(&user.id), &admin, &json!({ "roles": ["user"] }))
        .await;
    assert_eq!(response.status(), 200, "giving the role back");
    assert_eq!(
        scopes_of(&app, &auth).await,
        full,
        "the token's scopes are back"
    );
}

#[tokio::test]
async fn granting_a_role_does_not_widen_an_existing_access_token() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let auth = app.auth_for(&user).await;
    let before = scopes_of(&app, &auth).await;

    let response = app
        .patch_json(
            &user_path(&user.id),
            &admin,
            &json!({ "roles": ["admin", "user"] }),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        scopes_of(&app, &auth).await,
        before,
        "scopes = token scopes ∩ permissions"
    );
    assert_problem(
        app.get("/api/v1/users", &auth).await,
        403,
        "the old token lists users",
    )
    .await;
    let fresh = app.auth_for(&user).await;
    assert_eq!(
        app.get("/api/v1/users", &fresh).await.status(),
        200,
        "a new token lists users"
    );
}

#[tokio::test]
async fn the_last_enabled_administrator_cannot_be_demoted_disabled_or_deleted() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let path = user_path(&app.admin.id);

    let cases = [
        (
            "demote to user",
            app.patch_json(&path, &admin, &json!({ "roles": ["user"] }))
                .await,
        ),
        (
            "remove every role",
            app.patch_json(&path, &admin, &json!({ "roles": [] })).await,
        ),
        (
            "disable",
            app.patch_json(&path, &admin, &json!({ "disabled": true }))
                .await,
        ),
        ("delete", app.delete(&path, &admin).await),
    ];
    for (case, response) in cases {
        assert_problem(response, 409, case).await;
    }

    let me: Value = app.get_me(&admin).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["admin"]), "still an administrator");
}

#[tokio::test]
async fn an_administrator_can_be_demoted_while_another_remains() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let second = app.seed_user_as(&admin, &["admin"]).await;

    let response = app
        .patch_json(
            &user_path(&app.admin.id),
            &admin,
            &json!({ "roles": ["user"] }),
        )
        .await;
    assert_eq!(response.status(), 200, "demoting the first administrator");

    let second_auth = app.auth_for(&second).await;
    let response = app.delete(&user_path(&second.id), &second_auth).await;
    assert_problem(response, 409, "the second is now the last one").await;
}

/// How many users hold `admin` and are enabled, read straight from the database.
async fn enabled_admins(db: &sea_orm::DatabaseConnection) -> usize {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let holders: Vec<uuid::Uuid> = entity::user_roles::Entity::find()
        .filter(entity::user_roles::Column::RoleName.eq("admin"))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.user_id)
        .collect();
    entity::users::Entity::find()
        .filter(entity::users::Column::Id.is_in(holders))
        .filter(entity::users::Column::Disabled.eq(false))
        .all(db)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn concurrent_changes_never_leave_the_server_without_an_administrator() {
    use sea_orm::{sea_query::Expr, EntityTrait};
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let mut admins = vec![app.admin.id.clone()];
    for _ in 0..4 {
        admins.push(app.seed_user_as(&admin, &["admin"]).await.id);
    }
    // The caller is a machine with the admin role: disabling users does not end its
    // token, so every round really races five requests (an administrator's own
    // token would die with its account after the first round).
    let machine = app.seed_client_as(&admin, &["admin"]).await;
    let caller = format!("Bearer {}", client_token(&app, &machine).await);
    let disable = json!({ "disabled": true });
    let paths: Vec<String> = admins.iter().map(|id| user_path(id)).collect();
    let db = app.db().await;

    // Every administrator is disabled at once; processed one after another, the last
    // request is refused. A race needs overlap, so a round that happened to run
    // sequentially is repeated (everyone enabled again behind the server's back).
    for round in 1..=5 {
        let responses = join_all(
            paths
                .iter()
                .map(|path| app.patch_json(path, &caller, &disable)),
        )
        .await;

        let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 200, 200, 200, 409],
            "round {round}: all but the last administrator are disabled"
        );
        assert_eq!(
            enabled_admins(&db).await,
            1,
            "round {round}: one enabled administrator must remain"
        );
        entity::users::Entity::update_many()
            .col_expr(entity::users::Column::Disabled, Expr::value(false))
            .exec(&db)
            .await
            .unwrap();
    }
    let _ = db.close().await;
}

#[tokio::test]
async fn deleting_a_user_removes_it_and_refuses_its_tokens() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    let tokens = app.login_ok(&user.username, &user.password).await;
    let path = user_path(&user.id);

    let response = app.delete(&path, &admin).await;

    assert_eq!(response.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404, "GET after DELETE").await;
    assert_problem(app.delete(&path, &admin).await, 404, "DELETE again").await;
    assert_unauthenticated(app.get_me(&bearer(&tokens)).await, "the access token").await;
    assert_unauthenticated(
        app.refresh(&refresh_token_of(&tokens)).await,
        "the refresh token",
    )
    .await;
    assert_unauthenticated(app.login(&user.username, &user.password).await, "a login").await;
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_with_at_least_owasp_parameters() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;

    let db = app.db().await;
    let row = entity::users::Entity::find_by_id(uuid::Uuid::parse_str(&user.id).unwrap())
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let _ = db.close().await;

    let hash = row.password_hash;
    assert!(
        !hash.contains(&user.password),
        "the password itself is not stored"
    );
    assert!(
        hash.starts_with("$argon2id$"),
        "an argon2id PHC string: {hash}"
    );
    let params: HashMap<&str, u32> = hash
        .split('$')
        .nth(3)
        .unwrap()
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    assert!(params["m"] >= 19_456, "memory cost {} KiB", params["m"]);
    assert!(params["t"] >= 2, "time cost {}", params["t"]);
}
