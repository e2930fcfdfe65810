//! Which store a certificate is checked against, and CRL ordering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = at(NOW - 10 * DAY);
    p.not_after = at(NOW + 10 * DAY);
    let pem = p.self_signed(&key).unwrap().pem();
    Ca {
        issuer: Issuer::new(p, key),
        pem,
    }
}

/// A client certificate with subject CN=client and the given serial, issued by `ca`.
fn leaf(ca: &Ca, serial: u64) -> ClientCertificate {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "client");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.serial_number = Some(SerialNumber::from(serial));
    p.not_before = at(NOW - DAY);
    p.not_after = at(NOW + DAY);
    let der = p.signed_by(&key, &ca.issuer).unwrap().der().to_vec();
    ClientCertificate::from_der(der).unwrap()
}

fn crl(ca: &Ca, revoked: &[u64], this_update: i64) -> RevocationList {
    let params = CertificateRevocationListParams {
        this_update: at(this_update),
        next_update: at(this_update + 2 * DAY),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: at(this_update),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    RevocationList::from_der(params.signed_by(&ca.issuer).unwrap().der()).unwrap()
}

fn store(name: &str, ca: &Ca, crls: Option<Vec<RevocationList>>) -> TrustStore {
    let s = TrustStore::new(
        name,
        TrustAnchors::from_pem(&ca.pem).unwrap(),
        crls.is_some(),
    );
    if let Some(crls) = crls {
        s.set_crls(crls);
    }
    s
}

#[test]
fn a_store_accepts_only_its_own_cas() {
    let (a, b) = (ca("CA"), ca("CA"));
    let mut stores = TrustStores::new();
    let sa = stores.insert(store("a", &a, None)).unwrap();
    stores.insert(store("b", &b, None)).unwrap();
    assert!(stores.insert(store("a", &b, None)).is_err());
    assert!(stores.contains("a") && stores.contains("b") && !stores.contains("c"));
    assert_eq!(stores.names().collect::<Vec<_>>(), ["a", "b"]);
    let from_b = leaf(&b, 1);
    assert!(matches!(
        sa.verify(&from_b, &[], NOW),
        Err(CertError::Untrusted(_))
    ));
    assert_eq!(sa.verify(&leaf(&a, 1), &[], NOW), Ok(()));
    assert_eq!(stores.verify_any(&from_b, &[], NOW), Ok(()));
    assert!(TrustStores::new().verify_any(&from_b, &[], NOW).is_err());
}

#[test]
fn revocation_in_any_store_wins_and_unknown_status_beats_untrusted() {
    let a = ca("CA");
    let mut stores = TrustStores::new();
    // The same CA in two stores, one checking CRLs: the revocation must not be bypassed.
    stores.insert(store("plain", &a, None)).unwrap();
    let checked = stores
        .insert(store("checked", &a, Some(vec![crl(&a, &[7], NOW - DAY)])))
        .unwrap();
    assert_eq!(
        stores.verify_any(&leaf(&a, 7), &[], NOW),
        Err(CertError::Revoked)
    );
    assert_eq!(stores.verify_any(&leaf(&a, 8), &[], NOW), Ok(()));
    checked.set_crls(Vec::new());
    assert!(matches!(
        checked.verify(&leaf(&a, 8), &[], NOW),
        Err(CertError::RevocationUnknown(_))
    ));
    let other = ca("Other");
    let mut only_checked = TrustStores::new();
    only_checked
        .insert(store("checked", &a, Some(Vec::new())))
        .unwrap();
    only_checked.insert(store("other", &other, None)).unwrap();
    assert!(matches!(
        only_checked.verify_any(&leaf(&a, 8), &[], NOW),
        Err(CertError::RevocationUnknown(_))
    ));
}

#[test]
fn the_newest_crl_of_an_issuer_is_used() {
    let a = ca("CA");
    let s = store("a", &a, Some(Vec::new()));
    // Serial 7 revoked in the newer CRL only: given oldest first, it is still found.
    s.set_crls(vec![
        crl(&a, &[], NOW - 2 * DAY + 10),
        crl(&a, &[7], NOW - DAY),
    ]);
    assert_eq!(s.crls().len(), 2);
    assert_eq!(s.verify(&leaf(&a, 7), &[], NOW), Err(CertError::Revoked));
    assert!(format!("{s:?}").contains("crls: 2"));
}
