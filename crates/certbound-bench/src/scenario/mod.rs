//! Scenarios: what one iteration of a worker does (`static`, `introspect`, `code`, `redeem`,
//! `refresh`)
//! and the per-worker state it needs. Setup (sign-in, minting) is in `setup`; the timing
//! loop that drives workers is in `crate::load`.

mod code;
mod fixed;
mod redeem;
mod refresh;
mod setup;

pub use setup::{Prepared, prepare};

use crate::http::Response;
use crate::stats::{Outcome, Step};

/// One worker's state, whatever the scenario.
pub enum Worker {
    Fixed(fixed::FixedWorker),
    Code(code::CodeWorker),
    Redeem(redeem::RedeemWorker),
    Refresh(refresh::RefreshWorker),
}

impl Worker {
    /// Untimed work before an iteration: the keep-alive connections (reuse mode), and a refresh
    /// token for a refresh worker that lost its own. Errors are the kind to count.
    pub async fn prepare(&mut self) -> Result<(), &'static str> {
        match self {
            Worker::Fixed(w) => w.channel.ensure_connected().await.map_err(|f| f.as_str()),
            Worker::Code(w) => w.flow.ensure_connected().await,
            Worker::Redeem(w) => w.prepare().await,
            Worker::Refresh(w) => w.prepare().await,
        }
    }

    /// One timed iteration.
    pub async fn iterate(&mut self) -> Step {
        match self {
            Worker::Fixed(w) => w.iterate().await,
            Worker::Code(w) => w.iterate().await,
            Worker::Redeem(w) => w.iterate().await,
            Worker::Refresh(w) => w.iterate().await,
        }
    }

    /// Forgets connections (and a refresh token) whose state is unknown after a timeout.
    pub fn reset(&mut self) {
        match self {
            Worker::Fixed(w) => w.channel.reset(),
            Worker::Code(w) => w.flow.reset(),
            Worker::Redeem(w) => w.flow.reset(),
            Worker::Refresh(w) => {
                w.flow.reset();
                w.token = None;
            }
        }
    }

    /// TLS connections opened so far.
    pub fn connections(&self) -> u64 {
        match self {
            Worker::Fixed(w) => w.channel.connections,
            Worker::Code(w) => w.flow.connections(),
            Worker::Redeem(w) => w.flow.connections(),
            Worker::Refresh(w) => w.flow.connections(),
        }
    }
}

/// Ok for a 2xx response containing `expect` (if any).
pub fn verdict(r: &Response, expect: Option<&[u8]>) -> Outcome {
    if !r.is_success() {
        return Outcome::Bad("non_2xx");
    }
    match expect {
        Some(e) if !contains(&r.body, e) => Outcome::Bad("body_mismatch"),
        _ => Outcome::Ok,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Bytes;
    use hyper::header::HeaderMap;

    fn response(status: u16, body: &'static str) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn verdicts() {
        let ok = response(200, r#"{"active":true}"#);
        assert_eq!(verdict(&ok, None), Outcome::Ok);
        assert_eq!(verdict(&ok, Some(br#""active":true"#)), Outcome::Ok);
        assert_eq!(
            verdict(
                &response(200, r#"{"active":false}"#),
                Some(br#""active":true"#)
            ),
            Outcome::Bad("body_mismatch")
        );
        assert_eq!(verdict(&response(503, ""), None), Outcome::Bad("non_2xx"));
    }
}
