//! Access tokens, authorization codes and refresh tokens in SQLite, each keyed by the SHA-256
//! of its value. Code redemption is a single conditional UPDATE, so of two concurrent
//! redemptions exactly one wins.

use super::{SqliteStore, err, list};
use async_trait::async_trait;
use certbound_core::model::{AccessTokenRecord, AuthorizationCodeRecord, RefreshTokenRecord};
use certbound_core::secret::TokenHash;
use certbound_core::store::{
    CodeRedemption, GrantStore, GrantStored, GrantTokens, StoreError, StoredCode, TokenStore,
    require_grant,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(super) fn hash_of(r: &SqliteRow, col: &str) -> Result<Option<TokenHash>, StoreError> {
    let v: Option<Vec<u8>> = r.try_get(col).map_err(err)?;
    v.map(|v| {
        <[u8; 32]>::try_from(v.as_slice())
            .map(TokenHash)
            .map_err(|_| StoreError::Corrupt(format!("{col} is not a SHA-256")))
    })
    .transpose()
}

/// The condition that a token's grant (its code's family) was not revoked as a whole: the
/// flag lives only on the code row (migration 0010).
macro_rules! grant_live {
    ($table:ident) => {
        concat!(
            " AND NOT COALESCE((SELECT family_revoked FROM authorization_codes AS c \
             WHERE c.code_hash = ",
            stringify!($table),
            ".code_hash), 0)"
        )
    };
}
pub(super) use grant_live;

#[async_trait]
impl TokenStore for SqliteStore {
    /// Group-committed (see `group_commit`): durable when this returns.
    async fn insert_access_token(&self, t: &AccessTokenRecord) -> Result<(), StoreError> {
        require_grant(t.subject.as_deref(), t.code.as_ref())?;
        self.writer.access_token(t.clone()).await
    }

    /// Grouped with concurrent look-ups (see `group_read`).
    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        self.token_reads.find(*hash).await
    }
}

pub(super) fn code_from_row(r: &SqliteRow) -> Result<AuthorizationCodeRecord, StoreError> {
    Ok(AuthorizationCodeRecord {
        hash: hash_of(r, "code_hash")?.ok_or_else(|| StoreError::Corrupt("code_hash".into()))?,
        client_id: r.try_get("client_id").map_err(err)?,
        redirect_uri: r.try_get("redirect_uri").map_err(err)?,
        username: r.try_get("username").map_err(err)?,
        scope: r.try_get("scope").map_err(err)?,
        claims: list(&r.try_get::<String, _>("claims").map_err(err)?),
        nonce: r.try_get("nonce").map_err(err)?,
        code_challenge: r.try_get("code_challenge").map_err(err)?,
        auth_time: r.try_get("auth_time").map_err(err)?,
        sid: r.try_get("sid").map_err(err)?,
        amr: list(&r.try_get::<String, _>("amr").map_err(err)?),
        issued_at: r.try_get("issued_at").map_err(err)?,
        expires_at: r.try_get("expires_at").map_err(err)?,
    })
}

#[async_trait]
impl GrantStore for SqliteStore {
    /// One group-committed write (see `group_commit`): one transaction, shared with the
    /// other requests of the moment.
    async fn store_grant_tokens(&self, t: &GrantTokens) -> Result<GrantStored, StoreError> {
        t.require_grant()?;
        self.writer
            .grant(GrantTokens {
                family: t.family,
                rotate: t.rotate,
                redeem: t.redeem,
                access: t.access.clone(),
                refresh: t.refresh.clone(),
            })
            .await
    }

    /// Group-committed (see `group_commit`).
    async fn insert_code(&self, c: &AuthorizationCodeRecord) -> Result<(), StoreError> {
        self.writer.code(c.clone()).await
    }

    /// Grouped with concurrent look-ups (see `group_read`).
    async fn find_code(&self, hash: &TokenHash) -> Result<Option<StoredCode>, StoreError> {
        self.code_reads.find(*hash).await
    }

    /// Group-committed (see `group_commit`): a single conditional UPDATE, so of concurrent
    /// redemptions exactly one wins.
    async fn redeem_code(
        &self,
        hash: &TokenHash,
        client_id: &str,
    ) -> Result<CodeRedemption, StoreError> {
        self.writer.redeem(*hash, client_id).await
    }

    /// One flag on the code row: every look-up of the family's tokens joins it, and the grant
    /// write inserts a revoked family's new tokens revoked (migration 0010).
    async fn revoke_code_family(&self, code: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("UPDATE authorization_codes SET family_revoked = 1 WHERE code_hash = ?")
            .bind(code.0.to_vec())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn is_family_revoked(&self, code: &TokenHash) -> Result<bool, StoreError> {
        let flag: Option<bool> = sqlx::query_scalar(
            "SELECT family_revoked FROM authorization_codes WHERE code_hash = ?",
        )
        .bind(code.0.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        Ok(flag.unwrap_or(false))
    }

    /// Group-committed (see `group_commit`).
    async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        require_grant(Some(&t.subject), t.code.as_ref())?;
        self.writer.refresh_token(t.clone()).await
    }

    /// Grouped with concurrent look-ups (see `group_read`).
    async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.refresh_reads.find(*hash).await
    }

    /// Group-committed (see `group_commit`); of concurrent uses exactly one wins, as the
    /// conditional UPDATEs run one after the other even inside one transaction.
    async fn use_refresh_token(&self, hash: &TokenHash, now: i64) -> Result<bool, StoreError> {
        self.writer.use_refresh_token(*hash, now).await
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("UPDATE access_tokens SET revoked = 1 WHERE token_hash = ?")
            .bind(hash.0.to_vec())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn revoke_tokens_of_client(&self, client_id: &str) -> Result<u64, StoreError> {
        self.revoke_where(
            [
                "UPDATE authorization_codes SET family_revoked = 1 WHERE client_id = ?",
                concat!(
                    "UPDATE access_tokens SET revoked = 1 WHERE client_id = ? AND revoked = 0",
                    grant_live!(access_tokens)
                ),
                concat!(
                    "UPDATE refresh_tokens SET revoked = 1 WHERE client_id = ? AND revoked = 0",
                    grant_live!(refresh_tokens)
                ),
            ],
            client_id,
        )
        .await
    }

    /// One flag per grant: every look-up of a token joins its grant's flag (migration 0010),
    /// and every token with a subject has a grant, so the tokens need no writes of their own
    /// (migration 0011).
    async fn revoke_tokens_of_user(&self, username: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(REVOKE_GRANTS_OF_USER)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(err)?
            .rows_affected())
    }
}

/// Marks a user's live grants revoked (`authorization_codes_username`, migration 0011).
pub(super) const REVOKE_GRANTS_OF_USER: &str =
    "UPDATE authorization_codes SET family_revoked = 1 WHERE username = ? AND family_revoked = 0";

impl SqliteStore {
    /// Revokes the tokens and marks the grants revoked (so tokens a concurrent request is
    /// still issuing die too), in one transaction; returns how many live tokens were revoked.
    /// The tokens go first: a token of a grant revoked before (its code row's flag, migration
    /// 0010) was not live, and must not be counted.
    async fn revoke_where(
        &self,
        statements: [&'static str; 3],
        key: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let [grants, access, refresh] = statements;
        let mut n = 0;
        for sql in [access, refresh] {
            n += sqlx::query(sql)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
        }
        sqlx::query(grants)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(n)
    }
}
