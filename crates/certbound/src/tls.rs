//! The TLS listener configuration: rustls with a client-certificate verifier that asks for a
//! certificate, accepts any at the handshake, and still checks the handshake signature (proof
//! of the private key). Per-client validation happens later, in client authentication
//! (RFC 8705 §2). The verifier (the only rustls `danger` code, DESIGN rule 11) lives in
//! `certbound_resource::tls`, shared with resource servers.

use anyhow::{Context, Result, anyhow};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Whether a listener asks TLS clients for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCerts {
    /// Ask, accept any (per-client validation happens later), proceed without one.
    Request,
    /// Ask and refuse the handshake without one (the RFC 8705 §5 alias listener).
    Require,
    /// Do not ask (a main listener for browsers when the alias listener serves mTLS).
    Off,
}

/// Builds the server TLS configuration from PEM files (TLS 1.2 and 1.3, ALPN h2 and http/1.1).
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    client_certs: ClientCerts,
) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = CertificateDer::pem_file_iter(cert_file)
        .with_context(|| {
            format!(
                "cannot read the TLS certificate file {}",
                cert_file.display()
            )
        })?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert_file.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("{} contains no certificate", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("cannot read a PEM private key from {}", key_file.display()))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_certs {
        ClientCerts::Off => builder.with_no_client_auth(),
        ClientCerts::Request | ClientCerts::Require => builder.with_client_cert_verifier(
            certbound_resource::tls::accept_any_client_certificate(
                &provider,
                client_certs == ClientCerts::Require,
            ),
        ),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unsupported")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

pub use certbound_resource::tls::peer_certificate;
