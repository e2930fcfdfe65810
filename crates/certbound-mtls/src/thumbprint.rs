//! The `x5t#S256` certificate thumbprint and the `cnf` confirmation claim (RFC 8705 §3.1).
//!
//! A thumbprint is the SHA-256 of the certificate's DER encoding, shown as unpadded base64url.
//! This module only hashes and encodes; it never parses certificates.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The SHA-256 thumbprint of a certificate's DER encoding (RFC 8705 §3.1, `x5t#S256`).
///
/// `Debug` and `Display` print the unpadded base64url form, which is safe to log.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprint([u8; 32]);

impl Thumbprint {
    /// Hashes a certificate's DER bytes (RFC 8705 §3.1).
    pub fn of_der(der: &[u8]) -> Thumbprint {
        Thumbprint(Sha256::digest(der).into())
    }

    /// The unpadded base64url form (RFC 4648 §5), as carried in `cnf.x5t#S256`.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the unpadded base64url form: exactly 43 characters, no padding, canonical
    /// trailing bits. Anything else yields `None`.
    pub fn from_base64url(s: &str) -> Option<Thumbprint> {
        if s.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Thumbprint(arr))
    }

    /// Compares two thumbprints in constant time (RFC 8705 §3: token binding check).
    pub fn ct_eq(&self, other: &Thumbprint) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The raw 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({})", self.to_base64url())
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64url())
    }
}

/// The confirmation claim binding a token to a certificate (RFC 8705 §3.1):
/// `{"x5t#S256": "<base64url SHA-256 of the DER>"}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Cnf {
    /// The certificate thumbprint, unpadded base64url.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

impl Cnf {
    /// The confirmation for the certificate with this thumbprint.
    pub fn from_thumbprint(t: &Thumbprint) -> Cnf {
        Cnf {
            x5t_s256: t.to_base64url(),
        }
    }

    /// The thumbprint this confirmation carries, or `None` if `x5t#S256` is not a valid
    /// 43-character base64url SHA-256 value.
    pub fn thumbprint(&self) -> Option<Thumbprint> {
        Thumbprint::from_base64url(&self.x5t_s256)
    }

    /// Whether this confirmation binds to `presented` (RFC 8705 §3: constant-time compare;
    /// an unparsable `x5t#S256` never matches).
    pub fn is_bound_to(&self, presented: &Thumbprint) -> bool {
        self.thumbprint().is_some_and(|t| t.ct_eq(presented))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trip_and_strictness() {
        let t = Thumbprint::of_der(b"hello");
        let s = t.to_base64url();
        assert_eq!(s.len(), 43);
        assert!(!s.contains('='));
        assert_eq!(Thumbprint::from_base64url(&s), Some(t));
        assert_eq!(Thumbprint::from_base64url(&format!("{s}=")), None);
        assert_eq!(Thumbprint::from_base64url(&s[..42]), None);
        assert_eq!(Thumbprint::from_base64url(""), None);
        let std_alphabet = s.replace('-', "+").replace('_', "/");
        if std_alphabet != s {
            assert_eq!(Thumbprint::from_base64url(&std_alphabet), None);
        }
        // Non-canonical trailing bits in the last character are rejected (RFC 4648 §3.5).
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bad = s.clone();
        let last = bad.pop().unwrap();
        let idx = ALPHABET.find(last).unwrap();
        bad.push(ALPHABET.as_bytes()[idx ^ 1] as char);
        assert_eq!(Thumbprint::from_base64url(&bad), None);
    }

    #[test]
    fn display_and_debug_are_base64url() {
        let t = Thumbprint::of_der(b"x");
        assert_eq!(t.to_string(), t.to_base64url());
        assert!(format!("{t:?}").contains(&t.to_base64url()));
    }

    #[test]
    fn ct_eq_matches_eq() {
        let a = Thumbprint::of_der(b"a");
        let b = Thumbprint::of_der(b"b");
        assert!(a.ct_eq(&a));
        assert!(!a.ct_eq(&b));
    }

    #[test]
    fn cnf_serializes_with_rfc8705_member_name() {
        let t = Thumbprint::of_der(b"a");
        let cnf = Cnf::from_thumbprint(&t);
        let json = serde_json::to_string(&cnf).unwrap();
        assert_eq!(json, format!("{{\"x5t#S256\":\"{t}\"}}"));
        let back: Cnf = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cnf);
        assert!(back.is_bound_to(&t));
        assert!(!back.is_bound_to(&Thumbprint::of_der(b"b")));
    }
}
