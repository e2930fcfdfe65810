//! Test PKI generated with rcgen at test time: self-signed client certificates and small CAs.
//! No private key is ever checked in.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// A client identity on disk, for curl's --cert/--key.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
}

impl Identity {
    /// base64url(SHA-256(DER)), computed independently of certbound.
    pub fn thumbprint(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }
}

/// Validity window relative to now.
#[derive(Debug, Clone, Copy)]
pub enum Validity {
    Current,
    Expired,
    NotYetValid,
}

impl Validity {
    fn apply(self, p: &mut CertificateParams) {
        let now = OffsetDateTime::now_utc();
        let (nb, na) = match self {
            Validity::Current => (now - Duration::hours(1), now + Duration::days(30)),
            Validity::Expired => (now - Duration::days(30), now - Duration::days(1)),
            Validity::NotYetValid => (now + Duration::days(1), now + Duration::days(30)),
        };
        p.not_before = nb;
        p.not_after = na;
    }
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (t, v) in parts {
        dn.push(t.clone(), *v);
    }
    dn
}

fn write(dir: &Path, stem: &str, cert_pem: &str, key: &KeyPair, der: Vec<u8>) -> Identity {
    let cert = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}-key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Identity {
        cert,
        key: key_path,
        der,
    }
}

/// A self-signed client certificate (as the reference's `openssl req -x509`).
pub fn self_signed(dir: &Path, stem: &str, cn: &str, validity: Validity) -> Identity {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = dn(&[
        (DnType::CommonName, cn),
        (DnType::OrganizationName, "certbound tests"),
    ]);
    validity.apply(&mut p);
    let cert = p.self_signed(&key).unwrap();
    write(dir, stem, &cert.pem(), &key, cert.der().to_vec())
}

/// A certificate authority that issues client certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl Ca {
    pub fn new(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = dn(&[
            (DnType::CommonName, cn),
            (DnType::OrganizationName, "Test Bank"),
        ]);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Validity::Current.apply(&mut p);
        p.not_after = OffsetDateTime::now_utc() + Duration::days(365);
        let cert = p.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// Writes the CA certificate to `path` (for `trusted_ca_file`).
    pub fn write(&self, path: &Path) {
        std::fs::write(path, &self.pem).unwrap();
    }

    /// Issues a client certificate with the given subject, SANs and validity.
    pub fn issue(
        &self,
        dir: &Path,
        stem: &str,
        subject: &[(DnType, &str)],
        sans: Vec<SanType>,
        validity: Validity,
    ) -> Identity {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = dn(subject);
        p.subject_alt_names = sans;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity.apply(&mut p);
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        write(dir, stem, &cert.pem(), &key, cert.der().to_vec())
    }
}
