//! X.500 distinguished names as registered for `tls_client_auth_subject_dn` (RFC 8705 §2.1.2)
//! and as found in a certificate's subject (RFC 5280 §4.1.2.6), with one canonical comparison.
//!
//! # Comparison rules (deliberate simplifications, all documented here)
//!
//! * Attribute types compare by OID, so `CN`, `cn`, `commonName` and `2.5.4.3` are one type.
//! * Every attribute value is compared as `caseIgnoreMatch` (RFC 4517 §4.2.11) with an
//!   RFC 4518-style preparation reduced to: trim, collapse internal whitespace runs to one
//!   space, Unicode lower-casing. No NFKC (that would need a new dependency); `C` is
//!   case-insensitive anyway. Values that are not character strings (kept as their BER bytes,
//!   `#hex` in RFC 4514 form) compare byte for byte.
//! * A multi-valued RDN is a set: the order of `+` parts is irrelevant (X.501 §9.3).
//! * **RDN order is irrelevant: the DN compares as a multiset of RDNs.** X.500 says the
//!   sequence matters, but users copy the subject from `openssl x509 -subject`, which prints
//!   it in ASN.1 order (`C=GB, O=Bank, CN=client`), while RFC 4514 strings are written in
//!   reverse (`CN=client,O=Bank,C=GB`). Accepting both spares a support ticket per client, and
//!   the reordering is not attacker-controllable: the subject comes from a CA that the
//!   server's trust anchors vouch for. An extra, missing or different RDN still never matches.
//!
//! `Eq` and `Hash` implement exactly this comparison. This module must not grow I/O or any
//! certificate validation; it only names and compares.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CertError;
use crate::der::{self, tag};

