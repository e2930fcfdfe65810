//! Test PKI generated at test time with rcgen (house rule 13: no checked-in private keys).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

use crate::ClientCertificate;

/// 2025-01-01T00:00:00Z, the "now" of the tests.
pub(crate) const NOW: i64 = 1_735_689_600;
/// 2020-01-01T00:00:00Z.
pub(crate) const Y2020: i64 = 1_577_836_800;
/// 2040-01-01T00:00:00Z.
pub(crate) const Y2040: i64 = 2_208_988_800;

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// A CA: its parameters, key and certificate.
pub(crate) struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pub(crate) pem: String,
}

/// A self-signed CA with subject `CN=<cn>,O=Test`.
pub(crate) fn ca(cn: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Test");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = at(Y2020);
    params.not_after = at(Y2040);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// What a test leaf certificate should contain.
pub(crate) struct LeafSpec {
    pub(crate) cn: &'static str,
    pub(crate) ekus: Vec<ExtendedKeyUsagePurpose>,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) sans: Vec<SanType>,
    pub(crate) serial: Option<u64>,
}

impl Default for LeafSpec {
    fn default() -> Self {
        LeafSpec {
            cn: "client",
            ekus: vec![ExtendedKeyUsagePurpose::ClientAuth],
            not_before: Y2020,
            not_after: Y2040,
            sans: Vec::new(),
            serial: None,
        }
    }
}

fn leaf_params(spec: LeafSpec) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CountryName, "GB");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Bank");
    params.distinguished_name.push(DnType::CommonName, spec.cn);
    params.extended_key_usages = spec.ekus;
    params.not_before = at(spec.not_before);
    params.not_after = at(spec.not_after);
    params.subject_alt_names = spec.sans;
    params.serial_number = spec.serial.map(rcgen::SerialNumber::from);
    params
}

/// A leaf signed by `ca`.
pub(crate) fn leaf(ca: &Ca, spec: LeafSpec) -> ClientCertificate {
    let key = KeyPair::generate().unwrap();
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = leaf_params(spec).signed_by(&key, &issuer).unwrap();
    ClientCertificate::from_der(cert.der().to_vec()).unwrap()
}

/// A self-signed leaf.
pub(crate) fn self_signed(spec: LeafSpec) -> ClientCertificate {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params(spec).self_signed(&key).unwrap();
    ClientCertificate::from_der(cert.der().to_vec()).unwrap()
}

/// The serial number of every test intermediate CA.
pub(crate) const INTERMEDIATE_SERIAL: u64 = 0x1000;

/// An intermediate CA signed by `root`: its certificate and its signing material.
pub(crate) fn intermediate(root: &Ca, cn: &str) -> (ClientCertificate, Ca) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Test");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = at(Y2020);
    params.not_after = at(Y2040);
    params.serial_number = Some(rcgen::SerialNumber::from(INTERMEDIATE_SERIAL));
    let key = KeyPair::generate().unwrap();
    let issuer = Issuer::from_params(&root.params, &root.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let pem = cert.pem();
    let parsed = ClientCertificate::from_der(cert.der().to_vec()).unwrap();
    (parsed, Ca { params, key, pem })
}

/// A DER CRL signed by `ca` listing `revoked` serials, valid from `this_update` to `next_update`.
pub(crate) fn crl(ca: &Ca, revoked: &[u64], this_update: i64, next_update: i64) -> Vec<u8> {
    let params = rcgen::CertificateRevocationListParams {
        this_update: at(this_update),
        next_update: at(next_update),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(*s),
                revocation_time: at(this_update),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    params.signed_by(&issuer).unwrap().der().to_vec()
}
