//! TLS client configuration of the load generator: trusted CA, optional client certificate,
//! classical key exchange only, ALPN http/1.1, no session resumption.

use anyhow::{Context, Result, bail};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsConnector;

/// All certificates in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing certificates in {}", path.display()))?;
    if certs.is_empty() {
        bail!("no certificate in {}", path.display());
    }
    Ok(certs)
}

/// aws-lc-rs restricted to X25519 and P-256: rustls would otherwise offer the post-quantum
/// hybrid first, which Node (OpenSSL 3.0) answers with a HelloRetryRequest, so servers would
/// not be compared on equal terms.
fn classical_provider() -> Arc<CryptoProvider> {
    use rustls::crypto::aws_lc_rs::kx_group;
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    p.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1];
    Arc::new(p)
}

/// A connector trusting `cacert`, presenting `client` (certificate chain and key files) if
/// given. Every handshake is a full one: resumption is off.
pub fn connector(cacert: &Path, client: Option<(&Path, &Path)>) -> Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(cacert)? {
        roots.add(c).context("adding the CA certificate")?;
    }
    let builder = ClientConfig::builder_with_provider(classical_provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => {
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading private key {}", key.display()))?;
            builder
                .with_client_auth_cert(load_certs(cert)?, key)
                .context("client certificate and key")?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}
