//! The authorization code flow as a benchmark iteration: GET the authorize URL with a
//! signed-in session (consent remembered), take the code from the 302, redeem it at the token
//! endpoint with the client certificate. The token POST's latency is also reported alone.

use super::verdict;
use crate::form::{enc, query_param};
use crate::http::{Channel, Outgoing, Response};
use crate::stats::{Outcome, Step};
use hyper::header::HeaderMap;
use std::sync::Arc;
use tokio::time::Instant;

/// RFC 7636 Appendix B: a PKCE verifier and its S256 challenge.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// What every worker's flow shares.
pub struct FlowConfig {
    /// GET of the authorization request, with the session cookie.
    pub authorize: Outgoing,
    pub token_path: String,
    /// Headers of token POSTs (the user's `-H`).
    pub token_headers: HeaderMap,
    pub client_id: String,
    pub redirect_uri: String,
    pub expect: Arc<[u8]>,
}

/// The authorization request's path and query for these parameters (with PKCE, state, nonce).
pub fn authorize_path(base_path: &str, client_id: &str, redirect_uri: &str, scope: &str) -> String {
    let sep = if base_path.contains('?') { '&' } else { '?' };
    format!(
        "{base_path}{sep}response_type=code&client_id={}&redirect_uri={}&scope={}&state=bench&nonce=bench&code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        enc(client_id),
        enc(redirect_uri),
        enc(scope)
    )
}

/// One worker's flow: a browser connection (no client certificate) and a client connection.
pub struct CodeFlow {
    pub config: Arc<FlowConfig>,
    pub browser: Channel,
    pub client: Channel,
}

impl CodeFlow {
    /// The authorization code, from the `Location` of the authorize response.
    pub async fn code(&mut self, statuses: &mut Vec<u16>) -> Result<String, Outcome> {
        let r = self
            .browser
            .send(&self.config.authorize)
            .await
            .map_err(|f| Outcome::Err(f.as_str()))?;
        statuses.push(r.status);
        if r.status != 302 && r.status != 303 {
            return Err(Outcome::Bad("authorize_not_redirect"));
        }
        r.header("location")
            .and_then(|l| query_param(l, "code"))
            .ok_or(Outcome::Bad("authorize_no_code"))
    }

    /// Redeems `code` at the token endpoint.
    pub async fn redeem(&mut self, code: &str) -> Result<Response, Outcome> {
        let c = &self.config;
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id={}&code_verifier={PKCE_VERIFIER}",
            enc(code),
            enc(&c.redirect_uri),
            enc(&c.client_id)
        );
        let out = Outgoing::form(&c.token_path, &c.token_headers, body);
        self.client
            .send(&out)
            .await
            .map_err(|f| Outcome::Err(f.as_str()))
    }

    pub async fn ensure_connected(&mut self) -> Result<(), &'static str> {
        self.browser
            .ensure_connected()
            .await
            .map_err(|f| f.as_str())?;
        self.client.ensure_connected().await.map_err(|f| f.as_str())
    }

    pub fn reset(&mut self) {
        self.browser.reset();
        self.client.reset();
    }

    pub fn connections(&self) -> u64 {
        self.browser.connections + self.client.connections
    }
}

pub struct CodeWorker {
    pub flow: CodeFlow,
}

impl CodeWorker {
    /// authorize + redeem; `part` is the token POST alone.
    pub async fn iterate(&mut self) -> Step {
        let mut statuses = Vec::with_capacity(2);
        let code = match self.flow.code(&mut statuses).await {
            Ok(c) => c,
            Err(outcome) => {
                return Step {
                    outcome,
                    statuses,
                    part: None,
                };
            }
        };
        let t0 = Instant::now();
        match self.flow.redeem(&code).await {
            Ok(r) => {
                statuses.push(r.status);
                Step {
                    outcome: verdict(&r, Some(&self.flow.config.expect)),
                    statuses,
                    part: Some(t0.elapsed()),
                }
            }
            Err(outcome) => Step {
                outcome,
                statuses,
                part: None,
            },
        }
    }
}
