//! The `trident` binary as an operator runs it: exit codes, JSON on standard
//! output, the files it creates, and what `serve` publishes afterwards.
//!
//! Every child runs in its own temporary working directory with every
//! `TRIDENT_*` variable of the test's environment removed, so a developer's
//! shell settings cannot leak in. These tests use SQLite only: the commands
//! behave the same on PostgreSQL, whose storage the HTTP tests cover.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::helpers::jwt::jwt_header;

/// Longest any one-shot command may take (argon2 and RSA keys in a debug build included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest `trident serve` may take to answer `/healthz`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A temporary working directory, removed when the test ends.
struct Workdir {
    path: PathBuf,
}

impl Workdir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("trident-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("creating a temp dir");
        Self { path }
    }

    fn join(&self, relative: &str) -> PathBuf {
        self.path.join(relative)
    }

    /// `trident ARGS` in this directory, with no inherited `TRIDENT_*` settings.
    fn trident(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trident"));
        command.args(args).current_dir(&self.path);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TRIDENT_") {
                command.env_remove(name);
            }
        }
        command
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs a one-shot command to completion, feeding `stdin` to it, within [`COMMAND_TIMEOUT`].
async fn run(command: Command, stdin: &str) -> Output {
    let mut command = tokio::process::Command::from(command);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("starting trident");
    let mut input = child.stdin.take().expect("a piped stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("writing stdin");
    drop(input);
    tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .expect("trident finishes in time")
        .expect("waiting for trident")
}

fn stdout_json(output: &Output, case: &str) -> Value {
    assert!(
        output.status.success(),
        "{case}: expected success, got {:?}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{case}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `trident serve`, killed when dropped — also when an assertion fails first.
struct RunningServer {
    child: Child,
    address: String,
    log: PathBuf,
}

impl RunningServer {
    /// Starts `trident serve` on a port the system picks (`127.0.0.1:0`: no other
    /// process can take it between a probe and the bind), reads that port from the
    /// server's log line, and waits (bounded) until `/healthz` answers there.
    async fn start(workdir: &Workdir) -> Self {
        let log = workdir.join("serve.log");
        let child = workdir
            .trident(&["serve"])
            .env("TRIDENT_BIND", "127.0.0.1:0")
            .env("TRIDENT_WORKERS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("creating the server log"))
            .spawn()
            .expect("starting trident serve");
        let mut server = RunningServer {
            child,
            address: String::new(),
            log,
        };
        let port = server.wait_for_port().await;
        server.address = format!("http://127.0.0.1:{port}");
        server.wait_until_healthy().await;
        server
    }

    /// The port of the log's `trident is listening port=…` line, once it is written.
    async fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            let log = self.log();
            let port = log
                .lines()
                .find(|line| line.contains("trident is listening"))
                .and_then(|line| line.split_once(" port=")?.1.split(' ').next()?.parse().ok());
            if let Some(port) = port {
                return port;
            }
            assert!(
                self.child.try_wait().expect("polling the server").is_none(),
                "trident serve exited before listening; its log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "trident serve did not listen within {STARTUP_TIMEOUT:?}; its log:\n{}",
            self.log()
        );
    }

    /// Waits (bounded) until `/healthz` answers 200.
    async fn wait_until_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            assert!(
                self.child.try_wait().expect("polling the server").is_none(),
                "trident serve exited; its log:\n{}",
                self.log()
            );
            let healthy = client
                .get(format!("{}/healthz", self.address))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if healthy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "trident serve did not answer /healthz within {STARTUP_TIMEOUT:?}; its log:\n{}",
            self.log()
        );
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON answer to `GET url`.
async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// (case, environment, arguments, the setting the error must name)
type ConfigCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
    &'static str,
);

#[tokio::test]
async fn invalid_configuration_exits_with_code_2_and_one_line_naming_the_setting() {
    let cases: &[ConfigCase] = &[
        (
            "unparseable bind address",
            &[("TRIDENT_BIND", "nonsense")],
            &["serve"],
            "TRIDENT_BIND",
        ),
        (
            "symmetric signing algorithm",
            &[("TRIDENT_SIGNING_ALGORITHM", "HS256")],
            &["serve"],
            "TRIDENT_SIGNING_ALGORITHM",
        ),
        (
            "PostgreSQL without a master key",
            &[(
                "TRIDENT_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            )],
            &["serve"],
            "TRIDENT_MASTER_KEY",
        ),
        (
            "unsupported database",
            &[("TRIDENT_DATABASE_URL", "mysql://root@127.0.0.1/trident")],
            &["migrate"],
            "TRIDENT_DATABASE_URL",
        ),
        (
            "issuer that is not an http(s) URL",
            &[("TRIDENT_ISSUER", "ftp://auth.example.com")],
            &["serve"],
            "TRIDENT_ISSUER",
        ),
        (
            "admin username without a password",
            &[("TRIDENT_ADMIN_USERNAME", "root")],
            &["serve"],
            "TRIDENT_ADMIN_USERNAME",
        ),
        (
            "access token lifetime below the minimum",
            &[("TRIDENT_ACCESS_TOKEN_TTL", "1")],
            &["serve"],
            "TRIDENT_ACCESS_TOKEN_TTL",
        ),
        (
            "refresh token lifetime below the minimum",
            &[("TRIDENT_REFRESH_TOKEN_TTL", "10")],
            &["serve"],
            "TRIDENT_REFRESH_TOKEN_TTL",
        ),
        (
            "unknown log format",
            &[("TRIDENT_LOG_FORMAT", "xml")],
            &["serve"],
            "TRIDENT_LOG_FORMAT",
        ),
        (
            "no login attempts allowed",
            &[("TRIDENT_LOGIN_ATTEMPTS_PER_MINUTE", "0")],
            &["serve"],
            "TRIDENT_LOGIN_ATTEMPTS_PER_MINUTE",
        ),
        (
            "empty connection pool",
            &[("TRIDENT_DB_MAX_CONNECTIONS", "0")],
            &["serve"],
            "TRIDENT_DB_MAX_CONNECTIONS",
        ),
        (
            "symmetric algorithm for a rotation",
            &[],
            &["keys", "rotate", "--algorithm", "HS256"],
            "--algorithm",
        ),
    ];
    for (case, vars, args, setting) in cases {
        let workdir = Workdir::new();
        let mut command = workdir.trident(args);
        command.envs(vars.iter().copied());
        let output = run(command, "").await;
        let stderr = stderr_of(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "case {case}: exit code; stderr: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "case {case}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "case {case}: one line on stderr: {stderr}");
        assert!(
            lines[0].contains(setting),
            "case {case}: the message names {setting}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "case {case}: nothing on stdout: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(
            !workdir.join("trident.db").exists() && !workdir.join("trident.db.key").exists(),
            "case {case}: nothing is created before the settings are valid"
        );
    }
}

#[tokio::test]
async fn migrate_creates_a_fresh_sqlite_database_and_prints_json() {
    let workdir = Workdir::new();
    let first = run(workdir.trident(&["migrate"]), "").await;
    assert_eq!(
        stdout_json(&first, "first migrate"),
        json!({ "migrated": true })
    );
    assert!(
        workdir.join("trident.db").exists(),
        "the default database is trident.db in the working directory"
    );
    let again = run(workdir.trident(&["migrate"]), "").await;
    assert_eq!(
        stdout_json(&again, "second migrate"),
        json!({ "migrated": true }),
        "migrating twice is harmless"
    );
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin_and_refuses_a_duplicate() {
    let workdir = Workdir::new();
    let create = || {
        workdir.trident(&[
            "user",
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--role",
            "admin",
        ])
    };
    let output = run(create(), "correct-horse-battery\n").await;
    let user = stdout_json(&output, "user create");
    let id = user["id"].as_str().expect("an id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "the id is a UUID: {id}");
    assert_eq!(user["username"], "alice");
    assert_eq!(user["roles"], json!(["admin"]));
    assert!(
        !stderr_of(&output).contains("correct-horse-battery"),
        "the password is never echoed"
    );

    let duplicate = run(create(), "another-password-1\n").await;
    let stderr = stderr_of(&duplicate);
    assert!(
        !duplicate.status.success(),
        "a second alice is refused; stdout: {}",
        String::from_utf8_lossy(&duplicate.stdout)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(duplicate.stdout.is_empty(), "a refused user prints no JSON");

    // The password that went in through stdin is the one that logs in.
    let server = RunningServer::start(&workdir).await;
    let client = reqwest::Client::new();
    for (password, status) in [("correct-horse-battery", 200), ("another-password-1", 401)] {
        let response = client
            .post(server.url("/api/v1/auth/token"))
            .json(&json!({ "username": "alice", "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            status,
            "login with {password}; server log:\n{}",
            server.log()
        );
    }
}

#[tokio::test]
async fn rotated_keys_stay_published_and_the_newest_signs() {
    let workdir = Workdir::new();
    let output = run(workdir.trident(&["keys", "rotate"]), "").await;
    let first = stdout_json(&output, "first rotation");
    assert_eq!(first["algorithm"], "ES256", "the default algorithm");
    let output = run(
        workdir.trident(&["keys", "rotate", "--algorithm", "RS256"]),
        "",
    )
    .await;
    let second = stdout_json(&output, "second rotation");
    assert_eq!(second["algorithm"], "RS256");
    let (old_kid, new_kid) = (
        first["kid"].as_str().expect("a kid"),
        second["kid"].as_str().expect("a kid"),
    );
    assert_ne!(old_kid, new_kid, "a rotation makes a new key");

    let output = run(
        workdir.trident(&["user", "create", "--username", "bob", "--password-stdin"]),
        "bob-password-123\n",
    )
    .await;
    assert_eq!(
        stdout_json(&output, "user create")["roles"],
        json!(["user"])
    );

    let server = RunningServer::start(&workdir).await;
    let client = reqwest::Client::new();
    // Bound to port 0, the derived issuer names the port the system picked.
    let metadata = get_json(
        &client,
        &server.url("/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(metadata["issuer"], server.address.as_str());
    assert!(
        server.log().contains(&format!("issuer={}", server.address)),
        "the log names the issuer: {}",
        server.log()
    );
    let jwks = get_json(&client, &server.url("/.well-known/jwks.json")).await;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("a JWK set")
        .iter()
        .filter_map(|key| key["kid"].as_str())
        .collect();
    for kid in [old_kid, new_kid] {
        assert!(
            published.contains(&kid),
            "{kid} is published: {published:?}"
        );
    }

    let tokens: Value = client
        .post(server.url("/api/v1/auth/token"))
        .json(&json!({ "username": "bob", "password": "bob-password-123" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jwt_header(tokens["access_token"].as_str().expect("an access token"));
    assert_eq!(header["kid"], new_kid, "the newest key signs");
    assert_eq!(header["alg"], "RS256");
}

#[tokio::test]
async fn client_create_prints_a_client_that_can_get_a_token() {
    let workdir = Workdir::new();
    let output = run(
        workdir.trident(&[
            "client",
            "create",
            "--name",
            "billing-worker",
            "--role",
            "user",
        ]),
        "",
    )
    .await;
    let client = stdout_json(&output, "client create");
    let client_id = client["client_id"].as_str().expect("a client_id");
    let secret = client["client_secret"].as_str().expect("a client_secret");
    assert!(secret.starts_with("tri_cs_"), "a client secret: {client}");
    assert_eq!(client["roles"], json!(["user"]));

    let server = RunningServer::start(&workdir).await;
    let response = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the printed credentials work; server log:\n{}",
        server.log()
    );
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
}

#[tokio::test]
async fn sqlite_keeps_the_master_key_in_a_private_file_beside_the_database() {
    let workdir = Workdir::new();
    std::fs::create_dir_all(workdir.join("data")).unwrap();
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        workdir.join("data/auth.db").display()
    );
    let rotate = || {
        let mut command = workdir.trident(&["keys", "rotate"]);
        command.env("TRIDENT_DATABASE_URL", &database_url);
        command
    };
    stdout_json(&run(rotate(), "").await, "first rotation");

    let key_file = workdir.join("data/auth.db.key");
    assert_key_file(&key_file);
    let key = std::fs::read(&key_file).unwrap();
    // The database holds as much as the key: it is as private.
    assert_private(&workdir.join("data/auth.db"));

    // The next command reuses the key: it can still open the keys sealed before.
    stdout_json(&run(rotate(), "").await, "second rotation");
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        key,
        "the key file is kept"
    );
}

fn assert_key_file(path: &Path) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} exists: {e}", path.display()));
    let key = STANDARD.decode(text.trim()).expect("a base64 key");
    assert_eq!(key.len(), 32, "a 256-bit key");
    assert_private(path);
}

fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{} exists: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{} is private", path.display());
}

#[tokio::test]
async fn an_existing_database_readable_by_others_is_narrowed_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let workdir = Workdir::new();
    let path = workdir.join("old.db");
    let database_url = format!("sqlite://{}?mode=rwc", path.display());
    let migrate = || {
        let mut command = workdir.trident(&["migrate"]);
        command.env("TRIDENT_DATABASE_URL", &database_url);
        command
    };
    stdout_json(&run(migrate(), "").await, "first migration");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    stdout_json(&run(migrate(), "").await, "second migration");
    assert_private(&path);
}
