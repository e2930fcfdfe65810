//! Where the certificates of a client that registered a `jwks_uri` come from (RFC 7591 §2,
//! RFC 8705 §2.2). The protocol logic only sees this trait; fetching over HTTPS, caching and
//! the SSRF rules live in the binary.

use async_trait::async_trait;
use certbound_mtls::Thumbprint;

/// Why a client's key set could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeySourceError {
    /// The address is not allowed (private, loopback or link-local; RFC 9700 §4.16-style SSRF).
    #[error("the jwks_uri address is not allowed: {0}")]
    Forbidden(String),
    /// Fetching or parsing failed (timeout, too large, not a JWK set with x5c).
    #[error("the jwks_uri could not be fetched: {0}")]
    Fetch(String),
}

/// The thumbprints of the certificates a `jwks_uri` publishes.
#[async_trait]
pub trait ClientKeySource: Send + Sync {
    /// The `x5t#S256` of every key's certificate (`x5c[0]`) at `jwks_uri`, from a cache when
    /// fresh. When `presented` is not among the cached ones, the set is fetched again first
    /// (rate-limited), so a client that has just rotated is not refused.
    async fn thumbprints(
        &self,
        jwks_uri: &str,
        presented: &Thumbprint,
    ) -> Result<Vec<Thumbprint>, KeySourceError>;
}
