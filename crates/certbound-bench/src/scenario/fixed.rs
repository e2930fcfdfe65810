//! The fixed-request worker of the `static` and `introspect` scenarios: requests fixed before
//! the clock (one, or several sent in turn), judged by status and an optional expected
//! substring.

use super::verdict;
use crate::http::{Channel, Outgoing};
use crate::stats::Step;
use std::sync::Arc;

pub struct FixedWorker {
    pub channel: Channel,
    /// Sent in turn, from `next` on.
    pub requests: Arc<[Outgoing]>,
    pub next: usize,
    pub expect: Option<Arc<[u8]>>,
}

impl FixedWorker {
    pub async fn iterate(&mut self) -> Step {
        let i = take(&mut self.next, self.requests.len());
        match self.channel.send(&self.requests[i]).await {
            Ok(r) => Step {
                outcome: verdict(&r, self.expect.as_deref()),
                statuses: vec![r.status],
                part: None,
            },
            Err(f) => Step::failed(f.as_str()),
        }
    }
}

/// The index of the next of `len` requests, from `next` on, and moves on.
fn take(next: &mut usize, len: usize) -> usize {
    let i = *next % len;
    *next = i + 1;
    i
}

#[cfg(test)]
mod tests {
    use super::take;

    #[test]
    fn requests_are_sent_in_turn_from_the_workers_offset() {
        let mut next = 1;
        let order: Vec<usize> = (0..5).map(|_| take(&mut next, 3)).collect();
        assert_eq!(order, [1, 2, 0, 1, 2]);
        let mut one = 7;
        assert_eq!([take(&mut one, 1), take(&mut one, 1)], [0, 0]);
    }
}
