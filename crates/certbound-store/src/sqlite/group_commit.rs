//! Group commit: concurrent token requests share one SQLite transaction, and so one WAL
//! fsync, instead of paying one each. Access tokens, refresh tokens and refresh-token rotation
//! (the writes of the token endpoint's grants) go through here. Every caller gets its answer
//! only after the transaction holding its write has committed (`synchronous=FULL`), so
//! durability is unchanged; only the fsync is shared.
//!
//! The queue is bounded: when it is full a write fails at once as `Unavailable` (503 with
//! Retry-After upstream) rather than letting memory grow under overload.

use super::err;
use certbound_core::model::{AccessTokenRecord, AuthorizationCodeRecord, RefreshTokenRecord};
use certbound_core::secret::TokenHash;
use certbound_core::store::{CodeRedemption, GrantStored, GrantTokens, StoreError};
use sqlx::AssertSqlSafe;
use sqlx::Connection;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnectOptions, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for a commit at most; more are refused as `Unavailable`.
const QUEUE: usize = 4096;
/// Most writes committed in one transaction.
const MAX_BATCH: usize = 256;
// The widest multi-row insert (refresh tokens) binds 14 parameters per row; SQLite allows
// 32,766 per statement.
const _: () = assert!(MAX_BATCH * 14 <= 32_766);

/// The head of the statement that inserts any number of access tokens, each a group of
/// bound parameters (see [`placeholders`]).
const INSERT_ACCESS: &str = "INSERT INTO access_tokens (token_hash, client_id, subject, scope, \
     issued_at, expires_at, cnf, revoked, claims, code_hash) VALUES ";

/// The head of the statement that inserts any number of refresh tokens, as [`INSERT_ACCESS`]
/// does it.
const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (token_hash, client_id, \
     subject, scope, claims, cnf, code_hash, sid, issued_at, expires_at, revoked, auth_time, \
     absolute_expires_at, used_at) VALUES ";

/// The head of the statement that inserts any number of authorization codes, as
/// [`INSERT_ACCESS`] does it.
const INSERT_CODES: &str = "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, \
     username, scope, claims, nonce, code_challenge, auth_time, sid, amr, issued_at, expires_at) \
     VALUES ";

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write waiting for its transaction.
pub(super) enum Write {
    /// Insert an access token.
    Access(AccessTokenRecord, Reply<()>),
    /// Insert a refresh token.
    Refresh(RefreshTokenRecord, Reply<()>),
    /// Mark a refresh token used if it is unused and not revoked (rotation); true if it was.
    UseRefresh(TokenHash, i64, Reply<bool>),
    /// Insert an authorization code.
    Code(AuthorizationCodeRecord, Reply<()>),
    /// Redeem a client's authorization code (RFC 6749 §4.1.2: at most once).
    Redeem(TokenHash, String, Reply<CodeRedemption>),
    /// Store what a grant issues (see `grant`).
    Grant(Box<GrantTokens>, Reply<GrantStored>),
}

/// The outcome of one write, sent once its transaction has committed.
enum Done {
    Unit(Reply<()>, Result<(), StoreError>),
    Bool(Reply<bool>, Result<bool, StoreError>),
    Redeemed(
        Reply<CodeRedemption>,
        Box<Result<CodeRedemption, StoreError>>,
    ),
    Grant(Reply<GrantStored>, Result<GrantStored, StoreError>),
}

impl Done {
    fn send(self) {
        match self {
            Done::Unit(r, v) => {
                let _ = r.send(v);
            }
            Done::Bool(r, v) => {
                let _ = r.send(v);
            }
            Done::Redeemed(r, v) => {
                let _ = r.send(*v);
            }
            Done::Grant(r, v) => {
                let _ = r.send(v);
            }
        }
    }

    /// The same reply, with an error instead (the transaction did not commit).
    fn failed(self, e: &StoreError) -> Done {
        let e = || match e {
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            other => StoreError::Other(other.to_string()),
        };
        match self {
            Done::Unit(r, _) => Done::Unit(r, Err(e())),
            Done::Bool(r, _) => Done::Bool(r, Err(e())),
            Done::Redeemed(r, _) => Done::Redeemed(r, Box::new(Err(e()))),
            Done::Grant(r, _) => Done::Grant(r, Err(e())),
        }
    }
}

