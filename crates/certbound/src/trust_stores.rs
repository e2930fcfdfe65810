//! Loads the configured trust stores at start (CA files, CRL files, CRL URLs) and keeps their
//! CRLs fresh in one background task per store with CRL sources. The checking itself is
//! `certbound_core::trust_stores`; this module only does the I/O.
//!
//! Failure policy: an unreadable CA file or CRL file at start stops the server (a local
//! configuration mistake); a CRL URL that cannot be fetched at start is logged and retried at
//! every refresh, and meanwhile the store refuses the certificates it has no CRL for (fail
//! closed). A refresh that fails keeps the last good CRL of that source and logs why.

use crate::config::TrustStoreConfig;
use anyhow::{Context, Result, anyhow, bail};
use certbound_core::model::{Client, ClientAuthMethod};
use certbound_core::trust_stores::{TrustStore, TrustStores};
use certbound_mtls::{RevocationList, TrustAnchors};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Largest CRL accepted from a file or a URL.
pub const MAX_CRL_BYTES: usize = 10 * 1024 * 1024;
/// Timeout of one CRL download.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where one CRL comes from.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Url(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Url(u) => f.write_str(u),
        }
    }
}

/// A store's CRL sources and the last good CRLs of each.
struct Crls {
    store: Arc<TrustStore>,
    sources: Vec<Source>,
    last_good: Vec<Option<Vec<RevocationList>>>,
    http: Option<reqwest::Client>,
    interval: Duration,
}

/// Reads every store, loads its CRLs, and starts the refresh tasks (call inside the runtime).
pub async fn load(configs: &[TrustStoreConfig], now: i64) -> Result<Arc<TrustStores>> {
    let mut stores = TrustStores::new();
    let http = if configs.iter().any(|c| !c.crl_urls.is_empty()) {
        Some(http_client()?)
    } else {
        None
    };
    for config in configs {
        let anchors = read_anchors(config)?;
        let store = stores
            .insert(TrustStore::new(&config.name, anchors, config.has_crls()))
            .map_err(|e| anyhow!("{e}"))?;
        tracing::info!(trust_store = %config.name, cas = store.anchors().len(), crl_sources = config.crl_files.len() + config.crl_urls.len(), "trust store loaded");
        if !config.has_crls() {
            continue;
        }
        let sources: Vec<Source> = (config.crl_files.iter().cloned().map(Source::File))
            .chain(config.crl_urls.iter().cloned().map(Source::Url))
            .collect();
        let mut crls = Crls {
            store,
            last_good: vec![None; sources.len()],
            sources,
            http: http.clone(),
            interval: config.crl_refresh_interval,
        };
        crls.refresh(now, true).await?;
        tokio::spawn(crls.run());
    }
    Ok(Arc::new(stores))
}

fn read_anchors(config: &TrustStoreConfig) -> Result<TrustAnchors> {
    let key = if config.name == certbound_core::trust_stores::DEFAULT_STORE && !config.has_crls() {
        "oauth.mutualtls.trusted_ca_file (or trust_stores.default.ca_file)".to_owned()
    } else {
        format!("trust_stores.{}.ca_file", config.name)
    };
    let path = &config.ca_file;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {key} {}", path.display()))?;
    TrustAnchors::from_pem(&text)
        .with_context(|| format!("{key} {} holds no usable CA certificate", path.display()))
}

impl Crls {
    /// Re-reads every source; a failing source keeps its last good CRLs. At start, a failing
    /// file is an error.
    async fn refresh(&mut self, now: i64, at_start: bool) -> Result<()> {
        let name = self.store.name().to_owned();
        for (i, source) in self.sources.iter().enumerate() {
            match self.fetch(source).await {
                Ok(list) => {
                    for crl in &list {
                        log_loaded(&name, source, crl, now, at_start);
                    }
                    self.last_good[i] = Some(list);
                }
                Err(e) if at_start && matches!(source, Source::File(_)) => {
                    return Err(e.context(format!(
                        "trust_stores.{name}.crl_files: cannot load the CRL {source}"
                    )));
                }
                Err(e) => {
                    let kept = self.last_good[i].is_some();
                    tracing::warn!(trust_store = %name, %source, error = %format!("{e:#}"), kept_last_good = kept, "CRL refresh failed");
                }
            }
        }
        let all: Vec<RevocationList> = self.last_good.iter().flatten().flatten().cloned().collect();
        self.store.set_crls(all);
        Ok(())
    }

    /// Bytes of one source, parsed, each CRL checked against the store's CAs.
    async fn fetch(&self, source: &Source) -> Result<Vec<RevocationList>> {
        let bytes = match source {
            Source::File(path) => read_file(path).await?,
            Source::Url(url) => {
                let http = self
                    .http
                    .as_ref()
                    .ok_or_else(|| anyhow!("no HTTP client"))?;
                download(http, url).await?
            }
        };
        let list = RevocationList::parse(&bytes)?;
        for crl in &list {
            crl.check_issuer(self.store.anchors())?;
        }
        Ok(list)
    }

