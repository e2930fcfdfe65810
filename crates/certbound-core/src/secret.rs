//! Newtypes for secrets (client secrets, tokens, passwords) whose `Debug` never shows them,
//! and the SHA-256 hash under which tokens are stored (DESIGN rules 4 and 7).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt;

/// A secret string. `Debug` and `Display` print `[redacted]`; use [`Secret::expose`] to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret value; call only where it is really needed (hashing, sending once).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The SHA-256 of the value, the form in which tokens and client secrets are stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// SHA-256 of a token, code or client secret: what the store keeps instead of the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes `bytes` with SHA-256.
    pub fn of(bytes: &[u8]) -> Self {
        TokenHash(Sha256::digest(bytes).into())
    }
    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", URL_SAFE_NO_PAD.encode(&self.0[..6]))
    }
}

/// Draws a fresh 256-bit URL-safe secret (RFC 6749 §10.10, RFC 9700 §4.x: unguessable).
pub fn generate(random: &dyn crate::Random) -> Secret {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    Secret(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn generated_secrets_are_256_bit_url_safe_and_distinct() {
        let a = generate(&crate::OsRandom);
        let b = generate(&crate::OsRandom);
        assert_eq!(a.expose().len(), 43);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn token_hash_is_sha256() {
        let h = Secret::new("abc").hash();
        assert_eq!(
            h.0[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts with ba7816bf"
        );
        assert!(h.ct_eq(&TokenHash::of(b"abc")));
        assert!(!h.ct_eq(&TokenHash::of(b"abd")));
    }
}