/// What a write found, inside a transaction not yet committed.
enum Outcome {
    Unit,
    Used(bool),
    Redeemed(Box<CodeRedemption>),
    Grant(GrantStored),
}

impl Write {
    /// Success for a write that returns nothing (anything else: an internal mismatch, which
    /// cannot happen as outcomes are built from the same writes in order).
    fn unit_done(self) -> Done {
        match self {
            Write::Access(_, r) | Write::Refresh(_, r) | Write::Code(_, r) => Done::Unit(r, Ok(())),
            Write::UseRefresh(_, _, r) => {
                Done::Bool(r, Err(StoreError::Other("write outcome mismatch".into())))
            }
            Write::Redeem(_, _, r) => Done::Redeemed(
                r,
                Box::new(Err(StoreError::Other("write outcome mismatch".into()))),
            ),
            Write::Grant(_, r) => {
                Done::Grant(r, Err(StoreError::Other("write outcome mismatch".into())))
            }
        }
    }
}

/// The sending side; cheap to clone. Dropping every clone stops the writer task.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Write>,
    closer: super::worker::Closer,
}

impl Writer {
    /// Starts the writer task on the current Tokio runtime. It writes through a connection
    /// of its own, whose page cache no other writer invalidates.
    pub(super) fn spawn(options: SqliteConnectOptions) -> Writer {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let (closer, close) = super::worker::channel();
        tokio::spawn(run(options, jobs, close));
        Writer { queue, closer }
    }

    /// Commits every write already queued (each caller gets its answer), then closes the
    /// writer's connection; later writes fail as `Unavailable`.
    pub(super) async fn close(&self) {
        self.closer.close().await;
    }

    /// Inserts an access token; returns once it is committed.
    pub(super) async fn access_token(&self, t: AccessTokenRecord) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Access(t, reply))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Inserts a refresh token; returns once it is committed.
    pub(super) async fn refresh_token(&self, t: RefreshTokenRecord) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Refresh(t, reply))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Marks a refresh token used; returns once that is committed.
    pub(super) async fn use_refresh_token(
        &self,
        hash: TokenHash,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::UseRefresh(hash, now, reply))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Inserts an authorization code; returns once it is committed.
    pub(super) async fn code(&self, c: AuthorizationCodeRecord) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Code(c, reply))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Redeems a code; returns once the redemption is committed.
    pub(super) async fn redeem(
        &self,
        hash: TokenHash,
        client_id: &str,
    ) -> Result<CodeRedemption, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Redeem(hash, client_id.to_owned(), reply))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stores a grant's tokens; returns once they are committed.
    pub(super) async fn grant(&self, t: GrantTokens) -> Result<GrantStored, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Grant(Box::new(t), reply))?;
        answer.await.map_err(|_| stopped())?
    }

    fn submit(&self, w: Write) -> Result<(), StoreError> {
        self.queue.try_send(w).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable("the write queue is full".into())
            }
            mpsc::error::TrySendError::Closed(_) => stopped(),
        })
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the writer has stopped".into())
}

async fn run(
    options: SqliteConnectOptions,
    mut jobs: mpsc::Receiver<Write>,
    mut close: super::worker::CloseRequests,
) {
    let mut conn: Option<SqliteConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Waits for the first write; whatever queued up meanwhile joins it, up to MAX_BATCH.
    while close.next_batch(&mut jobs, &mut batch, MAX_BATCH).await {
        let writes: Vec<Write> = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        if writes.len() == 1 {
            for w in writes {
                alone(&options, &mut conn, w).await.send();
            }
            continue;
        }
        // One bad write (a token for a client deleted meanwhile, say) must not fail the
        // others: when the shared transaction fails, each write is retried in its own.
        match together(&options, &mut conn, writes).await {
            Ok(done) => done.into_iter().for_each(Done::send),
            Err(writes) => {
                for w in writes {
                    alone(&options, &mut conn, w).await.send();
                }
            }
        }
    }
    close.finish(conn).await;
}

