//! Tests of RFC 8705 §2.1.2 name matching and of `SubjectMatch` serialisation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::SanType;

use crate::test_pki::{self, LeafSpec};
use crate::{ClientCertificate, DistinguishedName, SubjectAltName, SubjectMatch};

fn cert_with(sans: Vec<SanType>) -> ClientCertificate {
    test_pki::self_signed(LeafSpec {
        sans,
        ..LeafSpec::default()
    })
}

fn ia5(s: &str) -> rcgen::string::Ia5String {
    s.try_into().unwrap()
}

#[test]
fn san_dns_is_case_insensitive_without_wildcards() {
    let cert = cert_with(vec![
        SanType::DnsName(ia5("Client.Example.com")),
        SanType::DnsName(ia5("*.wild.example")),
    ]);
    assert!(cert.matches(&SubjectMatch::SanDns("client.example.COM".into())));
    assert!(!cert.matches(&SubjectMatch::SanDns("other.example.com".into())));
    assert!(!cert.matches(&SubjectMatch::SanDns("a.wild.example".into())));
    assert!(cert.matches(&SubjectMatch::SanDns("*.wild.example".into())));
    assert!(!cert.matches(&SubjectMatch::SanUri("Client.Example.com".into())));
}

#[test]
fn san_uri_is_exact() {
    let cert = cert_with(vec![SanType::URI(ia5("https://client.example/app"))]);
    assert!(cert.matches(&SubjectMatch::SanUri("https://client.example/app".into())));
    assert!(!cert.matches(&SubjectMatch::SanUri("https://CLIENT.example/app".into())));
    assert!(!cert.matches(&SubjectMatch::SanUri("https://client.example/app/".into())));
    assert!(!cert.matches(&SubjectMatch::SanDns("client.example".into())));
}

#[test]
fn san_ip_is_binary_and_family_sensitive() {
    let v4 = Ipv4Addr::new(192, 0, 2, 7);
    let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let cert = cert_with(vec![
        SanType::IpAddress(IpAddr::V4(v4)),
        SanType::IpAddress(IpAddr::V6(v6)),
    ]);
    assert!(cert.matches(&SubjectMatch::SanIp(IpAddr::V4(v4))));
    assert!(cert.matches(&SubjectMatch::SanIp("2001:0db8:0::01".parse().unwrap())));
    assert!(!cert.matches(&SubjectMatch::SanIp(IpAddr::V6(v4.to_ipv6_mapped()))));
    assert!(!cert.matches(&SubjectMatch::SanIp("192.0.2.8".parse().unwrap())));
    let mapped_only = cert_with(vec![SanType::IpAddress(IpAddr::V6(v4.to_ipv6_mapped()))]);
    assert!(!mapped_only.matches(&SubjectMatch::SanIp(IpAddr::V4(v4))));
    assert_eq!(cert.subject_alt_names()[0].ip_addr(), Some(IpAddr::V4(v4)));
}

#[test]
fn san_email_local_part_exact_domain_case_insensitive() {
    let cert = cert_with(vec![SanType::Rfc822Name(ia5("Alice@Example.COM"))]);
    assert!(cert.matches(&SubjectMatch::SanEmail("Alice@example.com".into())));
    assert!(!cert.matches(&SubjectMatch::SanEmail("alice@example.com".into())));
    assert!(!cert.matches(&SubjectMatch::SanEmail("Alice@example.org".into())));
    assert!(!cert.matches(&SubjectMatch::SanEmail("Alice".into())));
    assert_eq!(
        cert.subject_alt_names(),
        &[SubjectAltName::Email("Alice@Example.COM".into())]
    );
}

#[test]
fn subject_dn_from_generated_certificate() {
    let cert = cert_with(Vec::new());
    let dn = |s: &str| SubjectMatch::SubjectDn(DistinguishedName::parse_rfc4514(s).unwrap());
    assert!(cert.matches(&dn("CN=client,O=Bank,C=GB")));
    assert!(cert.matches(&dn("C=GB, O=Bank, CN=client")));
    assert!(!cert.matches(&dn("CN=client,O=Bank")));
    assert!(!cert.matches(&dn("CN=client,O=Bank,C=GB,OU=x")));
    assert!(!cert.matches(&SubjectMatch::SanDns("client".into())));
}

#[test]
fn metadata_names_and_values() {
    let cases = [
        (
            SubjectMatch::SubjectDn(DistinguishedName::parse_rfc4514("cn=a, o=b").unwrap()),
            "tls_client_auth_subject_dn",
            "CN=a,O=b",
        ),
        (
            SubjectMatch::SanDns("a.example".into()),
            "tls_client_auth_san_dns",
            "a.example",
        ),
        (
            SubjectMatch::SanUri("urn:x".into()),
            "tls_client_auth_san_uri",
            "urn:x",
        ),
        (
            SubjectMatch::SanIp("::1".parse().unwrap()),
            "tls_client_auth_san_ip",
            "::1",
        ),
        (
            SubjectMatch::SanEmail("a@b.c".into()),
            "tls_client_auth_san_email",
            "a@b.c",
        ),
    ];
    for (m, name, value) in cases {
        assert_eq!(m.metadata_name(), name);
        assert_eq!(m.value_string(), value);
    }
}

#[test]
fn serde_round_trip_externally_tagged_snake_case() {
    let cases = [
        (
            SubjectMatch::SubjectDn(
                DistinguishedName::parse_rfc4514(r"CN=Acme\, Inc.,O=X").unwrap(),
            ),
            r#"{"subject_dn":"CN=Acme\\, Inc.,O=X"}"#,
        ),
        (
            SubjectMatch::SanDns("a.example".into()),
            r#"{"san_dns":"a.example"}"#,
        ),
        (
            SubjectMatch::SanUri("urn:x".into()),
            r#"{"san_uri":"urn:x"}"#,
        ),
        (
            SubjectMatch::SanIp("192.0.2.1".parse().unwrap()),
            r#"{"san_ip":"192.0.2.1"}"#,
        ),
        (
            SubjectMatch::SanEmail("a@b.c".into()),
            r#"{"san_email":"a@b.c"}"#,
        ),
    ];
    for (m, json) in cases {
        assert_eq!(serde_json::to_string(&m).unwrap(), json);
        let back: SubjectMatch = serde_json::from_str(json).unwrap();
        assert_eq!(back, m);
    }
    assert!(serde_json::from_str::<SubjectMatch>(r#"{"subject_dn":"CN"}"#).is_err());
    assert!(serde_json::from_str::<SubjectMatch>(r#"{"san_ip":"not-an-ip"}"#).is_err());
}
