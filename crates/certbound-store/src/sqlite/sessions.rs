//! Browser sessions, remembered consents and signing keys in SQLite.

use super::{SqliteStore, err, list};
use async_trait::async_trait;
use certbound_core::jose::{JwsAlg, SigningKey};
use certbound_core::model::{Consent, Session, User};
use certbound_core::secret::TokenHash;
use certbound_core::store::{KeyStore, SessionStore, StoreError};
use sqlx::Row;

/// The consent columns both consent queries select, named apart from the users' columns.
macro_rules! consent_columns {
    () => {
        "consents.username AS consent_username, consents.client_id AS consent_client_id, \
         consents.scopes AS consent_scopes, consents.claims AS consent_claims, \
         consents.created_at AS consent_created_at"
    };
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (session_hash, sid, username, auth_time, expires_at) VALUES (?,?,?,?,?)")
            .bind(s.hash.0.to_vec())
            .bind(&s.sid)
            .bind(&s.username)
            .bind(s.auth_time)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn find_session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE session_hash = ?")
            .bind(hash.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| {
            Ok(Session {
                hash: *hash,
                sid: r.try_get("sid").map_err(err)?,
                username: r.try_get("username").map_err(err)?,
                auth_time: r.try_get("auth_time").map_err(err)?,
                expires_at: r.try_get("expires_at").map_err(err)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = ?")
            .bind(hash.0.to_vec())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn find_consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<Option<Consent>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consents WHERE username = ? AND client_id = ?"
        ))
        .bind(username)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.as_ref().map(consent_from_row).transpose()
    }

    /// One query: the user, and their consent for the client when there is one.
    async fn find_user_with_consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<Option<(User, Option<Consent>)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT u.*, ",
            consent_columns!(),
            " FROM users AS u LEFT JOIN consents \
             ON consents.username = u.username AND consents.client_id = ?2 \
             WHERE u.username = ?1"
        ))
        .bind(username)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let consent: Option<String> = r.try_get("consent_scopes").map_err(err)?;
        let consent = match consent {
            Some(_) => Some(consent_from_row(&r)?),
            None => None,
        };
        Ok(Some((super::user_from_row(&r)?, consent)))
    }

    async fn upsert_consent(&self, c: &Consent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (username, client_id, scopes, claims, created_at) VALUES (?,?,?,?,?) \
             ON CONFLICT (username, client_id) DO UPDATE SET scopes = excluded.scopes, claims = excluded.claims, \
             created_at = excluded.created_at",
        )
        .bind(&c.username)
        .bind(&c.client_id)
        .bind(c.scopes.join(" "))
        .bind(c.claims.join(" "))
        .bind(c.created_at)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn delete_consent(&self, username: &str, client_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM consents WHERE username = ? AND client_id = ?")
            .bind(username)
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn list_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let alg: String = r.try_get("alg").map_err(err)?;
                let alg: JwsAlg = alg
                    .parse()
                    .map_err(|_| StoreError::Corrupt("signing key alg".into()))?;
                SigningKey::from_parts(
                    r.try_get("kid").map_err(err)?,
                    alg,
                    r.try_get("pkcs8").map_err(err)?,
                    r.try_get("cert_der").map_err(err)?,
                    r.try_get("created_at").map_err(err)?,
                    r.try_get("retire_at").map_err(err)?,
                )
                .map_err(|e| StoreError::Corrupt(format!("signing key: {e}")))
            })
            .collect()
    }

    async fn insert_key(&self, k: &SigningKey) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO signing_keys (kid, alg, pkcs8, cert_der, created_at, retire_at) VALUES (?,?,?,?,?,?)")
            .bind(k.kid())
            .bind(k.alg().as_str())
            .bind(k.pkcs8())
            .bind(k.cert_der())
            .bind(k.created_at())
            .bind(k.retire_at())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn set_key_retire_at(&self, kid: &str, retire_at: Option<i64>) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET retire_at = ? WHERE kid = ?")
            .bind(retire_at)
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}

/// Decodes the `consent_columns!` columns.
fn consent_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Consent, StoreError> {
    Ok(Consent {
        username: r.try_get("consent_username").map_err(err)?,
        client_id: r.try_get("consent_client_id").map_err(err)?,
        scopes: list(&r.try_get::<String, _>("consent_scopes").map_err(err)?),
        claims: list(&r.try_get::<String, _>("consent_claims").map_err(err)?),
        created_at: r.try_get("consent_created_at").map_err(err)?,
    })
}
