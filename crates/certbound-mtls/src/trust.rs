//! Trust anchors and PKI chain validation for `tls_client_auth` (RFC 8705 §2.1, RFC 5280 §6)
//! via rustls-webpki.
//!
//! Validation here is path building, signatures, validity and the clientAuth extended key
//! usage. Revocation is not checked. Matching the client's registered name is a separate step
//! (`subject_match.rs`).

use std::fmt;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::{CertError, ClientCertificate, pem};

/// Every classical signature algorithm rustls-webpki implements with aws-lc-rs.
static ALL_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_3072_8192_SHA384,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// The CA certificates client certificates must chain to.
#[derive(Clone)]
pub struct TrustAnchors {
    anchors: Vec<TrustAnchor<'static>>,
}

impl TrustAnchors {
    /// Reads one or more CA certificates from PEM. `NoCertificate` if there is none,
    /// `Malformed` for non-certificate blocks, `InvalidTrustAnchor` if webpki cannot use one.
    pub fn from_pem(text: &str) -> Result<TrustAnchors, CertError> {
        let anchors = pem::certificate_blocks(text)?
            .into_iter()
            .map(|der| {
                let der = CertificateDer::from(der);
                webpki::anchor_from_trusted_cert(&der)
                    .map(|a| a.to_owned())
                    .map_err(|_| CertError::InvalidTrustAnchor)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustAnchors { anchors })
    }

    /// The number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there is no anchor (never true for a value built by `from_pem`).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The anchors, e.g. to build a rustls `RootCertStore`.
    pub fn as_slice(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

impl fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("len", &self.anchors.len())
            .finish()
    }
}

impl ClientCertificate {
    /// Validates the chain from this end-entity certificate through `intermediates` to one of
    /// `anchors` at `now_unix` (RFC 5280 §6.1, RFC 8705 §2.1), requiring the clientAuth EKU
    /// when an EKU extension is present (RFC 5280 §4.2.1.12). No revocation checking.
    ///
    /// Errors: `Expired` / `NotYetValid` for a certificate outside its validity period,
    /// `Untrusted(reason)` for anything else.
    pub fn verify_chain(
        &self,
        intermediates: &[ClientCertificate],
        anchors: &TrustAnchors,
        now_unix: i64,
    ) -> Result<(), CertError> {
        let ee_der = CertificateDer::from(self.der());
        let ee = EndEntityCert::try_from(&ee_der).map_err(|e| map_error(&e))?;
        let chain: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let secs = u64::try_from(now_unix).unwrap_or(0);
        let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
        ee.verify_for_usage(
            ALL_ALGS,
            &anchors.anchors,
            &chain,
            time,
            KeyUsage::client_auth(),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| map_error(&e))
    }
}

fn map_error(e: &webpki::Error) -> CertError {
    match e {
        webpki::Error::CertExpired { .. } => CertError::Expired,
        webpki::Error::CertNotValidYet { .. } => CertError::NotYetValid,
        other => CertError::Untrusted(short_reason(other)),
    }
}

/// webpki's `Display` is its `Debug`; keep the variant name only (contexts may be long).
fn short_reason(e: &webpki::Error) -> String {
    let full = format!("{e:?}");
    let end = full.find([' ', '(', '{']).unwrap_or(full.len());
    full.get(..end).unwrap_or(&full).to_owned()
}