    /// Refreshes every `interval`, forever.
    async fn run(mut self) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let now = certbound_core::Clock::now(&certbound_core::SystemClock);
            // Not at start: errors are logged inside and the last good CRLs kept.
            let _ = self.refresh(now, false).await;
        }
    }
}

fn log_loaded(store: &str, source: &Source, crl: &RevocationList, now: i64, at_start: bool) {
    if crl.is_expired(now) {
        tracing::warn!(trust_store = %store, %source, issuer = %crl.issuer(), next_update = crl.next_update(), "CRL is past its nextUpdate: certificates of its issuer are refused until a fresh CRL is loaded");
    } else if at_start {
        tracing::info!(trust_store = %store, %source, issuer = %crl.issuer(), revoked = crl.revoked_count(), next_update = crl.next_update(), "CRL loaded");
    } else {
        tracing::debug!(trust_store = %store, %source, issuer = %crl.issuer(), revoked = crl.revoked_count(), next_update = crl.next_update(), "CRL refreshed");
    }
}

async fn read_file(path: &PathBuf) -> Result<Vec<u8>> {
    let len = tokio::fs::metadata(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_CRL_BYTES as u64 {
        bail!("{} is larger than {MAX_CRL_BYTES} bytes", path.display());
    }
    tokio::fs::read(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))
}

/// GET with the client's timeout, at most [`MAX_CRL_BYTES`] read.
async fn download(http: &reqwest::Client, url: &str) -> Result<Vec<u8>> {
    let mut response = http.get(url).send().await?.error_for_status()?;
    if response
        .content_length()
        .is_some_and(|n| n > MAX_CRL_BYTES as u64)
    {
        bail!("the CRL is larger than {MAX_CRL_BYTES} bytes");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_CRL_BYTES {
            bail!("the CRL is larger than {MAX_CRL_BYTES} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest over rustls (aws-lc-rs) with the system's root certificates, for https CRL URLs.
fn http_client() -> Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::warn!("no system root certificates found: https CRL URLs will fail");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::limited(3))
        .timeout(FETCH_TIMEOUT)
        .build()
        .context("cannot build the HTTP client for CRL URLs")
}

/// Startup warnings for `tls_client_auth` clients whose store is missing, and advice for
/// clients that name none while several stores exist (they may chain to any of them).
pub fn check_clients(stores: &TrustStores, clients: &[Client]) {
    let pki = clients
        .iter()
        .filter(|c| c.auth_method == ClientAuthMethod::TlsClientAuth);
    let several = stores.names().count() > 1;
    for client in pki {
        match &client.trust_store {
            Some(name) if !stores.contains(name) => {
                tracing::warn!(client_id = %client.client_id, trust_store = %name, "client names a trust store that is not configured: it cannot authenticate until [trust_stores.{name}] exists");
            }
            None if several => {
                tracing::info!(client_id = %client.client_id, "client names no trust store: its certificate may chain to any configured store; set one (client create --trust-store NAME) so another store's CA cannot vouch for it");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One-shot HTTP server answering every request with `body`.
    async fn serve(body: Vec<u8>, declared_len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {declared_len}\r\nConnection: close\r\n\r\n"
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
            }
        });
        format!("http://{addr}/ca.crl")
    }

    /// A CA (PEM) and a DER CRL it signs, revoking nothing.
    fn ca_and_crl() -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "URL CA");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let pem = p.self_signed(&key).unwrap().pem();
        let issuer = rcgen::Issuer::new(p, key);
        let now = time::OffsetDateTime::now_utc();
        let crl = rcgen::CertificateRevocationListParams {
            this_update: now - time::Duration::minutes(1),
            next_update: now + time::Duration::days(1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: Vec::new(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap();
        (pem, crl.der().to_vec())
    }

    #[tokio::test]
    async fn crl_urls_load_and_a_dead_url_does_not_stop_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let (pem, crl) = ca_and_crl();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, pem).unwrap();
        let len = crl.len();
        let live = serve(crl, len).await;
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/gone.crl", l.local_addr().unwrap())
        };
        let config = |name: &str, url: &str| TrustStoreConfig {
            name: name.into(),
            ca_file: ca_file.clone(),
            crl_files: Vec::new(),
            crl_urls: vec![url.into()],
            crl_refresh_interval: Duration::from_secs(3600),
        };
        let now = certbound_core::Clock::now(&certbound_core::SystemClock);
        let stores = load(&[config("live", &live), config("dead", &dead)], now)
            .await
            .unwrap();
        let live = stores.get("live").unwrap();
        assert!(live.checks_revocation());
        assert_eq!(live.crls().len(), 1);
        let dead = stores.get("dead").unwrap();
        assert!(
            dead.checks_revocation() && dead.crls().is_empty(),
            "fail closed"
        );
    }

    #[tokio::test]
    async fn download_enforces_the_size_cap() {
        let http = http_client().unwrap();
        let url = serve(b"hello".to_vec(), 5).await;
        assert_eq!(download(&http, &url).await.unwrap(), b"hello");
        let url = serve(Vec::new(), MAX_CRL_BYTES + 1).await;
        let e = download(&http, &url).await.unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }
}
