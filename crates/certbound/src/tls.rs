//! The TLS listener: rustls with a client-certificate verifier that asks for a certificate,
//! accepts any at the handshake, and still checks the handshake signature (proof of the private
//! key). Per-client validation happens later, in client authentication (RFC 8705 §2). All
//! rustls `danger` APIs stay in this module (DESIGN rule 11).

use anyhow::{Context, Result, anyhow};
use certbound_mtls::ClientCertificate;
use certbound_mtls::PeerCertificate;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// Requests a client certificate and accepts any well-formed one; the application decides.
#[derive(Debug)]
struct RequestAnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
    mandatory: bool,
}

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

impl ClientCertVerifier for RequestAnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
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
        ClientCerts::Request | ClientCerts::Require => {
            builder.with_client_cert_verifier(Arc::new(RequestAnyClientCert {
                algorithms: provider.signature_verification_algorithms,
                mandatory: client_certs == ClientCerts::Require,
            }))
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unsupported")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Turns the certificates a client presented in the handshake into a [`PeerCertificate`].
/// A leaf that does not parse as X.509 is treated as absent and logged by thumbprint.
pub fn peer_certificate(chain: Option<&[CertificateDer<'static>]>) -> Option<PeerCertificate> {
    let (leaf, rest) = chain?.split_first()?;
    match ClientCertificate::from_der(leaf.to_vec()) {
        Ok(leaf) => Some(PeerCertificate {
            leaf,
            intermediates: rest
                .iter()
                .filter_map(|c| ClientCertificate::from_der(c.to_vec()).ok())
                .collect(),
        }),
        Err(e) => {
            tracing::warn!(x5t = %certbound_mtls::Thumbprint::of_der(leaf), error = %e, "ignoring an unparseable client certificate");
            None
        }
    }
}
