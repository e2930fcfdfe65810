//! Tests of certificate parsing, the seed thumbprint vector, validity and chain validation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use rcgen::ExtendedKeyUsagePurpose;

use crate::test_pki::{self, LeafSpec, NOW, Y2020};
use crate::{CertError, ClientCertificate, DistinguishedName, SubjectMatch, TrustAnchors};

/// Public test certificate from the WSO2 mTLS blog (the seed reference); no private key.
use crate::vectors::WSO2_SAMPLE_CERT_PEM as SEED_PEM;

fn seed() -> ClientCertificate {
    let mut certs = ClientCertificate::from_pem(SEED_PEM).unwrap();
    assert_eq!(certs.len(), 1);
    certs.remove(0)
}

fn subject(s: &str) -> SubjectMatch {
    SubjectMatch::SubjectDn(DistinguishedName::parse_rfc4514(s).unwrap())
}

#[test]
fn seed_certificate_thumbprint_vector() {
    let cert = seed();
    assert_eq!(
        cert.thumbprint().to_base64url(),
        "mt3KDY1hofQurloTbphKHCSrTlAGl5MlgXX6Xxj9c_E"
    );
    assert_eq!(cert.to_pem(), SEED_PEM);
    // 2020-03-24T12:42:01Z .. 2030-03-22T12:42:01Z
    assert_eq!(cert.not_before(), 1_585_053_721);
    assert_eq!(cert.not_after(), 1_900_413_721);
}

#[test]
fn seed_certificate_subject_dn_matching() {
    let cert = seed();
    assert_eq!(
        cert.subject_dn().to_rfc4514(),
        "emailAddress=gangani@wso2.com,CN=Gaga,OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL"
    );
    for ok in [
        "emailAddress=gangani@wso2.com,CN=Gaga,OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL",
        "C=SL, ST=Western, L=Colombo, O=WSO2, OU=IAM, CN=Gaga, emailAddress=gangani@wso2.com",
        "E=GANGANI@WSO2.COM,cn=gaga,ou=iam,o=wso2,l=colombo,st=western,c=sl",
        r"1.2.840.113549.1.9.1=#1610gangani@wso2.com,CN=\47aga,OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL"
            .replace("#1610gangani@wso2.com", "#161067616E67616E694077736F322E636F6D")
            .as_str(),
        r#"CN="Gaga",OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL,emailAddress=gangani@wso2.com"#,
    ] {
        assert!(cert.matches(&subject(ok)), "{ok:?} should match");
    }
    for bad in [
        "emailAddress=gangani@wso2.com,CN=Gaga2,OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL",
        "CN=Gaga,OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL",
        "emailAddress=gangani@wso2.com,CN=Gaga,OU=IAM,O=WSO2,L=Colombo,ST=Western,C=SL,DC=x",
    ] {
        assert!(!cert.matches(&subject(bad)), "{bad:?} should not match");
    }
}

#[test]
fn from_der_rejects_garbage_truncation_and_trailing_bytes() {
    let der = seed().der().to_vec();
    assert_eq!(
        ClientCertificate::from_der(Vec::new()).unwrap_err(),
        CertError::Malformed
    );
    assert_eq!(
        ClientCertificate::from_der(b"not a certificate".to_vec()).unwrap_err(),
        CertError::Malformed
    );
    let truncated = der[..der.len() - 1].to_vec();
    assert_eq!(
        ClientCertificate::from_der(truncated).unwrap_err(),
        CertError::Malformed
    );
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(
        ClientCertificate::from_der(trailing).unwrap_err(),
        CertError::Malformed
    );
    let mut two = der.clone();
    two.extend_from_slice(&der);
    assert_eq!(
        ClientCertificate::from_der(two).unwrap_err(),
        CertError::Malformed
    );
    assert!(ClientCertificate::from_der(der).is_ok());
}

#[test]
fn from_pem_rejects_keys_and_empty_input() {
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    assert_eq!(
        ClientCertificate::from_pem(&key).unwrap_err(),
        CertError::Malformed
    );
    let cert_and_key = format!("{SEED_PEM}{key}");
    assert_eq!(
        ClientCertificate::from_pem(&cert_and_key).unwrap_err(),
        CertError::Malformed
    );
    assert_eq!(
        ClientCertificate::from_pem("").unwrap_err(),
        CertError::NoCertificate
    );
    assert_eq!(
        ClientCertificate::from_pem("\n \n").unwrap_err(),
        CertError::NoCertificate
    );
    let two = format!("{SEED_PEM}{SEED_PEM}");
    assert_eq!(ClientCertificate::from_pem(&two).unwrap().len(), 2);
    let single_line = SEED_PEM.replace('\n', " ");
    assert_eq!(ClientCertificate::from_pem(&single_line).unwrap().len(), 1);
}

#[test]
fn debug_never_prints_the_der() {
    let cert = seed();
    let debug = format!("{cert:?}");
    assert!(debug.contains("mt3KDY1hofQurloTbphKHCSrTlAGl5MlgXX6Xxj9c_E"));
    assert!(debug.contains("CN=Gaga"));
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cert.der());
    for chunk in [&b64[..16], &b64[100..116], &b64url[200..216]] {
        assert!(!debug.contains(chunk));
    }
    assert!(!debug.contains("MIID"));
    for e in [
        CertError::Malformed,
        CertError::Untrusted("UnknownIssuer".into()),
    ] {
        assert!(!e.to_string().contains("MIID"));
    }
}

