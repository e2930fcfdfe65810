//! Admission of requests under overload (issue 9): at most `max_in_flight` requests are handled
//! at once; more wait, woken in the order they came, in a queue of at most `max_queued` for at
//! most `queue_timeout`; beyond the queue, or still waiting at the timeout, a request is
//! refused (the listener answers 503 `temporarily_unavailable` with `Retry-After`).
//!
//! Below the limit, admitting a request costs about what counting it did before the queue
//! existed: a load and a compare-and-swap, then a subtraction and a load when it ends. Only a
//! request that finds every slot taken touches the queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Overload limits of the public listeners (`[server] max_connections`,
/// `max_in_flight_requests`, `max_queued_requests`, `request_queue_timeout_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most, over every listener.
    pub max_connections: usize,
    /// Requests being handled at most; more wait in the queue.
    pub max_in_flight: usize,
    /// Requests waiting for a slot at most; more are refused at once (0: no queue).
    pub max_queued: usize,
    /// How long a queued request waits for a slot before it is refused.
    pub queue_timeout: Duration,
}

impl Default for Limits {
    /// The `[server]` defaults.
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            max_in_flight: 1024,
            max_queued: 4096,
            queue_timeout: Duration::from_secs(1),
        }
    }
}

/// The slots and the queue that every connection's requests share.
pub struct Admission {
    max_in_flight: usize,
    max_queued: usize,
    queue_timeout: Duration,
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    /// Woken (first waiter first) whenever a slot may have come free while requests wait.
    freed: Notify,
}

