//! Outgoing HTTPS to the issuer (JWKS fetch, introspection): a reqwest client over a rustls
//! configuration built here with the aws-lc-rs provider (no process-wide provider is installed
//! or required), trusting the system roots plus the configured CA, optionally presenting a
//! client certificate. HTTPS only, no redirects, 5 s timeout, bodies of at most 256 KiB.
//! This module never logs request or response bodies.

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ConfigError;

/// Whole-request timeout (connect, TLS, request, response body).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body accepted.
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// Why a request to the issuer failed. Logged, never sent to clients.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// Connection, TLS or timeout.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// A status other than 200.
    #[error("unexpected HTTP status {0}")]
    Status(reqwest::StatusCode),
    /// The body is larger than [`MAX_BODY`].
    #[error("response body larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The body is not the expected JSON.
    #[error("response is not the expected JSON")]
    Json,
}

/// The client for the issuer. `identity`: PEM certificate chain and PEM private key.
pub(crate) fn build(
    ca_pem: Option<&str>,
    identity: Option<(&str, &str)>,
) -> Result<reqwest::Client, ConfigError> {
    let roots = root_store(ca_pem)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::HttpClient(e.to_string()))?
        .with_root_certificates(roots);
    let tls = match identity {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ConfigError::BadClientIdentity("cert_pem is not PEM"))?;
            if certs.is_empty() {
                return Err(ConfigError::BadClientIdentity(
                    "cert_pem holds no certificate",
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|_| ConfigError::BadClientIdentity("key_pem holds no private key"))?;
            builder.with_client_auth_cert(certs, key).map_err(|_| {
                ConfigError::BadClientIdentity("the key does not fit the certificate")
            })?
        }
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .build()
        .map_err(|e| ConfigError::HttpClient(e.to_string()))
}

/// System roots plus the configured CA certificates.
fn root_store(ca_pem: Option<&str>) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(
        system_roots = added,
        errors = native.errors.len(),
        "loaded system root certificates"
    );
    if let Some(pem) = ca_pem {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ConfigError::BadCa)?;
        if certs.is_empty() {
            return Err(ConfigError::BadCa);
        }
        for cert in certs {
            roots.add(cert).map_err(|_| ConfigError::BadCa)?;
        }
    }
    if roots.is_empty() {
        return Err(ConfigError::NoRootCertificates);
    }
    Ok(roots)
}

/// Checks that `url` parses and is `https://`.
pub(crate) fn https_url(url: &str, what: &'static str) -> Result<reqwest::Url, ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => Ok(parsed),
        _ => Err(ConfigError::NotHttps { what }),
    }
}

/// Reads a 200 response's JSON body, refusing more than [`MAX_BODY`] bytes.
pub(crate) async fn json_body(
    mut response: reqwest::Response,
) -> Result<serde_json::Value, FetchError> {
    if response.status() != reqwest::StatusCode::OK {
        return Err(FetchError::Status(response.status()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| FetchError::Json)
}
