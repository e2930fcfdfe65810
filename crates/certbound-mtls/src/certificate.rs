//! A parsed client certificate: its DER, its `x5t#S256` thumbprint and the few fields
//! RFC 8705 needs (validity, subject DN, subjectAltNames), read once at parse time.
//!
//! Parsing is strict: exactly one X.509 certificate (RFC 5280 §4.1) and nothing after it.
//! This module never logs and never puts certificate bytes into errors or `Debug` output.

use std::fmt;
use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer as _;

use crate::{CertError, DistinguishedName, Thumbprint, pem};

/// One subjectAltName entry of the kinds RFC 8705 §2.1.2 can match (RFC 5280 §4.2.1.6).
/// Other kinds (otherName, directoryName, ...) are not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectAltName {
    /// `dNSName`.
    Dns(String),
    /// `uniformResourceIdentifier`.
    Uri(String),
    /// `iPAddress`: 4 bytes for IPv4, 16 for IPv6.
    Ip(Vec<u8>),
    /// `rfc822Name` (an email address).
    Email(String),
}

impl SubjectAltName {
    /// The address of an `iPAddress` entry, if it has a valid length.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self {
            SubjectAltName::Ip(b) => match b.len() {
                4 => <[u8; 4]>::try_from(b.as_slice()).ok().map(IpAddr::from),
                16 => <[u8; 16]>::try_from(b.as_slice()).ok().map(IpAddr::from),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A client certificate as presented in the TLS handshake or by a trusted proxy.
///
/// `Debug` prints the thumbprint and the subject only, never the DER.
///
/// Parsed once; clones share the parsed form (a clone is a reference count), which keeps the
/// per-request copies on the token endpoint's hot path cheap.
#[derive(Clone)]
pub struct ClientCertificate {
    inner: std::sync::Arc<Parsed>,
}

struct Parsed {
    der: Vec<u8>,
    thumbprint: Thumbprint,
    not_before: i64,
    not_after: i64,
    subject: DistinguishedName,
    sans: Vec<SubjectAltName>,
}

impl ClientCertificate {
    /// Parses one DER certificate (X.509 v1 or v3, RFC 5280 §4.1). Trailing bytes, bad DER
    /// or an unparsable subjectAltName extension give `CertError::Malformed`.
    pub fn from_der(der: Vec<u8>) -> Result<ClientCertificate, CertError> {
        let (rest, cert) = X509Certificate::from_der(&der).map_err(|_| CertError::Malformed)?;
        if !rest.is_empty() {
            return Err(CertError::Malformed);
        }
        let validity = cert.validity();
        let not_before = validity.not_before.timestamp();
        let not_after = validity.not_after.timestamp();
        let subject = DistinguishedName::from_name_der(cert.subject().as_raw())
            .ok_or(CertError::Malformed)?;
        let sans = read_sans(&cert)?;
        drop(cert);
        let thumbprint = Thumbprint::of_der(&der);
        Ok(ClientCertificate {
            inner: std::sync::Arc::new(Parsed {
                der,
                thumbprint,
                not_before,
                not_after,
                subject,
                sans,
            }),
        })
    }

    /// Parses one or more `-----BEGIN CERTIFICATE-----` blocks (RFC 7468), in order.
    /// `NoCertificate` if there is none; `Malformed` if any block is not a certificate (a
    /// private key, say) or does not parse.
    pub fn from_pem(text: &str) -> Result<Vec<ClientCertificate>, CertError> {
        pem::certificate_blocks(text)?
            .into_iter()
            .map(ClientCertificate::from_der)
            .collect()
    }

    /// The DER encoding, exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.inner.der
    }

    /// The `x5t#S256` thumbprint of the DER (RFC 8705 §3.1).
    pub fn thumbprint(&self) -> &Thumbprint {
        &self.inner.thumbprint
    }

    /// notBefore as unix seconds (RFC 5280 §4.1.2.5).
    pub fn not_before(&self) -> i64 {
        self.inner.not_before
    }

    /// notAfter as unix seconds (RFC 5280 §4.1.2.5).
    pub fn not_after(&self) -> i64 {
        self.inner.not_after
    }

    /// RFC 5280 §4.1.2.5: the validity period includes both ends. `NotYetValid` if
    /// `now_unix < notBefore`, `Expired` if `now_unix > notAfter`.
    pub fn check_validity(&self, now_unix: i64) -> Result<(), CertError> {
        if now_unix < self.inner.not_before {
            Err(CertError::NotYetValid)
        } else if now_unix > self.inner.not_after {
            Err(CertError::Expired)
        } else {
            Ok(())
        }
    }

    /// The subject distinguished name (RFC 5280 §4.1.2.6).
    pub fn subject_dn(&self) -> &DistinguishedName {
        &self.inner.subject
    }

    /// The dNSName, URI, iPAddress and rfc822Name subjectAltName entries, in certificate order.
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.inner.sans
    }

    /// The certificate as one PEM block with 64-column lines (RFC 7468 §2).
    pub fn to_pem(&self) -> String {
        pem::encode_certificate(&self.inner.der)
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.inner.thumbprint.to_base64url())
            .field("subject", &self.inner.subject.to_rfc4514())
            .finish_non_exhaustive()
    }
}

fn read_sans(cert: &X509Certificate<'_>) -> Result<Vec<SubjectAltName>, CertError> {
    let Some(ext) = cert
        .subject_alternative_name()
        .map_err(|_| CertError::Malformed)?
    else {
        return Ok(Vec::new());
    };
    let sans = ext
        .value
        .general_names
        .iter()
        .filter_map(|gn| match gn {
            GeneralName::DNSName(s) => Some(SubjectAltName::Dns((*s).to_owned())),
            GeneralName::URI(s) => Some(SubjectAltName::Uri((*s).to_owned())),
            GeneralName::RFC822Name(s) => Some(SubjectAltName::Email((*s).to_owned())),
            GeneralName::IPAddress(b) => Some(SubjectAltName::Ip(b.to_vec())),
            _ => None,
        })
        .collect();
    Ok(sans)
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;