/// Known attribute type names (RFC 4514 §3, RFC 4519, PKCS #9, CA/B forum EV).
/// The first name listed for an OID is the one used when displaying.
const NAMES: &[(&str, &str)] = &[
    ("CN", "2.5.4.3"),
    ("commonName", "2.5.4.3"),
    ("SN", "2.5.4.4"),
    ("surname", "2.5.4.4"),
    ("SERIALNUMBER", "2.5.4.5"),
    ("C", "2.5.4.6"),
    ("countryName", "2.5.4.6"),
    ("L", "2.5.4.7"),
    ("localityName", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("stateOrProvinceName", "2.5.4.8"),
    ("STREET", "2.5.4.9"),
    ("streetAddress", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("organizationName", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("organizationalUnitName", "2.5.4.11"),
    ("title", "2.5.4.12"),
    ("description", "2.5.4.13"),
    ("businessCategory", "2.5.4.15"),
    ("postalCode", "2.5.4.17"),
    ("name", "2.5.4.41"),
    ("GN", "2.5.4.42"),
    ("givenName", "2.5.4.42"),
    ("initials", "2.5.4.43"),
    ("generationQualifier", "2.5.4.44"),
    ("dnQualifier", "2.5.4.46"),
    ("pseudonym", "2.5.4.65"),
    ("organizationIdentifier", "2.5.4.97"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("domainComponent", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
    ("userId", "0.9.2342.19200300.100.1.1"),
    ("emailAddress", "1.2.840.113549.1.9.1"),
    ("E", "1.2.840.113549.1.9.1"),
    ("jurisdictionC", "1.3.6.1.4.1.311.60.2.1.3"),
    ("jurisdictionST", "1.3.6.1.4.1.311.60.2.1.2"),
    ("jurisdictionL", "1.3.6.1.4.1.311.60.2.1.1"),
];

/// The dotted OID of a short or long attribute type name, compared ASCII case-insensitively.
pub(crate) fn oid_for_name(name: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, oid)| *oid)
}

fn name_for_oid(oid: &str) -> Option<&'static str> {
    NAMES.iter().find(|(_, o)| *o == oid).map(|(n, _)| *n)
}

/// An attribute value: a decoded character string, or the complete BER encoding of a value
/// that is not a character string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum AttrValue {
    /// A character string (UTF8String, PrintableString, ... decoded).
    Text(String),
    /// Tag, length and content of a non-string value.
    Binary(Vec<u8>),
}

/// One `type=value` pair of an RDN.
#[derive(Clone, Debug)]
pub(crate) struct Attribute {
    /// Dotted-decimal OID of the attribute type.
    pub(crate) oid: String,
    /// The value as written or encoded (not normalised).
    pub(crate) value: AttrValue,
}

type CanonicalRdn = Vec<(String, AttrValue)>;

/// An X.500 distinguished name in canonical form for comparison (RFC 4514 string form,
/// RFC 4518-style value normalisation). See the module documentation for the exact rules;
/// in short, equality ignores case, whitespace runs, escaping style and RDN order.
#[derive(Clone)]
pub struct DistinguishedName {
    /// RDNs in RFC 4514 order (most specific first), values as given.
    rdns: Vec<Vec<Attribute>>,
    /// Sorted RDNs, each a sorted list of (OID, normalised value).
    canonical: Vec<CanonicalRdn>,
}

impl DistinguishedName {
    /// Parses an RFC 4514 string (RFC 4514 §3, with the RFC 2253/1779 leniencies listed in the
    /// parser: optional spaces around `,` `+` `=`, quoted values, `OID.` prefixes).
    /// Syntax errors, unknown type names and an empty string give `CertError::InvalidDn`.
    pub fn parse_rfc4514(s: &str) -> Result<DistinguishedName, CertError> {
        crate::dn_parse::parse(s).map(Self::from_rdns)
    }

    /// An RFC 4514 display form (§2): short names where known, dotted OIDs otherwise,
    /// special characters escaped, non-string values as `#hex`. Parsing it gives an equal DN
    /// (unless the DN is empty: the empty string is refused by the parser).
    pub fn to_rfc4514(&self) -> String {
        let rdns: Vec<String> = self
            .rdns
            .iter()
            .map(|rdn| {
                let parts: Vec<String> = rdn.iter().map(format_attribute).collect();
                parts.join("+")
            })
            .collect();
        rdns.join(",")
    }

    /// The number of RDNs.
    pub fn len(&self) -> usize {
        self.rdns.len()
    }

    /// Whether the DN has no RDN (only possible for a certificate with an empty subject).
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    pub(crate) fn from_rdns(rdns: Vec<Vec<Attribute>>) -> DistinguishedName {
        let mut canonical: Vec<CanonicalRdn> = rdns
            .iter()
            .map(|rdn| {
                let mut set: CanonicalRdn = rdn
                    .iter()
                    .map(|a| (a.oid.clone(), normalise(&a.value)))
                    .collect();
                set.sort();
                set
            })
            .collect();
        canonical.sort();
        DistinguishedName { rdns, canonical }
    }

    /// Reads a DER `Name` (RFC 5280 §4.1.2.4): `SEQUENCE OF SET OF AttributeTypeAndValue`.
    /// RDNs are stored in RFC 4514 order, i.e. reversed (RFC 4514 §2.1).
    pub(crate) fn from_name_der(raw: &[u8]) -> Option<DistinguishedName> {
        let name = der::read_single(raw)?;
        if name.tag != tag::SEQUENCE {
            return None;
        }
        let mut rdns = Vec::new();
        let mut rest = name.content;
        while !rest.is_empty() {
            let (set, next) = der::read_tlv(rest)?;
            rest = next;
            if set.tag != tag::SET {
                return None;
            }
            rdns.push(read_rdn(set.content)?);
        }
        rdns.reverse();
        Some(Self::from_rdns(rdns))
    }
}

fn read_rdn(mut content: &[u8]) -> Option<Vec<Attribute>> {
    let mut rdn = Vec::new();
    while !content.is_empty() {
        let (atv, next) = der::read_tlv(content)?;
        content = next;
        if atv.tag != tag::SEQUENCE {
            return None;
        }
        let (oid, value_bytes) = der::read_tlv(atv.content)?;
        let value = der::read_single(value_bytes)?;
        if oid.tag != tag::OID {
            return None;
        }
        let value = match der::decode_string(value.tag, value.content) {
            Some(text) => AttrValue::Text(text),
            None => AttrValue::Binary(value.whole.to_vec()),
        };
        rdn.push(Attribute {
            oid: der::oid_to_string(oid.content)?,
            value,
        });
    }
    if rdn.is_empty() { None } else { Some(rdn) }
}

/// RFC 4518-style preparation, reduced: trim, collapse whitespace runs, lower-case.
fn normalise(value: &AttrValue) -> AttrValue {
    match value {
        AttrValue::Text(s) => {
            let collapsed: Vec<&str> = s.split_whitespace().collect();
            AttrValue::Text(collapsed.join(" ").to_lowercase())
        }
        AttrValue::Binary(b) => AttrValue::Binary(b.clone()),
    }
}

fn format_attribute(a: &Attribute) -> String {
    let name = name_for_oid(&a.oid).unwrap_or(&a.oid);
    match &a.value {
        AttrValue::Text(s) => format!("{name}={}", escape_value(s)),
        AttrValue::Binary(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
            format!("{name}=#{hex}")
        }
    }
}

/// Escapes a value per RFC 4514 §2.4; control characters are hex-escaped too so that the
/// display form is safe to log.
fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl PartialEq for DistinguishedName {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}

impl Eq for DistinguishedName {}

impl Hash for DistinguishedName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical.hash(state);
    }
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName({:?})", self.to_rfc4514())
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc4514())
    }
}

impl FromStr for DistinguishedName {
    type Err = CertError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc4514(s)
    }
}

impl Serialize for DistinguishedName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc4514())
    }
}

impl<'de> Deserialize<'de> for DistinguishedName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse_rfc4514(&s).map_err(serde::de::Error::custom)
    }
}
