//! Direct SQLite connections for the SCIM request path, next to the sqlx pool.
//!
//! sqlx runs each SQLite connection on a worker thread of its own and hands every statement and
//! every row across a channel, so one short SCIM request costs several thread wake-ups; on two
//! cores those context switches, not SQLite, set the request rate. Here reads run on the
//! calling thread on connections of a small pool (a `userName` look-up takes tens of
//! microseconds, less than the hand-over would), and writes go to one writer thread that commits
//! the writes queued meanwhile in one transaction, each in a savepoint of its own (group commit:
//! one fsync for many writes, and a failed write undoes only itself). A write is answered only
//! after its transaction committed, so an acknowledged write is as durable as before.
//!
//! The same database stays open through sqlx for everything else; SQLite's own locking orders
//! the two (the writer's `BEGIN IMMEDIATE` waits for a sqlx writer and the other way round).
//! In-memory databases have no second connection to share, so they stay on sqlx alone.

pub(crate) mod scim;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::scim_sql::SqlParam;
use crate::{Result, StoreError};

pub(crate) use writer::Writer;

/// Reader connections kept open between requests (more are opened under load and closed after).
const KEEP_READERS: usize = 8;
/// How long a connection waits for SQLite's write lock before giving up (as the sqlx pool).
const BUSY_FOR: Duration = Duration::from_secs(30);
/// Statements each connection keeps prepared.
const STATEMENT_CACHE: usize = 64;

/// The reader pool and the writer thread of one database file.
pub(crate) struct Direct {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: Writer,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").field("path", &self.path).finish()
    }
}

impl Direct {
    /// Opens the reader pool and starts the writer for a database that sqlx has migrated.
    pub fn open(path: &Path) -> Result<Self> {
        let first = open_connection(path, true)?;
        let writer = Writer::start(open_connection(path, false)?)?;
        Ok(Direct {
            path: path.to_path_buf(),
            readers: Mutex::new(vec![first]),
            writer,
        })
    }

    /// Runs a read on a pooled connection, on the calling thread: for short statements only
    /// (a page of a list, a look-up), which take less time than handing them to a thread would.
    pub fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let conn = self.reader()?;
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < KEEP_READERS {
            pool.push(conn);
        }
        out
    }

    /// Like [`Direct::read`] on a blocking-pool thread, for reads of many rows.
    pub async fn read_long<R: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.read(f))
            .await
            .map_err(|e| StoreError::Database {
                context: "reading from SQLite".into(),
                message: e.to_string(),
            })?
    }

    fn reader(&self) -> Result<Connection> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open_connection(&self.path, true),
        }
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection> {
    let shown = path.display();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| db_error(format!("opening the database {shown}"), &e))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // SQLite's busy timeout sleeps in steps of up to 100 ms; a writer waiting behind another
    // should take over as soon as the lock is free, so poll every millisecond instead.
    conn.busy_handler(Some(busy))
        .map_err(|e| db_error(format!("configuring {shown}"), &e))?;
    // The sqlx pool's settings (foreign keys on, full sync), so both paths write alike.
    let mut pragmas = String::from("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");
    if read_only {
        pragmas.push_str(" PRAGMA query_only = ON;");
    }
    conn.execute_batch(&pragmas)
        .map_err(|e| db_error(format!("configuring {shown}"), &e))?;
    Ok(conn)
}

fn busy(attempt: i32) -> bool {
    std::thread::sleep(Duration::from_millis(1));
    u128::try_from(attempt).unwrap_or(0) < BUSY_FOR.as_millis()
}

pub(crate) fn db_error(context: String, e: &rusqlite::Error) -> StoreError {
    crate::common::db_error(context, e)
}

/// A unique or primary-key index refused the row.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

impl ToSql for SqlParam {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlParam::Text(s) => ToSqlOutput::from(s.as_str()),
            SqlParam::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            SqlParam::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
            SqlParam::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
        })
    }
}
