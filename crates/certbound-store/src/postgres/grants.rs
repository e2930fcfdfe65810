//! Access tokens, authorization codes and refresh tokens in PostgreSQL, each keyed by the
//! SHA-256 of its value. Code redemption and refresh token use are each a single conditional
//! `UPDATE … WHERE redeemed = false` / `used_at IS NULL`: under READ COMMITTED a concurrent
//! UPDATE of the same row waits for the first to commit and then re-checks its WHERE against
//! the new row, so of any number of callers on any number of nodes exactly one wins.

use super::{PgStore, err, list, thumbprint};
use async_trait::async_trait;
use certbound_core::model::{AccessTokenRecord, AuthorizationCodeRecord, RefreshTokenRecord};
use certbound_core::secret::TokenHash;
use certbound_core::store::{
    CodeRedemption, GrantStore, GrantStored, GrantTokens, StoreError, StoredCode, TokenStore,
    require_grant,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

fn hash_of(r: &PgRow, col: &str) -> Result<Option<TokenHash>, StoreError> {
    let v: Option<Vec<u8>> = r.try_get(col).map_err(err)?;
    v.map(|v| {
        <[u8; 32]>::try_from(v.as_slice())
            .map(TokenHash)
            .map_err(|_| StoreError::Corrupt(format!("{col} is not a SHA-256")))
    })
    .transpose()
}

#[async_trait]
impl TokenStore for PgStore {
    async fn insert_access_token(&self, t: &AccessTokenRecord) -> Result<(), StoreError> {
        require_grant(t.subject.as_deref(), t.code.as_ref())?;
        insert_access(&self.pool, t).await
    }

    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM access_tokens WHERE token_hash = $1")
            .bind(hash.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| {
            Ok(AccessTokenRecord {
                hash: *hash,
                client_id: r.try_get("client_id").map_err(err)?,
                subject: r.try_get("subject").map_err(err)?,
                scope: r.try_get("scope").map_err(err)?,
                issued_at: r.try_get("issued_at").map_err(err)?,
                expires_at: r.try_get("expires_at").map_err(err)?,
                cnf: thumbprint(r.try_get("cnf").map_err(err)?)?,
                revoked: r.try_get("revoked").map_err(err)?,
                claims: list(&r.try_get::<String, _>("claims").map_err(err)?),
                code: hash_of(&r, "code_hash")?,
            })
        })
        .transpose()
    }
}