/// The writer's connection, opened if needed.
async fn connection<'c>(
    options: &SqliteConnectOptions,
    conn: &'c mut Option<SqliteConnection>,
) -> Result<&'c mut SqliteConnection, StoreError> {
    match conn {
        Some(c) => Ok(c),
        None => Ok(conn.insert(SqliteConnection::connect_with(options).await.map_err(err)?)),
    }
}

/// Drops a connection that failed for another reason than the statement (I/O, say), so the
/// next batch reconnects.
fn check(conn: &mut Option<SqliteConnection>, e: sqlx::Error) -> StoreError {
    if !matches!(e, sqlx::Error::Database(_)) {
        *conn = None;
    }
    err(e)
}

/// Every write of the batch in one transaction; on failure, the writes back for one by one.
async fn together(
    options: &SqliteConnectOptions,
    conn: &mut Option<SqliteConnection>,
    writes: Vec<Write>,
) -> Result<Vec<Done>, Vec<Write>> {
    let result: Result<Vec<Outcome>, StoreError> = async {
        let c = connection(options, conn).await?;
        // The batch's access tokens, grants and codes, each kind one statement, in queue order.
        let mut access: Vec<&AccessTokenRecord> = Vec::new();
        let mut grants: Vec<&GrantTokens> = Vec::new();
        let mut codes: Vec<&AuthorizationCodeRecord> = Vec::new();
        for w in &writes {
            match w {
                Write::Access(t, _) => access.push(t),
                Write::Grant(t, _) => grants.push(t),
                Write::Code(c, _) => codes.push(c),
                Write::Refresh(..) | Write::UseRefresh(..) | Write::Redeem(..) => {}
            }
        }
        // A batch that is one statement (only access tokens, or only codes) needs no explicit
        // transaction: a statement commits by itself, all of it or nothing, and SQLite's
        // thread is visited once instead of three times (BEGIN, it, COMMIT). Grants take a few
        // statements (`grant_write`), so they run in the transaction below.
        if access.len() == writes.len() {
            insert_access(&mut *c, &access).await.map_err(err)?;
            return Ok(writes.iter().map(|_| Outcome::Unit).collect());
        }
        if codes.len() == writes.len() {
            insert_codes(&mut *c, &codes).await.map_err(err)?;
            return Ok(writes.iter().map(|_| Outcome::Unit).collect());
        }
        let mut tx = c.begin().await.map_err(err)?;
        // Codes first: nothing else in the batch can refer to them (a code is redeemable only
        // once its authorization response has gone out, after this commit).
        if !codes.is_empty() {
            insert_codes(&mut tx, &codes).await.map_err(err)?;
        }
        if !access.is_empty() {
            insert_access(&mut tx, &access).await.map_err(err)?;
        }
        let mut granted = if grants.is_empty() {
            Vec::new()
        } else {
            super::grant_write::grant(&mut tx, &grants).await?
        }
        .into_iter();
        let mut outcomes = Vec::with_capacity(writes.len());
        for w in &writes {
            outcomes.push(match w {
                Write::Access(..) => Outcome::Unit,
                Write::Refresh(t, _) => {
                    insert_refresh(&mut tx, &[t]).await.map_err(err)?;
                    Outcome::Unit
                }
                Write::Code(..) => Outcome::Unit,
                Write::UseRefresh(h, now, _) => {
                    Outcome::Used(use_refresh(&mut tx, h, *now).await.map_err(err)?)
                }
                Write::Redeem(h, client_id, _) => {
                    Outcome::Redeemed(Box::new(redeem(&mut tx, h, client_id).await?))
                }
                Write::Grant(..) => Outcome::Grant(granted.next().ok_or_else(|| {
                    StoreError::Other("a grant of the batch has no outcome".into())
                })?),
            });
        }
        tx.commit().await.map_err(err)?;
        Ok(outcomes)
    }
    .await;
    match result {
        Ok(outcomes) => Ok(writes
            .into_iter()
            .zip(outcomes)
            .map(|(w, o)| match (w, o) {
                (Write::UseRefresh(_, _, r), Outcome::Used(b)) => Done::Bool(r, Ok(b)),
                (Write::Redeem(_, _, r), Outcome::Redeemed(c)) => {
                    Done::Redeemed(r, Box::new(Ok(*c)))
                }
                (Write::Grant(_, r), Outcome::Grant(g)) => Done::Grant(r, Ok(g)),
                (w, _) => w.unit_done(),
            })
            .collect()),
        Err(e) => {
            if matches!(e, StoreError::Unavailable(_)) {
                *conn = None;
            }
            Err(writes)
        }
    }
}

