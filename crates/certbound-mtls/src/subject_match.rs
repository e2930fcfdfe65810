//! The registered certificate identity of a `tls_client_auth` client and how a presented
//! certificate is matched against it (RFC 8705 §2.1.2).
//!
//! Matching only compares names; the caller must already have validated the chain
//! (`ClientCertificate::verify_chain`), because a name match on an untrusted certificate
//! proves nothing.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{ClientCertificate, DistinguishedName, SubjectAltName};

/// RFC 8705 §2.1.2: exactly one of these is registered for a `tls_client_auth` client.
///
/// Serialises externally tagged with snake_case names, e.g. `{"subject_dn": "CN=a,O=b"}`,
/// `{"san_ip": "192.0.2.1"}`, so it round-trips through a JSON database column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectMatch {
    /// `tls_client_auth_subject_dn`: the subject DN, compared canonically (see
    /// [`DistinguishedName`]: case, whitespace, escaping and RDN order are ignored).
    SubjectDn(DistinguishedName),
    /// `tls_client_auth_san_dns`: a dNSName SAN, ASCII case-insensitive, no wildcard expansion.
    SanDns(String),
    /// `tls_client_auth_san_uri`: a uniformResourceIdentifier SAN, exact string compare.
    SanUri(String),
    /// `tls_client_auth_san_ip`: an iPAddress SAN, binary compare of the address bytes (an
    /// IPv4 address and its IPv4-mapped IPv6 form do not match).
    SanIp(IpAddr),
    /// `tls_client_auth_san_email`: an rfc822Name SAN; local part exact, domain
    /// ASCII case-insensitive (RFC 5280 §4.2.1.6, §7.5).
    SanEmail(String),
}

impl SubjectMatch {
    /// The client metadata parameter name of this kind (RFC 8705 §2.1.2).
    pub fn metadata_name(&self) -> &'static str {
        match self {
            SubjectMatch::SubjectDn(_) => "tls_client_auth_subject_dn",
            SubjectMatch::SanDns(_) => "tls_client_auth_san_dns",
            SubjectMatch::SanUri(_) => "tls_client_auth_san_uri",
            SubjectMatch::SanIp(_) => "tls_client_auth_san_ip",
            SubjectMatch::SanEmail(_) => "tls_client_auth_san_email",
        }
    }

    /// The registered value as text (the DN in RFC 4514 form, the IP in its usual notation).
    pub fn value_string(&self) -> String {
        match self {
            SubjectMatch::SubjectDn(dn) => dn.to_rfc4514(),
            SubjectMatch::SanDns(s) | SubjectMatch::SanUri(s) | SubjectMatch::SanEmail(s) => {
                s.clone()
            }
            SubjectMatch::SanIp(ip) => ip.to_string(),
        }
    }
}

impl ClientCertificate {
    /// Whether this certificate carries the registered identity (RFC 8705 §2.1.2). For a SAN
    /// kind, any one matching SAN entry of that kind suffices.
    pub fn matches(&self, expected: &SubjectMatch) -> bool {
        let sans = self.subject_alt_names();
        match expected {
            SubjectMatch::SubjectDn(dn) => self.subject_dn() == dn,
            SubjectMatch::SanDns(want) => sans
                .iter()
                .any(|s| matches!(s, SubjectAltName::Dns(d) if d.eq_ignore_ascii_case(want))),
            SubjectMatch::SanUri(want) => sans
                .iter()
                .any(|s| matches!(s, SubjectAltName::Uri(u) if u == want)),
            SubjectMatch::SanIp(want) => {
                let want: Vec<u8> = match want {
                    IpAddr::V4(v4) => v4.octets().to_vec(),
                    IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                sans.iter()
                    .any(|s| matches!(s, SubjectAltName::Ip(b) if *b == want))
            }
            SubjectMatch::SanEmail(want) => sans
                .iter()
                .any(|s| matches!(s, SubjectAltName::Email(e) if email_eq(e, want))),
        }
    }
}

/// Mailbox comparison (RFC 5280 §7.5): local part exact, domain ASCII case-insensitive.
/// Both sides must contain an `@`.
fn email_eq(presented: &str, registered: &str) -> bool {
    match (presented.rsplit_once('@'), registered.rsplit_once('@')) {
        (Some((pl, pd)), Some((rl, rd))) => pl == rl && pd.eq_ignore_ascii_case(rd),
        _ => false,
    }
}

#[cfg(test)]
#[path = "subject_match_tests.rs"]
mod tests;
