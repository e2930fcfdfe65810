//! Authorization code redemption alone as a benchmark iteration (RFC 6749 §4.1.3): every worker
//! mints its codes before the clock starts (authorize GETs with the signed-in session), then
//! each timed iteration redeems one at the token endpoint with the client certificate. The
//! `code` scenario measures the authorize request and the redemption together.

use super::code::CodeFlow;
use super::verdict;
use crate::stats::{Outcome, Step};
use std::collections::VecDeque;

pub struct RedeemWorker {
    pub flow: CodeFlow,
    /// Codes minted before the run, oldest first.
    pub codes: VecDeque<String>,
}

impl RedeemWorker {
    /// Mints `n` codes through the worker's browser connection (untimed).
    pub async fn mint(&mut self, n: usize) -> Result<(), String> {
        self.codes.reserve(n);
        for _ in 0..n {
            let mut statuses = Vec::with_capacity(1);
            let code = self.flow.code(&mut statuses).await.map_err(|o| {
                let kind = match o {
                    Outcome::Ok => "ok",
                    Outcome::Bad(k) | Outcome::Err(k) => k,
                };
                format!("minting a code: {kind} (authorize answered {statuses:?})")
            })?;
            self.codes.push_back(code);
        }
        Ok(())
    }

    /// Redeems the oldest code left; none left is an error (`codes_exhausted`: mint more
    /// with `--codes-per-worker`).
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
