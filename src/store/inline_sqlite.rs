//! SQLite point lookups on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own: each query is
//! handed to that thread and each row handed back, two thread switches or more
//! per query. On a cold credential lookup those switches cost far more than
//! SQLite's own work (a profile of cold introspections: 35–40 % of the CPU in
//! the kernel switching threads, 3 % in SQLite). The lookups behind
//! authentication (a credential by digest with its owner and grants, a client
//! with its live secrets, a revoked JWT id) are index probes that take SQLite a
//! few microseconds, so they run here instead, on the thread that asks, through
//! rusqlite (the same bundled SQLite library sqlx links) behind sea-orm's proxy
//! connection: the queries stay sea-orm's, only where they execute changes.
//! Nothing else goes this way: every write, and every read that may scan, still
//! goes through sqlx. Hand-written because neither sqlx nor sea-orm offers an
//! SQLite executor that runs in place.
//!
//! Values are bound as sqlx stores them (UUIDs as 16-byte blobs, times as
//! RFC 3339 text) and come back typed by each column's declared type, as the
//! entity models expect; the tests read the same rows both ways and compare.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use sea_orm::{
    ConnAcquireErr, Database, DatabaseConnection, DbBackend, DbErr, ProxyDatabaseTrait,
    ProxyExecResult, ProxyRow, RuntimeErr, Statement, Value,
};
use uuid::Uuid;

/// Idle connections kept for the next lookup: one per thread that looks up at
/// once is enough (the server's workers); more are opened when needed and closed after.
const KEEP_IDLE: usize = 8;
/// Prepared statements cached per connection: the lookups are a handful of shapes.
const STATEMENT_CACHE: usize = 32;
/// How long a lookup waits for a lock. A WAL reader waits only in rare cases
/// (another connection recovering the WAL index); the thread waiting here is a
/// server worker serving other requests too, so it gives up soon and the
/// request is answered 503 with `Retry-After` instead.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);
/// A connection is closed after this long, as sqlx retires its own: a database
/// file replaced under the server (a restore) is read within this time.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Runs read-only queries on the calling thread; see the module comment.
#[derive(Debug)]
pub struct InlineReader {
    path: PathBuf,
    idle: Mutex<Vec<Opened>>,
}

#[derive(Debug)]
struct Opened {
    conn: Connection,
    at: Instant,
}

impl InlineReader {
    /// A sea-orm connection whose queries run in place on the database file at
    /// `path` (which must exist, in WAL mode). It only reads.
    pub async fn connect(path: &Path) -> anyhow::Result<DatabaseConnection> {
        let reader = Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        };
        // A file that cannot be opened fails the start, not the first request.
        let first = reader.open().map_err(|e| anyhow::anyhow!(e))?;
        reader.give_back(first);
        let proxy: Arc<Box<dyn ProxyDatabaseTrait>> = Arc::new(Box::new(reader));
        Ok(Database::connect_proxy(DbBackend::Sqlite, proxy).await?)
    }

    fn open(&self) -> rusqlite::Result<Opened> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Read-write only so that a WAL reader may create the shared-memory
        // file; this connection never writes.
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Opened {
            conn,
            at: Instant::now(),
        })
    }

    fn give_back(&self, opened: Opened) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP_IDLE && opened.at.elapsed() < MAX_LIFETIME {
            idle.push(opened);
        }
    }

    fn rows(&self, statement: &Statement) -> Result<Vec<ProxyRow>, DbErr> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let opened = match idle {
            Some(opened) => opened,
            None => self.open().map_err(db_err)?,
        };
        let rows = query(&opened.conn, statement);
        // A connection is stateless between lookups (no transaction is ever
        // opened on it), so even one whose query failed serves the next.
        self.give_back(opened);
        rows
    }
}

#[async_trait::async_trait]
impl ProxyDatabaseTrait for InlineReader {
    async fn query(&self, statement: Statement) -> Result<Vec<ProxyRow>, DbErr> {
        self.rows(&statement)
    }

    async fn execute(&self, _statement: Statement) -> Result<ProxyExecResult, DbErr> {
        Err(writes_refused())
    }
}

/// A write sent here: a programming error, never an unavailable database.
fn writes_refused() -> DbErr {
    DbErr::Custom("the inline SQLite reader only reads; writes go through the writer".into())
}

fn query(conn: &Connection, statement: &Statement) -> Result<Vec<ProxyRow>, DbErr> {
    let mut prepared = conn.prepare_cached(&statement.sql).map_err(db_err)?;
    if !prepared.readonly() {
        // An `INSERT … RETURNING` is a query to sea-orm.
        return Err(writes_refused());
    }
    if let Some(values) = &statement.values {
        for (i, value) in values.0.iter().enumerate() {
            prepared
                .raw_bind_parameter(i + 1, bound(value)?)
                .map_err(db_err)?;
        }
    }
    let columns: Vec<(String, Declared)> = prepared
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), Declared::of(c.decl_type())))
        .collect();
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let mut values = BTreeMap::new();
        for (i, (name, declared)) in columns.iter().enumerate() {
            let value = declared.read(row.get_ref(i).map_err(db_err)?)?;
            values.insert(name.clone(), value);
        }
        out.push(ProxyRow { values });
    }
    Ok(out)
}

