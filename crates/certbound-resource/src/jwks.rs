//! The issuer's JWKS (RFC 7517 §5), fetched over HTTPS and cached by `kid`. An unknown `kid`,
//! or a cache older than [`MAX_AGE`] (so a key the issuer withdrew stops being trusted),
//! triggers a refetch at most once per refetch interval, single-flight: concurrent requests
//! wait for the one fetch in progress and never start their own. This module does not verify
//! signatures or judge claims (see `jwt.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::BearerError;
use crate::http_client::{self, FetchError};

/// How long a fetched key set is trusted before it is fetched again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(600);

/// The cached key set and its fetch state.
pub(crate) struct JwksCache {
    uri: reqwest::Url,
    refetch_interval: Duration,
    keys: RwLock<HashMap<String, Value>>,
    /// When `keys` was last fetched successfully.
    loaded_at: RwLock<Option<Instant>>,
    /// Held while fetching; waiters queue here instead of fetching themselves.
    fetch: tokio::sync::Mutex<FetchState>,
    /// Fetch attempts started (the generation of `keys`).
    attempts: AtomicU64,
}

/// When the last attempt started and whether it succeeded.
#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_ok: bool,
}

impl JwksCache {
    pub(crate) fn new(uri: reqwest::Url, refetch_interval: Duration) -> JwksCache {
        JwksCache {
            uri,
            refetch_interval,
            keys: RwLock::new(HashMap::new()),
            loaded_at: RwLock::new(None),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            attempts: AtomicU64::new(0),
        }
    }

    /// How many fetches were started.
    pub(crate) fn fetches(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }

    fn stale(&self) -> bool {
        self.loaded_at
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|t| t.elapsed() >= MAX_AGE)
    }

    fn lookup(&self, kid: &str) -> Option<Value> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// The key with this `kid`, fetching the JWKS if the kid is unknown and the rate limit
    /// allows. Unknown after that → `invalid_token`; JWKS unreachable → `Unavailable`.
    pub(crate) async fn key(
        &self,
        http: &reqwest::Client,
        kid: &str,
    ) -> Result<Value, BearerError> {
        let seen = self.attempts.load(Ordering::SeqCst);
        if let Some(key) = self.lookup(kid)
            && !self.stale()
        {
            return Ok(key);
        }
        let mut state = self.fetch.lock().await;
        let fetched_meanwhile = self.attempts.load(Ordering::SeqCst) != seen;
        let rate_limited = state
            .last_attempt
            .is_some_and(|t| t.elapsed() < self.refetch_interval);
        if fetched_meanwhile || rate_limited {
            return match self.lookup(kid) {
                Some(key) => Ok(key),
                None if state.last_ok => Err(unknown_kid()),
                None => Err(BearerError::Unavailable),
            };
        }
        state.last_attempt = Some(Instant::now());
        self.attempts.fetch_add(1, Ordering::SeqCst);
        match self.download(http).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the issuer's JWKS");
                state.last_ok = true;
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
                *self
                    .loaded_at
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            }
            Err(e) => {
                // Keys already known stay usable while the issuer is unreachable.
                tracing::warn!(error = %e, uri = %self.uri, "could not fetch the issuer's JWKS");
                state.last_ok = false;
            }
        }
        match self.lookup(kid) {
            Some(key) => Ok(key),
            None if state.last_ok => Err(unknown_kid()),
            None => Err(BearerError::Unavailable),
        }
    }

    async fn download(&self, http: &reqwest::Client) -> Result<HashMap<String, Value>, FetchError> {
        let response = http
            .get(self.uri.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        parse_jwks(&http_client::json_body(response).await?)
    }
}

fn unknown_kid() -> BearerError {
    BearerError::InvalidToken("the access token is signed with an unknown key")
}

/// RFC 7517 §5: `{"keys": [...]}`. Keys without a `kid`, or not for signatures, are skipped;
/// the first key of a repeated `kid` wins.
fn parse_jwks(set: &Value) -> Result<HashMap<String, Value>, FetchError> {
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(FetchError::Json)?;
    let mut map = HashMap::new();
    for key in keys {
        let Some(kid) = key.get("kid").and_then(Value::as_str) else {
            continue;
        };
        if key.get("use").is_some_and(|u| u != "sig") {
            continue;
        }
        map.entry(kid.to_owned()).or_insert_with(|| key.clone());
    }
    Ok(map)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jwks_parsing_skips_unusable_keys() {
        let set = json!({"keys": [
            {"kid": "a", "kty": "EC", "n": 1},
            {"kid": "a", "kty": "RSA"},
            {"kty": "EC"},
            {"kid": "e", "use": "enc"},
        ]});
        let map = parse_jwks(&set).unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map["a"]["kty"], "EC");
        assert!(parse_jwks(&json!({"nokeys": []})).is_err());
    }
}