/// A slot held for as long as it lives. It is given back when dropped: when the request is
/// answered, and also when hyper drops the request's future unanswered (its client
/// disconnected, or the connection failed). Before such guards, requests dropped that way
/// stayed counted for ever, and after a few thousand clients gave up under overload every
/// request got 503 until restart.
pub struct Slot<'a>(&'a Admission);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// A place in the queue, given back when dropped (served, refused or abandoned alike).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// Slots and a queue as `limits` say.
    pub fn new(limits: &Limits) -> Admission {
        Admission {
            max_in_flight: limits.max_in_flight,
            max_queued: limits.max_queued,
            queue_timeout: limits.queue_timeout,
            in_flight: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// A slot for one request: at once if one is free; else, if fewer than `max_queued`
    /// requests wait already, after waiting for at most `queue_timeout`. `None`: refuse it.
    ///
    /// Waiters are woken in the order they came, one per slot freed. A request that arrives
    /// in the instant a slot frees may take it first; the waiter woken for it then waits for
    /// the next one.
    ///
    /// A waiting request has been read up to its headers only and holds nothing of the store,
    /// so the queue costs little memory; and a request served after a short wait costs the core
    /// less than a refusal that its client answers with a retry at once.
    pub async fn admit(&self) -> Option<Slot<'_>> {
        if let Some(slot) = self.try_enter() {
            return Some(slot);
        }
        // SeqCst here, in `try_enter` and in `leave`: a waiter counts itself then looks for a
        // slot, a finishing request frees its slot then looks for waiters, and one of the two
        // must see the other (free on x86, where these are the same instructions).
        let before = self.queued.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.queued);
        if before >= self.max_queued {
            return None;
        }
        let deadline = tokio::time::Instant::now() + self.queue_timeout;
        loop {
            // Registered before the attempt, so a slot freed between the attempt and the wait
            // still wakes this request.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_enter() {
                return Some(slot);
            }
            tokio::time::timeout_at(deadline, freed).await.ok()?;
        }
    }

    /// Takes a free slot, if there is one. A compare-and-swap, not an addition undone when
    /// over: a count that went over the limit even for an instant could make a waiter's
    /// attempt fail with a slot free and nobody left to wake it.
    fn try_enter(&self) -> Option<Slot<'_>> {
        let mut now = self.in_flight.load(Ordering::SeqCst);
        loop {
            if now >= self.max_in_flight {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                now,
                now + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Some(Slot(self)),
                Err(seen) => now = seen,
            }
        }
    }

    fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.queued.load(Ordering::SeqCst) > 0 {
            self.freed.notify_one();
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::{Admission, Limits};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn admission(max_in_flight: usize, max_queued: usize, wait: Duration) -> Arc<Admission> {
        Arc::new(Admission::new(&Limits {
            max_connections: 8,
            max_in_flight,
            max_queued,
            queue_timeout: wait,
        }))
    }

    /// Lets the other tasks run until `done` holds; panics after ten seconds instead of
    /// hanging the test run when it never does.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "never happened: {what}");
            tokio::task::yield_now().await;
        }
    }

    /// A request that holds its slot until it gets a permit of `release`.
    fn hold(
        a: &Arc<Admission>,
        release: &Arc<tokio::sync::Semaphore>,
    ) -> tokio::task::JoinHandle<bool> {
        let (a, release) = (Arc::clone(a), Arc::clone(release));
        tokio::spawn(async move {
            let Some(_slot) = a.admit().await else {
                return false;
            };
            // One permit lets one request finish: it is used up, not given back.
            if let Ok(permit) = release.acquire().await {
                permit.forget();
            }
            true
        })
    }

    #[tokio::test]
    async fn below_the_limit_requests_enter_at_once_and_leave_when_dropped() {
        let a = admission(2, 0, Duration::from_secs(60));
        let one = a.admit().await.expect("a free slot");
        let two = a.admit().await.expect("a second free slot");
        assert_eq!(a.in_flight(), 2);
        assert!(a.admit().await.is_none(), "no slot and no queue: refused");
        assert_eq!(a.in_flight(), 2, "the refused attempt is not counted");
        drop(one);
        drop(two);
        assert_eq!(a.in_flight(), 0);
        assert_eq!(a.queued(), 0);
    }

    /// A request beyond the limit waits its turn and gets the slot once it frees; one beyond
    /// the full queue is refused at once; waiters are served first come, first served.
    #[tokio::test]
    async fn queued_requests_are_served_in_turn_and_a_full_queue_refuses() {
        let a = admission(1, 2, Duration::from_secs(60));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let first = hold(&a, &gate);
        until("the first request holds the slot", || a.in_flight() == 1).await;
        let second = hold(&a, &gate);
        until("the second request waits", || a.queued() == 1).await;
        let third = hold(&a, &gate);
        until("the third request waits", || a.queued() == 2).await;
        let refused = tokio::time::timeout(Duration::from_secs(30), a.admit())
            .await
            .expect("refused without waiting for the queue timeout");
        assert!(refused.is_none(), "the queue of two is full");
        // Each release lets exactly the next waiter in, in the order they came.
        gate.add_permits(1);
        assert!(first.await.expect("joined"), "the first request was served");
        until("the second request holds the slot", || a.queued() == 1).await;
        assert!(!third.is_finished(), "the third still waits its turn");
        gate.add_permits(1);
        assert!(second.await.expect("joined"));
        gate.add_permits(1);
        assert!(third.await.expect("joined"));
        assert_eq!(a.in_flight(), 0);
        assert_eq!(a.queued(), 0);
    }

    #[tokio::test]
    async fn a_queued_request_is_refused_when_its_wait_times_out() {
        let wait = Duration::from_millis(50);
        let a = admission(1, 4, wait);
        let held = a.admit().await.expect("a free slot");
        let asked = Instant::now();
        assert!(a.admit().await.is_none());
        assert!(
            asked.elapsed() >= wait,
            "refused only after waiting for the timeout"
        );
        assert_eq!(a.queued(), 0);
        drop(held);
        assert!(a.admit().await.is_some(), "the slot is free again");
    }

    /// Regression (issue 9, overload recovery): a request whose future hyper drops unanswered
    /// (its client gave up), holding a slot or waiting for one, must not stay counted, or the
    /// server refuses everything for ever.
    #[tokio::test]
    async fn a_request_dropped_holding_a_slot_or_waiting_is_no_longer_counted() {
        let a = admission(1, 1, Duration::from_secs(60));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let holder = hold(&a, &gate);
        until("the request holds the slot", || a.in_flight() == 1).await;
        let waiter = hold(&a, &gate);
        until("the second request waits", || a.queued() == 1).await;
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(
            a.queued(),
            0,
            "the abandoned place in the queue is given back"
        );
        holder.abort();
        let _ = holder.await;
        assert_eq!(a.in_flight(), 0, "the abandoned slot is given back");
        assert!(a.admit().await.is_some());
    }
}
