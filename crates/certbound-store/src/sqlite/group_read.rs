//! Grouped look-ups by hash (access tokens for introspection, userinfo and the resource side;
//! refresh tokens and codes for the token endpoint's grants): concurrent look-ups share one
//! SELECT on a connection of their own, so a burst of requests costs one round trip to
//! SQLite's worker thread instead of one each, and the connection's page cache (emptied
//! whenever another connection has committed) is rebuilt once per batch, not once per look-up.
//!
//! The queue is bounded like the group commit's: when full, a look-up fails at once as
//! `Unavailable` (503 with Retry-After upstream).

use super::{err, list, thumbprint};
use certbound_core::model::{AccessTokenRecord, RefreshTokenRecord};
use certbound_core::secret::TokenHash;
use certbound_core::store::{StoreError, StoredCode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Connection, Row};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// Look-ups waiting at most; more are refused as `Unavailable`.
const QUEUE: usize = 4096;
/// Most look-ups in one SELECT.
const MAX_BATCH: usize = 256;

/// One table a grouped reader looks rows up in, by token hash.
pub(super) trait Lookup: Send + 'static {
    /// What a row decodes to.
    type Record: Clone + Send + 'static;
    /// Every row whose key is in the list that follows (`(?,…)`, one blob per key): each key
    /// is one look-up in the key's index.
    const SELECT: &'static str;
    /// What is looked up, for error messages.
    const WHAT: &'static str;
    /// The row's key and record.
    fn decode(row: &SqliteRow) -> Result<(TokenHash, Self::Record), StoreError>;
}

/// Access tokens (`access_tokens`).
pub(super) struct AccessTokens;

impl Lookup for AccessTokens {
    type Record = AccessTokenRecord;
    const SELECT: &'static str = "SELECT t.*, c.family_revoked FROM access_tokens AS t \
         LEFT JOIN authorization_codes AS c ON c.code_hash = t.code_hash WHERE t.token_hash IN ";
    const WHAT: &'static str = "token";
    fn decode(row: &SqliteRow) -> Result<(TokenHash, AccessTokenRecord), StoreError> {
        let mut t = access_token_from_row(row)?;
        t.revoked |= family_revoked(row)?;
        Ok((t.hash, t))
    }
}

/// Refresh tokens (`refresh_tokens`).
pub(super) struct RefreshTokens;

impl Lookup for RefreshTokens {
    type Record = RefreshTokenRecord;
    const SELECT: &'static str = "SELECT t.*, c.family_revoked FROM refresh_tokens AS t \
         LEFT JOIN authorization_codes AS c ON c.code_hash = t.code_hash WHERE t.token_hash IN ";
    const WHAT: &'static str = "refresh token";
    fn decode(row: &SqliteRow) -> Result<(TokenHash, RefreshTokenRecord), StoreError> {
        let mut t = refresh_token_from_row(row)?;
        t.revoked |= family_revoked(row)?;
        Ok((t.hash, t))
    }
}

/// Authorization codes (`authorization_codes`), each redeemed if `code_redemptions` holds its
/// key (migration 0013).
pub(super) struct Codes;

impl Lookup for Codes {
    type Record = StoredCode;
    const SELECT: &'static str = "SELECT t.*, EXISTS (SELECT 1 FROM code_redemptions AS r \
         WHERE r.code_hash = t.code_hash) AS redeemed \
         FROM authorization_codes AS t WHERE t.code_hash IN ";
    const WHAT: &'static str = "code";
    fn decode(row: &SqliteRow) -> Result<(TokenHash, StoredCode), StoreError> {
        let code = super::grants::code_from_row(row)?;
        let redeemed = row.try_get("redeemed").map_err(err)?;
        Ok((code.hash, StoredCode { code, redeemed }))
    }
}

type Reply<R> = oneshot::Sender<Result<Option<R>, StoreError>>;

/// The sending side; cheap to clone. Dropping every clone stops the reader task.
pub(super) struct Reader<L: Lookup> {
    queue: mpsc::Sender<(TokenHash, Reply<L::Record>)>,
    closer: super::worker::Closer,
}

impl<L: Lookup> Clone for Reader<L> {
    fn clone(&self) -> Self {
        Reader {
            queue: self.queue.clone(),
            closer: self.closer.clone(),
        }
    }
}

