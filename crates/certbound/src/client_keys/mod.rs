//! The [`ClientKeySource`] of the server: the certificates of `self_signed_tls_client_auth`
//! clients that registered a `jwks_uri` (RFC 8705 §2.2), fetched over HTTPS ([`fetch`]) from
//! allowed addresses only ([`address`]) and cached per URI.
//!
//! Cache rules: a set is used for `cache_ttl`. A presented certificate that is not in the set,
//! or an expired set, triggers a fetch — but at most one fetch per URI per `refetch_interval`,
//! whatever triggered it, and single-flight: concurrent requests wait for the fetch in progress
//! and use its result. When a fetch fails, the last good set may still accept the certificates
//! in it for `stale_if_error` past its TTL; never when the address has become forbidden, which
//! drops the set. This module does not decide whether a certificate matches (client_auth does).

mod address;
mod fetch;

use crate::config::JwksUriConfig;
use anyhow::Context as _;
use async_trait::async_trait;
use certbound_core::client_auth::{ClientKeySource, KeySourceError};
use certbound_mtls::Thumbprint;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Above this many cached URIs, entries not in use are dropped before adding another.
const MAX_ENTRIES: usize = 4096;

/// Fetches one key set; [`fetch::HttpsFetcher`] in the server, a fake in tests.
#[async_trait]
trait Fetch: Send + Sync {
    async fn fetch(&self, uri: &str) -> Result<Vec<Thumbprint>, KeySourceError>;
}

#[async_trait]
impl Fetch for fetch::HttpsFetcher {
    async fn fetch(&self, uri: &str) -> Result<Vec<Thumbprint>, KeySourceError> {
        fetch::HttpsFetcher::fetch(self, uri).await
    }
}

/// The time source (injected, so tests of expiry need no sleeping).
type Now = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Key sets of `jwks_uri` clients, cached per URI.
pub struct JwksUriKeys {
    fetcher: Box<dyn Fetch>,
    ttl: Duration,
    refetch_interval: Duration,
    stale_if_error: Duration,
    now: Now,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

/// One URI's cached set and fetch state.
#[derive(Default)]
struct Entry {
    set: RwLock<Option<Fetched>>,
    /// Held while fetching; waiters queue here and use the result instead of fetching.
    fetch: tokio::sync::Mutex<FetchState>,
    /// Fetches started.
    attempts: AtomicU64,
}

#[derive(Clone)]
struct Fetched {
    thumbprints: Vec<Thumbprint>,
    at: Instant,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_error: Option<KeySourceError>,
}

impl JwksUriKeys {
    /// The server's key source, reading `ca_file` now.
    pub fn new(config: &JwksUriConfig) -> anyhow::Result<JwksUriKeys> {
        let ca_pem = match &config.ca_file {
            Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read oauth.jwks_uri.ca_file {}", path.display())
            })?),
            None => None,
        };
        let fetcher = fetch::HttpsFetcher::new(
            ca_pem.as_deref(),
            config.timeout,
            config.allow_private_addresses,
        )
        .with_context(|| "oauth.jwks_uri.ca_file holds no usable CA certificate")?;
        if config.allow_private_addresses {
            tracing::warn!(
                "oauth.jwks_uri.allow_private_addresses = true: client jwks_uri may point at loopback and private networks"
            );
        }
        Ok(Self::with(
            Box::new(fetcher),
            config,
            Arc::new(Instant::now),
        ))
    }

    fn with(fetcher: Box<dyn Fetch>, config: &JwksUriConfig, now: Now) -> JwksUriKeys {
        JwksUriKeys {
            fetcher,
            ttl: config.cache_ttl,
            refetch_interval: config.refetch_interval,
            stale_if_error: config.stale_if_error,
            now,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, uri: &str) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = entries.get(uri) {
            return e.clone();
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| Arc::strong_count(e) > 1);
        }
        entries.entry(uri.to_owned()).or_default().clone()
    }

    /// Fetches now, recording the outcome in `entry`.
    async fn refetch(&self, uri: &str, entry: &Entry, state: &mut FetchState) {
        state.last_attempt = Some((self.now)());
        entry.attempts.fetch_add(1, Ordering::SeqCst);
        let result = self.fetcher.fetch(uri).await;
        let mut set = entry.set.write().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(thumbprints) => {
                tracing::info!(
                    jwks_uri = uri,
                    keys = thumbprints.len(),
                    "fetched a client's jwks_uri"
                );
                *set = Some(Fetched {
                    thumbprints,
                    at: (self.now)(),
                });
                state.last_error = None;
            }
            Err(e) => {
                tracing::warn!(jwks_uri = uri, error = %e, "could not fetch a client's jwks_uri");
                if matches!(e, KeySourceError::Forbidden(_)) {
                    *set = None;
                }
                state.last_error = Some(e);
            }
        }
    }

    /// The answer from what is cached after the (possibly skipped) fetch.
    fn answer(
        &self,
        entry: &Entry,
        state: &FetchState,
        presented: &Thumbprint,
    ) -> Result<Vec<Thumbprint>, KeySourceError> {
        let set = entry
            .set
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let now = (self.now)();
        match (set, &state.last_error) {
            (Some(s), None) if now.duration_since(s.at) < self.ttl => Ok(s.thumbprints),
            // The last fetch failed: the set accepts what it holds (past its TTL only for
            // stale_if_error); for another certificate, the failure is the better answer.
            (Some(s), Some(KeySourceError::Fetch(_)))
                if now.duration_since(s.at) < self.ttl + self.stale_if_error
                    && s.thumbprints.contains(presented) =>
            {
                if now.duration_since(s.at) >= self.ttl {
                    tracing::info!("using an expired jwks_uri key set: fetching it failed");
                }
                Ok(s.thumbprints)
            }
            (_, Some(e)) => Err(e.clone()),
            (_, None) => Err(KeySourceError::Fetch(
                "the key set has expired and may not be fetched again yet".into(),
            )),
        }
    }
}

#[async_trait]
impl ClientKeySource for JwksUriKeys {
    async fn thumbprints(
        &self,
        jwks_uri: &str,
        presented: &Thumbprint,
    ) -> Result<Vec<Thumbprint>, KeySourceError> {
        let entry = self.entry(jwks_uri);
        let seen = entry.attempts.load(Ordering::SeqCst);
        let cached = entry
            .set
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(s) = cached
            && (self.now)().duration_since(s.at) < self.ttl
            && s.thumbprints.contains(presented)
        {
            return Ok(s.thumbprints);
        }
        let mut state = entry.fetch.lock().await;
        let fetched_meanwhile = entry.attempts.load(Ordering::SeqCst) != seen;
        let rate_limited = state
            .last_attempt
            .is_some_and(|t| (self.now)().duration_since(t) < self.refetch_interval);
        if !fetched_meanwhile && !rate_limited {
            self.refetch(jwks_uri, &entry, &mut state).await;
        }
        self.answer(&entry, &state, presented)
    }
}

#[cfg(test)]
mod tests;
