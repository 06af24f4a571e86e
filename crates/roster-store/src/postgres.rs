//! PostgreSQL, for production and several Roster instances sharing one database.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, Postgres, Transaction};

use crate::common::Context as _;
use crate::{Result, StoreError, redact_url};

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    schema: Option<String>,
    scim_pages: std::sync::Arc<crate::scim_impl::PageAnchors>,
}

impl PgStore {
    /// Connects to `postgres://...` and runs the migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = Self::options(url)?;
        let pool = PgPoolOptions::new()
            .connect_with(options)
            .await
            .with_ctx(|| format!("opening the database {}", redact_url(url)))?;
        Self::migrate(pool, url, None).await
    }

    /// Like [`PgStore::open`], but everything lives in `schema`, created if missing: every
    /// pooled connection sets its `search_path` to it. Gives each test its own database.
    /// `schema` must be a plain lower-case identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<Self> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::Invalid(format!(
                "\"{schema}\" is not a usable schema name: use lower-case letters, digits and _"
            )));
        }
        let options = Self::options(url)?;
        let shown = redact_url(url);
        // Checked above: the name is a plain identifier, so it can be written into SQL.
        let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
        let set_path = format!("SET search_path TO \"{schema}\"");
        {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
                .await
                .with_ctx(|| format!("opening the database {shown}"))?;
            conn.execute(AssertSqlSafe(create))
                .await
                .with_ctx(|| format!("creating schema {schema} in {shown}"))?;
        }
        let pool = PgPoolOptions::new()
            .after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(AssertSqlSafe(set_path)).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_ctx(|| format!("opening the database {shown}"))?;
        Self::migrate(pool, url, Some(schema.to_string())).await
    }

    fn options(url: &str) -> Result<PgConnectOptions> {
        url.parse().map_err(|e| {
            StoreError::Invalid(format!(
                "\"{}\" is not a PostgreSQL database URL: {e}",
                redact_url(url)
            ))
        })
    }

    async fn migrate(pool: PgPool, url: &str, schema: Option<String>) -> Result<Self> {
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| {
                crate::common::db_error(format!("migrating the database {}", redact_url(url)), &e)
            })?;
        Ok(PgStore {
            pool,
            schema,
            scim_pages: Default::default(),
        })
    }

    /// The connection pool, for tests and maintenance tools that need raw SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema given to [`PgStore::open_in_schema`].
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Drops the schema given to [`PgStore::open_in_schema`] with everything in it, and closes
    /// the pool. For tests.
    pub async fn drop_schema(self) -> Result<()> {
        let Some(schema) = self.schema else {
            return Err(StoreError::Invalid(
                "this store was not opened in a schema of its own".into(),
            ));
        };
        // The name was checked by `open_in_schema`.
        let sql = format!("DROP SCHEMA \"{schema}\" CASCADE");
        self.pool
            .execute(AssertSqlSafe(sql))
            .await
            .with_ctx(|| format!("dropping schema {schema}"))?;
        self.pool.close().await;
        Ok(())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.ctx("starting a transaction")
    }

    /// Appenders queue on the head row until the appending transaction commits, so two
    /// instances can never give out the same sequence number or fork the chain.
    /// PostgreSQL has many writers and no per-statement thread hand-over: sqlx only.
    fn direct(&self) -> Option<&std::sync::Arc<crate::sqlite_direct::Direct>> {
        None
    }

    const LOCK_HEAD: &'static str = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";

    /// A second import of the same source waits here until the first commits.
    const LOCK_SOURCE: &'static str =
        "SELECT listed, generation FROM person_source WHERE source = $1 FOR UPDATE";

    const MARKS: crate::common::Marks = crate::common::Marks::Numbered;
}

crate::common::impl_store!(PgStore, sqlx::Postgres, "postgres");
crate::scim_impl::impl_scim_store!(PgStore, sqlx::Postgres, crate::scim_sql::Dialect::Postgres);
