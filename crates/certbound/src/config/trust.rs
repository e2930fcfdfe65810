//! `[trust_stores.NAME]`: named sets of CA certificates with their CRL sources, for
//! `tls_client_auth` (RFC 8705 §2.1; a client may be limited to one store, §7.4). The legacy
//! `[oauth.mutualtls] trusted_ca_file` becomes the store named `default`.
//!
//! Validation only: reading the files and fetching the URLs is `crate::trust_stores`' job.

use anyhow::{Result, bail};
use certbound_core::registration::valid_store_name;
use certbound_core::trust_stores::DEFAULT_STORE;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Default seconds between two CRL refreshes.
pub const DEFAULT_CRL_REFRESH_INTERVAL: u64 = 3600;
/// Longest accepted refresh interval: a week.
const MAX_CRL_REFRESH_INTERVAL: u64 = 7 * 86_400;

/// One `[trust_stores.NAME]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrustStore {
    ca_file: PathBuf,
    #[serde(default)]
    crl_files: Vec<PathBuf>,
    #[serde(default)]
    crl_urls: Vec<String>,
    crl_refresh_interval: Option<u64>,
}

/// A validated trust store definition.
#[derive(Debug, Clone)]
pub struct TrustStoreConfig {
    /// Its name, `[A-Za-z0-9_-]{1,64}` (what clients register as `trust_store`).
    pub name: String,
    /// PEM file with one or more CA certificates.
    pub ca_file: PathBuf,
    /// CRL files (DER or PEM), re-read on every refresh.
    pub crl_files: Vec<PathBuf>,
    /// CRL URLs (http or https), fetched on every refresh.
    pub crl_urls: Vec<String>,
    /// Time between two refreshes of the CRLs.
    pub crl_refresh_interval: Duration,
}

impl TrustStoreConfig {
    /// Whether the store has CRL sources (and so requires a current CRL of a certificate's
    /// issuer).
    pub fn has_crls(&self) -> bool {
        !self.crl_files.is_empty() || !self.crl_urls.is_empty()
    }
}

/// Validates the tables and adds `default` for `trusted_ca_file`.
pub(super) fn trust_stores(
    raw: BTreeMap<String, RawTrustStore>,
    trusted_ca_file: Option<PathBuf>,
) -> Result<Vec<TrustStoreConfig>> {
    if trusted_ca_file.is_some() && raw.contains_key(DEFAULT_STORE) {
        bail!(
            "both [oauth.mutualtls] trusted_ca_file and [trust_stores.{DEFAULT_STORE}] define the trust store \"{DEFAULT_STORE}\": keep one"
        );
    }
    let mut out = Vec::with_capacity(raw.len() + 1);
    if let Some(ca_file) = trusted_ca_file {
        out.push(TrustStoreConfig {
            name: DEFAULT_STORE.to_owned(),
            ca_file,
            crl_files: Vec::new(),
            crl_urls: Vec::new(),
            crl_refresh_interval: Duration::from_secs(DEFAULT_CRL_REFRESH_INTERVAL),
        });
    }
    for (name, store) in raw {
        out.push(one(name, store)?);
    }
    Ok(out)
}

fn one(name: String, raw: RawTrustStore) -> Result<TrustStoreConfig> {
    if !valid_store_name(&name) {
        bail!("[trust_stores.{name}]: a store name is 1 to 64 of A-Z a-z 0-9 _ -");
    }
    for url in &raw.crl_urls {
        let ok = reqwest::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            bail!("trust_stores.{name}.crl_urls: {url:?} is not an http or https URL");
        }
    }
    let interval = raw
        .crl_refresh_interval
        .unwrap_or(DEFAULT_CRL_REFRESH_INTERVAL);
    if !(1..=MAX_CRL_REFRESH_INTERVAL).contains(&interval) {
        bail!(
            "trust_stores.{name}.crl_refresh_interval must be between 1 and {MAX_CRL_REFRESH_INTERVAL} seconds"
        );
    }
    Ok(TrustStoreConfig {
        name,
        ca_file: raw.ca_file,
        crl_files: raw.crl_files,
        crl_urls: raw.crl_urls,
        crl_refresh_interval: Duration::from_secs(interval),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(toml_text: &str, legacy: Option<&str>) -> Result<Vec<TrustStoreConfig>> {
        #[derive(Deserialize)]
        struct T {
            trust_stores: BTreeMap<String, RawTrustStore>,
        }
        let t: T = toml::from_str(toml_text)?;
        trust_stores(t.trust_stores, legacy.map(PathBuf::from))
    }

    #[test]
    fn stores_with_defaults_and_the_legacy_default() {
        let s = parse(
            "[trust_stores.partners]\nca_file = \"p.pem\"\ncrl_files = [\"p.crl\"]\ncrl_urls = [\"http://crl.example/p.crl\"]\n[trust_stores.internal]\nca_file = \"i.pem\"\ncrl_refresh_interval = 60\n",
            Some("legacy.pem"),
        )
        .unwrap();
        let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["default", "internal", "partners"]);
        assert!(!s[0].has_crls());
        assert_eq!(s[1].crl_refresh_interval, Duration::from_secs(60));
        assert!(!s[1].has_crls());
        assert!(s[2].has_crls());
        assert_eq!(s[2].crl_refresh_interval, Duration::from_secs(3600));
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse(
            "[trust_stores.default]\nca_file = \"d.pem\"\n",
            Some("x.pem"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("trusted_ca_file"), "{e}");
        let e = parse("[trust_stores.\"a b\"]\nca_file = \"d.pem\"\n", None).unwrap_err();
        assert!(e.to_string().contains("store name"), "{e}");
        let e = parse(
            "[trust_stores.a]\nca_file = \"d.pem\"\ncrl_urls = [\"ftp://x/y.crl\"]\n",
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("crl_urls"), "{e}");
        let e = parse(
            "[trust_stores.a]\nca_file = \"d.pem\"\ncrl_refresh_interval = 0\n",
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("crl_refresh_interval"), "{e}");
        assert!(parse("[trust_stores.a]\ncrl_files = []\n", None).is_err());
        assert!(
            parse(
                "[trust_stores.a]\nca_file = \"a\"\ncrl_file = \"x\"\n",
                None
            )
            .is_err()
        );
    }
}
