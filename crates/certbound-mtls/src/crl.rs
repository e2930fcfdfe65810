//! Certificate revocation lists (RFC 5280 §5) for `tls_client_auth` trust stores: parse CRLs
//! (DER or PEM `X509 CRL` blocks), check that a CRL is signed by the store's CA it names, and
//! the revocation policy used by [`ClientCertificate::verify_chain_with_revocation`].
//!
//! No I/O: callers read files or fetch URLs and hand the bytes here. Revocation checking itself
//! is rustls-webpki's (`RevocationOptions`), which also verifies each CRL's signature against
//! the issuer found on the validated path.
//!
//! [`ClientCertificate::verify_chain_with_revocation`]: crate::ClientCertificate::verify_chain_with_revocation

use std::fmt;
use std::sync::Arc;

use webpki::{CertRevocationList, OwnedCertRevocationList};

use crate::{TrustAnchors, pem};

/// Why a CRL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    /// The input holds no CRL: neither DER nor any PEM `X509 CRL` block.
    #[error("no CRL found (expected DER or PEM \"X509 CRL\" blocks)")]
    NoCrl,
    /// The CRL is not a well-formed RFC 5280 v2 CRL that webpki supports (delta CRLs, CRLs
    /// without nextUpdate and v1 CRLs are not); carries the short reason.
    #[error("malformed or unsupported CRL: {0}")]
    Malformed(String),
    /// The CRL names one of the store's CA certificates as its issuer but is not signed by it
    /// (RFC 5280 §6.3.3 (f)).
    #[error("the CRL of {issuer} is not signed by that CA certificate")]
    BadSignature {
        /// The CRL's issuer (RFC 4514-like text).
        issuer: String,
    },
}

/// One parsed CRL. Cheap to clone (the parsed list is shared).
#[derive(Clone)]
pub struct RevocationList {
    inner: Arc<Inner>,
}

struct Inner {
    crl: CertRevocationList<'static>,
    der: Vec<u8>,
    issuer: String,
    this_update: i64,
    next_update: i64,
    revoked: usize,
}

impl RevocationList {
    /// Parses one DER-encoded CRL.
    pub fn from_der(der: &[u8]) -> Result<RevocationList, CrlError> {
        let owned = OwnedCertRevocationList::from_der(der)
            .map_err(|e| CrlError::Malformed(short_reason(&e)))?;
        let (rest, parsed) =
            x509_parser::parse_x509_crl(der).map_err(|e| CrlError::Malformed(format!("{e}")))?;
        if !rest.is_empty() {
            return Err(CrlError::Malformed("trailing data after the CRL".into()));
        }
        let next_update = parsed
            .next_update()
            .ok_or_else(|| CrlError::Malformed("no nextUpdate".into()))?
            .timestamp();
        let inner = Inner {
            issuer: parsed.issuer().to_string(),
            this_update: parsed.last_update().timestamp(),
            next_update,
            revoked: parsed.iter_revoked_certificates().count(),
            crl: CertRevocationList::from(owned),
            der: der.to_vec(),
        };
        Ok(RevocationList {
            inner: Arc::new(inner),
        })
    }

    /// Parses the contents of a CRL file or HTTP response: one DER CRL, or text with one or
    /// more PEM `X509 CRL` blocks (RFC 7468 §6).
    pub fn parse(bytes: &[u8]) -> Result<Vec<RevocationList>, CrlError> {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![RevocationList::from_der(bytes)?]);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| CrlError::NoCrl)?;
        if !text.contains("-----BEGIN ") {
            return Err(CrlError::NoCrl);
        }
        pem::labelled_blocks(text, "X509 CRL")
            .map_err(|_| CrlError::Malformed("bad PEM armour (expected X509 CRL blocks)".into()))?
            .iter()
            .map(|der| RevocationList::from_der(der))
            .collect()
    }

    /// The issuer's name, for logs.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// thisUpdate, Unix seconds.
    pub fn this_update(&self) -> i64 {
        self.inner.this_update
    }

    /// nextUpdate, Unix seconds: after it the CRL is stale and no longer relied on.
    pub fn next_update(&self) -> i64 {
        self.inner.next_update
    }

    /// Whether `now_unix` is at or past nextUpdate.
    pub fn is_expired(&self, now_unix: i64) -> bool {
        now_unix >= self.inner.next_update
    }

    /// The number of revoked certificates listed.
    pub fn revoked_count(&self) -> usize {
        self.inner.revoked
    }

    /// Checks the CRL against the store's CA certificates: when its issuer is one of them, the
    /// signature must verify with that CA's key. A CRL of another issuer (an intermediate CA
    /// not in the store) is accepted here; webpki verifies it against the intermediate when
    /// it is used.
    pub fn check_issuer(&self, anchors: &TrustAnchors) -> Result<(), CrlError> {
        let Ok((_, crl)) = x509_parser::parse_x509_crl(&self.inner.der) else {
            return Err(CrlError::Malformed("unparsable".into()));
        };
        let mut named = false;
        for ca_der in anchors.ca_certificates() {
            let Ok((_, ca)) = x509_parser::parse_x509_certificate(ca_der) else {
                continue;
            };
            if ca.subject().as_raw() != crl.issuer().as_raw() {
                continue;
            }
            named = true;
            if crl.verify_signature(ca.public_key()).is_ok() {
                return Ok(());
            }
        }
        if named {
            return Err(CrlError::BadSignature {
                issuer: self.inner.issuer.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn webpki(&self) -> &CertRevocationList<'static> {
        &self.inner.crl
    }
}

impl fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationList")
            .field("issuer", &self.inner.issuer)
            .field("this_update", &self.inner.this_update)
            .field("next_update", &self.inner.next_update)
            .field("revoked", &self.inner.revoked)
            .finish()
    }
}

/// Whether and how revocation is checked when validating a client certificate chain.
#[derive(Debug, Clone, Copy)]
pub enum Revocation<'a> {
    /// No revocation checking (a trust store without CRL sources).
    NotChecked,
    /// Check against these CRLs (a trust store with CRL sources). Policy:
    ///
    /// * the end-entity certificate's status must be known: a CRL for its issuer must be
    ///   present, correctly signed and not past its nextUpdate, else
    ///   [`CertError::RevocationUnknown`](crate::CertError::RevocationUnknown);
    /// * presented intermediates are checked when a CRL for their issuer is present (an
    ///   absent one is not an error);
    /// * a listed serial is [`CertError::Revoked`](crate::CertError::Revoked).
    ///
    /// When several CRLs have the same issuer, the first in the slice is used: pass them
    /// newest first.
    Crls(&'a [RevocationList]),
}

/// webpki's `Display` is its `Debug`; keep the variant name only (contexts may be long).
pub(crate) fn short_reason(e: &webpki::Error) -> String {
    let full = format!("{e:?}");
    let end = full.find([' ', '(', '{']).unwrap_or(full.len());
    full.get(..end).unwrap_or(&full).to_owned()
}

#[cfg(test)]
#[path = "crl_tests.rs"]
mod tests;
