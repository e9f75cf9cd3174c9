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
use sea_orm::EntityTrait;
use secrecy::SecretString;
use serde_json::json;
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
    }
    let response = app
        .post_json(
            "/api/v1/personal-access-tokens",
            &auth,
            &json!({"name": "laptop", "scopes": ["api_keys:read"], "expires_in_days": 30}),
        )
        .await;
    assert_eq!(response.status(), 201);
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
    db.close().await;
}
