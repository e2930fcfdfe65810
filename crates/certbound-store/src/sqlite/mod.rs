//! The SQLite backend (embedded default): WAL journal, `synchronous=FULL` (unless configured
//! otherwise) so a token is durable
//! before it is returned, foreign keys on, a busy timeout so CLI commands work while the
//! server runs.

use crate::client_cache::{ClientCache, GENERATION_SQL};
use crate::migrate::too_new;
use async_trait::async_trait;
use certbound_core::model::{
    Client, ClientAuthMethod, GrantType, RegisteredCertificate, TokenFormat, User,
};
use certbound_core::secret::TokenHash;
use certbound_core::store::{ClientStore, HealthStore, StoreError, StoreLifecycle, UserStore};
use certbound_mtls::{ClientCertificate, SubjectMatch, Thumbprint};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The writer connection's page cache, in KiB as SQLite's `cache_size` pragma takes it when
/// negative (the default is 2,000 KiB).
const WRITER_CACHE_KIB: &str = "-16000";

/// Schema migrations (`migrations/sqlite/NNNN_*.sql`), applied in order; the version is the
/// index + 1.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_authorization_code.sql"),
    include_str!("../../migrations/sqlite/0003_refresh_rotation.sql"),
    include_str!("../../migrations/sqlite/0004_token_format.sql"),
    include_str!("../../migrations/sqlite/0005_client_management.sql"),
    include_str!("../../migrations/sqlite/0006_dynamic_registration.sql"),
    include_str!("../../migrations/sqlite/0007_client_generation.sql"),
    include_str!("../../migrations/sqlite/0008_grant_writes.sql"),
    include_str!("../../migrations/sqlite/0009_grant_redeems_code.sql"),
    include_str!("../../migrations/sqlite/0010_family_revocation_at_lookup.sql"),
    include_str!("../../migrations/sqlite/0011_user_revocation_by_grant.sql"),
    include_str!("../../migrations/sqlite/0012_foreign_key_indexes.sql"),
    include_str!("../../migrations/sqlite/0013_code_redemptions.sql"),
    include_str!("../../migrations/sqlite/0014_grant_write_statements.sql"),
];

/// Applies `MIGRATIONS[from..to]` in order, recording each version in `certbound_schema`.
async fn apply_migrations(
    c: &mut sqlx::SqliteConnection,
    from: usize,
    to: usize,
) -> Result<(), StoreError> {
    for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
        sqlx::raw_sql(*sql).execute(&mut *c).await.map_err(err)?;
        sqlx::query("INSERT INTO certbound_schema (version) VALUES (?)")
            .bind(i as i64 + 1)
            .execute(&mut *c)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// A SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: group_commit::Writer,
    token_reads: group_read::Reader<group_read::AccessTokens>,
    refresh_reads: group_read::Reader<group_read::RefreshTokens>,
    code_reads: group_read::Reader<group_read::Codes>,
    clients: Arc<ClientCache>,
    /// How [`HealthStore::ping`] opens the file afresh (never creating it).
    ping_options: SqliteConnectOptions,
}

