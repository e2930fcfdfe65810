//! jose: JWS compact signing and verification (RFC 7515), JWKs (RFC 7517/7518), the RFC 7638
//! key thumbprint, and the signing keys of the server.
//!
//! Only the asymmetric algorithms RS256, PS256 and ES256 (RFC 7518 §3.1) exist here: `none` and
//! the HMAC algorithms are rejected on verification, whatever a token's header says. This module
//! checks signatures only; it must not judge claims (`exp`, `iss`, `aud`, ...) — callers do — and
//! it must never print or log private key material.

mod der;
mod key;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

pub use key::SigningKey;

/// A JWS signature algorithm this server signs and verifies with (RFC 7518 §3.1 "alg" values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum JwsAlg {
    /// RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 §3.3).
    RS256,
    /// RSASSA-PSS using SHA-256 and MGF1 with SHA-256, salt length 32 (RFC 7518 §3.5).
    PS256,
    /// ECDSA using P-256 and SHA-256, signature R || S of 64 bytes (RFC 7518 §3.4).
    ES256,
}

impl JwsAlg {
    /// Every supported algorithm, e.g. for `id_token_signing_alg_values_supported`.
    pub const ALL: [JwsAlg; 3] = [JwsAlg::RS256, JwsAlg::PS256, JwsAlg::ES256];

    /// The registered "alg" name (RFC 7518 §7.1.2).
    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlg::RS256 => "RS256",
            JwsAlg::PS256 => "PS256",
            JwsAlg::ES256 => "ES256",
        }
    }

    /// Whether keys for this algorithm are RSA (RFC 7518 §6.3) rather than EC (§6.2).
    fn is_rsa(self) -> bool {
        matches!(self, JwsAlg::RS256 | JwsAlg::PS256)
    }
}

impl fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwsAlg {
    type Err = JoseError;

    /// Parses an "alg" name exactly (case-sensitive, RFC 7515 §4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JwsAlg::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or(JoseError::UnsupportedAlg)
    }
}

/// Why a JOSE operation failed. Messages are short and never contain key material or tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// The crypto library could not create a key or its certificate.
    #[error("signing key generation failed")]
    KeyGeneration,
    /// A stored key, certificate or JWK does not parse or does not fit the algorithm.
    #[error("invalid key")]
    InvalidKey,
    /// Producing a signature failed.
    #[error("signing failed")]
    Signing,
    /// The token is not a well-formed JWS compact serialization (RFC 7515 §7.1).
    #[error("malformed JWS")]
    Malformed,
    /// The signature does not verify under the key.
    #[error("bad signature")]
    BadSignature,
    /// The "alg" is not RS256/PS256/ES256, or does not agree with the key.
    #[error("unsupported or mismatched algorithm")]
    UnsupportedAlg,
}

/// Verifies a compact JWS (RFC 7515 §7.1) against a public JWK (RFC 7517 §4; RSA or EC P-256 as
/// in RFC 7518 §6), checking that the header "alg" is RS256/PS256/ES256 and agrees with the
/// key type (and with the JWK's "alg" if present). Returns (header, claims) JSON.
///
/// Rejects "none" and HMAC algorithms, a header with "crit" (RFC 7515 §4.1.11: no extension is
/// understood here), the wrong segment count, bad base64url, bad JSON, and a header or payload
/// that is not a JSON object. Does NOT check exp/iss/aud (callers do).
pub fn verify_jwt(token: &str, jwk: &Value) -> Result<(Value, Value), JoseError> {
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JoseError::Malformed);
    };
    let header = decode_json_object(header_b64)?;
    let alg: JwsAlg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JoseError::Malformed)?
        .parse()?;
    if header.get("crit").is_some() {
        return Err(JoseError::Malformed);
    }
    let key = PublicJwk::parse(jwk)?;
    key.check_alg(alg, jwk)?;
    let signature = b64url_decode(signature_b64)?;
    let signing_input = token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(JoseError::Malformed)?;
    key.verify(alg, signing_input.as_bytes(), &signature)?;
    let claims = decode_json_object(payload_b64)?;
    Ok((header, claims))
}

