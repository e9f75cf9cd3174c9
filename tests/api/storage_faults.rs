//! A database that cannot write: a full disk under SQLite, the write connection
//! killed under PostgreSQL. Whatever fails is answered 503 with `Retry-After`,
//! and nothing the server acknowledged is lost or undone.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::helpers::{postgres_configured, spawn_app, spawn_app_with, TestApp};

/// Set where the privileged tests must run (CI runs as root): a test that
/// cannot mount its file system fails there instead of skipping.
const REQUIRE_VAR: &str = "TRIDENT_REQUIRE_PRIVILEGED_TESTS";

/// A tmpfs of a few MiB mounted for one test, unmounted when dropped.
struct TinyFileSystem {
    dir: PathBuf,
}

impl TinyFileSystem {
    /// `None` (the test is skipped) where mounting is not allowed and not required.
    fn mount(size: &str) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("trident-tiny-fs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(&dir)
            .status();
        match status {
            Ok(s) if s.success() => Some(Self { dir }),
            other => {
                let _ = std::fs::remove_dir(&dir);
                assert!(
                    std::env::var(REQUIRE_VAR).is_err(),
                    "{REQUIRE_VAR} is set but a tmpfs cannot be mounted: {other:?}"
                );
                eprintln!("SKIPPED: mounting a tmpfs needs root ({other:?})");
                None
            }
        }
    }

    fn grow(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success(), "remounting the tmpfs");
    }
}