/// One write in its own transaction (a single statement commits by itself).
async fn alone(
    options: &SqliteConnectOptions,
    conn: &mut Option<SqliteConnection>,
    w: Write,
) -> Done {
    let c = match connection(options, conn).await {
        Ok(c) => c,
        Err(e) => {
            return w.unit_done().failed(&e);
        }
    };
    match w {
        Write::Access(t, r) => {
            let v = insert_access(&mut *c, &[&t]).await;
            Done::Unit(r, v.map_err(|e| check(conn, e)))
        }
        Write::Refresh(t, r) => {
            let v = insert_refresh(&mut *c, &[&t]).await;
            Done::Unit(r, v.map_err(|e| check(conn, e)))
        }
        Write::UseRefresh(h, now, r) => {
            let v = use_refresh(&mut *c, &h, now).await;
            Done::Bool(r, v.map_err(|e| check(conn, e)))
        }
        Write::Code(code, r) => {
            let v = insert_codes(&mut *c, &[&code]).await;
            Done::Unit(r, v.map_err(|e| check(conn, e)))
        }
        Write::Redeem(h, client_id, r) => {
            // Two statements: a transaction of their own keeps them one redemption.
            let v = async {
                let mut tx = c.begin().await.map_err(err)?;
                let found = redeem(&mut tx, &h, &client_id).await?;
                tx.commit().await.map_err(err)?;
                Ok(found)
            }
            .await;
            if matches!(v, Err(StoreError::Unavailable(_))) {
                *conn = None;
            }
            Done::Redeemed(r, Box::new(v))
        }
        Write::Grant(t, r) => {
            let v = async {
                let mut tx = c.begin().await.map_err(err)?;
                let stored = super::grant_write::grant(&mut tx, &[&t])
                    .await?
                    .pop()
                    .ok_or_else(|| StoreError::Other("the grant has no outcome".into()))?;
                tx.commit().await.map_err(err)?;
                Ok(stored)
            }
            .await;
            if matches!(v, Err(StoreError::Unavailable(_))) {
                *conn = None;
            }
            Done::Grant(r, v)
        }
    }
}

pub(super) async fn insert_access(
    c: &mut SqliteConnection,
    records: &[&AccessTokenRecord],
) -> Result<(), sqlx::Error> {
    let mut sql = String::from(INSERT_ACCESS);
    placeholders(&mut sql, records.len(), 10);
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for t in records {
        q = bind_access(q, t);
    }
    q.execute(c).await.map(|_| ())
}

/// Inserts any number of refresh tokens in one statement (none: nothing to do).
pub(super) async fn insert_refresh(
    c: &mut SqliteConnection,
    records: &[&RefreshTokenRecord],
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(INSERT_REFRESH);
    placeholders(&mut sql, records.len(), 14);
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for r in records {
        q = bind_refresh(q, r);
    }
    q.execute(c).await.map(|_| ())
}

async fn insert_codes(
    c: &mut SqliteConnection,
    codes: &[&AuthorizationCodeRecord],
) -> Result<(), sqlx::Error> {
    let mut sql = String::from(INSERT_CODES);
    placeholders(&mut sql, codes.len(), 13);
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for code in codes {
        q = q
            .bind(code.hash.0.to_vec())
            .bind(code.client_id.clone())
            .bind(code.redirect_uri.clone())
            .bind(code.username.clone())
            .bind(code.scope.clone())
            .bind(code.claims.join(" "))
            .bind(code.nonce.clone())
            .bind(code.code_challenge.clone())
            .bind(code.auth_time)
            .bind(code.sid.clone())
            .bind(code.amr.join(" "))
            .bind(code.issued_at)
            .bind(code.expires_at);
    }
    q.execute(c).await.map(|_| ())
}

