//! Newtypes for secrets (client secrets, tokens, passwords) whose `Debug` never shows them,
//! and the SHA-256 hash under which tokens are stored (DESIGN rules 4 and 7).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

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
    /// The form in which tokens and client secrets are stored: the SHA-256 of the value, or
    /// for a value from [`generate_keyed`], its 8-byte ordering prefix followed by the first
    /// 24 bytes of that SHA-256.
    pub fn hash(&self) -> TokenHash {
        let digest = TokenHash::of(self.0.as_bytes());
        match ordering_prefix(&self.0) {
            Some(prefix) => {
                let mut key = [0u8; 32];
                key[..PREFIX].copy_from_slice(&prefix);
                key[PREFIX..].copy_from_slice(&digest.0[..32 - PREFIX]);
                TokenHash(key)
            }
            None => digest,
        }
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

/// Bytes of a keyed secret's ordering prefix.
const PREFIX: usize = 8;
/// Characters of a keyed secret: base64url of the prefix and 32 random bytes.
const KEYED_CHARS: usize = 54;

/// Per-process sequence behind the time in ordering prefixes.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Draws a fresh token to be looked up by its hash in a store index: 256 random bits (as
/// [`generate`]) behind an 8-byte prefix that grows with time (`now` in seconds, then a
/// per-process sequence). [`Secret::hash`] keeps the prefix in front of the hash, so new
/// tokens land at the end of the store's B-tree index instead of on a random page: a write
/// touches one page for a whole batch of tokens rather than one page per token. The prefix
/// tells the issue second, which a JWT's `iat` tells too; the stored key still holds only 192
/// bits of the token's SHA-256, so a database dump yields no usable token.
pub fn generate_keyed(random: &dyn crate::Random, now: i64) -> Secret {
    let mut bytes = [0u8; PREFIX + 32];
    let seconds = u32::try_from(now.max(0)).unwrap_or(u32::MAX);
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..PREFIX].copy_from_slice(&SEQUENCE.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    random.fill(&mut bytes[PREFIX..]);
    Secret(URL_SAFE_NO_PAD.encode(bytes))
}

/// The ordering prefix of a value shaped like a [`generate_keyed`] one.
fn ordering_prefix(value: &str) -> Option<[u8; PREFIX]> {
    if value.len() != KEYED_CHARS {
        return None;
    }
    // 12 characters carry 9 bytes; the first 8 are the prefix.
    let head = URL_SAFE_NO_PAD.decode(value.get(..12)?).ok()?;
    head.get(..PREFIX)?.try_into().ok()
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
    fn keyed_secrets_hash_to_their_prefix_and_a_truncated_sha256() {
        let a = generate_keyed(&crate::OsRandom, 1_700_000_000);
        let b = generate_keyed(&crate::OsRandom, 1_700_000_000);
        let c = generate_keyed(&crate::OsRandom, 1_700_000_001);
        assert_eq!(a.expose().len(), KEYED_CHARS);
        let (ha, hb, hc) = (a.hash(), b.hash(), c.hash());
        assert!(
            ha.0 < hb.0 && hb.0 < hc.0,
            "keys grow with time and sequence"
        );
        assert_eq!(&ha.0[..4], &1_700_000_000u32.to_be_bytes());
        let digest = TokenHash::of(a.expose().as_bytes());
        assert_eq!(ha.0[PREFIX..], digest.0[..32 - PREFIX]);
        // Another value with the same prefix has another key.
        let mut forged = a.expose().to_owned();
        forged.replace_range(20..21, if &forged[20..21] == "A" { "B" } else { "A" });
        assert!(!Secret::new(forged).hash().ct_eq(&ha));
        // Values of other shapes keep the plain SHA-256.
        let plain = generate(&crate::OsRandom);
        assert!(
            plain
                .hash()
                .ct_eq(&TokenHash::of(plain.expose().as_bytes()))
        );
        let odd = Secret::new("!".repeat(KEYED_CHARS));
        assert!(odd.hash().ct_eq(&TokenHash::of(odd.expose().as_bytes())));
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
