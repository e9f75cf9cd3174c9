//! Rotating a client's secret: the previous secrets' grace period, or none.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use super::{fixture, fixture_from, post_form, Fixture};
use crate::helpers::{assert_problem, client_basic_auth, TestApp, TestClient};

/// Rotates `client`'s secret with `grace_seconds` (or the default), returning the new secret.
async fn rotate(
    app: &TestApp,
    admin: &str,
    client: &TestClient,
    grace_seconds: Option<i64>,
) -> String {
    let path = format!("/api/v1/clients/{}/secrets", client.id);
    let body = match grace_seconds {
        Some(grace) => json!({"grace_seconds": grace}),
        None => json!({}),
    };
    let response = app.post_json(&path, admin, &body).await;
    assert_eq!(
        response.status(),
        201,
        "rotating with grace {grace_seconds:?}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], client.client_id.as_str());
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, client.client_secret, "a new secret");
    secret
}

fn with_secret(client: &TestClient, secret: &str) -> TestClient {
    TestClient {
        id: client.id.clone(),
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        client_secret: secret.to_owned(),
    }
}

async fn secret_works(app: &TestApp, client: &TestClient) -> bool {
    let basic = app
        .post_token(
            Some(&client_basic_auth(&client.client_id, &client.client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await
        .status();
    let post = app.post_token(None, &post_form(client, &[])).await.status();
    assert_eq!(basic, post, "both auth methods agree");
    assert!(basic == 200 || basic == 401, "status {basic}");
    basic == 200
}

#[tokio::test]
async fn a_rotated_secret_keeps_working_during_its_grace_and_stops_after_it() {
    // The grace period is ended behind the server's back (as time would), so the
    // credential cache, which rightly remembers the old end, is off here.
    let Fixture {
        app, admin, client, ..
    } = fixture_from(crate::helpers::spawn_app_with(|s| s.credential_cache = false).await).await;
    let before = crate::helpers::utc_now();
    let path = format!("/api/v1/clients/{}/secrets", client.id);
    let response = app.post_json(&path, &admin, &json!({})).await;
    assert_eq!(response.status(), 201);
    let rotated: Value = response.json().await.unwrap();
    let expires: chrono::DateTime<chrono::Utc> = rotated["previous_secrets_expire_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let grace = (expires - before).num_seconds();
    assert!(
        (86_390..=86_410).contains(&grace),
        "default grace is a day: {grace}"
    );
    let new = with_secret(&client, rotated["client_secret"].as_str().unwrap());

    assert!(
        secret_works(&app, &client).await,
        "the old secret inside its grace"
    );
    assert!(secret_works(&app, &new).await, "the new secret");

    // End the grace period without sleeping: move the old secret's expiry into the past.
    let db = app.db().await;
    let row_id = uuid::Uuid::parse_str(&client.id).unwrap();
    let moved = entity::client_secrets::Entity::update_many()
        .col_expr(
            entity::client_secrets::Column::ExpiresAt,
            Expr::value(crate::helpers::utc_now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::client_secrets::Column::ClientId.eq(row_id))
        .filter(entity::client_secrets::Column::ExpiresAt.is_not_null())
        .exec(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    assert_eq!(moved.rows_affected, 1, "one secret was in its grace period");

    assert!(
        !secret_works(&app, &client).await,
        "the old secret after its grace"
    );
    assert!(
        secret_works(&app, &new).await,
        "the new secret after the grace"
    );
}

#[tokio::test]
async fn rotating_with_no_grace_stops_the_previous_secrets_at_once() {
    let Fixture {
        app, admin, client, ..
    } = fixture().await;
    let second = with_secret(&client, &rotate(&app, &admin, &client, None).await);
    let third = with_secret(&client, &rotate(&app, &admin, &client, Some(0)).await);
    for (case, c, works) in [
        ("the first secret", &client, false),
        ("the second secret", &second, false),
        ("the newest secret", &third, true),
    ] {
        assert_eq!(secret_works(&app, c).await, works, "case {case}");
    }
    for (case, grace) in [("negative grace", -1), ("grace over 30 days", 2_592_001)] {
        let response = app
            .post_json(
                &format!("/api/v1/clients/{}/secrets", client.id),
                &admin,
                &json!({"grace_seconds": grace}),
            )
            .await;
        assert_problem(response, 422, case).await;
    }
    assert!(
        secret_works(&app, &third).await,
        "refused rotations change nothing"
    );
}
