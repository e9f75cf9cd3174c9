//! No credential makes one more powerful than itself: whoever manages users,
//! clients or roles can hand out a privileged permission (one that gives power
//! over other principals or over Trident) only if it holds that permission.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, bearer, spawn_app, TestApp};
use crate::introspection::client_token;

/// Asserts a 403 `cannot-grant` problem naming `field` and `permission`.
async fn assert_cannot_grant(response: reqwest::Response, field: &str, permission: &str) {
    assert_eq!(response.status(), 403, "refused");
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("cannot-grant"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap_or("");
    assert!(
        detail.starts_with(&format!("{field}:")) && detail.contains(permission),
        "{problem}"
    );
}

/// A signed-in user holding only a custom role with `permissions`.
async fn manager(app: &TestApp, admin: &str, permissions: &[&str]) -> (String, String) {
    let role = app.seed_role_as(admin, permissions).await;
    let user = app.seed_user_as(admin, &[&role]).await;
    let tokens = app.login_ok(&user.username, &user.password).await;
    (user.id, bearer(&tokens))
}

async fn roles_of_user(app: &TestApp, admin: &str, id: &str) -> Value {
    app.get_json(&format!("/api/v1/users/{id}"), admin).await["roles"].clone()
}

#[tokio::test]
async fn a_user_manager_cannot_make_anyone_an_administrator() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let (own_id, manager) = manager(&app, &admin, &["users:read", "users:write"]).await;
    let jobs = app.seed_role_as(&admin, &["jobs:write"]).await;
    let other = app.seed_user_as(&admin, &["user"]).await;

    let response = app
        .post_json(
            "/api/v1/users",
            &manager,
            &json!({"username": "new-admin", "password": "long-enough-password", "roles": ["admin"]}),
        )
        .await;
    assert_cannot_grant(response, "roles", "api_keys:admin").await;
    let response = app
        .patch_json(
            &format!("/api/v1/users/{own_id}"),
            &manager,
            &json!({"roles": ["admin"]}),
        )
        .await;
    assert_cannot_grant(response, "roles", "api_keys:admin").await;
    assert_ne!(
        roles_of_user(&app, &admin, &own_id).await,
        json!(["admin"]),
        "the manager is no administrator"
    );
    let users = app.get_json("/api/v1/users", &admin).await;
    assert!(
        !users.to_string().contains("new-admin"),
        "no user was created"
    );

    // Self-service and application permissions: the manager's to hand out.
    let response = app
        .post_json(
            "/api/v1/users",
            &manager,
            &json!({"username": "worker-owner", "password": "long-enough-password", "roles": ["user"]}),
        )
        .await;
    assert_eq!(response.status(), 201, "a plain user");
    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", other.id),
            &manager,
            &json!({"roles": ["user", jobs]}),
        )
        .await;
    assert_eq!(response.status(), 200, "an application role");
    // Roles already held are not granted again.
    let response = app
        .patch_json(
            &format!("/api/v1/users/{}", other.id),
            &manager,
            &json!({"roles": ["user", jobs], "disabled": false}),
        )
        .await;
    assert_eq!(response.status(), 200, "the roles it already had");

    // A more powerful user is not the manager's to change: no password reset
    // (which would let it sign in as the administrator), no disabling, no delete.
    let admin_path = format!("/api/v1/users/{}", app.admin.id);
    for (case, response) in [
        (
            "reset the administrator's password",
            app.patch_json(
                &admin_path,
                &manager,
                &json!({"password": "taken-over-password"}),
            )
            .await,
        ),
        (
            "disable the administrator",
            app.patch_json(&admin_path, &manager, &json!({"disabled": true}))
                .await,
        ),
        (
            "drop the administrator's roles",
            app.patch_json(&admin_path, &manager, &json!({"roles": ["user"]}))
                .await,
        ),
        (
            "delete the administrator",
            app.delete(&admin_path, &manager).await,
        ),
    ] {
        assert_problem(response, 403, case).await;
    }
    assert_eq!(
        roles_of_user(&app, &admin, &app.admin.id).await,
        json!(["admin"]),
        "the administrator is unchanged"
    );
    app.login_ok(&app.admin.username, &app.admin.password).await;
}

