//! Connections. SQLite gets one writer connection and a pool of readers (WAL):
//! writes are serialised in-process, so a read-then-write transaction can never
//! fail with SQLITE_BUSY_SNAPSHOT, and reads never wait for writes. PostgreSQL
//! uses one pool for both. The point lookups behind authentication have their
//! own connection: on SQLite they run on the calling thread
//! ([`super::inline_sqlite`]); on PostgreSQL it is the same pool.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::{BoxFuture, FutureExt};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection as _, Executor as _};

use super::inline_sqlite::InlineReader;

/// Which database, where, and how many connections.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub kind: DatabaseKind,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `/readyz` waits for the database before saying it is not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes the readiness write stores: a disk without room for this many more is
/// full for every purpose (on SQLite they are sixteen fresh WAL frames), and
/// writing them every few seconds costs nothing that matters.
const PROBE_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct Db {
    read: DatabaseConnection,
    lookup: DatabaseConnection,
    write: DatabaseConnection,
    /// The PostgreSQL pool, for LISTEN/NOTIFY; `None` on SQLite.
    postgres: Option<sqlx::PgPool>,
    /// This process's name in `write_probes`.
    node: String,
}

/// Whether the SQLite writer may serve the next write: neither SQLite nor sqlx
/// thinks a transaction is still open. After SQLITE_FULL or an I/O error SQLite
/// may roll a transaction back by itself while sqlx still counts it (its ROLLBACK
/// then fails), or a failed ROLLBACK TO SAVEPOINT may leave SQLite inside one:
/// either way every later `begin()` would become a savepoint of a transaction
/// that never commits, acknowledging writes that are then lost. A connection in
/// doubt is closed (which rolls back whatever it held) and the pool opens a new one.
fn is_clean(conn: &mut SqliteConnection) -> BoxFuture<'_, bool> {
    Box::pin(async move {
        // `BEGIN` fails inside a transaction; `BEGIN; ROLLBACK` does no I/O.
        let autocommit =
            conn.execute("BEGIN").await.is_ok() && conn.execute("ROLLBACK").await.is_ok();
        let clean = autocommit && !conn.is_in_transaction();
        if !clean {
            tracing::warn!("the SQLite write connection was left inside a transaction by an error; replacing it");
        }
        clean
    })
}

/// The database holds every digest, the audit log and the sealed signing keys:
/// its file is created readable by its owner only (0600), like the key file
/// beside it; SQLite gives its `-wal` and `-shm` files the database's mode. A
/// file that others may read is narrowed to 0600, and said so.
fn private_database_files(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("creating the database file {}", path.display())))
        }
    }
    let mut companions = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        companions.push(name.into());
    }
    for file in companions.iter().filter(|f| f.exists()) {
        let mode = std::fs::metadata(file)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("narrowing {} to mode 0600", file.display()))?;
            tracing::warn!(file = %file.display(), "the database file was readable by others; now 0600");
        }
    }
    Ok(())
}

impl Db {
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.expose_secret();
        match settings.kind {
            DatabaseKind::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .context("parsing the SQLite URL")?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(BUSY_TIMEOUT);
                let in_memory = url.contains(":memory:");
                if !in_memory {
                    private_database_files(options.get_filename())?;
                }
                let write_pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(BUSY_TIMEOUT)
                    .after_release(|conn, _| is_clean(conn).map(Ok).boxed())
                    .connect_with(options.clone())
                    .await
                    .context("opening the SQLite database")?;
                let write = SqlxSqliteConnector::from_sqlx_sqlite_pool(write_pool);
                let (read, lookup) = if in_memory {
                    (write.clone(), write.clone())
                } else {
                    let read_pool = SqlitePoolOptions::new()
                        .max_connections(settings.max_connections)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .test_before_acquire(false)
                        .connect_with(options.clone().create_if_missing(false))
                        .await
                        .context("opening SQLite readers")?;
                    let lookup = InlineReader::connect(options.get_filename())
                        .await
                        .context("opening the SQLite lookup reader")?;
                    (
                        SqlxSqliteConnector::from_sqlx_sqlite_pool(read_pool),
                        lookup,
                    )
                };
                Ok(Self {
                    read,
                    lookup,
                    write,
                    postgres: None,
                    node: uuid::Uuid::new_v4().to_string(),
                })
            }
            DatabaseKind::Postgres => {
                let options =
                    PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
                // No ping before each use: it doubled the round trips of a cold
                // lookup. A connection that died is found by the query it fails
                // (answered 503, and the pool drops it), and none lives longer
                // than `max_lifetime`.
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await
                    .context("connecting to PostgreSQL")?;
                let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
                Ok(Self {
                    read: conn.clone(),
                    lookup: conn.clone(),
                    write: conn,
                    postgres: Some(pool),
                    node: uuid::Uuid::new_v4().to_string(),
                })
            }
        }
    }

    /// For queries that only read.
    pub fn read(&self) -> &DatabaseConnection {
        &self.read
    }

    /// For the point lookups of authentication (by digest, by client id, the
    /// few signing keys): index probes and tiny tables, never scans of a
    /// growing one; on SQLite they run on the calling thread. Reads only, by
    /// column name (rows come back as maps, so not `into_tuple`), and never in
    /// a transaction: the SQLite connection's `begin` does nothing.
    pub fn lookup(&self) -> &DatabaseConnection {
        &self.lookup
    }

    /// For writes, and transactions that read then write.
    pub fn write(&self) -> &DatabaseConnection {
        &self.write
    }

    /// The PostgreSQL pool, when the database is PostgreSQL.
    pub fn postgres(&self) -> Option<&sqlx::PgPool> {
        self.postgres.as_ref()
    }

    /// Applies the migrations, then gives users made before usernames had a
    /// comparison form theirs, reporting the accounts whose forms collide.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.write, None)
            .await
            .context("running migrations")?;
        let collisions = super::users::fill_username_keys(&self.write)
            .await
            .context("filling in username comparison forms")?;
        for username in collisions {
            tracing::error!(
                %username,
                "this username looks like (or is a case or width variant of) an older account's; \
                 it keeps signing in by its exact name, and a new account cannot take it: \
                 delete one of the two accounts to resolve it"
            );
        }
        Ok(())
    }

    /// True when the database answers a read and takes a write within
    /// [`READY_TIMEOUT`]. The write is a committed upsert of this node's probe
    /// row with fresh random bytes, so a full disk, a read-only file or a lost
    /// write lock shows here and not only in the requests that fail.
    pub async fn is_ready(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        let checks = async {
            self.read.execute_unprepared("SELECT 1").await.is_ok()
                && self.write_probe(now).await.is_ok()
        };
        tokio::time::timeout(READY_TIMEOUT, checks)
            .await
            .unwrap_or(false)
    }

    async fn write_probe(&self, now: chrono::DateTime<chrono::Utc>) -> Result<(), sea_orm::DbErr> {
        use entity::write_probes::{ActiveModel, Column, Entity};
        use sea_orm::sea_query::OnConflict;
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let payload: Vec<u8> = (0..PROBE_BYTES).map(|_| rand::random::<u8>()).collect();
        Entity::insert(ActiveModel {
            node: Set(self.node.clone()),
            checked_at: Set(now),
            payload: Set(payload),
        })
        .on_conflict(
            OnConflict::column(Column::Node)
                .update_columns([Column::CheckedAt, Column::Payload])
                .to_owned(),
        )
        .exec(&self.write)
        .await?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.lookup.close().await;
        let _ = self.write.close().await;
    }
}
