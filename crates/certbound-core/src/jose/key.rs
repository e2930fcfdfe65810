//! The server's signing keys: generation, rebuilding from storage, the public JWK with its
//! certificate (RFC 7517 §4.7 x5c, RFC 7515 §4.1.7 x5t) and JWT signing (RFC 7515 §5.1).
//! Private key bytes leave this file only through `pkcs8()`, for storage; `Debug` never shows
//! them.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{JoseError, JwsAlg, b64url, der, jwk_thumbprint};

/// Subject common name of the self-signed certificate published in x5c.
const CERT_COMMON_NAME: &str = "certbound token signing key";
/// The certificate is valid from an hour before generation ...
const CERT_BACKDATE_SECS: i64 = 3600;
/// ... to ten calendar years after it.
const CERT_LIFETIME_YEARS: i32 = 10;
/// Smallest RSA modulus accepted, in bytes (RFC 7518 §3.3: 2048 bits or larger).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A signing key with its self-signed certificate (for x5c/x5t in the JWKS).
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: JwsAlg,
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    created_at: i64,
    retire_at: Option<i64>,
    pair: Arc<Pair>,
}

/// The parsed private key and its public members for the JWK.
enum Pair {
    Rsa {
        key: RsaKeyPair,
        /// RFC 7518 §6.3.1.1/§6.3.1.2: n and e, minimal big-endian.
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        key: EcdsaKeyPair,
        /// RFC 7518 §6.2.1.2/§6.2.1.3: the 32-byte coordinates.
        x: Vec<u8>,
        y: Vec<u8>,
    },
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// RSA 2048 for RS256/PS256, P-256 for ES256, with a self-signed X.509 certificate (CN
    /// "certbound token signing key", valid from `now` - 1 hour to `now` + 10 years).
    /// kid = the RFC 7638 JWK thumbprint of the public key.
    pub fn generate(alg: JwsAlg, now: i64) -> Result<SigningKey, JoseError> {
        let pkcs8 = generate_pkcs8(alg)?;
        let pair = Pair::parse(alg, &pkcs8).map_err(|_| JoseError::KeyGeneration)?;
        let cert_der = self_signed_certificate(&pkcs8, now)?;
        let kid = jwk_thumbprint(&pair.public_members())?;
        Ok(SigningKey {
            kid,
            alg,
            pkcs8,
            cert_der,
            created_at: now,
            retire_at: None,
            pair: Arc::new(pair),
        })
    }

    /// Rebuilds a stored key; verifies the PKCS#8 (RFC 5208) parses for `alg` and that the
    /// certificate parses and carries this key's public key. Otherwise `InvalidKey`.
    pub fn from_parts(
        kid: String,
        alg: JwsAlg,
        pkcs8: Vec<u8>,
        cert_der: Vec<u8>,
        created_at: i64,
        retire_at: Option<i64>,
    ) -> Result<SigningKey, JoseError> {
        let pair = Pair::parse(alg, &pkcs8)?;
        let cert_key = der::certificate_public_key(&cert_der).ok_or(JoseError::InvalidKey)?;
        if cert_key != pair.public_key_bytes() {
            return Err(JoseError::InvalidKey);
        }
        Ok(SigningKey {
            kid,
            alg,
            pkcs8,
            cert_der,
            created_at,
            retire_at,
            pair: Arc::new(pair),
        })
    }

    /// The key id (RFC 7515 §4.1.4, RFC 7517 §4.5).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs with.
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    /// The private key as PKCS#8 DER: for storage only.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The self-signed certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// When the key was generated (Unix seconds).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    /// After this time the key is neither used nor published.
    pub fn retire_at(&self) -> Option<i64> {
        self.retire_at
    }

    /// The same key with another retirement time.
    pub fn with_retire_at(self, t: Option<i64>) -> SigningKey {
        SigningKey {
            retire_at: t,
            ..self
        }
    }

    /// RFC 7515 §4.1.7: base64url(SHA-1(DER of the certificate)).
    pub fn x5t(&self) -> String {
        let hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert_der);
        b64url(hash.as_ref())
    }

    /// The public JWK (RFC 7517 §4, RFC 7518 §6.2/§6.3): kty and n/e or crv/x/y, plus kid,
    /// "use":"sig", alg, x5c (RFC 7517 §4.7, standard base64 DER) and x5t.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.pair.public_members();
        if let Some(members) = jwk.as_object_mut() {
            members.insert("kid".into(), Value::from(self.kid.as_str()));
            members.insert("use".into(), Value::from("sig"));
            members.insert("alg".into(), Value::from(self.alg.as_str()));
            members.insert("x5c".into(), json!([STANDARD.encode(&self.cert_der)]));
            members.insert("x5t".into(), Value::from(self.x5t()));
        }
        jwk
    }

    /// Signs a JWT (RFC 7515 §5.1, compact serialization §7.1): header {"alg", "kid", "x5t",
    /// and "typ" when given}, payload = claims serialized compactly. RS256 = RSASSA-PKCS1-v1_5
    /// SHA-256, PS256 = RSASSA-PSS SHA-256 (MGF1 SHA-256, salt 32), ES256 = ECDSA P-256
    /// SHA-256 with the 64-byte fixed (r||s) signature (RFC 7518 §3.4).
    pub fn sign_jwt(&self, typ: Option<&str>, claims: &Value) -> Result<String, JoseError> {
        let mut header = json!({ "alg": self.alg.as_str(), "kid": self.kid, "x5t": self.x5t() });
        if let (Some(typ), Some(members)) = (typ, header.as_object_mut()) {
            members.insert("typ".into(), Value::from(typ));
        }
        let header = serde_json::to_vec(&header).map_err(|_| JoseError::Signing)?;
        let payload = serde_json::to_vec(claims).map_err(|_| JoseError::Signing)?;
        let signing_input = format!("{}.{}", b64url(&header), b64url(&payload));
        let signature = self.pair.sign(self.alg, signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", b64url(&signature)))
    }
}