/// RFC 7638 thumbprint of a public JWK: only the required members (§3.2; RSA: e, kty, n; EC:
/// crv, kty, x, y; OKP: crv, kty, x), in lexicographic order, no whitespace, SHA-256,
/// base64url without padding.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, JoseError> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => return Err(JoseError::InvalidKey),
    };
    let mut required = serde_json::Map::new();
    for name in members {
        let value = jwk
            .get(*name)
            .and_then(Value::as_str)
            .ok_or(JoseError::InvalidKey)?;
        required.insert((*name).to_owned(), Value::from(value));
    }
    // serde_json's map is ordered by key, and compact output has no whitespace (§3.3).
    let canonical = serde_json::to_string(&required).map_err(|_| JoseError::InvalidKey)?;
    let hash = digest::digest(&digest::SHA256, canonical.as_bytes());
    Ok(b64url(hash.as_ref()))
}

/// OIDC Core §3.1.3.6 / §3.3.2.11: at_hash / c_hash for SHA-256-based algorithms: base64url of
/// the left-most 128 bits of SHA-256 of the ASCII value.
pub fn left_half_hash(value: &str) -> String {
    let hash = digest::digest(&digest::SHA256, value.as_bytes());
    let bytes = hash.as_ref();
    b64url(bytes.get(..bytes.len() / 2).unwrap_or(bytes))
}

/// base64url without padding (RFC 7515 §2).
fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url without padding (RFC 7515 §2): padding or stray characters are errors.
fn b64url_decode(text: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| JoseError::Malformed)
}

/// A base64url segment holding a JSON object (RFC 7515 §5.2 steps 2-4, RFC 7519 §7.2 step 10).
fn decode_json_object(segment: &str) -> Result<Value, JoseError> {
    let bytes = b64url_decode(segment)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JoseError::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JoseError::Malformed)
    }
}

/// A public verification key read from a JWK.
enum PublicJwk {
    /// RFC 7518 §6.3.1: modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// RFC 7518 §6.2.1 on P-256: the uncompressed point 0x04 || x || y.
    EcP256 { point: Vec<u8> },
}

impl PublicJwk {
    fn parse(jwk: &Value) -> Result<PublicJwk, JoseError> {
        if jwk.get("use").is_some_and(|u| u != "sig") {
            return Err(JoseError::InvalidKey);
        }
        let member = |name: &str| -> Result<Vec<u8>, JoseError> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or(JoseError::InvalidKey)?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| JoseError::InvalidKey)
        };
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let n = der::strip_leading_zeros(&member("n")?).to_vec();
                let e = der::strip_leading_zeros(&member("e")?).to_vec();
                if n.is_empty() || e.is_empty() {
                    return Err(JoseError::InvalidKey);
                }
                Ok(PublicJwk::Rsa { n, e })
            }
            Some("EC") => {
                if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return Err(JoseError::InvalidKey);
                }
                // RFC 7518 §6.2.1.2/§6.2.1.3: full 32-byte coordinates.
                let (x, y) = (member("x")?, member("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::InvalidKey);
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Ok(PublicJwk::EcP256 { point })
            }
            _ => Err(JoseError::InvalidKey),
        }
    }

    /// The header's alg must fit the key type (RFC 7518 §3.3-§3.5) and the JWK's own "alg"
    /// (RFC 7517 §4.4), if it names one.
    fn check_alg(&self, alg: JwsAlg, jwk: &Value) -> Result<(), JoseError> {
        let fits_kty = match self {
            PublicJwk::Rsa { .. } => alg.is_rsa(),
            PublicJwk::EcP256 { .. } => alg == JwsAlg::ES256,
        };
        let fits_jwk_alg = jwk
            .get("alg")
            .is_none_or(|declared| declared.as_str() == Some(alg.as_str()));
        if fits_kty && fits_jwk_alg {
            Ok(())
        } else {
            Err(JoseError::UnsupportedAlg)
        }
    }

    fn verify(&self, alg: JwsAlg, message: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        let result = match (self, alg) {
            (PublicJwk::Rsa { n, e }, JwsAlg::RS256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                sig,
            ),
            (PublicJwk::Rsa { n, e }, JwsAlg::PS256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PSS_2048_8192_SHA256,
                message,
                sig,
            ),
            (PublicJwk::EcP256 { point }, JwsAlg::ES256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
            }
            _ => return Err(JoseError::UnsupportedAlg),
        };
        result.map_err(|_| JoseError::BadSignature)
    }
}
