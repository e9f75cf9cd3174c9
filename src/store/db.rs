//! Connections. SQLite gets one writer connection and a pool of readers (WAL):
//! writes are serialised in-process, so a read-then-write transaction can never
//! fail with SQLITE_BUSY_SNAPSHOT, and reads never wait for writes. PostgreSQL
//! uses one pool for both.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::config::{DatabaseKind, DatabaseSettings};

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Db {
    read: DatabaseConnection,
    write: DatabaseConnection,
    /// The PostgreSQL pool, for LISTEN/NOTIFY; `None` on SQLite.
    postgres: Option<sqlx::PgPool>,
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
                let write_pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(BUSY_TIMEOUT)
                    .connect_with(options.clone())
                    .await
                    .context("opening the SQLite database")?;
                let write = SqlxSqliteConnector::from_sqlx_sqlite_pool(write_pool);
                let read = if in_memory {
                    write.clone()
                } else {
                    let read_pool = SqlitePoolOptions::new()
                        .max_connections(settings.max_connections)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .connect_with(options.create_if_missing(false))
                        .await
                        .context("opening SQLite readers")?;
                    SqlxSqliteConnector::from_sqlx_sqlite_pool(read_pool)
                };
                Ok(Self {
                    read,
                    write,
                    postgres: None,
                })
            }
            DatabaseKind::Postgres => {
                let options =
                    PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .context("connecting to PostgreSQL")?;
                let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
                Ok(Self {
                    read: conn.clone(),
                    write: conn,
                    postgres: Some(pool),
                })
            }
        }
    }

    /// For queries that only read.
    pub fn read(&self) -> &DatabaseConnection {
        &self.read
    }

    /// For writes, and transactions that read then write.
    pub fn write(&self) -> &DatabaseConnection {
        &self.write
    }

    /// The PostgreSQL pool, when the database is PostgreSQL.
    pub fn postgres(&self) -> Option<&sqlx::PgPool> {
        self.postgres.as_ref()
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.write, None)
            .await
            .context("running migrations")
    }

    /// True when the database answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        self.read.execute_unprepared("SELECT 1").await.is_ok()
    }

    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.write.close().await;
    }
}
