//! `[storage]`: the storage URL (SQLite or PostgreSQL) and the connection pool settings.
//! Parsing only; the store is opened by `serve::open_store`.

use anyhow::{Result, bail};
use certbound_store::StoreOptions;
use serde::Deserialize;
use std::time::Duration;

/// Default seconds to wait for a database connection (also the pool's acquire timeout).
pub const DEFAULT_CONNECT_TIMEOUT: u64 = 5;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub(super) url: Option<String>,
    max_connections: Option<u32>,
    connect_timeout: Option<u64>,
    sqlite_synchronous: Option<String>,
}

impl RawStorage {
    /// The validated pool settings.
    pub(super) fn options(&self) -> Result<StoreOptions> {
        if let Some(n) = self.max_connections
            && !(1..=1000).contains(&n)
        {
            bail!("storage.max_connections must be between 1 and 1000");
        }
        let timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if !(1..=300).contains(&timeout) {
            bail!("storage.connect_timeout must be between 1 and 300 seconds");
        }
        let sqlite_full_sync = match self.sqlite_synchronous.as_deref() {
            None | Some("full") => true,
            Some("normal") => false,
            Some(other) => bail!(
                "storage.sqlite_synchronous must be \"full\" (durable through power loss, the default) or \"normal\" (durable through a process crash only), got {other:?}"
            ),
        };
        Ok(StoreOptions {
            max_connections: self.max_connections,
            connect_timeout: Duration::from_secs(timeout),
            sqlite_full_sync,
        })
    }
}

/// Checks the scheme of a storage URL, so a typo fails at start with the accepted forms.
pub(super) fn check_url(url: &str) -> Result<()> {
    if certbound_store::Backend::of(url).is_none() {
        bail!(
            "storage.url must start with sqlite:// or postgres:// (or postgresql://), got {}",
            certbound_store::redact(url)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pool_settings_are_bounded() {
        let raw: RawStorage = toml::from_str("max_connections = 8\nconnect_timeout = 2").unwrap();
        let o = raw.options().unwrap();
        assert_eq!(o.max_connections, Some(8));
        assert_eq!(o.connect_timeout, Duration::from_secs(2));
        let d = RawStorage::default().options().unwrap();
        assert_eq!((d.max_connections, d.connect_timeout.as_secs()), (None, 5));
        assert!(d.sqlite_full_sync, "durable through power loss by default");
        let raw: RawStorage = toml::from_str("sqlite_synchronous = \"normal\"").unwrap();
        assert!(!raw.options().unwrap().sqlite_full_sync);
        for bad in [
            "max_connections = 0",
            "connect_timeout = 0",
            "sqlite_synchronous = \"off\"",
        ] {
            let raw: RawStorage = toml::from_str(bad).unwrap();
            assert!(raw.options().is_err(), "{bad}");
        }
        assert!(check_url("mysql://x").is_err());
        assert!(check_url("postgresql://u@h/d").is_ok());
    }
}
