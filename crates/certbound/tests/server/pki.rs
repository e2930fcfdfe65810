//! Test PKI generated with rcgen at test time: self-signed client certificates and small CAs.
//! No private key is ever checked in.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use time::{Duration, OffsetDateTime};

/// A client identity on disk, for curl's --cert/--key.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
    /// The serial number, for CRLs (0 for self-signed certificates: rcgen chose it).
    pub serial: u64,
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
    /// Valid since an hour ago, until this many days from now.
    ExpiresInDays(i64),
}

impl Validity {
    fn apply(self, p: &mut CertificateParams) {
        let now = OffsetDateTime::now_utc();
        let (nb, na) = match self {
            Validity::Current => (now - Duration::hours(1), now + Duration::days(30)),
            Validity::Expired => (now - Duration::days(30), now - Duration::days(1)),
            Validity::NotYetValid => (now + Duration::days(1), now + Duration::days(30)),
            Validity::ExpiresInDays(d) => (now - Duration::hours(1), now + Duration::days(d)),
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

fn write(
    dir: &Path,
    stem: &str,
    cert_pem: &str,
    key: &KeyPair,
    der: Vec<u8>,
    serial: u64,
) -> Identity {
    let cert = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}-key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Identity {
        cert,
        key: key_path,
        der,
        serial,
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
    write(dir, stem, &cert.pem(), &key, cert.der().to_vec(), 0)
}

/// Serial numbers of issued certificates, unique within the test process.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(0x1000);

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
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        p.serial_number = Some(SerialNumber::from(serial));
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        write(dir, stem, &cert.pem(), &key, cert.der().to_vec(), serial)
    }

    /// Writes a PEM CRL revoking `revoked`, valid from a minute ago for a day (for
    /// `crl_files`). Each call has a later thisUpdate and a higher CRL number than the last.
    pub fn write_crl(&self, path: &Path, revoked: &[&Identity]) {
        let now = OffsetDateTime::now_utc();
        let number = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(1),
            next_update: now + Duration::days(1),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|id| RevokedCertParams {
                    serial_number: SerialNumber::from(id.serial),
                    revocation_time: now - Duration::minutes(1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).unwrap();
        std::fs::write(path, crl.pem().unwrap()).unwrap();
    }
}
