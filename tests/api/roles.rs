//! `/api/v1/roles`: roles and their permissions, and what changing them does to holders.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, random_string, spawn_app};

fn role_path(name: &str) -> String {
    format!("/api/v1/roles/{name}")
}

#[tokio::test]
async fn the_builtin_roles_are_listed() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    let response = app.get("/api/v1/roles", &admin).await;

    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    for name in ["admin", "user"] {
        let role = items
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("role {name} is listed: {page}"));
        assert_eq!(role["builtin"], true, "{name} is built in");
        assert!(
            !role["permissions"].as_array().unwrap().is_empty(),
            "{name} grants something"
        );
    }
    let admin_role = items.iter().find(|r| r["name"] == "admin").unwrap();
    for permission in ["users:read", "users:write", "roles:read", "roles:write"] {
        assert!(
            admin_role["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!(permission)),
            "admin holds {permission}"
        );
    }
}

#[tokio::test]
async fn a_created_role_answers_201_and_can_be_read_back() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    let response = app
        .post_json(
            "/api/v1/roles",
            &admin,
            &json!({ "name": "ops-team_2", "description": "Operators", "permissions": ["jobs:write", "jobs:read"] }),
        )
        .await;

    assert_eq!(response.status(), 201);
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(location.as_deref(), Some("/api/v1/roles/ops-team_2"));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "ops-team_2");
    assert_eq!(created["builtin"], false);
    let fetched: Value = app
        .get(&role_path("ops-team_2"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["description"], "Operators");
    let mut permissions: Vec<String> =
        serde_json::from_value(fetched["permissions"].clone()).unwrap();
    permissions.sort();
    assert_eq!(permissions, ["jobs:read", "jobs:write"]);
}

#[tokio::test]
async fn invalid_permissions_are_rejected_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, permission) in [
        ("uppercase", "Jobs:Write"),
        ("no colon", "nocolon"),
        ("two colons", "a:b:c"),
        ("empty", ""),
        ("no resource", ":write"),
        ("no action", "jobs:"),
        ("a space", "jobs: write"),
        ("SQL", "x'; DROP TABLE roles;--:y"),
    ] {
        let name = format!("r{}", random_string(6).to_lowercase());
        let response = app
            .post_json(
                "/api/v1/roles",
                &admin,
                &json!({ "name": name, "permissions": ["jobs:read", permission] }),
            )
            .await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], "permissions", "case {case}");
        assert_problem(app.get(&role_path(&name), &admin).await, 404, case).await;
    }
}

#[tokio::test]
async fn invalid_role_names_are_rejected_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, name) in [
        ("uppercase", "Admin".to_owned()),
        ("leading digit", "1x".to_owned()),
        ("empty", String::new()),
        ("a space", "ops team".to_owned()),
        ("non-ASCII", "ämter".to_owned()),
        ("a slash", "ops/team".to_owned()),
        ("65 characters", "r".repeat(65)),
    ] {
        let response = app
            .post_json(
                "/api/v1/roles",
                &admin,
                &json!({ "name": name, "permissions": ["jobs:read"] }),
            )
            .await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], "name", "case {case}");
    }
}

#[tokio::test]
async fn a_taken_role_name_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let body = json!({ "name": "auditors", "permissions": ["audit:read"] });
    assert_eq!(
        app.post_json("/api/v1/roles", &admin, &body).await.status(),
        201
    );

    for (case, name) in [("a custom role", "auditors"), ("a built-in role", "admin")] {
        let response = app
            .post_json(
                "/api/v1/roles",
                &admin,
                &json!({ "name": name, "permissions": ["jobs:read"] }),
            )
            .await;
        assert_problem(response, 409, case).await;
    }
    let admin_role: Value = app
        .get(&role_path("admin"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        admin_role["permissions"],
        json!(["jobs:read"]),
        "the admin role is untouched"
    );
}

