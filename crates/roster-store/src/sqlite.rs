//! The embedded default: one SQLite file in WAL mode (readers never wait for the writer), with
//! foreign keys on and a busy timeout so concurrent writers queue instead of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Sqlite, Transaction};

use crate::common::Context as _;
use crate::{Result, StoreError, redact_url};

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    scim_pages: std::sync::Arc<crate::scim_impl::PageAnchors>,
    /// Direct connections for the SCIM request path (`sqlite_direct`); none in memory.
    direct: Option<std::sync::Arc<crate::sqlite_direct::Direct>>,
}

impl SqliteStore {
    /// Opens (creating if missing) `sqlite://PATH`, or a private in-memory database for
    /// `sqlite::memory:`, and runs the migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let shown = redact_url(url);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url).map_err(|e| {
            StoreError::Invalid(format!("\"{shown}\" is not a SQLite database URL: {e}"))
        })?;
        options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Lets the connection's worker thread read ahead of a consumer that is busy
            // (hashing audit pages), instead of handing rows over 50 at a time.
            .row_buffer_size(4096);
        let mut pool = SqlitePoolOptions::new();
        let file = (!in_memory).then(|| options.get_filename().to_path_buf());
        if in_memory {
            // Each connection to `:memory:` would be a database of its own, and the database
            // lives only while a connection is open: keep exactly one, forever.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            options = options.journal_mode(SqliteJournalMode::Wal);
            if let Some(dir) = options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    crate::common::db_error(
                        format!("creating the directory {} for {shown}", dir.display()),
                        &e,
                    )
                })?;
            }
        }
        let pool = pool
            .connect_with(options)
            .await
            .with_ctx(|| format!("opening the database {shown}"))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| crate::common::db_error(format!("migrating the database {shown}"), &e))?;
        let direct = match file {
            Some(path) => Some(std::sync::Arc::new(crate::sqlite_direct::Direct::open(
                &path,
            )?)),
            None => None,
        };
        Ok(SqliteStore {
            pool,
            scim_pages: Default::default(),
            direct,
        })
    }

    /// The connection pool, for tests and maintenance tools that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads and then writes could fail with "database is locked"
    /// when another writer got there in between, which the busy timeout cannot wait out.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .ctx("starting a write transaction")
    }

    fn direct(&self) -> Option<&std::sync::Arc<crate::sqlite_direct::Direct>> {
        self.direct.as_ref()
    }

    /// Writers are serialised by `BEGIN IMMEDIATE`, so reading the head needs no lock.
    const LOCK_HEAD: &'static str = crate::common::HEAD_SELECT;

    /// `BEGIN IMMEDIATE` already keeps other imports out.
    const LOCK_SOURCE: &'static str = crate::common::SOURCE_GENERATION;

    /// Generated statements use anonymous `?` (see `Marks::Anonymous` for why).
    const MARKS: crate::common::Marks = crate::common::Marks::Anonymous;
}

crate::common::impl_store!(SqliteStore, sqlx::Sqlite, "sqlite");
crate::scim_impl::impl_scim_store!(SqliteStore, sqlx::Sqlite, crate::scim_sql::Dialect::Sqlite);
