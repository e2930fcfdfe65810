//! One HTTPS fetch of a client's JWK set: https only, the host resolved and checked by
//! [`super::address`] and the connection pinned to those addresses, no redirects, no proxy,
//! one overall timeout (DNS included), a body of at most [`MAX_BODY`] bytes read bounded,
//! and the `x5c[0]` certificate thumbprints of the keys. No caching here; bodies are never
//! logged.

use super::address;
use certbound_core::client_auth::KeySourceError;
use certbound_core::registration::certificates_of_jwks;
use certbound_mtls::Thumbprint;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use std::sync::Arc;
use std::time::Duration;

/// Largest key set accepted (the 64 KiB, as for `jwks` given at registration).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// Fetches key sets; one per server, shared by every `jwks_uri`.
pub(crate) struct HttpsFetcher {
    tls: rustls::ClientConfig,
    timeout: Duration,
    allow_private: bool,
}

impl HttpsFetcher {
    /// `ca_pem`: extra CA certificates trusted besides the system roots.
    pub(crate) fn new(
        ca_pem: Option<&str>,
        timeout: Duration,
        allow_private: bool,
    ) -> anyhow::Result<HttpsFetcher> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots(ca_pem)?)
            .with_no_client_auth();
        Ok(HttpsFetcher {
            tls,
            timeout,
            allow_private,
        })
    }

    /// The thumbprints of the certificates published at `uri`.
    pub(crate) async fn fetch(&self, uri: &str) -> Result<Vec<Thumbprint>, KeySourceError> {
        let url = reqwest::Url::parse(uri)
            .ok()
            .filter(|u| u.scheme() == "https" && u.host_str().is_some())
            .ok_or_else(|| fetch_error("the jwks_uri is not an https URL"))?;
        match tokio::time::timeout(self.timeout, self.fetch_url(url)).await {
            Ok(result) => result,
            Err(_) => Err(fetch_error(format!(
                "no complete answer within {} s",
                self.timeout.as_secs_f32()
            ))),
        }
    }

    async fn fetch_url(&self, url: reqwest::Url) -> Result<Vec<Thumbprint>, KeySourceError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = address::resolve_checked(&host, port, self.allow_private).await?;
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(self.tls.clone())
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            // No reqwest timeouts: the caller's one timeout bounds DNS, connect, TLS and body.
            // Every name is answered from the checked addresses below; anything else fails.
            .dns_resolver(Arc::new(NoDns));
        if !host.starts_with('[') && host.parse::<std::net::IpAddr>().is_err() {
            builder = builder.resolve_to_addrs(&host, &addrs);
        }
        let client = builder
            .build()
            .map_err(|e| fetch_error(crate::error_text::chain(&e)))?;
        let response = client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(|e| fetch_error(crate::error_text::chain(&e)))?;
        let body = read_bounded(response).await?;
        let set: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| fetch_error("the response is not JSON"))?;
        let certs = certificates_of_jwks(&set).map_err(|e| fetch_error(e.message))?;
        Ok(certs.iter().map(|c| *c.thumbprint()).collect())
    }
}

/// A 200 response's body, refused as soon as it passes [`MAX_BODY`] bytes.
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, KeySourceError> {
    if response.status() != reqwest::StatusCode::OK {
        return Err(fetch_error(format!("HTTP status {}", response.status())));
    }
    let too_large = || fetch_error(format!("the response is larger than {MAX_BODY} bytes"));
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetch_error(crate::error_text::chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// System roots plus the configured CA certificates. An empty store is allowed (fetches then
/// fail, with a warning at start), so a server without system roots still starts.
fn roots(ca_pem: Option<&str>) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(
        system_roots = added,
        "jwks_uri fetches trust the system roots"
    );
    if let Some(pem) = ca_pem {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| anyhow::anyhow!("not PEM"))?;
        if certs.is_empty() {
            anyhow::bail!("holds no certificate");
        }
        for cert in certs {
            roots.add(cert)?;
        }
    }
    if roots.is_empty() {
        tracing::warn!(
            "no system root certificates and no oauth.jwks_uri.ca_file: jwks_uri fetches will fail"
        );
    }
    Ok(roots)
}

/// A resolver that resolves nothing: only the pinned, checked addresses are ever used.
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(
            async move { Err(format!("{name} was not resolved and checked beforehand").into()) },
        )
    }
}

fn fetch_error(message: impl Into<String>) -> KeySourceError {
    KeySourceError::Fetch(message.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fetcher(timeout: u64, allow_private: bool) -> HttpsFetcher {
        HttpsFetcher::new(None, Duration::from_secs(timeout), allow_private).unwrap()
    }

    #[tokio::test]
    async fn only_https_urls_to_allowed_addresses_are_fetched() {
        let f = fetcher(1, false);
        for uri in ["http://example.com/jwks", "not a url", "https:///x"] {
            let e = f.fetch(uri).await.unwrap_err();
            assert!(matches!(e, KeySourceError::Fetch(_)), "{uri}: {e}");
        }
        for uri in [
            "https://127.0.0.1/jwks",
            "https://[::1]:8443/jwks",
            "https://0x7f.1/jwks",
            "https://169.254.169.254/latest",
        ] {
            let e = f.fetch(uri).await.unwrap_err();
            assert!(matches!(e, KeySourceError::Forbidden(_)), "{uri}: {e}");
        }
    }

    #[tokio::test]
    async fn a_server_that_does_not_answer_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and holds the connection, never completing the TLS handshake.
        let hold = tokio::spawn(async move {
            let _conn = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let started = std::time::Instant::now();
        let e = fetcher(1, true)
            .fetch(&format!("https://127.0.0.1:{port}/jwks"))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(e.to_string().contains("within 1 s"), "{e}");
        hold.abort();
    }

    #[tokio::test]
    async fn bodies_over_the_cap_are_refused() {
        let big = axum::http::Response::new(vec![b' '; MAX_BODY + 1]);
        let e = read_bounded(big.into()).await.unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
        let ok = axum::http::Response::new(vec![b' '; MAX_BODY]);
        assert_eq!(read_bounded(ok.into()).await.unwrap().len(), MAX_BODY);
        let mut not_found = axum::http::Response::new(Vec::new());
        *not_found.status_mut() = axum::http::StatusCode::NOT_FOUND;
        assert!(read_bounded(not_found.into()).await.is_err());
    }
}
