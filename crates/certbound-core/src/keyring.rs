//! The server's token signing keys: which key signs, which keys are published (JWKS), and
//! rotation. Keys live in the store (so every node shares them); each node caches them for a
//! short time, so a key rotated on one node is used and published by all within that time.

use crate::OAuthError;
use crate::jose::{JwsAlg, SigningKey};
use crate::store::KeyStore;
use std::sync::RwLock;

/// How long a node trusts its cached copy of the keys, unless configured otherwise
/// (`[oauth] signing_key_refresh_interval`).
pub const CACHE_SECONDS: i64 = 30;

/// Cached signing keys.
#[derive(Debug)]
pub struct KeyRing {
    alg: JwsAlg,
    cache_seconds: i64,
    cache: RwLock<Option<(i64, Vec<SigningKey>)>>,
}

impl KeyRing {
    /// A key ring whose new keys use `alg`, reloading keys every [`CACHE_SECONDS`].
    pub fn new(alg: JwsAlg) -> Self {
        KeyRing {
            alg,
            cache_seconds: CACHE_SECONDS,
            cache: RwLock::new(None),
        }
    }

    /// The same key ring reloading keys from the store every `seconds` (at least 1): the bound
    /// on how long a key rotated on another node takes to be used and published here.
    pub fn with_cache_seconds(mut self, seconds: u64) -> Self {
        self.cache_seconds = i64::try_from(seconds.max(1)).unwrap_or(i64::MAX);
        self
    }

    /// The algorithm of new keys.
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    async fn keys(&self, store: &dyn KeyStore, now: i64) -> Result<Vec<SigningKey>, OAuthError> {
        if let Ok(guard) = self.cache.read()
            && let Some((loaded, keys)) = guard.as_ref()
            && now - loaded < self.cache_seconds
        {
            return Ok(keys.clone());
        }
        let keys = store.list_keys().await?;
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some((now, keys.clone()));
        }
        Ok(keys)
    }

    /// Forgets the cache (after a change made by this node).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
    }

    /// The key that signs now: the newest key that is not retired and has the configured alg.
    pub async fn current(&self, store: &dyn KeyStore, now: i64) -> Result<SigningKey, OAuthError> {
        self.newest(store, now).await?.ok_or_else(|| {
            tracing::error!(alg = %self.alg.as_str(), "no signing key: run `certbound keys rotate`");
            OAuthError::server_error()
        })
    }

    async fn newest(
        &self,
        store: &dyn KeyStore,
        now: i64,
    ) -> Result<Option<SigningKey>, OAuthError> {
        let keys = self.keys(store, now).await?;
        Ok(keys
            .into_iter()
            .filter(|k| k.alg() == self.alg && k.retire_at().is_none())
            .max_by_key(SigningKey::created_at))
    }

    /// Keys to publish in the JWKS: every key not yet past its retirement.
    pub async fn published(
        &self,
        store: &dyn KeyStore,
        now: i64,
    ) -> Result<Vec<SigningKey>, OAuthError> {
        let keys = self.keys(store, now).await?;
        Ok(keys
            .into_iter()
            .filter(|k| k.retire_at().is_none_or(|t| t > now))
            .collect())
    }

    /// Creates a first key when the store has no usable one (first start).
    pub async fn ensure(&self, store: &dyn KeyStore, now: i64) -> Result<bool, OAuthError> {
        if self.newest(store, now).await?.is_some() {
            return Ok(false);
        }
        self.invalidate();
        let key = SigningKey::generate(self.alg, now).map_err(|e| {
            tracing::error!(error = %e, "signing key generation failed");
            OAuthError::server_error()
        })?;
        store.insert_key(&key).await?;
        self.invalidate();
        tracing::info!(kid = %key.kid(), alg = %self.alg.as_str(), "generated a token signing key");
        Ok(true)
    }

    /// Adds a new signing key; keys signing until now stay published for `keep_for` seconds
    /// (the longest lifetime of a token they signed) and are then dropped from the JWKS.
    pub async fn rotate(
        &self,
        store: &dyn KeyStore,
        now: i64,
        keep_for: i64,
    ) -> Result<SigningKey, OAuthError> {
        let key = SigningKey::generate(self.alg, now).map_err(|e| {
            tracing::error!(error = %e, "signing key generation failed");
            OAuthError::server_error()
        })?;
        store.insert_key(&key).await?;
        for old in store.list_keys().await? {
            if old.kid() != key.kid() && old.retire_at().is_none() {
                store
                    .set_key_retire_at(old.kid(), Some(now.saturating_add(keep_for)))
                    .await?;
            }
        }
        self.invalidate();
        tracing::info!(kid = %key.kid(), "rotated the token signing key");
        Ok(key)
    }
}
