//! Server-side TLS for RFC 8705: a rustls client-certificate verifier that asks for a
//! certificate and accepts any well-formed one at the handshake (still checking the handshake
//! signature, i.e. proof of the private key), and the conversion of what the client presented
//! into a [`PeerCertificate`]. Which certificate is acceptable is decided later, per token (its
//! `cnf`) or per client. The only rustls `danger` code of certbound is here; the authorization
//! server uses it too.

use certbound_mtls::{ClientCertificate, PeerCertificate, Thumbprint};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::sync::Arc;

/// A verifier that requests a client certificate (and, when `mandatory`, refuses the handshake
/// without one) and accepts any, so self-signed RFC 8705 §2.2 certificates work. Use it with
/// `ServerConfig::builder().with_client_cert_verifier(...)`.
pub fn accept_any_client_certificate(
    provider: &CryptoProvider,
    mandatory: bool,
) -> Arc<dyn ClientCertVerifier> {
    Arc::new(RequestAnyClientCert {
        algorithms: provider.signature_verification_algorithms,
        mandatory,
    })
}

#[derive(Debug)]
struct RequestAnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
    mandatory: bool,
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

/// Turns the certificates a client presented in the handshake (rustls'
/// `ServerConnection::peer_certificates()`) into a [`PeerCertificate`]. A leaf that does not
/// parse as X.509 is treated as absent and logged by thumbprint.
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
            tracing::warn!(x5t = %Thumbprint::of_der(leaf), error = %e, "ignoring an unparseable client certificate");
            None
        }
    }
}