#[test]
fn validity_period() {
    let ca = test_pki::ca("Validity CA");
    let expired = test_pki::leaf(
        &ca,
        LeafSpec {
            not_after: NOW - 10,
            ..LeafSpec::default()
        },
    );
    assert_eq!(expired.check_validity(NOW), Err(CertError::Expired));
    assert_eq!(expired.check_validity(NOW - 10), Ok(()));
    let future = test_pki::leaf(
        &ca,
        LeafSpec {
            not_before: NOW + 10,
            ..LeafSpec::default()
        },
    );
    assert_eq!(future.check_validity(NOW), Err(CertError::NotYetValid));
    assert_eq!(future.check_validity(NOW + 10), Ok(()));
    assert_eq!(future.not_before(), NOW + 10);
    let ok = test_pki::leaf(&ca, LeafSpec::default());
    assert_eq!(ok.check_validity(NOW), Ok(()));
    assert_eq!(ok.not_before(), Y2020);
}

#[test]
fn chain_to_trust_anchor_with_client_auth_eku() {
    let ca = test_pki::ca("Client CA");
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();
    assert_eq!(anchors.len(), 1);
    assert!(!anchors.is_empty());
    let good = test_pki::leaf(&ca, LeafSpec::default());
    assert_eq!(good.verify_chain(&[], &anchors, NOW), Ok(()));
    let no_eku = test_pki::leaf(
        &ca,
        LeafSpec {
            ekus: Vec::new(),
            ..LeafSpec::default()
        },
    );
    assert_eq!(no_eku.verify_chain(&[], &anchors, NOW), Ok(()));
}

#[test]
fn chain_rejects_impostor_ca_server_eku_and_expiry() {
    let ca = test_pki::ca("Client CA");
    let impostor = test_pki::ca("Client CA"); // same subject DN, different key
    let anchors = TrustAnchors::from_pem(&ca.pem).unwrap();

    let forged = test_pki::leaf(&impostor, LeafSpec::default());
    assert!(matches!(
        forged.verify_chain(&[], &anchors, NOW),
        Err(CertError::Untrusted(_))
    ));
    let server_only = test_pki::leaf(
        &ca,
        LeafSpec {
            ekus: vec![ExtendedKeyUsagePurpose::ServerAuth],
            ..LeafSpec::default()
        },
    );
    assert!(matches!(
        server_only.verify_chain(&[], &anchors, NOW),
        Err(CertError::Untrusted(_))
    ));
    let expired = test_pki::leaf(
        &ca,
        LeafSpec {
            not_after: NOW - 10,
            ..LeafSpec::default()
        },
    );
    assert_eq!(
        expired.verify_chain(&[], &anchors, NOW),
        Err(CertError::Expired)
    );
    let future = test_pki::leaf(
        &ca,
        LeafSpec {
            not_before: NOW + 10,
            ..LeafSpec::default()
        },
    );
    assert_eq!(
        future.verify_chain(&[], &anchors, NOW),
        Err(CertError::NotYetValid)
    );
    let self_signed = test_pki::self_signed(LeafSpec::default());
    let Err(CertError::Untrusted(reason)) = self_signed.verify_chain(&[], &anchors, NOW) else {
        panic!("self-signed leaf must be untrusted");
    };
    assert!(!reason.is_empty() && reason.len() < 64, "{reason}");
}

#[test]
fn chain_through_intermediate() {
    let root = test_pki::ca("Root");
    let anchors = TrustAnchors::from_pem(&root.pem).unwrap();
    let (intermediate, intermediate_ca) = test_pki::intermediate(&root, "Issuing CA");
    let leaf = test_pki::leaf(&intermediate_ca, LeafSpec::default());
    assert_eq!(leaf.verify_chain(&[intermediate], &anchors, NOW), Ok(()));
    assert!(matches!(
        leaf.verify_chain(&[], &anchors, NOW),
        Err(CertError::Untrusted(_))
    ));
}

#[test]
fn trust_anchors_from_pem_errors() {
    assert_eq!(
        TrustAnchors::from_pem("").unwrap_err(),
        CertError::NoCertificate
    );
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    assert_eq!(
        TrustAnchors::from_pem(&key).unwrap_err(),
        CertError::Malformed
    );
    let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_eq!(
        TrustAnchors::from_pem(junk).unwrap_err(),
        CertError::InvalidTrustAnchor
    );
    let two = format!("{}{}", test_pki::ca("A").pem, test_pki::ca("B").pem);
    assert_eq!(TrustAnchors::from_pem(&two).unwrap().len(), 2);
}

/// Regression guard: mutated certificates are refused or parsed, never a panic.
#[test]
fn from_der_and_from_pem_never_panic_on_mutations() {
    let der = seed().der().to_vec();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2000 {
        let mut mutated = der.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % mutated.len();
            mutated[i] = next() as u8;
        }
        let cut = (next() as usize) % (mutated.len() + 1);
        let _ = ClientCertificate::from_der(mutated[..cut].to_vec());
        if let Ok(c) = ClientCertificate::from_der(mutated) {
            let _ = c.subject_dn().to_rfc4514();
            let _ = ClientCertificate::from_pem(&c.to_pem()).unwrap();
        }
    }
}