impl Pair {
    /// Parses PKCS#8 for `alg`: an RSA key of 2048 bits or more, or a P-256 key.
    fn parse(alg: JwsAlg, pkcs8: &[u8]) -> Result<Pair, JoseError> {
        if alg.is_rsa() {
            let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| JoseError::InvalidKey)?;
            if key.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                return Err(JoseError::InvalidKey);
            }
            let (n, e) = der::rsa_public_key(key.public_key().as_ref())
                .map(|(n, e)| (n.to_vec(), e.to_vec()))
                .ok_or(JoseError::InvalidKey)?;
            Ok(Pair::Rsa { key, n, e })
        } else {
            let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                .map_err(|_| JoseError::InvalidKey)?;
            let (x, y) = match key.public_key().as_ref() {
                [0x04, coordinates @ ..] if coordinates.len() == 64 => {
                    let (x, y) = coordinates.split_at(32);
                    (x.to_vec(), y.to_vec())
                }
                _ => return Err(JoseError::InvalidKey),
            };
            Ok(Pair::Ec { key, x, y })
        }
    }

    /// The bytes a certificate's subjectPublicKey holds for this key (RFC 5280 §4.1.2.7):
    /// `RSAPublicKey` DER, or the uncompressed EC point.
    fn public_key_bytes(&self) -> &[u8] {
        match self {
            Pair::Rsa { key, .. } => key.public_key().as_ref(),
            Pair::Ec { key, .. } => key.public_key().as_ref(),
        }
    }

    /// The RFC 7638 §3.2 required members of the public JWK.
    fn public_members(&self) -> Value {
        match self {
            Pair::Rsa { n, e, .. } => json!({ "kty": "RSA", "n": b64url(n), "e": b64url(e) }),
            Pair::Ec { x, y, .. } => {
                json!({ "kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y) })
            }
        }
    }

    fn sign(&self, alg: JwsAlg, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let rng = SystemRandom::new();
        match (self, alg) {
            (Pair::Rsa { key, .. }, JwsAlg::RS256 | JwsAlg::PS256) => {
                let padding: &'static dyn signature::RsaEncoding = if alg == JwsAlg::RS256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(padding, &rng, message, &mut sig)
                    .map_err(|_| JoseError::Signing)?;
                Ok(sig)
            }
            (Pair::Ec { key, .. }, JwsAlg::ES256) => key
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| JoseError::Signing),
            _ => Err(JoseError::Signing),
        }
    }
}

/// A fresh private key for `alg`, as PKCS#8 v1 DER.
fn generate_pkcs8(alg: JwsAlg) -> Result<Vec<u8>, JoseError> {
    if alg.is_rsa() {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| JoseError::KeyGeneration)?;
        let der: Pkcs8V1Der<'static> = key.as_der().map_err(|_| JoseError::KeyGeneration)?;
        Ok(der.as_ref().to_vec())
    } else {
        let rng = SystemRandom::new();
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| JoseError::KeyGeneration)
    }
}

/// A self-signed certificate for the key (RFC 5280), published in x5c and hashed into x5t.
fn self_signed_certificate(pkcs8: &[u8], now: i64) -> Result<Vec<u8>, JoseError> {
    let time =
        |t: i64| time::OffsetDateTime::from_unix_timestamp(t).map_err(|_| JoseError::KeyGeneration);
    let key_pair = rcgen::KeyPair::try_from(pkcs8).map_err(|_| JoseError::KeyGeneration)?;
    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, CERT_COMMON_NAME);
    params.distinguished_name = name;
    params.not_before = time(now.saturating_sub(CERT_BACKDATE_SECS))?;
    params.not_after = ten_years_later(time(now)?)?;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let cert = params
        .self_signed(&key_pair)
        .map_err(|_| JoseError::KeyGeneration)?;
    Ok(cert.der().to_vec())
}

/// The same instant ten calendar years later (a 29 February becomes the 28th).
fn ten_years_later(t: time::OffsetDateTime) -> Result<time::OffsetDateTime, JoseError> {
    let year = t.year() + CERT_LIFETIME_YEARS;
    t.replace_year(year)
        .or_else(|_| t.replace_day(28).and_then(|t| t.replace_year(year)))
        .map_err(|_| JoseError::KeyGeneration)
}
