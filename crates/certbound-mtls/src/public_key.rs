//! The public key of a certificate as JWK members (RFC 7517 §4, RFC 7518 §6), so a registered
//! certificate can be shown as a JWK with `x5c` (RFC 8705 §2.2). Read-only, no crypto.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;

use crate::ClientCertificate;

/// The JWK members of a public key: `kty` and its parameters, values base64url without padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicJwk {
    /// `kty`: `RSA`, `EC` or `OKP`.
    pub kty: &'static str,
    /// The other members (`n`/`e`, `crv`/`x`/`y`, or `crv`/`x`), in JWK order.
    pub params: Vec<(&'static str, String)>,
}

const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";

impl ClientCertificate {
    /// The certificate's public key as JWK members; `None` for key types JOSE has no
    /// representation for here.
    pub fn public_jwk(&self) -> Option<PublicJwk> {
        let (_, cert) = X509Certificate::from_der(self.der()).ok()?;
        let spki = cert.public_key();
        let b64 = |b: &[u8]| base64_url(b);
        match spki.parsed().ok()? {
            PublicKey::RSA(rsa) => Some(PublicJwk {
                kty: "RSA",
                params: vec![
                    ("n", b64(strip_zeros(rsa.modulus))),
                    ("e", b64(strip_zeros(rsa.exponent))),
                ],
            }),
            PublicKey::EC(point) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string())?;
                let (crv, len) = match curve.as_str() {
                    P256 => ("P-256", 32),
                    P384 => ("P-384", 48),
                    P521 => ("P-521", 66),
                    _ => return None,
                };
                let data = point.data();
                if data.len() != 1 + 2 * len || data.first() != Some(&4) {
                    return None;
                }
                Some(PublicJwk {
                    kty: "EC",
                    params: vec![
                        ("crv", crv.to_owned()),
                        ("x", b64(data.get(1..=len)?)),
                        ("y", b64(data.get(1 + len..)?)),
                    ],
                })
            }
            PublicKey::Unknown(raw) if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
                Some(PublicJwk {
                    kty: "OKP",
                    params: vec![("crv", "Ed25519".to_owned()), ("x", b64(raw))],
                })
            }
            _ => None,
        }
    }

    /// The issuer distinguished name, RFC 4514 text (for display).
    pub fn issuer_rfc4514(&self) -> String {
        X509Certificate::from_der(self.der())
            .ok()
            .and_then(|(_, c)| crate::DistinguishedName::from_name_der(c.issuer().as_raw()))
            .map(|dn| dn.to_rfc4514())
            .unwrap_or_default()
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|x| *x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    b.get(start..).unwrap_or(b)
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::ClientCertificate;

    fn cert_for(alg: &'static rcgen::SignatureAlgorithm) -> ClientCertificate {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        ClientCertificate::from_der(cert.der().to_vec()).unwrap()
    }

    #[test]
    fn ec_p256_key_has_32_byte_coordinates() {
        let jwk = cert_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .public_jwk()
            .unwrap();
        assert_eq!(jwk.kty, "EC");
        assert_eq!(jwk.params[0], ("crv", "P-256".to_owned()));
        assert_eq!(jwk.params[1].1.len(), 43);
        assert_eq!(jwk.params[2].1.len(), 43);
    }

    #[test]
    fn ed25519_key_is_okp() {
        let jwk = cert_for(&rcgen::PKCS_ED25519).public_jwk().unwrap();
        assert_eq!(jwk.kty, "OKP");
        assert_eq!(jwk.params[1].1.len(), 43);
    }

    #[test]
    fn wso2_sample_certificate_is_rsa_with_standard_exponent() {
        let cert = ClientCertificate::from_pem(crate::vectors::WSO2_SAMPLE_CERT_PEM)
            .unwrap()
            .remove(0);
        let jwk = cert.public_jwk().unwrap();
        assert_eq!(jwk.kty, "RSA");
        assert_eq!(jwk.params[1], ("e", "AQAB".to_owned()));
        assert!(!cert.issuer_rfc4514().is_empty());
    }
}
