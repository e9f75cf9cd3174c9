//! PostgreSQL over TLS: the `sslmode` of `TRIDENT_DATABASE_URL` is honoured, so
//! nodes on other machines than their database can insist on an encrypted,
//! verified connection. PostgreSQL only (skipped on SQLite).

use std::sync::Arc;

use sea_orm::{ConnectionTrait, Statement};
use trident::clock::SystemClock;
use trident::startup::Application;

use crate::helpers::{postgres_configured, spawn_app_with, test_settings, TestUser};

/// A CA certificate that signed no PostgreSQL server (made for these tests).
const UNRELATED_CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/unrelated-ca.crt"
);

/// `url` with `params` appended to its query.
fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

fn server_url() -> String {
    std::env::var("TRIDENT_TEST_DATABASE_URL").unwrap_or_default()
}

/// Whether the PostgreSQL server under test offers TLS (`SHOW ssl`).
async fn server_offers_tls() -> bool {
    let conn = sea_orm::Database::connect(with_params(&server_url(), "sslmode=disable"))
        .await
        .unwrap();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SHOW ssl",
        ))
        .await
        .unwrap()
        .unwrap();
    let ssl: String = row.try_get_by_index(0).unwrap();
    let _ = conn.close().await;
    ssl == "on"
}

/// Why a server with `database_url` fails to start, or `None` when it starts.
async fn start_error(database_url: &str) -> Option<String> {
    let admin = TestUser {
        id: String::new(),
        username: "admin-tls".into(),
        password: "a-long-enough-password".into(),
    };
    let settings = test_settings(database_url, &format!("{}=", "A".repeat(43)), &admin)
        .validate()
        .unwrap();
    match Application::build(settings, Arc::new(SystemClock)).await {
        Ok(_) => None,
        Err(e) => Some(format!("{e:#}")),
    }
}

#[tokio::test]
async fn sslmode_require_encrypts_every_connection_and_verify_full_checks_the_certificate() {
    if !postgres_configured() {
        return;
    }
    if !server_offers_tls().await {
        // A server without TLS: a URL that requires it must not fall back to plain TCP.
        let error = start_error(&with_params(&server_url(), "sslmode=require")).await;
        let error = error.expect("sslmode=require against a server without TLS must fail");
        assert!(error.contains("PostgreSQL"), "{error}");
        return;
    }

    let app =
        spawn_app_with(|s| s.database_url = with_params(&s.database_url, "sslmode=require")).await;
    let admin = app.admin_auth().await;
    assert_eq!(app.get_me(&admin).await.status(), 200, "the server works");
    let database = app
        .database_url
        .rsplit('/')
        .next()
        .and_then(|last| last.split('?').next())
        .unwrap()
        .to_owned();
    let conn = sea_orm::Database::connect(with_params(&server_url(), "sslmode=disable"))
        .await
        .unwrap();
    let rows = conn
        .query_all(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = $1",
            [database.clone().into()],
        ))
        .await
        .unwrap();
    let _ = conn.close().await;
    let encrypted: Vec<bool> = rows
        .iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect();
    assert!(
        !encrypted.is_empty(),
        "the server holds connections to {database}"
    );
    assert!(
        encrypted.iter().all(|ssl| *ssl),
        "every connection to {database} is encrypted: {encrypted:?}"
    );

    // verify-full with a CA that did not sign the server's certificate: refused,
    // and the reason names the certificate.
    let url = with_params(
        &app.database_url,
        &format!("sslmode=verify-full&sslrootcert={UNRELATED_CA}"),
    );
    let error = start_error(&url)
        .await
        .expect("an unverifiable server certificate must stop the start");
    assert!(
        error.contains("certificate") && error.contains("PostgreSQL"),
        "{error}"
    );
}