fn code_from_row(r: &PgRow) -> Result<AuthorizationCodeRecord, StoreError> {
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
impl GrantStore for PgStore {
    async fn insert_code(&self, c: &AuthorizationCodeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, username, scope, claims, nonce, \
             code_challenge, auth_time, sid, amr, issued_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        )
        .bind(c.hash.0.to_vec())
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.username)
        .bind(&c.scope)
        .bind(c.claims.join(" "))
        .bind(&c.nonce)
        .bind(&c.code_challenge)
        .bind(c.auth_time)
        .bind(&c.sid)
        .bind(c.amr.join(" "))
        .bind(c.issued_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn find_code(&self, hash: &TokenHash) -> Result<Option<StoredCode>, StoreError> {
        let row = sqlx::query("SELECT * FROM authorization_codes WHERE code_hash = $1")
            .bind(hash.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| {
            Ok(StoredCode {
                code: code_from_row(&r)?,
                redeemed: r.try_get("redeemed").map_err(err)?,
            })
        })
        .transpose()
    }

    async fn redeem_code(
        &self,
        hash: &TokenHash,
        client_id: &str,
    ) -> Result<CodeRedemption, StoreError> {
        let row = sqlx::query(
            "UPDATE authorization_codes SET redeemed = true \
             WHERE code_hash = $1 AND client_id = $2 AND redeemed = false RETURNING *",
        )
        .bind(hash.0.to_vec())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        if let Some(r) = row {
            return Ok(CodeRedemption::Redeemed(code_from_row(&r)?));
        }
        let row = sqlx::query(
            "SELECT * FROM authorization_codes WHERE code_hash = $1 AND client_id = $2",
        )
        .bind(hash.0.to_vec())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        Ok(match row {
            Some(r) => CodeRedemption::AlreadyUsed(code_from_row(&r)?),
            None => CodeRedemption::Unknown,
        })
    }

    async fn revoke_code_family(&self, code: &TokenHash) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        for sql in [
            "UPDATE authorization_codes SET family_revoked = true WHERE code_hash = $1",
            "UPDATE access_tokens SET revoked = true WHERE code_hash = $1",
            "UPDATE refresh_tokens SET revoked = true WHERE code_hash = $1",
        ] {
            sqlx::query(sql)
                .bind(code.0.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn is_family_revoked(&self, code: &TokenHash) -> Result<bool, StoreError> {
        let flag: Option<bool> = sqlx::query_scalar(
            "SELECT family_revoked FROM authorization_codes WHERE code_hash = $1",
        )
        .bind(code.0.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        Ok(flag.unwrap_or(false))
    }

    async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        require_grant(Some(&t.subject), t.code.as_ref())?;
        insert_refresh(&self.pool, t).await
    }

    async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM refresh_tokens WHERE token_hash = $1")
            .bind(hash.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        row.map(|r| {
            Ok(RefreshTokenRecord {
                hash: *hash,
                client_id: r.try_get("client_id").map_err(err)?,
                subject: r.try_get("subject").map_err(err)?,
                scope: r.try_get("scope").map_err(err)?,
                claims: list(&r.try_get::<String, _>("claims").map_err(err)?),
                cnf: thumbprint(r.try_get("cnf").map_err(err)?)?,
                code: hash_of(&r, "code_hash")?,
                sid: r.try_get("sid").map_err(err)?,
                auth_time: r.try_get("auth_time").map_err(err)?,
                issued_at: r.try_get("issued_at").map_err(err)?,
                expires_at: r.try_get("expires_at").map_err(err)?,
                absolute_expires_at: r.try_get("absolute_expires_at").map_err(err)?,
                used_at: r.try_get("used_at").map_err(err)?,
                revoked: r.try_get("revoked").map_err(err)?,
            })
        })
        .transpose()
    }

    async fn use_refresh_token(&self, hash: &TokenHash, now: i64) -> Result<bool, StoreError> {
        use_refresh(&self.pool, hash, now).await
    }

    /// One transaction. The grant's code row is locked first (`FOR SHARE`): a concurrent
    /// `revoke_code_family` on any node then either committed before (its flag is seen here,
    /// and these tokens are revoked with the rest) or waits for this commit (and then revokes
    /// these rows too).
    ///
    /// A code redemption (`redeem`) updates the code row instead of locking it for share (the
    /// UPDATE's row lock serves both purposes; two share locks upgraded by two concurrent
    /// redemptions would deadlock): of concurrent redemptions the second waits, then finds
    /// the code redeemed and stores nothing.
    async fn store_grant_tokens(&self, t: &GrantTokens) -> Result<GrantStored, StoreError> {
        t.require_grant()?;
        let mut tx = self.pool.begin().await.map_err(err)?;
        let revoked: Option<bool> = if t.redeem {
            let revoked: Option<bool> = sqlx::query_scalar(
                "UPDATE authorization_codes SET redeemed = true \
                 WHERE code_hash = $1 AND client_id = $2 AND redeemed = false \
                 RETURNING family_revoked",
            )
            .bind(t.family.0.to_vec())
            .bind(&t.access.client_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
            if revoked.is_none() {
                // Ended here, not by the drop (see `update_client`).
                tx.rollback().await.map_err(err)?;
                return Ok(GrantStored::AlreadyUsed);
            }
            revoked
        } else {
            sqlx::query_scalar(
                "SELECT family_revoked FROM authorization_codes WHERE code_hash = $1 FOR SHARE",
            )
            .bind(t.family.0.to_vec())
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?
        };
        if let Some((used, now)) = &t.rotate
            && !use_refresh(&mut *tx, used, *now).await?
        {
            // Ended here, not by the drop, which would keep the code row's share lock until
            // the connection's next use: the replay's family revocation waits on that row.
            tx.rollback().await.map_err(err)?;
            return Ok(GrantStored::AlreadyUsed);
        }
        insert_access(&mut *tx, &t.access).await?;
        if let Some(refresh) = &t.refresh {
            insert_refresh(&mut *tx, refresh).await?;
        }
        let outcome = if revoked == Some(true) {
            for sql in [
                "UPDATE access_tokens SET revoked = true WHERE code_hash = $1",
                "UPDATE refresh_tokens SET revoked = true WHERE code_hash = $1",
            ] {
                sqlx::query(sql)
                    .bind(t.family.0.to_vec())
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            GrantStored::FamilyRevoked
        } else {
            GrantStored::Stored
        };
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("UPDATE access_tokens SET revoked = true WHERE token_hash = $1")
            .bind(hash.0.to_vec())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn revoke_tokens_of_client(&self, client_id: &str) -> Result<u64, StoreError> {
        self.revoke_where(
            [
                "UPDATE authorization_codes SET family_revoked = true WHERE client_id = $1",
                "UPDATE access_tokens SET revoked = true WHERE client_id = $1 AND revoked = false",
                "UPDATE refresh_tokens SET revoked = true WHERE client_id = $1 AND revoked = false",
            ],
            client_id,
        )
        .await
    }

    async fn revoke_tokens_of_user(&self, username: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let n = revoke_grants_of_user(&mut tx, username).await?;
        tx.commit().await.map_err(err)?;
        Ok(n)
    }
}

/// Marks a user's live grants revoked, then the tokens issued from them, found by their grant
/// (`access_tokens_code`, `refresh_tokens_code`; every token with a subject has one, see
/// `require_grant`) rather than by subject (migration 0003). The code rows are locked first,
/// so a concurrent grant write (`FOR SHARE` on its code row) either committed before and its
/// tokens are marked here, or finds its grant revoked and stores them revoked. Returns how many
/// grants were not revoked before.
pub(super) async fn revoke_grants_of_user(
    tx: &mut sqlx::PgConnection,
    username: &str,
) -> Result<u64, StoreError> {
    let n = sqlx::query(
        "UPDATE authorization_codes SET family_revoked = true \
         WHERE username = $1 AND family_revoked = false",
    )
    .bind(username)
    .execute(&mut *tx)
    .await
    .map_err(err)?
    .rows_affected();
    for sql in [
        "UPDATE access_tokens SET revoked = true WHERE revoked = false AND code_hash IN \
         (SELECT code_hash FROM authorization_codes WHERE username = $1)",
        "UPDATE refresh_tokens SET revoked = true WHERE revoked = false AND code_hash IN \
         (SELECT code_hash FROM authorization_codes WHERE username = $1)",
    ] {
        sqlx::query(sql)
            .bind(username)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
    }
    Ok(n)
}

impl PgStore {
    /// Marks the grants revoked (so tokens a concurrent request is still issuing die too) and
    /// revokes the tokens, in one transaction; returns how many live tokens were revoked.
    async fn revoke_where(
        &self,
        statements: [&'static str; 3],
        key: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let [grants, access, refresh] = statements;
        sqlx::query(grants)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let mut n = 0;
        for sql in [access, refresh] {
            n += sqlx::query(sql)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
        }
        tx.commit().await.map_err(err)?;
        Ok(n)
    }
}

async fn insert_access<'c>(
    e: impl sqlx::PgExecutor<'c>,
    t: &AccessTokenRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, expires_at, cnf, revoked, claims, code_hash) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
    )
    .bind(t.hash.0.to_vec())
    .bind(&t.client_id)
    .bind(&t.subject)
    .bind(&t.scope)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(t.cnf.map(|c| c.to_base64url()))
    .bind(t.revoked)
    .bind(t.claims.join(" "))
    .bind(t.code.map(|c| c.0.to_vec()))
    .execute(e)
    .await
    .map_err(err)?;
    Ok(())
}

async fn insert_refresh<'c>(
    e: impl sqlx::PgExecutor<'c>,
    t: &RefreshTokenRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, client_id, subject, scope, claims, cnf, code_hash, sid, issued_at, expires_at, revoked, \
         auth_time, absolute_expires_at, used_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
    )
    .bind(t.hash.0.to_vec())
    .bind(&t.client_id)
    .bind(&t.subject)
    .bind(&t.scope)
    .bind(t.claims.join(" "))
    .bind(t.cnf.map(|c| c.to_base64url()))
    .bind(t.code.map(|c| c.0.to_vec()))
    .bind(&t.sid)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(t.revoked)
    .bind(t.auth_time)
    .bind(t.absolute_expires_at)
    .bind(t.used_at)
    .execute(e)
    .await
    .map_err(err)?;
    Ok(())
}

async fn use_refresh<'c>(
    e: impl sqlx::PgExecutor<'c>,
    hash: &TokenHash,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked = false",
    )
    .bind(now)
    .bind(hash.0.to_vec())
    .execute(e)
    .await
    .map_err(err)?;
    Ok(done.rows_affected() == 1)
}
