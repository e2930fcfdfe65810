//! The one error type of this crate.
//!
//! Messages describe what was wrong, never what the certificate contained: no DER, no PEM,
//! no base64 ever ends up in a `CertError` (house rule 7: logs carry thumbprints, never PEM).

/// Why a certificate, a trust anchor or a distinguished name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The input is not exactly one well-formed X.509 certificate (RFC 5280 §4.1): bad DER,
    /// trailing bytes after the certificate, broken PEM armour, or a PEM block that is not a
    /// certificate (for example a private key).
    #[error("malformed certificate")]
    Malformed,
    /// The PEM text contained no `CERTIFICATE` block at all.
    #[error("no certificate found in PEM input")]
    NoCertificate,
    /// The current time is before the certificate's notBefore (RFC 5280 §4.1.2.5).
    #[error("certificate is not yet valid")]
    NotYetValid,
    /// The current time is after the certificate's notAfter (RFC 5280 §4.1.2.5).
    #[error("certificate has expired")]
    Expired,
    /// The chain does not validate to the configured trust anchors (unknown issuer, bad
    /// signature, wrong extended key usage, ...). Carries webpki's short reason.
    #[error("certificate is not trusted: {0}")]
    Untrusted(String),
    /// A distinguished name string is not valid RFC 4514 syntax; carries the reason.
    #[error("invalid distinguished name: {0}")]
    InvalidDn(String),
    /// A CRL of the trust store lists the certificate (or a presented intermediate) as revoked
    /// (RFC 5280 §6.3.3).
    #[error("certificate has been revoked")]
    Revoked,
    /// The trust store checks revocation but the certificate's status cannot be established:
    /// no CRL for its issuer, or the CRL is past its nextUpdate or badly signed. Carries
    /// webpki's short reason.
    #[error("certificate revocation status unknown: {0}")]
    RevocationUnknown(String),
    /// A configured CA certificate cannot be used as a trust anchor.
    #[error("invalid trust anchor certificate")]
    InvalidTrustAnchor,
}
