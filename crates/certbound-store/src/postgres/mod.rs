//! The PostgreSQL backend, for several certbound nodes sharing one database: the same
//! semantics as SQLite, with every "exactly one caller wins" rule (code redemption, refresh
//! rotation, initial access token uses, registration token compare-and-swap) a single
//! conditional `UPDATE`, which PostgreSQL serializes on the row. Connection handling and
//! migrations are in `connect`; this file holds clients and users.

use async_trait::async_trait;
use certbound_core::model::{
    Client, ClientAuthMethod, GrantType, RegisteredCertificate, TokenFormat, User,
};
use certbound_core::secret::TokenHash;
use certbound_core::store::{ClientStore, StoreError, StoreLifecycle, UserStore};
use certbound_mtls::{ClientCertificate, SubjectMatch, Thumbprint};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use std::collections::BTreeMap;
use std::sync::Arc;

mod connect;
pub use connect::DEFAULT_MAX_CONNECTIONS;
pub(crate) use connect::err;

/// A PostgreSQL database (a pool of connections to it).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    clients: std::sync::Arc<crate::client_cache::ClientCache>,
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

/// A client query: the row with its certificates, read in one statement (one snapshot, so a concurrent
/// `update_client` is seen entirely or not at all).
macro_rules! select_client {
    ($rest:literal) => {
        concat!("SELECT c.*, \
    ARRAY(SELECT der FROM client_certificates cc WHERE cc.client_id = c.client_id ORDER BY added_at, seq) AS cert_ders, \
    ARRAY(SELECT added_at FROM client_certificates cc WHERE cc.client_id = c.client_id ORDER BY added_at, seq) AS cert_added \
    FROM clients c ", $rest)
    };
}

/// The certificates of a `select_client!` row.
fn certificates_of(r: &PgRow) -> Result<Vec<RegisteredCertificate>, StoreError> {
    let ders: Vec<Vec<u8>> = r.try_get("cert_ders").map_err(err)?;
    let added: Vec<i64> = r.try_get("cert_added").map_err(err)?;
    ders.into_iter()
        .zip(added)
        .map(|(der, added_at)| {
            let certificate = ClientCertificate::from_der(der)
                .map_err(|e| StoreError::Corrupt(format!("stored certificate: {e}")))?;
            Ok(RegisteredCertificate {
                certificate,
                added_at,
            })
        })
        .collect()
}

fn client_from_row(
    r: &PgRow,
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
async fn write_certificates(tx: &mut sqlx::PgConnection, c: &Client) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM client_certificates WHERE client_id = $1")
        .bind(&c.client_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    for cert in &c.certificates {
        sqlx::query(
            "INSERT INTO client_certificates (client_id, thumbprint, der, added_at) VALUES ($1,$2,$3,$4)",
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
impl StoreLifecycle for PgStore {
    /// Waits for the connections in use to come back, then closes the pool (every write is
    /// its own committed transaction, so there is nothing else to flush).
    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl certbound_core::store::HealthStore for PgStore {
    /// A pooled connection answering a read of the schema table.
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM certbound_schema")
            .fetch_one(&self.pool)
            .await
            .map(drop)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl ClientStore for PgStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, auth_method, secret_hash, subject, grant_types, scopes, \
             bound_tokens, access_token_lifetime, can_introspect, redirect_uris, access_token_format, \
             trust_store, jwks_uri, registration_token_hash, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
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
            "UPDATE clients SET name = $1, auth_method = $2, secret_hash = $3, subject = $4, grant_types = $5, \
             scopes = $6, bound_tokens = $7, access_token_lifetime = $8, can_introspect = $9, redirect_uris = $10, \
             access_token_format = $11, trust_store = $12, jwks_uri = $13, registration_token_hash = $14 \
             WHERE client_id = $15",
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
            // Ended here rather than by the drop, whose rollback waits for the connection's
            // next use: until then the transaction stays open with its locks (a test's schema
            // drop once waited on them for ever).
            tx.rollback().await.map_err(err)?;
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
        let row = sqlx::query(select_client!("WHERE c.client_id = $1"))
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| client_from_row(&r, certificates_of(&r)?).map(Arc::new))
            .transpose()
    }

    async fn list_clients_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Client>, StoreError> {
        // Client ids are never empty, so "" sorts before every one of them.
        let rows = sqlx::query(select_client!(
            "WHERE c.client_id > $1 ORDER BY c.client_id LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        rows.iter()
            .map(|r| client_from_row(r, certificates_of(r)?))
            .collect()
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        self.clients.invalidate();
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin, created_at, claims) VALUES ($1,$2,$3,$4,$5)",
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
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
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
            "UPDATE users SET password_hash = $1, is_admin = $2, claims = $3 WHERE username = $4",
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
        grants::revoke_grants_of_user(&mut tx, username).await?;
        let done = sqlx::query("DELETE FROM users WHERE username = $1")
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
        let done = sqlx::query("UPDATE users SET claims = $1 WHERE username = $2")
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

pub(super) fn user_from_row(r: &PgRow) -> Result<User, StoreError> {
    Ok(User {
        username: r.try_get("username").map_err(err)?,
        password_hash: r.try_get("password_hash").map_err(err)?,
        is_admin: r.try_get("is_admin").map_err(err)?,
        created_at: r.try_get("created_at").map_err(err)?,
        claims: serde_json::from_str(&r.try_get::<String, _>("claims").map_err(err)?)
            .map_err(|_| StoreError::Corrupt("user claims".into()))?,
    })
}

mod grants;
#[cfg(test)]
mod races;
mod registration;
mod sessions;
#[cfg(test)]
mod testdb;
#[cfg(test)]
mod tests;