/// The code's key added to `code_redemptions` (migration 0013) marks it redeemed: the key is
/// that table's primary key, so of concurrent redemptions exactly one adds it (RFC 6749
/// §4.1.2: at most once); a loser reads the code back to tell a replay from an unknown code.
async fn redeem(
    c: &mut SqliteConnection,
    hash: &TokenHash,
    client_id: &str,
) -> Result<CodeRedemption, StoreError> {
    // The write comes first, so the transaction takes the write lock at once: a read first
    // would have to upgrade it, and fail with SQLITE_BUSY if another connection wrote between.
    let added = sqlx::query(
        "INSERT OR IGNORE INTO code_redemptions (code_hash) \
         SELECT code_hash FROM authorization_codes WHERE code_hash = ? AND client_id = ?",
    )
    .bind(hash.0.to_vec())
    .bind(client_id)
    .execute(&mut *c)
    .await
    .map_err(err)?
    .rows_affected();
    let row =
        sqlx::query("SELECT * FROM authorization_codes WHERE code_hash = ? AND client_id = ?")
            .bind(hash.0.to_vec())
            .bind(client_id)
            .fetch_optional(&mut *c)
            .await
            .map_err(err)?;
    Ok(match row {
        Some(r) if added == 1 => CodeRedemption::Redeemed(super::grants::code_from_row(&r)?),
        Some(r) => CodeRedemption::AlreadyUsed(super::grants::code_from_row(&r)?),
        None => CodeRedemption::Unknown,
    })
}

async fn use_refresh(
    c: &mut SqliteConnection,
    hash: &TokenHash,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(concat!(
        "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND revoked = 0",
        super::grants::grant_live!(refresh_tokens)
    ))
    .bind(now)
    .bind(hash.0.to_vec())
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Lets the requests that are ready run first, as long as they keep adding tokens: under
/// load a batch then holds every token issued meanwhile, so one fsync serves them all; alone,
/// a token waits for nothing but one pass of the scheduler.
pub(super) async fn gather<T>(jobs: &mut mpsc::Receiver<T>, batch: &mut Vec<T>, max: usize) {
    while batch.len() < max {
        tokio::task::yield_now().await;
        let before = batch.len();
        while batch.len() < max {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if batch.len() == before {
            return;
        }
    }
}

/// Appends `rows` groups of `cols` placeholders: `(?,?),(?,?)`.
pub(super) fn placeholders(sql: &mut String, rows: usize, cols: usize) {
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ",(" });
        for j in 0..cols {
            sql.push_str(if j == 0 { "?" } else { ",?" });
        }
        sql.push(')');
    }
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// Binds an access token's columns, in the order of [`INSERT_ACCESS`].
fn bind_access<'q>(q: Query<'q>, t: &AccessTokenRecord) -> Query<'q> {
    q.bind(t.hash.0.to_vec())
        .bind(t.client_id.clone())
        .bind(t.subject.clone())
        .bind(t.scope.clone())
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.cnf.map(|c| c.to_base64url()))
        .bind(i64::from(t.revoked))
        .bind(t.claims.join(" "))
        .bind(t.code.map(|c| c.0.to_vec()))
}

/// Binds a refresh token's columns, in the order of [`INSERT_REFRESH`].
fn bind_refresh<'q>(q: Query<'q>, r: &RefreshTokenRecord) -> Query<'q> {
    q.bind(r.hash.0.to_vec())
        .bind(r.client_id.clone())
        .bind(r.subject.clone())
        .bind(r.scope.clone())
        .bind(r.claims.join(" "))
        .bind(r.cnf.map(|c| c.to_base64url()))
        .bind(r.code.map(|c| c.0.to_vec()))
        .bind(r.sid.clone())
        .bind(r.issued_at)
        .bind(r.expires_at)
        .bind(i64::from(r.revoked))
        .bind(r.auth_time)
        .bind(r.absolute_expires_at)
        .bind(r.used_at)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_make_one_group_per_row() {
        let mut sql = String::from("VALUES ");
        super::placeholders(&mut sql, 2, 3);
        assert_eq!(sql, "VALUES (?,?,?),(?,?,?)");
    }
}
