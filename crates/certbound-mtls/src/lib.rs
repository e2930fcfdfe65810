//! RFC 8705 core for certbound: mutual-TLS client authentication and certificate-bound
//! tokens, with no I/O, no async and no panics.
//!
//! * [`ClientCertificate`]: strict DER/PEM parsing, validity, subject and SANs.
//! * [`Thumbprint`] and [`Cnf`]: `x5t#S256` (RFC 8705 §3.1).
//! * [`TrustAnchors`] and [`ClientCertificate::verify_chain`]: PKI validation (RFC 8705 §2.1);
//!   [`RevocationList`] and [`ClientCertificate::verify_chain_with_revocation`]: CRLs
//!   (RFC 5280 §5, §6.3).
//! * [`SubjectMatch`] and [`ClientCertificate::matches`]: the registered identity
//!   (RFC 8705 §2.1.2), including canonical [`DistinguishedName`] comparison (RFC 4514).
//! * [`parse_forwarded`] and [`ProxyPolicy`]: certificates forwarded by a trusted
//!   TLS-terminating proxy in a header, and the rules for believing them.
//! * [`CertError`]: the single error type; it never carries certificate bytes.
//!
//! This crate must not read files, sockets or clocks: callers pass bytes, text and `now`.

#![deny(missing_docs)]

mod certificate;
mod crl;
mod der;
mod dn;
mod dn_parse;
mod error;
mod forwarded;
mod peer;
mod pem;
mod proxy;
mod public_key;
mod subject_match;
mod thumbprint;
mod trust;
pub mod vectors;

#[cfg(test)]
mod test_pki;

pub use certificate::{ClientCertificate, SubjectAltName};
pub use crl::{CrlError, Revocation, RevocationList};
pub use dn::DistinguishedName;
pub use error::CertError;
pub use forwarded::{ForwardedError, HeaderFormat, MAX_HEADER_LEN, parse_forwarded};
pub use peer::PeerCertificate;
pub use proxy::{Cidr, InvalidCidr, Presented, ProxyPolicy};
pub use public_key::PublicJwk;
pub use subject_match::SubjectMatch;
pub use thumbprint::{Cnf, Thumbprint};
pub use trust::TrustAnchors;