#[tokio::test]
async fn a_client_manager_and_a_scoped_pat_cannot_register_more_powerful_clients() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let (_, manager) = manager(&app, &admin, &["clients:read", "clients:write"]).await;
    let introspect = app.seed_role_as(&admin, &["tokens:introspect"]).await;
    let jobs = app.seed_role_as(&admin, &["jobs:write"]).await;

    // The administrator's own PAT, narrowed to client management.
    let pat: Value = app
        .post_json(
            "/api/v1/personal-access-tokens",
            &admin,
            &json!({"name": "clients only", "scopes": ["clients:read", "clients:write"], "expires_in_days": 7}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pat = format!("Bearer {}", pat["token"].as_str().unwrap());

    for (caller, who) in [(&manager, "manager"), (&pat, "scoped PAT")] {
        for (roles, permission) in [
            (json!(["admin"]), "api_keys:admin"),
            (json!([introspect]), "tokens:introspect"),
        ] {
            let response = app
                .post_json(
                    "/api/v1/clients",
                    caller,
                    &json!({"name": "escalator", "roles": roles}),
                )
                .await;
            assert_cannot_grant(response, "roles", permission).await;
        }
        let response = app
            .post_json(
                "/api/v1/clients",
                caller,
                &json!({"name": format!("jobs for {who}"), "roles": [jobs]}),
            )
            .await;
        assert_eq!(response.status(), 201, "{who}: an application role");
        let client: Value = response.json().await.unwrap();
        let response = app
            .patch_json(
                &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
                caller,
                &json!({"roles": [jobs, "admin"]}),
            )
            .await;
        assert_cannot_grant(response, "roles", "api_keys:admin").await;
    }
    let clients = app.get_json("/api/v1/clients", &admin).await;
    assert!(
        !clients.to_string().contains("escalator"),
        "no client was registered"
    );
    assert!(
        !clients.to_string().contains("\"admin\""),
        "no client holds the admin role"
    );

    // An admin client is not theirs to take over: no new secret, no change, no delete.
    let machine = app.seed_client_as(&admin, &["admin"]).await;
    let path = format!("/api/v1/clients/{}", machine.id);
    for (caller, who) in [(&manager, "manager"), (&pat, "scoped PAT")] {
        for (case, response) in [
            (
                "rotate its secret",
                app.post_json(
                    &format!("{path}/secrets"),
                    caller,
                    &json!({"grace_seconds": 0}),
                )
                .await,
            ),
            (
                "rename it",
                app.patch_json(&path, caller, &json!({"name": "mine-now"}))
                    .await,
            ),
            ("delete it", app.delete(&path, caller).await),
        ] {
            assert_problem(response, 403, &format!("{who}: {case}")).await;
        }
    }
    assert!(
        !client_token(&app, &machine).await.is_empty(),
        "the admin client's secret still works"
    );
}

#[tokio::test]
async fn a_role_manager_cannot_add_privileged_permissions_it_lacks() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let (_, manager) = manager(&app, &admin, &["roles:read", "roles:write"]).await;

    let response = app
        .put_json(
            "/api/v1/roles/user",
            &manager,
            &json!({"permissions": ["api_keys:read", "api_keys:write", "tokens:read", "tokens:write", "users:write"]}),
        )
        .await;
    assert_cannot_grant(response, "permissions", "users:write").await;
    let response = app
        .post_json(
            "/api/v1/roles",
            &manager,
            &json!({"name": "auditor", "permissions": ["audit:read"]}),
        )
        .await;
    assert_cannot_grant(response, "permissions", "audit:read").await;
    assert_problem(
        app.get("/api/v1/roles/auditor", &admin).await,
        404,
        "no role was created",
    )
    .await;
    let user_role = app.get_json("/api/v1/roles/user", &admin).await;
    assert!(
        !user_role["permissions"].to_string().contains("users:write"),
        "the user role is unchanged: {user_role}"
    );

    // Application permissions, and keeping what a role already has.
    let response = app
        .post_json(
            "/api/v1/roles",
            &manager,
            &json!({"name": "job-runner", "permissions": ["jobs:read", "jobs:write"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .put_json(
            "/api/v1/roles/user",
            &manager,
            &json!({"permissions": ["api_keys:read", "api_keys:write", "tokens:read", "tokens:write", "jobs:read"]}),
        )
        .await;
    assert_eq!(response.status(), 200, "an application permission added");
}

#[tokio::test]
async fn a_role_manager_cannot_empty_or_delete_a_role_more_powerful_than_itself() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    // The role every resource server holds, and a manager of roles without it.
    let introspector = app.seed_role_as(&admin, &["tokens:introspect"]).await;
    let resource_server = app.seed_client_as(&admin, &[&introspector]).await;
    let (_, manager) = manager(&app, &admin, &["roles:read", "roles:write"]).await;
    let path = format!("/api/v1/roles/{introspector}");

    let emptied = app
        .put_json(&path, &manager, &json!({ "permissions": [] }))
        .await;
    let problem = assert_problem(emptied, 403, "emptying the role").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("tokens:introspect"));
    let renamed = app
        .put_json(
            &path,
            &manager,
            &json!({ "description": "mine now", "permissions": ["tokens:introspect"] }),
        )
        .await;
    assert_problem(renamed, 403, "editing the role at all").await;
    let deleted = app.delete(&path, &manager).await;
    assert_problem(deleted, 403, "deleting the role").await;

    let role = app.get_json(&path, &admin).await;
    assert_eq!(
        role["permissions"],
        json!(["tokens:introspect"]),
        "unchanged"
    );
    // The resource server still introspects.
    let token = client_token(&app, &resource_server).await;
    let answer = app
        .post_form_to(
            &app.url("/oauth/introspect"),
            &[(
                "Authorization",
                &crate::introspection::basic(&resource_server),
            )],
            &[("token", &token)],
        )
        .await;
    assert_eq!(answer.status(), 200);

    // A role of application permissions only is the manager's to change and delete.
    let jobs = app.seed_role_as(&admin, &["jobs:write"]).await;
    let jobs_path = format!("/api/v1/roles/{jobs}");
    let changed = app
        .put_json(
            &jobs_path,
            &manager,
            &json!({ "permissions": ["jobs:read"] }),
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(app.delete(&jobs_path, &manager).await.status(), 204);
}
