//! On SQLite the lookups behind authentication run on the calling thread
//! (`store::inline_sqlite`), not through sqlx. Both ways must read the same
//! rows: every column of every table those lookups touch, and the lookups
//! themselves, with the values they bind (digests, client ids, times).

use chrono::Duration;
use entity::{
    api_keys, client_roles, client_secrets, clients, personal_access_tokens,
    refresh_token_families, refresh_tokens, revoked_jtis, role_permissions, roles, signing_keys,
    user_roles, users,
};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};
use secrecy::SecretString;
use serde_json::{json, Value};
use trident::store::{self, DatabaseKind, DatabaseSettings, Db};

use crate::helpers::{postgres_configured, spawn_app, utc_now};

/// Every row of `E`, read through sqlx and through the inline reader.
async fn same_rows<E>(db: &Db, table: &str)
where
    E: EntityTrait,
    E::Model: PartialEq + std::fmt::Debug,
{
    let through_sqlx = E::find().all(db.read()).await.unwrap();
    let inline = E::find().all(db.lookup()).await.unwrap();
    assert!(!through_sqlx.is_empty(), "{table}: the test seeds rows");
    assert_eq!(inline, through_sqlx, "{table}");
}

#[tokio::test]
async fn the_inline_sqlite_reader_reads_what_sqlx_reads() {
    if postgres_configured() {
        // PostgreSQL's lookups use the pool: there is nothing to compare.
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin_auth().await;
    let role = app
        .seed_role_as(
            &admin,
            &[
                "api_keys:read",
                "api_keys:write",
                "tokens:write",
                "tokens:introspect",
            ],
        )
        .await;
    let user = app.seed_user(&[role.as_str()]).await;
    let auth = app.auth_for(&user).await;
    // Nullable columns with values in them, not only NULLs: a key used once
    // (last use), rotated (the new key's `rotated_from`, the old one's expiry),
    // one revoked, a used PAT.
    let mut keys = Vec::new();
    for body in [
        json!({"name": "live"}),
        json!({
            "name": "narrow",
            "environment": "test",
            "scopes": ["api_keys:read"],
            "expires_at": (utc_now() + Duration::days(3)).to_rfc3339(),
        }),
    ] {
        let response = app.post_json("/api/v1/api-keys", &auth, &body).await;
        assert_eq!(response.status(), 201, "{body}");
        keys.push(response.json::<Value>().await.unwrap());
    }
    let (live, narrow) = (&keys[0], &keys[1]);
    let used = app
        .get_me(&format!("Api-Key {}", live["key"].as_str().unwrap()))
        .await;
    assert_eq!(used.status(), 200);
    let rotated = app
        .post_json(
            &format!("/api/v1/api-keys/{}/rotate", live["id"].as_str().unwrap()),
            &auth,
            &json!({"grace_seconds": 600}),
        )
        .await;
    assert!(rotated.status().is_success(), "{}", rotated.status());
    let revoked = app
        .delete(
            &format!("/api/v1/api-keys/{}", narrow["id"].as_str().unwrap()),
            &auth,
        )
        .await;
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let response = app
        .post_json(
            "/api/v1/personal-access-tokens",
            &auth,
            &json!({"name": "laptop", "scopes": ["api_keys:read"], "expires_in_days": 30}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let pat: Value = response.json().await.unwrap();
    let used = app
        .get_me(&format!("Bearer {}", pat["token"].as_str().unwrap()))
        .await;
    assert_eq!(used.status(), 200);
    let client = app.seed_client_as(&admin, &[role.as_str()]).await;
    // A second secret with an expiry (the first one's grace period).
    let response = app
        .post_json(
            &format!("/api/v1/clients/{}/secrets", client.id),
            &admin,
            &json!({"grace_seconds": 600}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .patch_json(
            &format!("/api/v1/clients/{}", client.id),
            &admin,
            &json!({"access_token_ttl_seconds": 300}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    // A used refresh token and a revoked session (family).
    let session = app.login_ok(&user.username, &user.password).await;
    let refreshed = app
        .refresh(session["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    let ended = app
        .logout(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert!(ended.status().is_success(), "{}", ended.status());
    // A revoked JWT id: the user's own access token, revoked by its holder.
    let tokens = app.login_ok(&user.username, &user.password).await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .post_form_to(
            &app.url("/oauth/revoke"),
            &[("authorization", &format!("Bearer {access}"))],
            &[("token", access)],
        )
        .await;
    assert_eq!(response.status(), 200);

    let db = Db::connect(&DatabaseSettings {
        url: SecretString::from(app.database_url.clone()),
        kind: DatabaseKind::Sqlite,
        max_connections: 2,
    })
    .await
    .unwrap();
    same_rows::<users::Entity>(&db, "users").await;
    same_rows::<roles::Entity>(&db, "roles").await;
    same_rows::<role_permissions::Entity>(&db, "role_permissions").await;
    same_rows::<user_roles::Entity>(&db, "user_roles").await;
    same_rows::<client_roles::Entity>(&db, "client_roles").await;
    same_rows::<api_keys::Entity>(&db, "api_keys").await;
    same_rows::<personal_access_tokens::Entity>(&db, "personal_access_tokens").await;
    same_rows::<clients::Entity>(&db, "clients").await;
    same_rows::<client_secrets::Entity>(&db, "client_secrets").await;
    same_rows::<refresh_token_families::Entity>(&db, "refresh_token_families").await;
    same_rows::<refresh_tokens::Entity>(&db, "refresh_tokens").await;
    same_rows::<signing_keys::Entity>(&db, "signing_keys").await;
    same_rows::<revoked_jtis::Entity>(&db, "revoked_jtis").await;

    let stored = api_keys::Entity::find().all(db.lookup()).await.unwrap();
    for (what, present) in [
        (
            "a revocation",
            stored.iter().any(|k| k.revoked_at.is_some()),
        ),
        (
            "a rotation",
            stored.iter().any(|k| k.rotated_from.is_some()),
        ),
        (
            "a last use",
            stored.iter().any(|k| k.last_used_at.is_some()),
        ),
        ("an expiry", stored.iter().any(|k| k.expires_at.is_some())),
        ("scopes", stored.iter().any(|k| k.scopes.is_some())),
    ] {
        assert!(present, "the keys compared hold {what}, not only NULLs");
    }
    let families = refresh_token_families::Entity::find()
        .all(db.lookup())
        .await
        .unwrap();
    assert!(
        families.iter().any(|f| f.revoked_at.is_some()),
        "an ended session is compared"
    );

    // The lookups, with what they bind.
    for key in api_keys::Entity::find().all(db.read()).await.unwrap() {
        let lookup = |conn| {
            store::owned::find_by_digest::<api_keys::Entity>(
                conn,
                api_keys::Column::Digest,
                api_keys::Column::UserId,
                &key.digest,
            )
        };
        let through_sqlx = lookup(db.read()).await.unwrap().unwrap();
        let inline = lookup(db.lookup()).await.unwrap().unwrap();
        assert_eq!(inline.credential, through_sqlx.credential);
        assert_eq!(inline.owner, through_sqlx.owner);
        assert_eq!(inline.grants, through_sqlx.grants);
        assert!(
            !inline.grants.roles.is_empty(),
            "the owner's roles are aggregated"
        );
    }
    let unknown = store::owned::find_by_digest::<api_keys::Entity>(
        db.lookup(),
        api_keys::Column::Digest,
        api_keys::Column::UserId,
        &[0u8; 32],
    )
    .await
    .unwrap();
    assert!(unknown.is_none(), "an unknown digest finds nothing");

    // Now, with both secrets live; and after the old one's grace, with one.
    for (at, live) in [(utc_now(), 2), (utc_now() + Duration::hours(1), 1)] {
        let through_sqlx =
            store::clients::find_for_authentication(db.read(), &client.client_id, at)
                .await
                .unwrap()
                .unwrap();
        let inline = store::clients::find_for_authentication(db.lookup(), &client.client_id, at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(inline.client, through_sqlx.client);
        assert_eq!(inline.secrets, through_sqlx.secrets);
        assert_eq!(inline.grants, through_sqlx.grants);
        assert_eq!(inline.secrets.len(), live, "secrets live at {at}");
    }
    // A write sent to the lookup connection by mistake is refused as a bug
    // (never executed, never a 503).
    let write = db
        .lookup()
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            "INSERT INTO roles (name, description, builtin, created_at) \
             VALUES ('sneaky', '', 0, '2026-01-01T00:00:00+00:00') RETURNING name",
        ))
        .await
        .expect_err("the lookup connection only reads");
    assert_eq!(store::retry_after(&write), None, "{write}");
    let sneaky = roles::Entity::find_by_id("sneaky")
        .one(db.read())
        .await
        .unwrap();
    assert!(sneaky.is_none(), "nothing was written");
    db.close().await;
}