#[tokio::test]
async fn descriptions_round_trip_verbatim() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let created_with = "Robert'); DROP TABLE roles;-- \"quoted\" \\ 100% _x_ <b>björk</b> 用户 🚀";
    let replaced_with = "' OR '1'='1 -- ; SELECT * FROM users; Ωmega";

    let response = app
        .post_json(
            "/api/v1/roles",
            &admin,
            &json!({ "name": "tricky", "description": created_with, "permissions": ["jobs:read"] }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["description"], created_with, "in the 201 response");
    let fetched: Value = app
        .get(&role_path("tricky"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["description"], created_with, "from GET");
    let listed: Value = app.get("/api/v1/roles", &admin).await.json().await.unwrap();
    let in_list = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "tricky")
        .unwrap();
    assert_eq!(in_list["description"], created_with, "in the list");

    let response = app
        .put_json(
            &role_path("tricky"),
            &admin,
            &json!({ "description": replaced_with, "permissions": ["jobs:read"] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let fetched: Value = app
        .get(&role_path("tricky"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["description"], replaced_with, "after PUT");
}

#[tokio::test]
async fn descriptions_with_control_characters_or_too_long_are_rejected() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for (case, description) in [
        ("a NUL byte", "nul\0byte".to_owned()),
        ("an escape sequence", "\u{1b}[31mred".to_owned()),
        ("501 characters", "d".repeat(501)),
    ] {
        let response = app
            .post_json(
                "/api/v1/roles",
                &admin,
                &json!({ "name": "described", "description": description, "permissions": [] }),
            )
            .await;
        let problem = assert_problem(response, 422, case).await;
        assert_eq!(problem["field"], "description", "case {case}");
    }
}

#[tokio::test]
async fn put_replaces_a_roles_permissions_and_holders_narrow_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let body = json!({ "name": "workers", "description": "before", "permissions": ["jobs:read", "jobs:write"] });
    assert_eq!(
        app.post_json("/api/v1/roles", &admin, &body).await.status(),
        201
    );
    let user = app.seed_user_as(&admin, &["workers"]).await;
    let auth = app.auth_for(&user).await;

    let response = app
        .put_json(
            &role_path("workers"),
            &admin,
            &json!({ "description": "after", "permissions": ["jobs:read"] }),
        )
        .await;

    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["description"], "after");
    assert_eq!(replaced["permissions"], json!(["jobs:read"]));
    let me: Value = app.get_me(&auth).await.json().await.unwrap();
    assert_eq!(
        me["scopes"],
        json!(["jobs:read"]),
        "the holder's token lost jobs:write"
    );
}

#[tokio::test]
async fn replacing_an_unknown_role_is_404() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    let response = app
        .put_json(
            &role_path("nonexistent"),
            &admin,
            &json!({ "permissions": ["jobs:read"] }),
        )
        .await;

    assert_problem(response, 404, "PUT of an unknown role").await;
    assert_problem(
        app.get(&role_path("nonexistent"), &admin).await,
        404,
        "GET of an unknown role",
    )
    .await;
    assert_problem(
        app.delete(&role_path("nonexistent"), &admin).await,
        404,
        "DELETE of an unknown role",
    )
    .await;
}

#[tokio::test]
async fn the_admin_role_cannot_lose_permissions() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let before: Value = app
        .get(&role_path("admin"), &admin)
        .await
        .json()
        .await
        .unwrap();
    let permissions = before["permissions"].as_array().unwrap();
    let fewer: Vec<&Value> = permissions.iter().filter(|p| *p != "users:write").collect();
    assert_eq!(
        fewer.len() + 1,
        permissions.len(),
        "admin holds users:write"
    );

    for (case, replacement) in [
        ("one permission fewer", json!(fewer)),
        ("no permissions", json!([])),
    ] {
        let response = app
            .put_json(
                &role_path("admin"),
                &admin,
                &json!({ "description": "gutted", "permissions": replacement }),
            )
            .await;
        assert_problem(response, 409, case).await;
    }

    let after: Value = app
        .get(&role_path("admin"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["permissions"], before["permissions"]);
    assert_eq!(
        after["description"], before["description"],
        "a refused PUT changes nothing"
    );
}

#[tokio::test]
async fn builtin_roles_cannot_be_deleted() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;

    for name in ["admin", "user"] {
        assert_problem(
            app.delete(&role_path(name), &admin).await,
            409,
            &format!("DELETE {name}"),
        )
        .await;
        assert_eq!(
            app.get(&role_path(name), &admin).await.status(),
            200,
            "{name} still exists"
        );
    }
}

#[tokio::test]
async fn deleting_a_custom_role_takes_it_from_its_holders() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let body = json!({ "name": "auditors", "permissions": ["audit:read"] });
    assert_eq!(
        app.post_json("/api/v1/roles", &admin, &body).await.status(),
        201
    );
    let user = app.seed_user_as(&admin, &["auditors", "user"]).await;
    let auth = app.auth_for(&user).await;
    assert_eq!(
        app.get("/api/v1/audit-events", &auth).await.status(),
        200,
        "the role grants audit:read"
    );

    let response = app.delete(&role_path("auditors"), &admin).await;

    assert_eq!(response.status(), 204);
    assert_problem(
        app.get(&role_path("auditors"), &admin).await,
        404,
        "GET after DELETE",
    )
    .await;
    let held: Value = app
        .get(&format!("/api/v1/users/{}", user.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(held["roles"], json!(["user"]));
    let me: Value = app.get_me(&auth).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["user"]));
    assert!(
        !me["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("audit:read")),
        "audit:read is gone: {me}"
    );
    assert_problem(
        app.get("/api/v1/audit-events", &auth).await,
        403,
        "the holder's token lost audit:read",
    )
    .await;
}

#[tokio::test]
async fn the_user_role_may_not_administer_roles() {
    let app = spawn_app().await;
    let user = app.seed_user(&["user"]).await;
    let auth = app.auth_for(&user).await;

    let cases = [
        ("list roles", app.get("/api/v1/roles", &auth).await),
        ("read a role", app.get(&role_path("user"), &auth).await),
        (
            "create a role",
            app.post_json(
                "/api/v1/roles",
                &auth,
                &json!({ "name": "mine", "permissions": ["users:write"] }),
            )
            .await,
        ),
        (
            "widen its own role",
            app.put_json(
                &role_path("user"),
                &auth,
                &json!({ "permissions": ["users:read", "users:write"] }),
            )
            .await,
        ),
        ("delete a role", app.delete(&role_path("user"), &auth).await),
    ];
    for (case, response) in cases {
        assert_problem(response, 403, case).await;
    }
    let me: Value = app.get_me(&auth).await.json().await.unwrap();
    assert!(
        !me["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("users:write")),
        "nothing was widened"
    );
}
