//! The refresh grant as a benchmark iteration: each worker holds its own refresh token and
//! replaces it with the rotated one from every response. A worker whose token is lost (an
//! error, or rotation refused) gets a new grant through the code flow, outside the timing.

use super::code::CodeFlow;
use super::verdict;
use crate::form::{enc, json_string};
use crate::http::Outgoing;
use crate::stats::{Outcome, Step};

pub struct RefreshWorker {
    pub flow: CodeFlow,
    pub token: Option<String>,
}

impl RefreshWorker {
    /// Connects, and gets a refresh token when the worker has none.
    pub async fn prepare(&mut self) -> Result<(), &'static str> {
        self.flow
            .client
            .ensure_connected()
            .await
            .map_err(|f| f.as_str())?;
        if self.token.is_none() {
            self.token = Some(self.grant().await.map_err(|e| e.kind)?);
        }
        Ok(())
    }

    /// A new grant: authorize, redeem, keep the refresh token.
    pub async fn grant(&mut self) -> Result<String, GrantError> {
        let mut statuses = Vec::new();
        let code = self
            .flow
            .code(&mut statuses)
            .await
            .map_err(|o| GrantError {
                kind: o.kind(),
                detail: format!("authorize answered {statuses:?}"),
            })?;
        let r = self.flow.redeem(&code).await.map_err(|o| GrantError {
            kind: o.kind(),
            detail: String::new(),
        })?;
        let refused = |kind| GrantError {
            kind,
            detail: format!("{} {}", r.status, r.text()),
        };
        if !r.is_success() {
            return Err(refused("grant_refused"));
        }
        json_string(&r.body, "refresh_token").ok_or_else(|| refused("grant_without_refresh_token"))
    }

    pub async fn iterate(&mut self) -> Step {
        let Some(token) = self.token.take() else {
            return Step::failed("no_refresh_token");
        };
        let c = &self.flow.config;
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}",
            enc(&token),
            enc(&c.client_id)
        );
        let out = Outgoing::form(&c.token_path, &c.token_headers, body);
        let r = match self.flow.client.send(&out).await {
            Ok(r) => r,
            Err(f) => return Step::failed(f.as_str()),
        };
        let outcome = verdict(&r, Some(&c.expect));
        if outcome == Outcome::Ok {
            // Without rotation the response carries no new refresh token: keep the old one.
            self.token = Some(json_string(&r.body, "refresh_token").unwrap_or(token));
        }
        Step {
            outcome,
            statuses: vec![r.status],
            part: None,
        }
    }
}

/// Why a worker got no refresh token: the kind to count, and what the server said.
#[derive(Debug)]
pub struct GrantError {
    pub kind: &'static str,
    pub detail: String,
}

impl std::fmt::Display for GrantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}
