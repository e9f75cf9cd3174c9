//! The test harness: `spawn_app()` starts the real server on a random port
//! against a fresh database — SQLite always, PostgreSQL when
//! `TRIDENT_TEST_DATABASE_URL` is set (a new database per app, dropped afterwards).

pub mod jwt;

use std::sync::Arc;

use base64::Engine;
use rand::distributions::{Alphanumeric, DistString};
use reqwest::{Client, Response};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use trident::clock::{Clock, SystemClock};
use trident::config::RawSettings;
use trident::startup::Application;

pub use jwt::{jwt_claims, jwt_segment};

/// Now, as the test apps read it: they run on the system clock.
pub fn utc_now() -> chrono::DateTime<chrono::Utc> {
    SystemClock.now()
}

pub struct TestUser {
    pub id: String,
    pub username: String,
    pub password: String,
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: Client,
    pub admin: TestUser,
    /// The URL of the database this app uses (SQLite file or PostgreSQL database).
    pub database_url: String,
    pub master_key: String,
    _database: TestDatabase,
}

/// A throwaway database, removed when the test ends.
enum TestDatabase {
    Sqlite(std::path::PathBuf),
    Postgres { server_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDatabase::Postgres { server_url, name } => {
                let (server_url, name) = (server_url.clone(), name.clone());
                // Drop runs inside the test's runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        if let Ok(conn) = sea_orm::Database::connect(&server_url).await {
                            let _ = conn
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

pub fn random_string(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

/// True when the tests run on PostgreSQL (`TRIDENT_TEST_DATABASE_URL`).
pub fn postgres_configured() -> bool {
    std::env::var("TRIDENT_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
}

async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("TRIDENT_TEST_DATABASE_URL") {
        Ok(server_url) if !server_url.is_empty() => {
            let name = format!("trident_test_{}", uuid::Uuid::new_v4().simple());
            let conn = sea_orm::Database::connect(&server_url)
                .await
                .expect("TRIDENT_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
            conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("creating the test database");
            let _ = conn.close().await;
            let (base, _) = server_url
                .rsplit_once('/')
                .expect("a PostgreSQL URL with a database name");
            (
                format!("{base}/{name}"),
                TestDatabase::Postgres { server_url, name },
            )
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("trident-test-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).expect("creating a temp dir");
            let url = format!("sqlite://{}/trident.db?mode=rwc", dir.display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

/// Settings a test app starts with; `spawn_app_with` lets a test change them.
pub fn test_settings(database_url: &str, master_key: &str, admin: &TestUser) -> RawSettings {
    RawSettings {
        database_url: database_url.to_owned(),
        bind: "127.0.0.1:0".parse().unwrap(),
        issuer: None,
        admin_username: Some(admin.username.clone()),
        admin_password: Some(admin.password.clone().into()),
        master_key: Some(master_key.into()),
        signing_algorithm: trident::keys::SigningAlgorithm::Es256,
        access_token_ttl: 600,
        refresh_token_ttl: 86_400,
        session_max_lifetime: 30 * 86_400,
        ui_session_ttl: 28_800,
        client_token_ttl: 900,
        client_auth_failures_per_minute: 1_000,
        introspections_per_minute: 600_000,
        allow_registration: false,
        api_key_on_user_create: true,
        credential_cache: true,
        credential_cache_mb: 64,
        pat_max_lifetime_days: 366,
        log_format: trident::config::LogFormat::Text,
        login_attempts_per_minute: 1_000,
        password_hash_concurrency: 2,
        workers: 2,
        db_max_connections: 8,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut RawSettings)) -> TestApp {
    spawn_app_on(Arc::new(SystemClock), customise).await
}

/// A test app whose time is `clock` (a `ManualClock` lets deadlines pass at once).
pub async fn spawn_app_on(
    clock: Arc<dyn Clock>,
    customise: impl FnOnce(&mut RawSettings),
) -> TestApp {
    let (database_url, database) = fresh_database().await;
    let master_key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let mut admin = TestUser {
        id: String::new(),
        username: format!("admin-{}", random_string(6).to_lowercase()),
        password: random_string(24),
    };
    let mut raw = test_settings(&database_url, &master_key, &admin);
    customise(&mut raw);
    // A test may have pointed the app at a database of its own.
    let database_url = raw.database_url.clone();
    let settings = raw.validate().expect("valid test settings");
    let app = Application::build(settings, clock)
        .await
        .expect("the application starts");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let address = format!("http://127.0.0.1:{port}");
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // Below the server's keep-alive (5 s): never reuse a connection it is closing.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let mut test_app = TestApp {
        address,
        port,
        client,
        admin: TestUser {
            id: String::new(),
            username: String::new(),
            password: String::new(),
        },
        database_url,
        master_key,
        _database: database,
    };
    let token = test_app.login_ok(&admin.username, &admin.password).await;
    let me: Value = test_app
        .get_me(&format!(
            "Bearer {}",
            token["access_token"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    admin.id = me["principal"]["id"].as_str().unwrap().to_owned();
    test_app.admin = admin;
    test_app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the token response, asserting success.
    pub async fn login_ok(&self, username: &str, password: &str) -> Value {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200, "login of {username} should succeed");
        response.json().await.unwrap()
    }

    /// A fresh `Authorization` value for the administrator.
    pub async fn admin_auth(&self) -> String {
        let tokens = self
            .login_ok(&self.admin.username, &self.admin.password)
            .await;
        format!("Bearer {}", tokens["access_token"].as_str().unwrap())
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/token/refresh"))
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_me(&self, authorization: &str) -> Response {
        self.client
            .get(self.url("/api/v1/me"))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` as `authorization`, asserting 200; the JSON body.
    pub async fn get_json(&self, path: &str, authorization: &str) -> Value {
        let response = self.get(path, authorization).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, authorization: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, authorization: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("Authorization", authorization)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, authorization: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .header("Authorization", authorization)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, authorization: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .header("Authorization", authorization)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, authorization: &str) -> Response {
        self.client
            .delete(self.url(path))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// Creates a user through the admin API and returns it with its password.
    pub async fn seed_user(&self, roles: &[&str]) -> TestUser {
        let username = format!("user-{}", random_string(8).to_lowercase());
        let password = random_string(20);
        let response = self
            .post_json(
                "/api/v1/users",
                &self.admin_auth().await,
                &json!({ "username": username, "password": password, "roles": roles }),
            )
            .await;
        assert_eq!(response.status(), 201, "seeding a user");
        let body: Value = response.json().await.unwrap();
        TestUser {
            id: body["id"].as_str().unwrap().to_owned(),
            username,
            password,
        }
    }

    /// A fresh `Authorization` value for `user`.
    pub async fn auth_for(&self, user: &TestUser) -> String {
        let tokens = self.login_ok(&user.username, &user.password).await;
        format!("Bearer {}", tokens["access_token"].as_str().unwrap())
    }
}

/// Asserts an RFC 9457 problem response with `status`, returning its body.
pub async fn assert_problem(response: Response, status: u16, case: &str) -> Value {
    assert_eq!(response.status(), status, "case {case}: status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "case {case}: content type"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "case {case}: status member");
    body
}

/// `Bearer <access_token>` from a token response.
pub fn bearer(tokens: &Value) -> String {
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

/// The `refresh_token` of a token response.
pub fn refresh_token_of(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// A reqwest client whose connections come from `ip` (any 127.x.y.z works on Linux
/// loopback), so a test can play several source addresses.
pub fn client_from(ip: [u8; 4]) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // Below the server's keep-alive (5 s): never reuse a connection it is closing.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

/// Asserts the uniform 401: problem+json and a `Bearer` challenge.
pub async fn assert_unauthenticated(response: Response, case: &str) -> Value {
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer")),
        "case {case}: a Bearer challenge, got {challenges:?}"
    );
    assert_problem(response, 401, case).await
}

impl TestApp {
    /// Logs in through `client` (e.g. one from [`client_from`]).
    pub async fn login_via(&self, client: &Client, username: &str, password: &str) -> Response {
        client
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn logout(&self, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/logout"))
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .unwrap()
    }

    pub async fn logout_all(&self, authorization: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/logout-all"))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// Like [`TestApp::seed_user`], reusing an administrator's `Authorization` (one login fewer).
    pub async fn seed_user_as(&self, authorization: &str, roles: &[&str]) -> TestUser {
        let username = format!("user-{}", random_string(8).to_lowercase());
        let password = random_string(20);
        let response = self
            .post_json(
                "/api/v1/users",
                authorization,
                &json!({ "username": username, "password": password, "roles": roles }),
            )
            .await;
        assert_eq!(response.status(), 201, "seeding a user");
        let body: Value = response.json().await.unwrap();
        TestUser {
            id: body["id"].as_str().unwrap().to_owned(),
            username,
            password,
        }
    }

    /// A direct connection to the app's database, for checking what is stored.
    /// Moves the end of the API key `id` into the past, as time would.
    pub async fn expire_api_key(&self, id: &str) {
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let db = self.db().await;
        let changed = entity::api_keys::Entity::update_many()
            .col_expr(
                entity::api_keys::Column::ExpiresAt,
                Expr::value(utc_now() - chrono::Duration::days(1)),
            )
            .filter(entity::api_keys::Column::Id.eq(uuid::Uuid::parse_str(id).unwrap()))
            .exec(&db)
            .await
            .unwrap();
        assert_eq!(changed.rows_affected, 1, "key {id}");
        let _ = db.close().await;
    }

    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(&self.database_url)
            .await
            .unwrap()
    }
}

/// A registered OAuth2 client and the secret it was issued.
pub struct TestClient {
    /// The resource id used in `/api/v1/clients/{id}`.
    pub id: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    pub name: String,
    pub client_secret: String,
}

/// `Basic` client credentials as RFC 6749 §2.3.1 asks: each part
/// form-urlencoded, then joined with `:` and base64-encoded.
pub fn client_basic_auth(client_id: &str, secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

impl TestApp {
    /// `POST /oauth/token` with a form body and, optionally, an `Authorization` header.
    pub async fn post_token(&self, authorization: Option<&str>, form: &[(&str, &str)]) -> Response {
        let mut request = self.client.post(self.url("/oauth/token")).form(form);
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        request.send().await.unwrap()
    }

    /// Creates a role with a random name holding `permissions`; returns its name.
    pub async fn seed_role_as(&self, authorization: &str, permissions: &[&str]) -> String {
        let name = format!("role-{}", random_string(8).to_lowercase());
        let response = self
            .post_json(
                "/api/v1/roles",
                authorization,
                &json!({ "name": name, "permissions": permissions }),
            )
            .await;
        assert_eq!(response.status(), 201, "seeding role {name}");
        name
    }

    /// Registers an OAuth2 client holding `roles` through the admin API.
    pub async fn seed_client_as(&self, authorization: &str, roles: &[&str]) -> TestClient {
        let name = format!("machine-{}", random_string(6).to_lowercase());
        let response = self
            .post_json(
                "/api/v1/clients",
                authorization,
                &json!({ "name": name, "roles": roles }),
            )
            .await;
        assert_eq!(response.status(), 201, "seeding client {name}");
        let body: Value = response.json().await.unwrap();
        TestClient {
            id: body["id"].as_str().unwrap().to_owned(),
            client_id: body["client_id"].as_str().unwrap().to_owned(),
            name,
            client_secret: body["client_secret"].as_str().unwrap().to_owned(),
        }
    }
}

impl TestApp {
    /// `POST` a form to `url` (from [`TestApp::url`], or another node's address) with `headers`.
    pub async fn post_form_to(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Response {
        let mut request = self.client.post(url).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

/// Starts another server on `app`'s database, as a second `trident serve` node
/// would: same database, master key and issuer (a cluster shares one issuer, so
/// each node accepts the JWTs the others sign). The administrator exists already,
/// so bootstrapping is a no-op. Returns the node's base address.
pub async fn spawn_node(app: &TestApp) -> String {
    let mut raw = test_settings(&app.database_url, &app.master_key, &app.admin);
    raw.issuer = Some(app.address.clone());
    let settings = raw.validate().expect("valid settings for a second node");
    let node = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("the second node starts");
    let address = format!("http://127.0.0.1:{}", node.port());
    tokio::spawn(node.run_until_stopped());
    address
}
