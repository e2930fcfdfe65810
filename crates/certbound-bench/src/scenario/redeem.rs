//! Authorization code redemption alone as a benchmark iteration (RFC 6749 §4.1.3): every worker
//! mints its codes before the clock starts (authorize GETs with the signed-in session), then
//! each timed iteration redeems one at the token endpoint with the client certificate. The
//! `code` scenario measures the authorize request and the redemption together.

use super::code::CodeFlow;
use super::verdict;
use crate::stats::Step;
use std::collections::VecDeque;
use std::time::Instant;

pub struct RedeemWorker {
    pub flow: CodeFlow,
    /// Codes minted before the run, oldest first.
    pub codes: VecDeque<String>,
}

impl RedeemWorker {
    /// Mints up to `n` codes through the worker's browser connection (untimed), and stops at
    /// `deadline`: a code minted too long before its redemption would have expired.
    pub async fn mint(&mut self, n: usize, deadline: Instant) -> Result<(), String> {
        self.codes.reserve(n);
        for _ in 0..n {
            if Instant::now() >= deadline {
                break;
            }
            let mut statuses = Vec::with_capacity(1);
            let code = self.flow.code(&mut statuses).await.map_err(|o| {
                format!(
                    "minting a code: {} (authorize answered {statuses:?})",
                    o.kind()
                )
            })?;
            self.codes.push_back(code);
        }
        Ok(())
    }

    /// Connects; a worker without codes left fails here (`codes_exhausted`: mint more with
    /// `--codes-per-worker`), where the load loop backs off instead of spinning.
    pub async fn prepare(&mut self) -> Result<(), &'static str> {
        if self.codes.is_empty() {
            return Err("codes_exhausted");
        }
        self.flow
            .client
            .ensure_connected()
            .await
            .map_err(|f| f.as_str())
    }

    /// Redeems the oldest code left.
    pub async fn iterate(&mut self) -> Step {
        let Some(code) = self.codes.pop_front() else {
            return Step::failed("codes_exhausted");
        };
        match self.flow.redeem(&code).await {
            Ok(r) => Step {
                outcome: verdict(&r, Some(&self.flow.config.expect)),
                statuses: vec![r.status],
                part: None,
            },
            Err(outcome) => Step {
                outcome,
                statuses: Vec::new(),
                part: None,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::Mode;
    use crate::http::{Channel, Outgoing, Target};
    use crate::scenario::code::FlowConfig;
    use crate::stats::Outcome;
    use hyper::header::HeaderMap;
    use std::sync::Arc;

    /// A worker whose peer does not exist: nothing here may open a connection.
    fn worker(codes: &[&str]) -> (RedeemWorker, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.invalid".to_owned()]).unwrap();
        let cacert = dir.path().join("ca.pem");
        std::fs::write(&cacert, ca.cert.pem()).unwrap();
        let connector = crate::http::connector(&cacert, None, None).unwrap();
        let target = Target::parse("https://127.0.0.1:9/oauth2/token", connector).unwrap();
        let config = Arc::new(FlowConfig {
            authorize: Outgoing::get("/oauth2/authorize"),
            token_path: target.path.clone(),
            token_headers: HeaderMap::new(),
            client_id: "c".to_owned(),
            redirect_uri: "https://127.0.0.1/cb".to_owned(),
            expect: Arc::from(&b"\"access_token\""[..]),
        });
        let flow = CodeFlow {
            config,
            browser: Channel::new(target.endpoint.clone(), Mode::Reuse),
            client: Channel::new(target.endpoint, Mode::Reuse),
        };
        let codes = codes.iter().map(|c| (*c).to_owned()).collect();
        (RedeemWorker { flow, codes }, dir)
    }

    #[tokio::test]
    async fn a_worker_without_codes_left_fails_before_connecting() {
        let (mut w, _dir) = worker(&[]);
        assert_eq!(w.prepare().await, Err("codes_exhausted"));
        assert_eq!(w.flow.connections(), 0);
        let step = w.iterate().await;
        assert_eq!(step.outcome, Outcome::Err("codes_exhausted"));
        assert!(step.statuses.is_empty());
    }

    #[tokio::test]
    async fn minting_stops_at_its_deadline() {
        let (mut w, _dir) = worker(&[]);
        // The deadline has passed: not one code is asked for, so nothing connects.
        w.mint(5, Instant::now()).await.unwrap();
        assert!(w.codes.is_empty());
        assert_eq!(w.flow.connections(), 0);
    }

    #[tokio::test]
    async fn each_iteration_uses_the_oldest_code_once() {
        let (mut w, _dir) = worker(&["first", "second"]);
        // Nothing listens on port 9: the redemption fails, but the code is used up all the same.
        let step = w.iterate().await;
        assert!(
            matches!(step.outcome, Outcome::Err(_)),
            "{:?}",
            step.outcome
        );
        assert_eq!(w.codes, ["second"]);
        let _ = w.iterate().await;
        assert!(w.codes.is_empty());
        assert_eq!(w.prepare().await, Err("codes_exhausted"));
    }
}
