//! `[oauth.jwks_uri]`: how the key sets of `self_signed_tls_client_auth` clients that registered
//! a `jwks_uri` (RFC 8705 §2.2, RFC 7591 §2) are fetched — timeout, cache, refetch rate limit,
//! stale use, the SSRF switch and extra CA certificates. Only parses and checks values; the
//! fetching is `crate::client_keys`.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Longest allowed fetch timeout, seconds (the "≤ 5 s").
const MAX_TIMEOUT: u64 = 5;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJwksUri {
    timeout: Option<u64>,
    cache_ttl: Option<u64>,
    refetch_interval: Option<u64>,
    stale_if_error: Option<u64>,
    allow_private_addresses: Option<bool>,
    ca_file: Option<PathBuf>,
}

/// The validated `[oauth.jwks_uri]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUriConfig {
    /// Whole-fetch timeout (resolution, connect, TLS, response body).
    pub timeout: Duration,
    /// How long a fetched key set is used without fetching it again.
    pub cache_ttl: Duration,
    /// At most one fetch per `jwks_uri` within this interval, whatever triggers it.
    pub refetch_interval: Duration,
    /// How long past `cache_ttl` the last good set is still used while fetching fails.
    pub stale_if_error: Duration,
    /// Allow loopback, RFC 1918, CGNAT and unique-local addresses (tests, closed networks).
    pub allow_private_addresses: bool,
    /// Extra CA certificates (PEM) trusted besides the system roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for JwksUriConfig {
    fn default() -> Self {
        JwksUriConfig {
            timeout: Duration::from_secs(MAX_TIMEOUT),
            cache_ttl: Duration::from_secs(300),
            refetch_interval: Duration::from_secs(10),
            stale_if_error: Duration::from_secs(3600),
            allow_private_addresses: false,
            ca_file: None,
        }
    }
}

impl RawJwksUri {
    pub(super) fn validate(self) -> Result<JwksUriConfig> {
        let d = JwksUriConfig::default();
        let secs = |v: Option<u64>, default: Duration, key: &str, max: u64| -> Result<Duration> {
            match v {
                None => Ok(default),
                Some(n) if (1..=max).contains(&n) => Ok(Duration::from_secs(n)),
                Some(_) => bail!("oauth.jwks_uri.{key} must be between 1 and {max} seconds"),
            }
        };
        let stale_if_error = match self.stale_if_error {
            None => d.stale_if_error,
            Some(n) if n <= 86_400 => Duration::from_secs(n),
            Some(_) => bail!("oauth.jwks_uri.stale_if_error must be at most 86400 seconds"),
        };
        let cache_ttl = secs(self.cache_ttl, d.cache_ttl, "cache_ttl", 86_400)?;
        let refetch_interval = secs(
            self.refetch_interval,
            d.refetch_interval,
            "refetch_interval",
            3600,
        )?;
        if refetch_interval > cache_ttl {
            bail!("oauth.jwks_uri.refetch_interval must not be longer than cache_ttl");
        }
        Ok(JwksUriConfig {
            timeout: secs(self.timeout, d.timeout, "timeout", MAX_TIMEOUT)?,
            cache_ttl,
            refetch_interval,
            stale_if_error,
            allow_private_addresses: self.allow_private_addresses.unwrap_or(false),
            ca_file: self.ca_file,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<JwksUriConfig> {
        toml::from_str::<RawJwksUri>(text)?.validate()
    }

    #[test]
    fn defaults_and_limits() {
        assert_eq!(parse("").unwrap(), JwksUriConfig::default());
        let c = parse("timeout = 1\ncache_ttl = 60\nrefetch_interval = 2\nstale_if_error = 0\nallow_private_addresses = true\nca_file = \"ca.pem\"\n").unwrap();
        assert_eq!(c.timeout, Duration::from_secs(1));
        assert_eq!(c.stale_if_error, Duration::ZERO);
        assert!(c.allow_private_addresses);
        for bad in [
            "timeout = 6",
            "timeout = 0",
            "cache_ttl = 0",
            "refetch_interval = 0",
            "cache_ttl = 5\nrefetch_interval = 6",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("oauth.jwks_uri."), "{bad}: {e}");
        }
        assert!(parse("max_size = 1").is_err());
    }
}
