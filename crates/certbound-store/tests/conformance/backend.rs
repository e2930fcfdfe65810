//! Backend factories (schema names are generated here, hence the audited dynamic SQL): each test gets a fresh, empty, migrated store opened through
//! `certbound_store::open(url)`, the entry point the server uses, plus what the few
//! backend-aware tests need (a second store on the same database, a raw schema-version write).
//! Nothing else in the suite knows which backend it runs against.

use certbound_core::store::{Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Environment variable naming the PostgreSQL server for these tests.
const POSTGRES_URL_VAR: &str = "CERTBOUND_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// A fresh store and the means to reach its database again.
pub struct Backend {
    store: Arc<dyn Store>,
    url: String,
    database: Database,
}

enum Database {
    /// A file in a temporary directory, removed with it.
    Sqlite {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
    },
    /// A schema of its own in the test database, dropped when the backend is.
    Postgres { base_url: String, schema: String },
}

impl Backend {
    /// The store under test.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The store under test, shareable with spawned tasks.
    pub fn shared(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Opens the same database again: another connection pool, as a second node (or the CLI
    /// next to a running server) would. Runs the migrations again.
    pub async fn reopen(&self) -> Result<Arc<dyn Store>, StoreError> {
        certbound_store::open(&self.url).await
    }

    /// Records schema version `version` in the version table, as a newer certbound would.
    pub async fn record_schema_version(&self, version: i64) {
        match &self.database {
            Database::Sqlite { path, .. } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                sqlx::query("INSERT INTO certbound_schema (version) VALUES (?)")
                    .bind(version)
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            Database::Postgres { base_url, schema } => {
                let pool = postgres_admin(base_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO \"{schema}\".certbound_schema (version) VALUES ($1)"
                )))
                .bind(version)
                .execute(&pool)
                .await
                .unwrap();
                pool.close().await;
            }
        }
    }
}

/// A store in a new SQLite file.
pub async fn open_sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conformance.db");
    let url = format!("sqlite://{}", path.display());
    let store = certbound_store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    Backend {
        store,
        url,
        database: Database::Sqlite { _dir: dir, path },
    }
}

/// A store in a new schema of the PostgreSQL test database.
pub async fn open_postgres() -> Backend {
    let base_url =
        std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let schema = unique_schema_name();
    let admin = postgres_admin(&base_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("creating schema {schema}: {e}"));
    admin.close().await;
    let url = schema_url(&base_url, &schema);
    // Dropped (with the schema) even if opening fails.
    let database = Database::Postgres { base_url, schema };
    let store = match certbound_store::open(&url).await {
        Ok(store) => store,
        Err(e) => {
            drop_postgres_schema(&database);
            panic!("opening {url}: {e}");
        }
    };
    Backend {
        store,
        url,
        database,
    }
}

/// The storage URL selecting `schema` (created by the backend if missing): the libpq
/// `options` parameter setting `search_path`.
fn schema_url(base_url: &str, schema: &str) -> String {
    let sep = if base_url.contains('?') { '&' } else { '?' };
    format!("{base_url}{sep}options=-c%20search_path%3D{schema}")
}

/// A connection to the test database itself, or the failure every PostgreSQL test reports.
async fn postgres_admin(base_url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(base_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {base_url}: start it or set {POSTGRES_URL_VAR} ({e})"
            )
        })
}

/// `cbconf_<pid>_<nanos>_<n>`: unique across concurrent tests and test processes.
fn unique_schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cbconf_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops a test schema from a thread of its own (drop cannot await, and may run while a
/// failed test unwinds inside the test's runtime).
fn drop_postgres_schema(database: &Database) {
    let Database::Postgres { base_url, schema } = database else {
        return;
    };
    let (base_url, schema) = (base_url.clone(), schema.clone());
    let dropper = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(pool) = sqlx::PgPool::connect(&base_url).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(&pool)
                .await;
                pool.close().await;
            }
        });
    });
    let _ = dropper.join();
}

impl Drop for Backend {
    fn drop(&mut self) {
        drop_postgres_schema(&self.database);
    }
}
