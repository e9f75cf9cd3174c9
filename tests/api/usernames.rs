//! Usernames are compared the way people read them: case and width variants are
//! one name (RFC 8265 UsernameCaseMapped), look-alikes of an existing name and
//! names mixing confusable scripts are refused (Unicode TR39), and accounts made
//! before this rule are never merged.

use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, bearer, random_string, spawn_app, spawn_app_with};

#[tokio::test]
async fn variants_and_look_alikes_of_an_existing_name_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let base = format!("alice{}", random_string(4).to_lowercase());
    let created = app
        .post_json(
            "/api/v1/users",
            &admin,
            &json!({ "username": base, "password": random_string(20) }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let fullwidth: String = base
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap())
        .collect();
    for (case, name, status) in [
        ("upper case", base.to_uppercase(), 409),
        ("title case", format!("A{}", &base[1..]), 409),
        ("fullwidth", fullwidth, 409),
        (
            "Cyrillic а among Latin",
            base.replacen('a', "\u{430}", 1),
            422,
        ),
        (
            "mathematical sans-serif l",
            base.replacen('l', "\u{1d5c5}", 1),
            422,
        ),
        ("digit one for l", base.replacen('l', "1", 1), 409),
    ] {
        let response = app
            .post_json(
                "/api/v1/users",
                &admin,
                &json!({ "username": name, "password": random_string(20) }),
            )
            .await;
        let body = assert_problem(response, status, case).await;
        if status == 422 {
            assert_eq!(body["field"], "username", "case {case}");
        }
    }
    let users = app.get_json("/api/v1/users?limit=100", &admin).await;
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        2,
        "only the admin and the first name exist"
    );
}

#[tokio::test]
async fn a_user_signs_in_under_any_case_or_width_of_its_name() {
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let user = app.seed_user_as(&admin, &["user"]).await;
    for (case, typed) in [
        ("as created", user.username.clone()),
        ("upper case", user.username.to_uppercase()),
    ] {
        let tokens = app.login_ok(&typed, &user.password).await;
        let me: Value = app.get_me(&bearer(&tokens)).await.json().await.unwrap();
        assert_eq!(me["principal"]["id"], user.id.as_str(), "case {case}");
        assert_eq!(
            me["principal"]["name"],
            user.username.as_str(),
            "case {case}: the name as created"
        );
    }
}

#[tokio::test]
async fn self_registration_refuses_a_look_alike_of_an_existing_name() {
    let app = spawn_app_with(|s| s.allow_registration = true).await;
    let admin_look_alike = app.admin.username.to_uppercase();
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({ "username": admin_look_alike, "password": random_string(20) }))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "the administrator's name in capitals").await;
}

#[tokio::test]
async fn accounts_from_before_the_rule_are_reported_and_never_merged() {
    let app = spawn_app().await;
    let db = app.db().await;
    let admin_row =
        entity::users::Entity::find_by_id(uuid::Uuid::parse_str(&app.admin.id).unwrap())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
    // Rows as the previous version stored them: no comparison form, and case variants side by side.
    let stem = format!("carol{}", random_string(4).to_lowercase());
    let names = [stem.to_uppercase(), stem.clone(), format!("dave{stem}")];
    let mut ids = Vec::new();
    for name in &names {
        let id = uuid::Uuid::now_v7();
        entity::users::Entity::insert(entity::users::ActiveModel {
            id: Set(id),
            username: Set(name.clone()),
            username_key: Set(None),
            username_skeleton: Set(None),
            // The administrator's hash: each account signs in with the admin's password.
            password_hash: Set(admin_row.password_hash.clone()),
            disabled: Set(false),
            created_at: Set(crate::helpers::utc_now()),
            updated_at: Set(crate::helpers::utc_now()),
        })
        .exec(&db)
        .await
        .unwrap();
        ids.push(id.to_string());
    }
    let collisions = trident::store::users::fill_username_keys(&db)
        .await
        .unwrap();
    assert_eq!(
        collisions,
        vec![stem.clone()],
        "the younger variant is reported"
    );
    let stored = entity::users::Entity::find().all(&db).await.unwrap();
    let key_of = |name: &str| {
        stored
            .iter()
            .find(|u| u.username == name)
            .unwrap()
            .username_key
            .clone()
    };
    assert_eq!(
        key_of(&names[0]),
        Some(stem.clone()),
        "the older account keeps the form"
    );
    assert_eq!(key_of(&names[1]), None, "the younger one gets none");
    assert_eq!(key_of(&names[2]), Some(names[2].clone()));
    let _ = db.close().await;

    // Nobody was merged: each signs in as itself by its exact name.
    for (case, typed, id) in [
        ("the older by its name", names[0].clone(), &ids[0]),
        ("the younger by its name", names[1].clone(), &ids[1]),
        (
            "another variant means the older",
            format!("C{}", &stem[1..]),
            &ids[0],
        ),
        ("an untouched account", names[2].clone(), &ids[2]),
    ] {
        let tokens = app.login_ok(&typed, &app.admin.password).await;
        let me: Value = app.get_me(&bearer(&tokens)).await.json().await.unwrap();
        assert_eq!(me["principal"]["id"], id.as_str(), "case {case}");
    }
}
