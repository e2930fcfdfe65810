//! Group commit of access tokens: concurrent token requests share one SQLite transaction, and
//! so one WAL fsync, instead of paying one each. Every caller still gets its answer only after
//! the transaction holding its token has committed (`synchronous=FULL`), so durability is
//! unchanged; only the fsync is shared.
//!
//! The queue is bounded: when it is full the insert fails at once as `Unavailable` (503 with
//! Retry-After upstream) rather than letting memory grow under overload.

use super::err;
use certbound_core::model::AccessTokenRecord;
use certbound_core::store::StoreError;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

/// Tokens waiting for a commit at most; more are refused as `Unavailable`.
const QUEUE: usize = 4096;
/// Most tokens committed in one transaction.
const MAX_BATCH: usize = 256;

/// One statement for any batch size: the rows arrive as one JSON array bound to a single
/// parameter (parsed once, by `jsonb_each`), and a single statement is its own transaction
/// (one fsync). Hashes travel as hex.
const INSERT: &str = "INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, \
     expires_at, cnf, revoked, claims, code_hash) \
     SELECT unhex(value->>0), value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, \
     value->>7, value->>8, unhex(value->>9) FROM jsonb_each(?)";

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// The sending side; cheap to clone. Dropping every clone stops the writer task.
#[derive(Clone)]
pub(super) struct TokenWriter {
    queue: mpsc::Sender<(AccessTokenRecord, Reply)>,
}

impl TokenWriter {
    /// Starts the writer task on the current Tokio runtime. It writes through a connection
    /// of its own, whose page cache no other writer invalidates.
    pub(super) fn spawn(options: SqliteConnectOptions) -> TokenWriter {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(options, jobs));
        TokenWriter { queue }
    }

    /// Inserts `t` and returns once the transaction holding it has committed.
    pub(super) async fn insert(&self, t: AccessTokenRecord) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.try_send((t, reply)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable("the token write queue is full".into())
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable("the token writer has stopped".into())
            }
        })?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the token writer has stopped".into()))?
    }
}

async fn run(options: SqliteConnectOptions, mut jobs: mpsc::Receiver<(AccessTokenRecord, Reply)>) {
    let mut conn: Option<SqliteConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Waits for the first job; whatever queued up meanwhile joins it, up to MAX_BATCH.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        gather(&mut jobs, &mut batch, MAX_BATCH).await;
        let (records, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match commit(&options, &mut conn, &records).await {
            Ok(()) => {
                for r in replies {
                    let _ = r.send(Ok(()));
                }
            }
            // One bad row (its client deleted meanwhile, say) must not fail the others: retry
            // each in its own transaction so every caller gets its own outcome.
            Err(_) if records.len() > 1 => {
                for (t, r) in records.iter().zip(replies) {
                    let _ = r.send(commit(&options, &mut conn, std::slice::from_ref(t)).await);
                }
            }
            Err(e) => {
                if let Some(r) = replies.into_iter().next() {
                    let _ = r.send(Err(e));
                }
            }
        }
    }
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

/// Inserts `records` in one statement (one transaction), connecting first if needed; a
/// connection that failed is dropped and reopened by the next batch.
async fn commit(
    options: &SqliteConnectOptions,
    conn: &mut Option<SqliteConnection>,
    records: &[AccessTokenRecord],
) -> Result<(), StoreError> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(SqliteConnection::connect_with(options).await.map_err(err)?),
    };
    let result = sqlx::query(INSERT)
        .bind(rows_json(records))
        .execute(&mut *c)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e @ sqlx::Error::Database(_)) => Err(err(e)),
        Err(e) => {
            *conn = None;
            Err(err(e))
        }
    }
}

/// The rows as the JSON array `INSERT` reads.
fn rows_json(records: &[AccessTokenRecord]) -> String {
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|t| {
            serde_json::json!([
                hex(&t.hash.0),
                t.client_id,
                t.subject,
                t.scope,
                t.issued_at,
                t.expires_at,
                t.cnf.map(|c| c.to_base64url()),
                i64::from(t.revoked),
                t.claims.join(" "),
                t.code.map(|c| hex(&c.0)),
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Lower-case hex, as SQLite's `unhex` reads it.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
