//! CRL parsing and revocation checking (RFC 5280 §5, §6.3) with a test PKI made by rcgen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::test_pki::{self, LeafSpec, NOW, Y2020};
use crate::{CertError, ClientCertificate};

const DAY: i64 = 86_400;

fn leaf(ca: &test_pki::Ca, serial: u64) -> ClientCertificate {
    test_pki::leaf(
        ca,
        LeafSpec {
            serial: Some(serial),
            ..LeafSpec::default()
        },
    )
}

fn crl(ca: &test_pki::Ca, revoked: &[u64]) -> RevocationList {
    RevocationList::from_der(&test_pki::crl(ca, revoked, NOW - DAY, NOW + DAY)).unwrap()
}

fn check(
    cert: &ClientCertificate,
    intermediates: &[ClientCertificate],
    anchors: &TrustAnchors,
    crls: &[RevocationList],
) -> Result<(), CertError> {
    cert.verify_chain_with_revocation(intermediates, anchors, Revocation::Crls(crls), NOW)
}

#[test]
fn revoked_certificate_is_refused_and_others_pass() {
    let ca = test_pki::ca("Client CA");
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();
    let list = crl(&ca, &[7, 9]);
    assert_eq!(list.revoked_count(), 2);
    assert_eq!(list.check_issuer(&anchors), Ok(()));
    assert!(list.issuer().contains("Client CA"), "{}", list.issuer());
    assert_eq!(
        check(&leaf(&ca, 7), &[], &anchors, std::slice::from_ref(&list)),
        Err(CertError::Revoked)
    );
    assert_eq!(check(&leaf(&ca, 8), &[], &anchors, &[list]), Ok(()));
    // Without revocation checking the revoked certificate still chains.
    assert_eq!(leaf(&ca, 7).verify_chain(&[], &anchors, NOW), Ok(()));
}

#[test]
fn crl_signed_by_another_ca_with_the_same_name_is_refused_at_load_and_never_trusted() {
    let ca = test_pki::ca("Client CA");
    let impostor = test_pki::ca("Client CA"); // same subject DN, different key
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();
    let forged = crl(&impostor, &[]);
    assert!(matches!(
        forged.check_issuer(&anchors),
        Err(CrlError::BadSignature { .. })
    ));
    // Even if a caller passed it, webpki verifies the signature: the status stays unknown,
    // the certificate is not accepted as "not revoked".
    assert!(matches!(
        check(&leaf(&ca, 1), &[], &anchors, &[forged]),
        Err(CertError::RevocationUnknown(_))
    ));
}

#[test]
fn crl_of_an_unrelated_issuer_is_kept_but_gives_no_status() {
    let ca = test_pki::ca("Client CA");
    let other = test_pki::ca("Other CA");
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();
    let unrelated = crl(&other, &[1]);
    assert_eq!(unrelated.check_issuer(&anchors), Ok(()));
    assert!(matches!(
        check(&leaf(&ca, 1), &[], &anchors, &[unrelated]),
        Err(CertError::RevocationUnknown(_))
    ));
}

#[test]
fn expired_crl_is_not_relied_on() {
    let ca = test_pki::ca("Client CA");
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();
    let stale = RevocationList::from_der(&test_pki::crl(&ca, &[], Y2020, NOW - DAY)).unwrap();
    assert!(stale.is_expired(NOW));
    assert_eq!(stale.next_update(), NOW - DAY);
    assert!(matches!(
        check(&leaf(&ca, 1), &[], &anchors, std::slice::from_ref(&stale)),
        Err(CertError::RevocationUnknown(reason)) if reason == "CrlExpired"
    ));
    // A fresh CRL placed first wins over the stale one of the same issuer.
    let fresh = crl(&ca, &[]);
    assert_eq!(check(&leaf(&ca, 1), &[], &anchors, &[fresh, stale]), Ok(()));
}

#[test]
fn no_crl_loaded_means_unknown_status_but_untrusted_chains_say_so() {
    let ca = test_pki::ca("Client CA");
    let rogue = test_pki::ca("Rogue CA");
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();
    assert!(matches!(
        check(&leaf(&ca, 1), &[], &anchors, &[]),
        Err(CertError::RevocationUnknown(_))
    ));
    assert!(matches!(
        check(&leaf(&rogue, 1), &[], &anchors, &[]),
        Err(CertError::Untrusted(_))
    ));
    // An untrusted certificate stays untrusted whatever the CRLs say.
    assert!(matches!(
        check(&leaf(&rogue, 1), &[], &anchors, &[crl(&ca, &[])]),
        Err(CertError::Untrusted(_))
    ));
}

#[test]
fn intermediates_are_checked_when_their_issuer_has_a_crl() {
    let root = test_pki::ca("Root");
    let anchors = TrustAnchors::from_pem(&root.pem).unwrap();
    let (intermediate, issuing) = test_pki::intermediate(&root, "Issuing CA");
    let cert = leaf(&issuing, 5);
    let issuing_crl = crl(&issuing, &[]);
    // Only the issuing CA's CRL: the leaf's status is known, the intermediate's is not needed.
    assert_eq!(
        check(
            &cert,
            std::slice::from_ref(&intermediate),
            &anchors,
            std::slice::from_ref(&issuing_crl)
        ),
        Ok(())
    );
    // The leaf revoked by the intermediate's CRL.
    assert_eq!(
        check(
            &cert,
            std::slice::from_ref(&intermediate),
            &anchors,
            &[crl(&issuing, &[5])]
        ),
        Err(CertError::Revoked)
    );
    // The root's CRL revokes the intermediate itself.
    let root_crl = crl(&root, &[test_pki::INTERMEDIATE_SERIAL]);
    assert_eq!(
        check(&cert, &[intermediate], &anchors, &[issuing_crl, root_crl]),
        Err(CertError::Revoked)
    );
}

#[test]
fn parse_accepts_der_and_pem_and_refuses_junk() {
    let ca = test_pki::ca("Client CA");
    let der = test_pki::crl(&ca, &[3], NOW - DAY, NOW + DAY);
    assert_eq!(RevocationList::parse(&der).unwrap().len(), 1);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let pem = format!("-----BEGIN X509 CRL-----\n{b64}\n-----END X509 CRL-----\n");
    let two = format!("{pem}{pem}");
    assert_eq!(RevocationList::parse(two.as_bytes()).unwrap().len(), 2);
    assert_eq!(
        RevocationList::parse(b"hello").unwrap_err(),
        CrlError::NoCrl
    );
    assert!(matches!(
        RevocationList::parse(ca.pem.as_bytes()),
        Err(CrlError::Malformed(_))
    ));
    assert!(matches!(
        RevocationList::parse(&der[..der.len() - 3]),
        Err(CrlError::Malformed(_))
    ));
    let debug = format!("{:?}", RevocationList::parse(&der).unwrap()[0]);
    assert!(debug.contains("revoked: 1"), "{debug}");
}