/// A parameter as sqlx would bind it, so comparisons with stored values hold.
fn bound(value: &Value) -> Result<SqlValue, DbErr> {
    fn int(v: Option<impl Into<i64>>) -> SqlValue {
        v.map_or(SqlValue::Null, |v| SqlValue::Integer(v.into()))
    }
    Ok(match value {
        Value::Bool(v) => int(*v),
        Value::TinyInt(v) => int(*v),
        Value::SmallInt(v) => int(*v),
        Value::Int(v) => int(*v),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(*v),
        Value::SmallUnsigned(v) => int(*v),
        Value::Unsigned(v) => int(*v),
        // `LIMIT 1`, among others.
        Value::BigUnsigned(v) => match v.map(i64::try_from) {
            None => SqlValue::Null,
            Some(Ok(v)) => SqlValue::Integer(v),
            Some(Err(_)) => return Err(DbErr::Custom(format!("{v:?} is out of SQLite's range"))),
        },
        Value::Float(v) => v.map_or(SqlValue::Null, |v| SqlValue::Real(v.into())),
        Value::Double(v) => v.map_or(SqlValue::Null, SqlValue::Real),
        Value::String(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |s| SqlValue::Text(s.to_string())),
        Value::Bytes(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |b| SqlValue::Blob(b.to_vec())),
        Value::Uuid(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |u| SqlValue::Blob(u.as_bytes().to_vec())),
        // sqlx's encoding of a `DateTime<Utc>`: stored times compare as text.
        Value::ChronoDateTimeUtc(v) => v.as_ref().map_or(SqlValue::Null, |t| {
            SqlValue::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        other => {
            return Err(DbErr::Custom(format!(
                "the inline SQLite reader cannot bind {other:?}"
            )))
        }
    })
}

/// A column's declared type, as the migrations write it for SQLite; it says
/// which typed value the entity models expect.
#[derive(Debug, Clone, Copy)]
enum Declared {
    Uuid,
    Bool,
    Time,
    BigInt,
    Int,
    Bytes,
    Text,
    /// An expression (an aggregate, a literal): typed by the stored value.
    Unknown,
}

impl Declared {
    fn of(declared: Option<&str>) -> Self {
        let Some(declared) = declared else {
            return Self::Unknown;
        };
        let is = |name: &str| declared.eq_ignore_ascii_case(name);
        let starts = |prefix: &str| {
            declared
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        if is("uuid_text") || is("uuid") {
            Self::Uuid
        } else if is("boolean") || is("bool") {
            Self::Bool
        } else if is("bigint") || is("big_integer") {
            Self::BigInt
        } else if is("integer") || is("int") {
            Self::Int
        } else if starts("timestamp") || starts("datetime") {
            Self::Time
        } else if starts("blob") || starts("binary") || starts("varbinary") {
            Self::Bytes
        } else if starts("varchar") || starts("text") || starts("char") {
            Self::Text
        } else {
            Self::Unknown
        }
    }

    fn read(self, stored: ValueRef<'_>) -> Result<Value, DbErr> {
        let mismatch = || {
            DbErr::Type(format!(
                "the inline SQLite reader read {:?} from a {self:?} column",
                stored.data_type()
            ))
        };
        Ok(match (self, stored) {
            (Self::Uuid, ValueRef::Null) => Value::Uuid(None),
            (Self::Uuid, ValueRef::Blob(b)) => {
                Value::from(Uuid::from_slice(b).map_err(|_| mismatch())?)
            }
            (Self::Uuid, ValueRef::Text(t)) => Value::from(
                std::str::from_utf8(t)
                    .ok()
                    .and_then(|t| Uuid::parse_str(t).ok())
                    .ok_or_else(mismatch)?,
            ),
            (Self::Bool, ValueRef::Null) => Value::Bool(None),
            (Self::Bool, ValueRef::Integer(i)) => Value::from(i != 0),
            (Self::Time, ValueRef::Null) => Value::ChronoDateTimeUtc(None),
            (Self::Time, ValueRef::Text(t)) => Value::from(
                std::str::from_utf8(t)
                    .ok()
                    .and_then(parse_time)
                    .ok_or_else(mismatch)?,
            ),
            (Self::Time, ValueRef::Integer(seconds)) => {
                Value::from(DateTime::<Utc>::from_timestamp(seconds, 0).ok_or_else(mismatch)?)
            }
            (Self::BigInt, ValueRef::Null) => Value::BigInt(None),
            (Self::BigInt, ValueRef::Integer(i)) => Value::from(i),
            // An integer expression: sea-orm reads its own (`COUNT(*)`) as an
            // `i32` on SQLite, as sqlx decodes it.
            (Self::Unknown, ValueRef::Integer(i)) => match i32::try_from(i) {
                Ok(small) => Value::from(small),
                Err(_) => Value::from(i),
            },
            (Self::Int, ValueRef::Null) => Value::Int(None),
            (Self::Int, ValueRef::Integer(i)) => {
                Value::from(i32::try_from(i).map_err(|_| mismatch())?)
            }
            (Self::Bytes, ValueRef::Null) => Value::Bytes(None),
            (Self::Bytes | Self::Unknown, ValueRef::Blob(b)) => Value::from(b.to_vec()),
            (Self::Text | Self::Unknown, ValueRef::Null) => Value::String(None),
            (Self::Text | Self::Unknown, ValueRef::Text(t)) => {
                Value::from(std::str::from_utf8(t).map_err(|_| mismatch())?.to_owned())
            }
            (Self::Unknown, ValueRef::Real(r)) => Value::from(r),
            _ => return Err(mismatch()),
        })
    }
}

/// The text forms sqlx writes and reads for a `DateTime<Utc>` in SQLite.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc())
}

/// A driver error as sea-orm's, in the classes [`super::retry_after`] answers
/// 503 for: a lock not granted within the busy timeout is retried soon (as an
/// acquire timeout), storage that cannot serve (out of memory or disk, I/O,
/// cannot open) later (a connection error); anything else is the statement's fault.
fn db_err(err: rusqlite::Error) -> DbErr {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)
        }
        Some(
            ErrorCode::OutOfMemory
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen,
        ) => DbErr::Conn(RuntimeErr::Internal(format!("SQLite: {err}"))),
        _ => DbErr::Query(RuntimeErr::Internal(format!("SQLite: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::*;
    use crate::store::retry_after;

    fn failure(code: i32) -> DbErr {
        db_err(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None))
    }

    #[test]
    fn a_database_that_cannot_serve_now_is_answered_503_and_a_wrong_query_is_not() {
        for code in [ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED] {
            assert_eq!(retry_after(&failure(code)), Some(1), "code {code}");
        }
        for code in [
            ffi::SQLITE_NOMEM,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_FULL,
            ffi::SQLITE_CANTOPEN,
        ] {
            assert_eq!(retry_after(&failure(code)), Some(5), "code {code}");
        }
        // READONLY too: this connection is query-only, so a write reaching it is a bug.
        for code in [
            ffi::SQLITE_ERROR,
            ffi::SQLITE_MISMATCH,
            ffi::SQLITE_CONSTRAINT,
            ffi::SQLITE_READONLY,
        ] {
            assert_eq!(retry_after(&failure(code)), None, "code {code}");
        }
    }

    #[test]
    fn declared_types_say_which_value_the_models_expect() {
        let read =
            |declared: Option<&str>, stored: ValueRef<'_>| Declared::of(declared).read(stored);
        let id = Uuid::new_v4();
        assert!(
            matches!(read(Some("uuid_text"), ValueRef::Blob(id.as_bytes())), Ok(Value::Uuid(Some(u))) if *u == id)
        );
        assert!(matches!(
            read(Some("UUID_TEXT"), ValueRef::Null),
            Ok(Value::Uuid(None))
        ));
        assert!(matches!(
            read(Some("boolean"), ValueRef::Integer(1)),
            Ok(Value::Bool(Some(true)))
        ));
        assert!(matches!(
            read(Some("bigint"), ValueRef::Integer(7)),
            Ok(Value::BigInt(Some(7)))
        ));
        assert!(matches!(
            read(Some("blob(1)"), ValueRef::Blob(b"d")),
            Ok(Value::Bytes(Some(_)))
        ));
        assert!(matches!(
            read(None, ValueRef::Integer(3)),
            Ok(Value::Int(Some(3)))
        ));
        assert!(matches!(
            read(None, ValueRef::Null),
            Ok(Value::String(None))
        ));
        let time = read(
            Some("timestamp_with_timezone_text"),
            ValueRef::Text(b"2026-12-04T20:00:00.123456789+00:00"),
        );
        assert!(
            matches!(time, Ok(Value::ChronoDateTimeUtc(Some(t))) if t.timestamp_subsec_nanos() == 123_456_789)
        );
        // A value of the wrong kind is an error, never a silently different value.
        assert!(read(Some("uuid_text"), ValueRef::Blob(b"short")).is_err());
        assert!(read(Some("boolean"), ValueRef::Text(b"yes")).is_err());
        assert!(read(
            Some("timestamp_with_timezone_text"),
            ValueRef::Text(b"soon")
        )
        .is_err());
    }
}