/// A space-separated list column.
pub(super) fn list(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// A thumbprint column (base64url text).
pub(super) fn thumbprint(v: Option<String>) -> Result<Option<Thumbprint>, StoreError> {
    v.map(|c| {
        Thumbprint::from_base64url(&c).ok_or_else(|| StoreError::Corrupt("thumbprint".into()))
    })
    .transpose()
}

fn claims_json(claims: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(claims).map_err(|e| StoreError::Other(e.to_string()))
}

pub(super) fn err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::Dangling,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it; every commit is
    /// durable through power loss.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, true).await
    }

    /// [`SqliteStore::open`]; `full_sync` false fsyncs the log only at checkpoints
    /// (`synchronous=NORMAL`): commits survive a process crash but the last ones may be lost
    /// with power.
    pub async fn open_with(path: &Path, full_sync: bool) -> Result<SqliteStore, StoreError> {
        let synchronous = if full_sync {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            // Statement journals (a multi-row INSERT inside a transaction needs one) in
            // memory, not in a temporary file created and deleted per statement.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // By default sqlx pings a connection both when it returns to the pool and again
            // before lending it out: for SQLite each ping is a round trip to the connection's
            // thread. The ping on return stays (a broken connection is closed there); the
            // second one only added a round trip to every pool read (code flow +2-10 %).
            .test_before_acquire(false)
            // sqlx hands rows from a connection's thread to the task through a channel of 50;
            // a full channel stops the thread until the task has run. Pages of 1,000 clients
            // (start-up checks, listings) then switched threads every 50 rows: with 1024 the
            // scan of a million clients took 16-18 s instead of 21-23 s (alternating starts).
            .connect_with(options.clone().row_buffer_size(1024))
            .await
            // A file that cannot be opened stays so (permissions, a missing directory): not a
            // condition to wait out, unlike an unreachable PostgreSQL server.
            .map_err(|e| StoreError::Other(format!("cannot open {}: {e}", path.display())))?;
        let ping_options = options.clone().create_if_missing(false);
        let token_reads = group_read::Reader::spawn(options.clone());
        let refresh_reads = group_read::Reader::spawn(options.clone());
        let code_reads = group_read::Reader::spawn(options.clone());
        // The writer updates rows written long before: a code redeemed, a refresh token rotated
        // an access-token lifetime after it was issued, a revocation. Those pages have left
        // SQLite's default 2 MB cache and are read back for every batch; a larger cache, for
        // this one connection only, keeps them (issue 9: code redemption +10 % in alternating
        // runs; resident set at most 14 MB more).
        let writer = group_commit::Writer::spawn(options.pragma("cache_size", WRITER_CACHE_KIB));
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
        let store = SqliteStore {
            pool,
            writer,
            token_reads,
            refresh_reads,
            code_reads,
            clients,
            ping_options,
        };
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

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS certbound_schema (version INTEGER NOT NULL)")
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
        let from = usize::try_from(version).unwrap_or(0);
        apply_migrations(&mut tx, from, MIGRATIONS.len()).await?;
        tx.commit().await.map_err(err)
    }

    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM clients WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let certs = self.certificates_of(client_id).await?;
        client_from_row(&row, certs).map(Some)
    }

    async fn certificates_of(
        &self,
        client_id: &str,
    ) -> Result<Vec<RegisteredCertificate>, StoreError> {
        let rows =
            sqlx::query("SELECT der, added_at FROM client_certificates WHERE client_id = ? ORDER BY added_at, rowid")
                .bind(client_id)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
        rows.iter().map(registered_certificate).collect()
    }
}

/// A `client_certificates` row (`der`, `added_at`).
fn registered_certificate(r: &SqliteRow) -> Result<RegisteredCertificate, StoreError> {
    let der: Vec<u8> = r.try_get("der").map_err(err)?;
    let certificate = ClientCertificate::from_der(der)
        .map_err(|e| StoreError::Corrupt(format!("stored certificate: {e}")))?;
    let added_at: i64 = r.try_get("added_at").map_err(err)?;
    Ok(RegisteredCertificate {
        certificate,
        added_at,
    })
}

fn client_from_row(
    r: &SqliteRow,
    certificates: Vec<RegisteredCertificate>,
) -> Result<Client, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("client {what}"));
    let auth_method: String = r.try_get("auth_method").map_err(err)?;
    let subject: Option<String> = r.try_get("subject").map_err(err)?;
    let grant_types: String = r.try_get("grant_types").map_err(err)?;
    let scopes: String = r.try_get("scopes").map_err(err)?;
    let secret_hash: Option<Vec<u8>> = r.try_get("secret_hash").map_err(err)?;
    let lifetime: Option<i64> = r.try_get("access_token_lifetime").map_err(err)?;
    let registration_token_hash: Option<Vec<u8>> =
        r.try_get("registration_token_hash").map_err(err)?;
    Ok(Client {
        trust_store: r.try_get("trust_store").map_err(err)?,
        jwks_uri: r.try_get("jwks_uri").map_err(err)?,
        registration_token_hash: registration_token_hash
            .map(|h| hash32(&h).ok_or_else(|| corrupt("registration_token_hash")))
            .transpose()?,
        client_id: r.try_get("client_id").map_err(err)?,
        name: r.try_get("name").map_err(err)?,
        auth_method: auth_method
            .parse::<ClientAuthMethod>()
            .map_err(|_| corrupt("auth_method"))?,
        secret_hash: secret_hash
            .map(|h| hash32(&h).ok_or_else(|| corrupt("secret_hash")))
            .transpose()?,
        certificates,
        subject: subject
            .map(|s| serde_json::from_str::<SubjectMatch>(&s).map_err(|_| corrupt("subject")))
            .transpose()?,
        grant_types: grant_types
            .split_whitespace()
            .map(|g| g.parse::<GrantType>().map_err(|_| corrupt("grant_types")))
            .collect::<Result<_, _>>()?,
        scopes: list(&scopes),
        redirect_uris: list(&r.try_get::<String, _>("redirect_uris").map_err(err)?),
        bound_tokens: r.try_get("bound_tokens").map_err(err)?,
        access_token_lifetime: lifetime.and_then(|l| u64::try_from(l).ok()),
        access_token_format: r
            .try_get::<Option<String>, _>("access_token_format")
            .map_err(err)?
            .map(|f| {
                f.parse::<TokenFormat>()
                    .map_err(|_| corrupt("access_token_format"))
            })
            .transpose()?,
        can_introspect: r.try_get("can_introspect").map_err(err)?,
        created_at: r.try_get("created_at").map_err(err)?,
    })
}

