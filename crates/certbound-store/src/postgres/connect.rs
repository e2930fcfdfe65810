//! Connecting to PostgreSQL: pool options, the schema named by the URL's `search_path`,
//! migrations under an advisory lock, and the mapping of connection failures to
//! `StoreError::Unavailable` (so requests get 503 with `Retry-After` while the database is
//! away). No queries of the store traits here.

use super::PgStore;
use crate::StoreOptions;
use crate::client_cache::{ClientCache, GENERATION_SQL};
use crate::migrate::too_new;
use certbound_core::store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Schema migrations (`migrations/postgres/NNNN_*.sql`), applied in order; the version is the
/// index + 1. Version 1 is the whole schema of SQLite versions 1 to 6.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_initial.sql"),
    include_str!("../../migrations/postgres/0002_client_generation.sql"),
    include_str!("../../migrations/postgres/0003_user_revocation_by_grant.sql"),
];

/// The key of the `pg_advisory_xact_lock` held while migrating ("certbnd!" in ASCII), so
/// nodes starting together migrate one after the other.
const MIGRATION_LOCK: i64 = 0x6365_7274_626e_6421;

/// Default pool size for PostgreSQL.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Maps a sqlx error: lost or refused connections (I/O, TLS, protocol, pool timeouts, SQLSTATE
/// class 08, 57P01-57P03 shutdown/starting up, 53300 too many connections) are `Unavailable`.
pub(crate) fn err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::Dangling,
        sqlx::Error::Database(d) if d.code().is_some_and(|c| unavailable_sqlstate(&c)) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

/// SQLSTATEs meaning "the server is not there right now".
fn unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Where the URL points, for error messages (never the password).
pub(super) fn describe(o: &PgConnectOptions) -> String {
    format!(
        "PostgreSQL at {}:{} (database {}, user {})",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("(default)"),
        o.get_username()
    )
}

impl PgStore {
    /// Connects to the database of a `postgres://` URL, creates the first schema of its
    /// `search_path` if missing, and migrates. A database that cannot be reached gives
    /// `Unavailable` with a message naming the host and what to check.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<PgStore, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
        let target = describe(&connect);
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS))
            .acquire_timeout(opts.connect_timeout)
            .idle_timeout(Some(Duration::from_secs(60)))
            .test_before_acquire(true)
            .connect_with(connect)
            .await
            .map_err(|e| match err(e) {
                StoreError::Unavailable(m) => StoreError::Unavailable(format!(
                    "cannot connect to {target}: {m}; check that PostgreSQL is running and reachable from this host, and the host, port, user, password and database in [storage] url"
                )),
                other => other,
            })?;
        let generation_pool = pool.clone();
        let clients = ClientCache::start(move || {
            let pool = generation_pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(GENERATION_SQL)
                    .fetch_one(&pool)
                    .await
                    .map_err(err)
            }
        });
        let store = PgStore { pool, clients };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema version after migrating.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM certbound_schema")
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        Ok(v.unwrap_or(0))
    }

    /// Applies pending migrations in one transaction under an advisory lock; refuses a schema
    /// newer than this build knows.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        create_first_schema(&mut tx).await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS certbound_schema (version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM certbound_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let version = version.unwrap_or(0);
        if version > MIGRATIONS.len() as i64 {
            return Err(too_new(version, MIGRATIONS.len()));
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(err)?;
            sqlx::query("INSERT INTO certbound_schema (version) VALUES ($1)")
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }
}

/// Creates the first schema of the session's `search_path` (set with the URL's
/// `options=-c search_path=NAME`) when it does not exist yet. `"$user"` is left alone.
async fn create_first_schema(tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    let path: String = sqlx::query_scalar("SELECT current_setting('search_path')")
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
    let Some(first) = first_schema(&path) else {
        return Ok(());
    };
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&first)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
    if !exists {
        let quoted = format!("\"{}\"", first.replace('"', "\"\""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted}"
        )))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tracing::info!(schema = %first, "created the PostgreSQL schema named by search_path");
    }
    Ok(())
}

/// The first entry of a `search_path` value, unquoted; None for `"$user"` or an empty path.
pub(super) fn first_schema(path: &str) -> Option<String> {
    let first = path.split(',').next()?.trim();
    let name = match first.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(q) => q.replace("\"\"", "\""),
        None => first.to_lowercase(),
    };
    (!name.is_empty() && name != "$user").then_some(name)
}
