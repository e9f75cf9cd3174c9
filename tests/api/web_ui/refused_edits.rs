//! A refused change on an admin page comes back with the admin's input kept and
//! the reason where it belongs; nothing is saved. And a saved one drops nothing
//! the form could not show.

use super::Browser;
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_refused_user_edit_keeps_the_ticked_roles_and_the_disabled_box() {
    let app = spawn_app().await;
    let bob = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &app.admin).await;
    let csrf = browser.csrf().await;
    let path = format!("/admin/users/{}", bob.id);

    let page = browser
        .submit(
            &path,
            &[
                ("csrf_token", &csrf),
                ("roles", "user"),
                ("roles", "admin"),
                ("disabled", "on"),
                ("password", "short"),
            ],
        )
        .await;

    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains(r#"value="admin" checked"#),
        "the new role stays ticked"
    );
    assert!(
        page.body.contains(r#"name="disabled" value="on" checked"#),
        "Disabled stays ticked"
    );
    assert!(
        page.body.contains("at least 8 characters"),
        "the reason, next to the password"
    );
    let stored = app
        .get(
            &format!("/api/v1/users/{}", bob.id),
            &app.admin_auth().await,
        )
        .await;
    let stored: serde_json::Value = stored.json().await.unwrap();
    assert_eq!(
        stored["roles"],
        serde_json::json!(["user"]),
        "nothing was saved"
    );
    assert_eq!(stored["disabled"], false, "nothing was saved");
}

#[tokio::test]
async fn disabling_the_last_administrator_is_refused_for_the_whole_form() {
    let app = spawn_app().await;
    let mut browser = Browser::signed_in(&app, &app.admin).await;
    let csrf = browser.csrf().await;

    let page = browser
        .submit(
            &format!("/admin/users/{}", app.admin.id),
            &[
                ("csrf_token", &csrf),
                ("roles", "admin"),
                ("disabled", "on"),
            ],
        )
        .await;

    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains(r#"id="form-error""#),
        "said at the top of the form"
    );
    assert!(
        page.body.contains(r#"name="disabled" value="on" checked"#),
        "the refused choice is shown"
    );
    assert_eq!(
        browser.get("/tokens").await.status,
        200,
        "the admin is still enabled"
    );
}

#[tokio::test]
async fn a_user_manager_ticking_admin_is_told_so_next_to_the_roles() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let role = app
        .seed_role_as(&admin, &["users:read", "users:write"])
        .await;
    let manager = app.seed_user_as(&admin, &[&role]).await;
    let bob = app.seed_user(&["user"]).await;
    let mut browser = Browser::signed_in(&app, &manager).await;
    let path = format!("/admin/users/{}", bob.id);
    let csrf = browser.get(&path).await.csrf_token();

    let page = browser
        .submit(
            &path,
            &[("csrf_token", &csrf), ("roles", "user"), ("roles", "admin")],
        )
        .await;

    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body
            .contains("you cannot grant api_keys:admin: your account does not hold it"),
        "the reason, next to the roles: {}",
        page.body
    );
    assert!(
        page.body.contains(r#"value="admin" checked"#),
        "the refused role stays ticked"
    );
    let stored = app
        .get_json(&format!("/api/v1/users/{}", bob.id), &admin)
        .await;
    assert_eq!(
        stored["roles"],
        serde_json::json!(["user"]),
        "nothing saved"
    );
}

#[tokio::test]
async fn a_user_page_offers_every_role_however_many_so_saving_keeps_them() {
    use sea_orm::{EntityTrait, Set};
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    // More roles than one page of the role list holds, the user's own sorting last.
    let db = app.db().await;
    let now = crate::helpers::utc_now();
    let many = (0..520).map(|i| entity::roles::ActiveModel {
        name: Set(format!("bulk-{i:04}")),
        description: Set(String::new()),
        builtin: Set(false),
        created_at: Set(now),
    });
    entity::roles::Entity::insert_many(many)
        .exec(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    let last = "zz-last-role";
    let response = app
        .post_json(
            "/api/v1/roles",
            &admin,
            &serde_json::json!({"name": last, "permissions": ["jobs:read"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let bob = app.seed_user_as(&admin, &["user", last]).await;

    let mut browser = Browser::signed_in(&app, &app.admin).await;
    let path = format!("/admin/users/{}", bob.id);
    let page = browser.get(&path).await;
    assert!(
        page.body.contains(&format!(r#"value="{last}" checked"#)),
        "the role past the first 500 is offered, ticked"
    );

    let csrf = page.csrf_token();
    let saved = browser
        .submit(
            &path,
            &[("csrf_token", &csrf), ("roles", "user"), ("roles", last)],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app
        .get_json(&format!("/api/v1/users/{}", bob.id), &admin)
        .await;
    assert_eq!(stored["roles"], serde_json::json!(["user", last]));
}
