//! Trust anchors and PKI chain validation for `tls_client_auth` (RFC 8705 §2.1, RFC 5280 §6)
//! via rustls-webpki.
//!
//! Validation here is path building, signatures, validity and the clientAuth extended key
//! usage, plus revocation against CRLs when the caller passes them (`crl.rs` has the policy).
//! Matching the client's registered name is a separate step (`subject_match.rs`).

use std::fmt;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptions, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::crl::{Revocation, short_reason};
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
    certificates: Vec<Vec<u8>>,
}

impl TrustAnchors {
    /// Reads one or more CA certificates from PEM. `NoCertificate` if there is none,
    /// `Malformed` for non-certificate blocks, `InvalidTrustAnchor` if webpki cannot use one.
    pub fn from_pem(text: &str) -> Result<TrustAnchors, CertError> {
        let certificates = pem::certificate_blocks(text)?;
        let anchors = certificates
            .iter()
            .map(|der| {
                let der = CertificateDer::from(der.as_slice());
                webpki::anchor_from_trusted_cert(&der)
                    .map(|a| a.to_owned())
                    .map_err(|_| CertError::InvalidTrustAnchor)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustAnchors {
            anchors,
            certificates,
        })
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

    /// The CA certificates (DER) the anchors were made from, e.g. to check CRL signatures.
    pub fn ca_certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.certificates.iter().map(Vec::as_slice)
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
        self.verify_chain_with_revocation(intermediates, anchors, Revocation::NotChecked, now_unix)
    }

    /// [`verify_chain`](Self::verify_chain), then revocation as `revocation` says
    /// (RFC 5280 §6.3; the policy is documented on [`Revocation::Crls`]).
    ///
    /// Errors besides those of `verify_chain`: `Revoked` when a CRL lists the certificate (or a
    /// presented intermediate), `RevocationUnknown(reason)` when the end-entity's status cannot
    /// be established (no CRL for its issuer, an expired CRL, a CRL with a bad signature).
    pub fn verify_chain_with_revocation(
        &self,
        intermediates: &[ClientCertificate],
        anchors: &TrustAnchors,
        revocation: Revocation<'_>,
        now_unix: i64,
    ) -> Result<(), CertError> {
        let crls: Vec<&CertRevocationList<'_>> = match revocation {
            Revocation::NotChecked => return self.verify(intermediates, anchors, None, now_unix),
            Revocation::Crls(crls) => crls.iter().map(|c| c.webpki()).collect(),
        };
        let Ok(builder) = RevocationOptionsBuilder::new(&crls) else {
            // CRLs are required but none is loaded: the chain may still be untrusted, which is
            // the better error to report.
            self.verify(intermediates, anchors, None, now_unix)?;
            return Err(CertError::RevocationUnknown("no CRL loaded".into()));
        };
        let builder = builder.with_expiration_policy(ExpirationPolicy::Enforce);
        // The end entity: status required.
        let end_entity = builder
            .with_depth(RevocationCheckDepth::EndEntity)
            .with_status_policy(UnknownStatusPolicy::Deny)
            .build();
        self.verify(intermediates, anchors, Some(end_entity), now_unix)?;
        if intermediates.is_empty() {
            return Ok(());
        }
        // Intermediates: checked where a CRL for their issuer is present.
        let chain = builder
            .with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Allow)
            .build();
        self.verify(intermediates, anchors, Some(chain), now_unix)
    }

    fn verify(
        &self,
        intermediates: &[ClientCertificate],
        anchors: &TrustAnchors,
        revocation: Option<RevocationOptions<'_>>,
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
            revocation,
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
        webpki::Error::CertRevoked => CertError::Revoked,
        webpki::Error::UnknownRevocationStatus
        | webpki::Error::CrlExpired { .. }
        | webpki::Error::InvalidCrlSignatureForPublicKey
        | webpki::Error::IssuerNotCrlSigner
        | webpki::Error::UnsupportedCrlSignatureAlgorithmContext(_)
        | webpki::Error::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => {
            CertError::RevocationUnknown(short_reason(e))
        }
        other => CertError::Untrusted(short_reason(other)),
    }
}