impl<L: Lookup> Reader<L> {
    /// Starts the reader task on the current Tokio runtime.
    pub(super) fn spawn(options: SqliteConnectOptions) -> Reader<L> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let (closer, close) = super::worker::channel();
        tokio::spawn(run::<L>(options, jobs, close));
        Reader { queue, closer }
    }

    /// Answers the look-ups already queued, then closes the reader's connection.
    pub(super) async fn close(&self) {
        self.closer.close().await;
    }

    /// The row stored under `hash`, if any.
    pub(super) async fn find(&self, hash: TokenHash) -> Result<Option<L::Record>, StoreError> {
        let stopped = || StoreError::Unavailable(format!("the {} reader has stopped", L::WHAT));
        let (reply, answer) = oneshot::channel();
        self.queue.try_send((hash, reply)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable(format!("the {} look-up queue is full", L::WHAT))
            }
            mpsc::error::TrySendError::Closed(_) => stopped(),
        })?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run<L: Lookup>(
    options: SqliteConnectOptions,
    mut jobs: mpsc::Receiver<(TokenHash, Reply<L::Record>)>,
    mut close: super::worker::CloseRequests,
) {
    let mut conn: Option<SqliteConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while close.next_batch(&mut jobs, &mut batch, MAX_BATCH).await {
        let (hashes, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match select::<L>(&options, &mut conn, &hashes).await {
            Ok(found) => {
                // The same token may be asked for several times in one batch.
                for (h, r) in hashes.iter().zip(replies) {
                    let _ = r.send(Ok(found.get(h).cloned()));
                }
            }
            Err(e) => {
                let text = e.to_string();
                for r in replies {
                    let _ = r.send(Err(match &e {
                        StoreError::Unavailable(_) => StoreError::Unavailable(text.clone()),
                        _ => StoreError::Other(text.clone()),
                    }));
                }
            }
        }
    }
    close.finish(conn).await;
}

/// Looks every hash up in one statement, connecting first if needed; a connection that
/// failed is dropped and reopened by the next batch.
async fn select<L: Lookup>(
    options: &SqliteConnectOptions,
    conn: &mut Option<SqliteConnection>,
    hashes: &[TokenHash],
) -> Result<HashMap<TokenHash, L::Record>, StoreError> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(SqliteConnection::connect_with(options).await.map_err(err)?),
    };
    let keys = unique_keys(hashes);
    let mut sql = String::from(L::SELECT);
    super::group_commit::placeholders(&mut sql, 1, keys.len());
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for key in keys {
        q = q.bind(key.to_vec());
    }
    let rows = match q.fetch_all(&mut *c).await {
        Ok(rows) => rows,
        Err(e @ sqlx::Error::Database(_)) => return Err(err(e)),
        Err(e) => {
            *conn = None;
            return Err(err(e));
        }
    };
    rows.iter().map(L::decode).collect()
}

/// The batch's keys, each once: a token asked for by several concurrent requests (a busy
/// resource server's token, say) is looked up and decoded once.
fn unique_keys(hashes: &[TokenHash]) -> Vec<&[u8; 32]> {
    let mut unique: Vec<&[u8; 32]> = hashes.iter().map(|h| &h.0).collect();
    unique.sort_unstable();
    unique.dedup();
    unique
}

/// Whether the token's grant (its code's family) was revoked: the joined
/// `authorization_codes.family_revoked`, NULL for a token without a code (migration 0010).
fn family_revoked(r: &SqliteRow) -> Result<bool, StoreError> {
    let flag: Option<bool> = r.try_get("family_revoked").map_err(err)?;
    Ok(flag.unwrap_or(false))
}

/// Decodes an `access_tokens` row.
fn access_token_from_row(r: &SqliteRow) -> Result<AccessTokenRecord, StoreError> {
    let hash = super::grants::hash_of(r, "token_hash")?
        .ok_or_else(|| StoreError::Corrupt("token_hash".into()))?;
    Ok(AccessTokenRecord {
        hash,
        client_id: r.try_get("client_id").map_err(err)?,
        subject: r.try_get("subject").map_err(err)?,
        scope: r.try_get("scope").map_err(err)?,
        issued_at: r.try_get("issued_at").map_err(err)?,
        expires_at: r.try_get("expires_at").map_err(err)?,
        cnf: thumbprint(r.try_get("cnf").map_err(err)?)?,
        revoked: r.try_get("revoked").map_err(err)?,
        claims: list(&r.try_get::<String, _>("claims").map_err(err)?),
        code: super::grants::hash_of(r, "code_hash")?,
    })
}

/// Decodes a `refresh_tokens` row.
fn refresh_token_from_row(r: &SqliteRow) -> Result<RefreshTokenRecord, StoreError> {
    let hash = super::grants::hash_of(r, "token_hash")?
        .ok_or_else(|| StoreError::Corrupt("token_hash".into()))?;
    Ok(RefreshTokenRecord {
        hash,
        client_id: r.try_get("client_id").map_err(err)?,
        subject: r.try_get("subject").map_err(err)?,
        scope: r.try_get("scope").map_err(err)?,
        claims: list(&r.try_get::<String, _>("claims").map_err(err)?),
        cnf: thumbprint(r.try_get("cnf").map_err(err)?)?,
        code: super::grants::hash_of(r, "code_hash")?,
        sid: r.try_get("sid").map_err(err)?,
        auth_time: r.try_get("auth_time").map_err(err)?,
        issued_at: r.try_get("issued_at").map_err(err)?,
        expires_at: r.try_get("expires_at").map_err(err)?,
        absolute_expires_at: r.try_get("absolute_expires_at").map_err(err)?,
        used_at: r.try_get("used_at").map_err(err)?,
        revoked: r.try_get("revoked").map_err(err)?,
    })
}

#[cfg(test)]
mod tests {
    use super::{TokenHash, unique_keys};

    #[test]
    fn a_key_asked_for_twice_in_a_batch_is_looked_up_once() {
        let (a, b) = (TokenHash([0xab; 32]), TokenHash([0x01; 32]));
        assert_eq!(unique_keys(&[a, b, a, a]), vec![&[0x01; 32], &[0xab; 32]]);
    }
}