/// A 32-byte hash column.
fn hash32(bytes: &[u8]) -> Option<TokenHash> {
    <[u8; 32]>::try_from(bytes).ok().map(TokenHash)
}

/// The `subject` column: the registered subject match as JSON.
fn subject_json(c: &Client) -> Result<Option<String>, StoreError> {
    c.subject
        .as_ref()
        .map(|s| serde_json::to_string(s).map_err(|e| StoreError::Other(e.to_string())))
        .transpose()
}

/// Replaces the stored certificates of a client with `c.certificates`.
async fn write_certificates(tx: &mut sqlx::SqliteConnection, c: &Client) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM client_certificates WHERE client_id = ?")
        .bind(&c.client_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    for cert in &c.certificates {
        sqlx::query(
            "INSERT INTO client_certificates (client_id, thumbprint, der, added_at) VALUES (?,?,?,?)",
        )
        .bind(&c.client_id)
        .bind(cert.thumbprint().to_base64url())
        .bind(cert.certificate.der().to_vec())
        .bind(cert.added_at)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    }
    Ok(())
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl StoreLifecycle for SqliteStore {
    /// Commits what the group-commit writer holds, then closes its connection, the reader's
    /// and the pool (the last close checkpoints the write-ahead log).
    async fn close(&self) {
        self.writer.close().await;
        self.token_reads.close().await;
        self.refresh_reads.close().await;
        self.code_reads.close().await;
        self.pool.close().await;
    }
}

#[async_trait]
impl HealthStore for SqliteStore {
    /// Opens the file afresh and reads the schema table: open connections keep working on a
    /// database file that was deleted or replaced (and lose what they write at the next
    /// start), so only a new connection tells whether the file is still there and readable.
    async fn ping(&self) -> Result<(), StoreError> {
        use sqlx::Connection;
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(e.to_string());
        let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&self.ping_options)
            .await
            .map_err(unavailable)?;
        let read =
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM certbound_schema")
                .fetch_one(&mut conn)
                .await;
        let _ = conn.close().await;
        read.map(drop).map_err(unavailable)
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, auth_method, secret_hash, subject, grant_types, scopes, \
             bound_tokens, access_token_lifetime, can_introspect, redirect_uris, access_token_format, \
             trust_store, jwks_uri, registration_token_hash, created_at) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(c.auth_method.as_str())
        .bind(c.secret_hash.map(|h| h.0.to_vec()))
        .bind(subject_json(c)?)
        .bind(join(&c.grant_types))
        .bind(c.scopes.join(" "))
        .bind(c.bound_tokens)
        .bind(c.access_token_lifetime.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
        .bind(c.can_introspect)
        .bind(c.redirect_uris.join(" "))
        .bind(c.access_token_format.map(TokenFormat::as_str))
        .bind(&c.trust_store)
        .bind(&c.jwks_uri)
        .bind(c.registration_token_hash.map(|h| h.0.to_vec()))
        .bind(c.created_at)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        write_certificates(&mut tx, c).await?;
        tx.commit().await.map_err(err)
    }

    async fn update_client(&self, c: &Client) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let done = sqlx::query(
            "UPDATE clients SET name = ?, auth_method = ?, secret_hash = ?, subject = ?, grant_types = ?, \
             scopes = ?, bound_tokens = ?, access_token_lifetime = ?, can_introspect = ?, redirect_uris = ?, \
             access_token_format = ?, trust_store = ?, jwks_uri = ?, registration_token_hash = ? \
             WHERE client_id = ?",
        )
        .bind(&c.name)
        .bind(c.auth_method.as_str())
        .bind(c.secret_hash.map(|h| h.0.to_vec()))
        .bind(subject_json(c)?)
        .bind(join(&c.grant_types))
        .bind(c.scopes.join(" "))
        .bind(c.bound_tokens)
        .bind(c.access_token_lifetime.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
        .bind(c.can_introspect)
        .bind(c.redirect_uris.join(" "))
        .bind(c.access_token_format.map(TokenFormat::as_str))
        .bind(&c.trust_store)
        .bind(&c.jwks_uri)
        .bind(c.registration_token_hash.map(|h| h.0.to_vec()))
        .bind(&c.client_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        write_certificates(&mut tx, c).await?;
        tx.commit().await.map_err(err)?;
        self.clients.invalidate();
        Ok(true)
    }

    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        self.clients
            .find(client_id, self.find_client_uncached(client_id))
            .await
    }

    async fn find_client_uncached(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.load_client(client_id).await?.map(Arc::new))
    }

    /// Two index-range queries (the primary keys), whatever the number of clients, so every
    /// page costs the same; in one read transaction, so both see the same snapshot.
    async fn list_clients_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Client>, StoreError> {
        // Client ids are never empty, so "" sorts before every one of them.
        let after = after.unwrap_or("");
        let mut tx = self.pool.begin().await.map_err(err)?;
        let rows =
            sqlx::query("SELECT * FROM clients WHERE client_id > ? ORDER BY client_id LIMIT ?")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(err)?;
        let Some(last) = rows.last() else {
            // Ended here, not by the drop: a read snapshot left open would hold back the WAL's
            // checkpoints until the connection's next use.
            tx.commit().await.map_err(err)?;
            return Ok(Vec::new());
        };
        let last: String = last.try_get("client_id").map_err(err)?;
        let cert_rows = sqlx::query(
            "SELECT client_id, der, added_at FROM client_certificates \
             WHERE client_id > ? AND client_id <= ? ORDER BY client_id, added_at, rowid",
        )
        .bind(after)
        .bind(&last)
        .fetch_all(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        let mut certs: HashMap<String, Vec<RegisteredCertificate>> = HashMap::new();
        for r in &cert_rows {
            let id: String = r.try_get("client_id").map_err(err)?;
            certs
                .entry(id)
                .or_default()
                .push(registered_certificate(r)?);
        }
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("client_id").map_err(err)?;
                client_from_row(row, certs.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        self.clients.invalidate();
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin, created_at, claims) VALUES (?,?,?,?,?)",
        )
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(u.is_admin)
        .bind(u.created_at)
        .bind(claims_json(&u.claims)?)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn update_user(&self, u: &User) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?, is_admin = ?, claims = ? WHERE username = ?",
        )
        .bind(&u.password_hash)
        .bind(u.is_admin)
        .bind(claims_json(&u.claims)?)
        .bind(&u.username)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query(grants::REVOKE_GRANTS_OF_USER)
            .bind(username)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let done = sqlx::query("DELETE FROM users WHERE username = ?")
            .bind(username)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn update_user_claims(
        &self,
        username: &str,
        claims: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET claims = ? WHERE username = ?")
            .bind(claims_json(claims)?)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

pub(super) fn user_from_row(r: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        username: r.try_get("username").map_err(err)?,
        password_hash: r.try_get("password_hash").map_err(err)?,
        is_admin: r.try_get("is_admin").map_err(err)?,
        created_at: r.try_get("created_at").map_err(err)?,
        claims: serde_json::from_str(&r.try_get::<String, _>("claims").map_err(err)?)
            .map_err(|_| StoreError::Corrupt("user claims".into()))?,
    })
}

mod grant_write;
mod grants;
mod group_commit;
mod group_read;
mod registration;
mod sessions;
#[cfg(test)]
mod tests;
mod worker;