impl Drop for TinyFileSystem {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the server answered while the database could not keep up.
#[derive(Default)]
struct Outcomes {
    created: Vec<(String, String)>,
    revoked: Vec<String>,
    refused: usize,
    unexpected: Vec<String>,
}

/// `writers` tasks creating keys as `auth` (and revoking every third one they
/// made) for `rounds` each.
async fn write_under_pressure(
    app: &TestApp,
    auth: &str,
    writers: usize,
    rounds: usize,
) -> Outcomes {
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let (client, base, auth, outcomes) = (
            app.client.clone(),
            app.address.clone(),
            auth.to_owned(),
            outcomes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for round in 0..rounds {
                let response = client
                    .post(format!("{base}/api/v1/api-keys"))
                    .header("Authorization", &auth)
                    // A long name makes every row cost room.
                    .json(&json!({ "name": format!("w{writer}-r{round}-{}", "x".repeat(90)) }))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let retry_after = response.headers().contains_key("retry-after");
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let mut o = outcomes.lock().await;
                match status {
                    StatusCode::CREATED => {
                        let id = body["id"].as_str().unwrap().to_owned();
                        let key = body["key"].as_str().unwrap().to_owned();
                        o.created.push((id.clone(), key));
                        drop(o);
                        if round % 3 == 0 {
                            let revoked = client
                                .delete(format!("{base}/api/v1/api-keys/{id}"))
                                .header("Authorization", &auth)
                                .send()
                                .await
                                .unwrap();
                            let mut o = outcomes.lock().await;
                            match revoked.status() {
                                StatusCode::NO_CONTENT => o.revoked.push(id),
                                StatusCode::SERVICE_UNAVAILABLE
                                    if revoked.headers().contains_key("retry-after") =>
                                {
                                    o.refused += 1
                                }
                                other => o.unexpected.push(format!("revoke: {other}")),
                            }
                        }
                    }
                    StatusCode::SERVICE_UNAVAILABLE if retry_after => o.refused += 1,
                    other => o.unexpected.push(format!("create: {other} {body}")),
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(outcomes)
        .ok()
        .expect("all writers finished")
        .into_inner()
}

/// What another connection (another process, or this one after a restart) sees:
/// the ids of the stored keys, and of those revoked.
async fn committed_keys(database_url: &str) -> (HashSet<String>, HashSet<String>) {
    use sea_orm::EntityTrait;
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let rows = entity::api_keys::Entity::find().all(&db).await.unwrap();
    let _ = db.close().await;
    let all = rows.iter().map(|k| k.id.to_string()).collect();
    let revoked = rows
        .iter()
        .filter(|k| k.revoked_at.is_some())
        .map(|k| k.id.to_string())
        .collect();
    (all, revoked)
}

/// Every acknowledged key exists and works, every acknowledged revocation holds.
async fn assert_nothing_acknowledged_was_lost(app: &TestApp, outcomes: &Outcomes, case: &str) {
    assert!(
        outcomes.unexpected.is_empty(),
        "case {case}: every failure is a 503 with Retry-After, got {:?}",
        &outcomes.unexpected[..outcomes.unexpected.len().min(5)]
    );
    let (stored, stored_revoked) = committed_keys(&app.database_url).await;
    let lost: Vec<_> = outcomes
        .created
        .iter()
        .filter(|(id, _)| !stored.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "case {case}: {} of {} acknowledged keys are not in the database",
        lost.len(),
        outcomes.created.len()
    );
    let undone: Vec<_> = outcomes
        .revoked
        .iter()
        .filter(|id| !stored_revoked.contains(*id))
        .collect();
    assert!(
        undone.is_empty(),
        "case {case}: {} of {} acknowledged revocations were undone",
        undone.len(),
        outcomes.revoked.len()
    );
    let revoked: HashSet<&String> = outcomes.revoked.iter().collect();
    for (id, key) in &outcomes.created {
        let expected = if revoked.contains(id) { 401 } else { 200 };
        let status = app.get_me(&format!("Api-Key {key}")).await.status();
        assert_eq!(status, expected, "case {case}: key {id}");
    }
}

#[tokio::test]
async fn a_full_disk_loses_no_acknowledged_write_and_answers_503_until_space_returns() {
    let Some(fs) = TinyFileSystem::mount("2m") else {
        return;
    };
    let url = format!("sqlite://{}/trident.db?mode=rwc", fs.dir.display());
    let app = spawn_app_with(|s| s.database_url = url.clone()).await;

    // Fill the disk: writes start failing part way.
    let auth = app.admin_auth().await;
    let full = write_under_pressure(&app, &auth, 8, 400).await;
    assert!(
        full.refused > 0,
        "the file system filled up (created {}, unexpected {:?})",
        full.created.len(),
        &full.unexpected[..full.unexpected.len().min(5)]
    );
    assert_nothing_acknowledged_was_lost(&app, &full, "disk full").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        503,
        "a database that cannot write is not ready"
    );
    assert!(ready.headers().contains_key("retry-after"));

    // No transaction was left open: another process can take the write lock.
    let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
    other
        .execute_unprepared("BEGIN IMMEDIATE; ROLLBACK;")
        .await
        .expect("the server holds no write lock between requests");
    let _ = other.close().await;

    // Space comes back: writes succeed again, and they too are kept.
    fs.grow("64m");
    let after = write_under_pressure(&app, &auth, 8, 20).await;
    assert_eq!(after.refused, 0, "writes succeed once there is room");
    assert_eq!(after.created.len(), 160);
    assert_nothing_acknowledged_was_lost(&app, &after, "space returned").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn killed_write_connections_lose_no_acknowledged_write() {
    if !postgres_configured() {
        return;
    }
    let app = spawn_app().await;
    // Signed in before the connections start dying.
    let auth = app.admin_auth().await;
    let database = app.database_url.rsplit('/').next().unwrap().to_owned();
    let server_url = std::env::var("TRIDENT_TEST_DATABASE_URL").unwrap();
    let killer = tokio::spawn(async move {
        let admin = sea_orm::Database::connect(&server_url).await.unwrap();
        loop {
            let _ = admin
                .execute_unprepared(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{database}' AND pid <> pg_backend_pid() \
                     AND state = 'idle in transaction'"
                ))
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    let outcomes = write_under_pressure(&app, &auth, 8, 60).await;
    killer.abort();
    assert!(!outcomes.created.is_empty());
    assert_nothing_acknowledged_was_lost(&app, &outcomes, "connections killed").await;
}

/// A TCP relay between the app and PostgreSQL that the test can cut, as a
/// stopped database or a broken network would: while cut, every connection is
/// dropped and new ones are closed at once.
struct Relay {
    port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    pipes: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn to(upstream: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pipes: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (upstream, accept_cut, accept_pipes) =
            (upstream.to_owned(), cut.clone(), pipes.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if accept_cut.load(Ordering::SeqCst) {
                    continue; // dropped: the peer sees the connection closed
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accept_pipes.lock().unwrap().push(pipe);
            }
        });
        Self {
            port,
            cut,
            pipes,
            accept,
        }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// The OAuth endpoints' answer while the database is down: RFC 6749's
/// `temporarily_unavailable` with 503 and `Retry-After`, never `server_error`.
async fn assert_temporarily_unavailable(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 503, "case {case}: status");
    assert!(
        response.headers().contains_key("retry-after"),
        "case {case}: Retry-After"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"], "temporarily_unavailable",
        "case {case}: {body}"
    );
}

#[tokio::test]
async fn the_oauth_endpoints_answer_503_while_postgresql_is_unreachable() {
    use crate::introspection::{basic, create_key, fixture_from};
    if !postgres_configured() {
        return;
    }
    let relay = Relay::to("127.0.0.1:5432").await;
    let port = relay.port;
    let app = spawn_app_with(|s| {
        s.database_url = s.database_url.replacen(":5432/", &format!(":{port}/"), 1);
    })
    .await;
    assert!(
        app.database_url.contains(&format!(":{port}/")),
        "the app goes through the relay"
    );
    let fixture = fixture_from(app).await;
    let app = &fixture.app;
    let key = create_key(app, &fixture.admin, json!({ "name": "never seen" })).await;
    let machine = app.seed_client_as(&fixture.admin, &[]).await;

    relay.cut();
    let introspection = app
        .post_form_to(
            &app.url("/oauth/introspect"),
            &[("Authorization", &basic(&fixture.introspector))],
            &[("token", &key.key)],
        )
        .await;
    assert_temporarily_unavailable(introspection, "introspection").await;
    let token = app
        .post_token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &machine.client_id),
                ("client_secret", &machine.client_secret),
            ],
        )
        .await;
    assert_temporarily_unavailable(token, "client credentials").await;
    let revocation = app
        .post_form_to(
            &app.url("/oauth/revoke"),
            &[("Authorization", &format!("Api-Key {}", key.key))],
            &[("token", &key.key)],
        )
        .await;
    assert_temporarily_unavailable(revocation, "revocation").await;

    relay.restore();
    // The pool reconnects by itself; the first requests may still find dead connections.
    let mut status = 0;
    for _ in 0..50 {
        let answer = app
            .post_form_to(
                &app.url("/oauth/introspect"),
                &[("Authorization", &basic(&fixture.introspector))],
                &[("token", &key.key)],
            )
            .await;
        status = answer.status().as_u16();
        if status == 200 {
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["active"], true);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 200,
        "introspection works again once the database is back"
    );
}

#[tokio::test]
async fn on_a_full_disk_keys_still_authenticate_and_a_refused_client_is_told_to_retry() {
    use crate::introspection::{assert_active, create_key, fixture_from};
    let Some(fs) = TinyFileSystem::mount("2m") else {
        return;
    };
    let url = format!("sqlite://{}/trident.db?mode=rwc", fs.dir.display());
    let fixture = fixture_from(spawn_app_with(|s| s.database_url = url.clone()).await).await;
    let app = &fixture.app;
    let key = create_key(
        app,
        &fixture.admin,
        json!({ "name": "first used on a full disk" }),
    )
    .await;
    let machine = app.seed_client_as(&fixture.admin, &[]).await;
    // Fill the disk.
    let full = write_under_pressure(app, &fixture.admin, 4, 100).await;
    assert!(full.refused > 0, "the disk filled up");

    // Reading still works: a valid key is valid, although its first use cannot be written yet.
    assert_active(
        app,
        &fixture.introspector,
        &key.key,
        "first use on a full disk",
    )
    .await;
    assert_eq!(
        app.get_me(&format!("Api-Key {}", key.key)).await.status(),
        200
    );
    // A failed client authentication must be audited; while it cannot be, the client retries.
    let refused = app
        .post_token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &machine.client_id),
                ("client_secret", "tri_cs_wrong"),
            ],
        )
        .await;
    assert_temporarily_unavailable(refused, "failed client authentication").await;

    // Space returns: the deferred first use is written and audited.
    fs.grow("64m");
    let mut audited = false;
    for _ in 0..150 {
        let events = app
            .get_json(
                "/api/v1/audit-events?action=api_key.first_use&limit=100",
                &fixture.admin,
            )
            .await;
        audited = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"]["id"] == key.id.as_str());
        if audited {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(audited, "the first use is audited once the disk has room");
}
