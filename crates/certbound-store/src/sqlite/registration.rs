//! Dynamic registration in SQLite: RFC 7591 §3 initial access tokens and the compare-and-swap
//! of RFC 7592 registration access tokens. Hashes only.

use super::{SqliteStore, err, hash32};
use async_trait::async_trait;
use certbound_core::model::InitialAccessToken;
use certbound_core::secret::TokenHash;
use certbound_core::store::{RegistrationStore, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn token_from_row(r: &SqliteRow) -> Result<InitialAccessToken, StoreError> {
    let hash: Vec<u8> = r.try_get("token_hash").map_err(err)?;
    let uses: i64 = r.try_get("uses_left").map_err(err)?;
    Ok(InitialAccessToken {
        id: r.try_get("id").map_err(err)?,
        hash: hash32(&hash).ok_or_else(|| StoreError::Corrupt("initial access token".into()))?,
        created_at: r.try_get("created_at").map_err(err)?,
        expires_at: r.try_get("expires_at").map_err(err)?,
        uses_left: u32::try_from(uses).unwrap_or(0),
    })
}

#[async_trait]
impl RegistrationStore for SqliteStore {
    async fn insert_initial_access_token(&self, t: &InitialAccessToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO initial_access_tokens (id, token_hash, created_at, expires_at, uses_left) VALUES (?,?,?,?,?)",
        )
        .bind(&t.id)
        .bind(t.hash.0.to_vec())
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(i64::from(t.uses_left))
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn find_initial_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<InitialAccessToken>, StoreError> {
        let row = sqlx::query("SELECT * FROM initial_access_tokens WHERE token_hash = ?")
            .bind(hash.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn use_initial_access_token(
        &self,
        hash: &TokenHash,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE initial_access_tokens SET uses_left = uses_left - 1 \
             WHERE token_hash = ? AND uses_left > 0 AND expires_at > ?",
        )
        .bind(hash.0.to_vec())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_initial_access_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        let rows = sqlx::query("SELECT * FROM initial_access_tokens ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_initial_access_token(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM initial_access_tokens WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_registration_token(
        &self,
        client_id: &str,
        old: &TokenHash,
        new: &TokenHash,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET registration_token_hash = ? \
             WHERE client_id = ? AND registration_token_hash = ?",
        )
        .bind(new.0.to_vec())
        .bind(client_id)
        .bind(old.0.to_vec())
        .execute(&self.pool)
        .await
        .map_err(err)?;
        self.clients.invalidate();
        Ok(done.rows_affected() == 1)
    }
}
