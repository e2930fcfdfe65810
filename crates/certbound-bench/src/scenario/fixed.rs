//! The fixed-request worker of the `static` and `introspect` scenarios: the same request
//! every iteration, judged by status and an optional expected substring.

use super::verdict;
use crate::http::{Channel, Outgoing};
use crate::stats::Step;
use std::sync::Arc;

pub struct FixedWorker {
    pub channel: Channel,
    pub request: Arc<Outgoing>,
    pub expect: Option<Arc<[u8]>>,
}

impl FixedWorker {
    pub async fn iterate(&mut self) -> Step {
        match self.channel.send(&self.request).await {
            Ok(r) => Step {
                outcome: verdict(&r, self.expect.as_deref()),
                statuses: vec![r.status],
                part: None,
            },
            Err(f) => Step::failed(f.as_str()),
        }
    }
}
