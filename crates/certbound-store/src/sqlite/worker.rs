//! Closing the SQLite worker tasks (group commit, grouped reads) at shutdown: a close request
//! stops the queue taking new jobs, the jobs already queued are still done and answered, and
//! the worker's connection is closed before the close is acknowledged. Nothing here runs on
//! the request path.

use tokio::sync::{mpsc, oneshot};

/// Asks a worker to finish; cheap to clone.
#[derive(Clone)]
pub(super) struct Closer(mpsc::Sender<oneshot::Sender<()>>);

/// The worker's side: close requests, and who to acknowledge once it is done.
pub(super) struct CloseRequests {
    requests: mpsc::Receiver<oneshot::Sender<()>>,
    waiting: Vec<oneshot::Sender<()>>,
}

/// A closer and the worker's side of it.
pub(super) fn channel() -> (Closer, CloseRequests) {
    let (tx, requests) = mpsc::channel(4);
    (
        Closer(tx),
        CloseRequests {
            requests,
            waiting: Vec::new(),
        },
    )
}

impl Closer {
    /// Returns once the worker has done every job queued before and closed its connection
    /// (at once if it has already stopped).
    pub(super) async fn close(&self) {
        let (done, acknowledged) = oneshot::channel();
        if self.0.send(done).await.is_ok() {
            let _ = acknowledged.await;
        }
    }
}

impl CloseRequests {
    /// Waits for the next jobs, then adds whatever queued up meanwhile (up to `max` in all);
    /// false once the queue is closed (by a close request, or every sender gone) and empty.
    pub(super) async fn next_batch<T>(
        &mut self,
        jobs: &mut mpsc::Receiver<T>,
        batch: &mut Vec<T>,
        max: usize,
    ) -> bool {
        loop {
            tokio::select! {
                n = jobs.recv_many(batch, max) => {
                    if n == 0 {
                        return false;
                    }
                    super::group_commit::gather(jobs, batch, max).await;
                    return true;
                }
                Some(done) = self.requests.recv() => {
                    // New jobs are refused from now on; those already queued are still done.
                    jobs.close();
                    self.waiting.push(done);
                }
            }
        }
    }

    /// Closes the worker's connection, then acknowledges every close request.
    pub(super) async fn finish<C: sqlx::Connection>(self, conn: Option<C>) {
        if let Some(c) = conn
            && let Err(e) = c.close().await
        {
            tracing::warn!(error = %e, "closing a SQLite connection failed");
        }
        for done in self.waiting {
            let _ = done.send(());
        }
    }
}
