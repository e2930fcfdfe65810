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
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};
use tokio::sync::{mpsc, oneshot};

/// Tokens waiting for a commit at most; more are refused as `Unavailable`.
const QUEUE: usize = 4096;
/// Most tokens committed in one transaction.
const MAX_BATCH: usize = 256;
/// Rows per INSERT statement; a batch is split into statements of these sizes so that only a
/// handful of distinct statements are ever prepared (and cached).
const CHUNKS: [usize; 3] = [32, 8, 1];

const INSERT: &str = "INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, \
     expires_at, cnf, revoked, claims, code_hash) ";

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// The sending side; cheap to clone. Dropping every clone stops the writer task.
#[derive(Clone)]
pub(super) struct TokenWriter {
    queue: mpsc::Sender<(AccessTokenRecord, Reply)>,
}

impl TokenWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub(super) fn spawn(pool: SqlitePool) -> TokenWriter {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, jobs));
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

async fn run(pool: SqlitePool, mut jobs: mpsc::Receiver<(AccessTokenRecord, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Waits for the first job; whatever queued up meanwhile joins it, up to MAX_BATCH.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (records, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match commit(&pool, &records).await {
            Ok(()) => {
                for r in replies {
                    let _ = r.send(Ok(()));
                }
            }
            // One bad row (its client deleted meanwhile, say) must not fail the others: retry
            // each in its own transaction so every caller gets its own outcome.
            Err(_) if records.len() > 1 => {
                for (t, r) in records.iter().zip(replies) {
                    let _ = r.send(commit(&pool, std::slice::from_ref(t)).await);
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

/// Inserts `records` in one transaction.
async fn commit(pool: &SqlitePool, records: &[AccessTokenRecord]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(err)?;
    let mut rest = records;
    while !rest.is_empty() {
        let n = CHUNKS.into_iter().find(|&n| n <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(n);
        let mut q = QueryBuilder::<Sqlite>::new(INSERT);
        q.push_values(chunk, |mut row, t| {
            row.push_bind(t.hash.0.to_vec())
                .push_bind(t.client_id.clone())
                .push_bind(t.subject.clone())
                .push_bind(t.scope.clone())
                .push_bind(t.issued_at)
                .push_bind(t.expires_at)
                .push_bind(t.cnf.map(|c| c.to_base64url()))
                .push_bind(t.revoked)
                .push_bind(t.claims.join(" "))
                .push_bind(t.code.map(|c| c.0.to_vec()));
        });
        q.build().persistent(true).execute(&mut *tx).await.map_err(err)?;
        rest = tail;
    }
    tx.commit().await.map_err(err)
}
