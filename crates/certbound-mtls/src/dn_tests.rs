//! Tests of RFC 4514 parsing and canonical DN comparison.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{CertError, DistinguishedName};

fn dn(s: &str) -> DistinguishedName {
    DistinguishedName::parse_rfc4514(s).unwrap()
}

fn invalid(s: &str) -> bool {
    matches!(
        DistinguishedName::parse_rfc4514(s),
        Err(CertError::InvalidDn(_))
    )
}

#[test]
fn rdn_order_case_and_whitespace_are_ignored() {
    let a = dn("CN=client,O=Bank,C=GB");
    assert_eq!(a, dn("C=GB, O=Bank, CN=client"));
    assert_eq!(a, dn("cn = CLIENT , o= bank,c=gb"));
    assert_eq!(
        a,
        dn("commonName=Client,  organizationName=bank ,countryName=gb")
    );
    assert_eq!(a, dn("2.5.4.3=client,OID.2.5.4.10=Bank,C=GB"));
    assert_eq!(dn("CN=a  b\t c"), dn("CN= A B C "));
}

#[test]
fn different_extra_or_missing_rdns_do_not_match() {
    let a = dn("CN=client,O=Bank,C=GB");
    assert_ne!(a, dn("CN=client2,O=Bank,C=GB"));
    assert_ne!(a, dn("CN=client,O=Bank,C=GB,OU=x"));
    assert_ne!(a, dn("CN=client,O=Bank"));
    assert_ne!(a, dn("CN=client,O=Bank,C=GB,C=GB"));
    assert_ne!(a, dn("CN=client+O=Bank,C=GB"));
    assert_ne!(a, dn("O=client,CN=Bank,C=GB"));
}

#[test]
fn escapes_hex_pairs_and_quotes_are_equivalent() {
    let a = dn(r"CN=Acme\, Inc.,O=X");
    assert_eq!(a, dn(r"CN=Acme\2C Inc.,O=X"));
    assert_eq!(a, dn(r#"O=X,CN="Acme, Inc.""#));
    assert_eq!(a.to_rfc4514(), r"CN=Acme\, Inc.,O=X");
    assert_eq!(dn(r"CN=\4C\C3\A9a"), dn("CN=léa"));
    assert_eq!(
        dn(r"CN=a\+b\=c\;d\<e\>f\\g\#h\ i\22"),
        dn(r#"CN="a+b=c;d<e>f\\g#h i\"""#)
    );
    assert_eq!(dn(r"CN=\#x"), dn(r"CN=\23x"));
    assert_eq!(dn("CN=a=b"), dn(r"CN=a\=b"));
}

#[test]
fn ber_hexstring_values_are_decoded() {
    // PrintableString "Gaga", UTF8String "Gaga", BMPString "Gaga".
    assert_eq!(dn("CN=#130447616761"), dn("CN=Gaga"));
    assert_eq!(dn("CN=#0C0447616761"), dn("CN=gaga"));
    assert_eq!(dn("CN=#1E080047006100670061"), dn("CN=Gaga"));
    // TeletexString as Latin-1.
    assert_eq!(dn("CN=#1401E9"), dn("CN=é"));
    // A non-string value stays binary and only matches itself.
    let octets = dn("UID=#04020102");
    assert_eq!(octets, dn("UID=#04020102"));
    assert_ne!(octets, dn("UID=#04020103"));
    assert_eq!(octets.to_rfc4514(), "UID=#04020102");
    assert!(invalid("CN=#13"));
    assert!(invalid("CN=#1304476167"));
    assert!(invalid("CN=#13034761676100"));
    // A UTF8String that is not UTF-8 stays its encoding, as in a certificate's own DN.
    let undecodable = dn("CN=#0C01FF");
    assert_eq!(undecodable, dn("CN=#0c01ff"));
    assert_ne!(undecodable, dn("CN=#0C01FE"));
    assert_eq!(undecodable.to_rfc4514(), "CN=#0C01FF");
    assert!(invalid("CN=#"));
    assert!(invalid("CN=#zz"));
}

#[test]
fn multi_valued_rdn_is_a_set() {
    let a = dn("CN=a+UID=1,O=X");
    assert_eq!(a, dn("UID=1 + CN=a, O=X"));
    assert_ne!(a, dn("CN=a,UID=1,O=X"));
    assert_eq!(a.len(), 2);
}

#[test]
fn syntax_errors_are_invalid_dn() {
    for bad in [
        "",
        "   ",
        "CN",
        "CN=a,",
        ",CN=a",
        "=a",
        "CN=a\\",
        "CN=a\\q",
        "CN=a\\4",
        "CN=a\\4G",
        "CN=a;O=b",
        "CN=\"abc",
        "CN=\"abc\"x",
        "CN=a<b",
        "XX=a",
        "2.5.4=a,1=b",
        "2..5=a",
        "2.05.4.3=a",
        "CN=a++O=b",
        "CN=\\FF",
    ] {
        assert!(invalid(bad), "{bad:?} should be refused");
    }
}

#[test]
fn display_form_round_trips() {
    for s in [
        r"CN=Acme\, Inc.,O=X",
        r"CN=\#lead\ ,O=a+OU=b",
        "CN=\\0Dctl,UID=#04020102",
        "1.2.3.4=x,emailAddress=a@b.c",
        r"CN=\ spaced\ ",
    ] {
        let d = dn(s);
        let again = dn(&d.to_rfc4514());
        assert_eq!(d, again, "{s:?} -> {:?}", d.to_rfc4514());
        assert_eq!(d.to_rfc4514(), again.to_rfc4514());
    }
    assert_eq!(dn("cn=a,o=b").to_rfc4514(), "CN=a,O=b");
    assert_eq!(dn("E=a@b.c").to_rfc4514(), "emailAddress=a@b.c");
}

#[test]
fn hash_is_consistent_with_eq() {
    use std::collections::HashSet;
    let mut set = HashSet::new();
    set.insert(dn("CN=client,O=Bank,C=GB"));
    assert!(set.contains(&dn("c=gb,o=BANK,cn=Client")));
    assert!(!set.contains(&dn("CN=other,O=Bank,C=GB")));
}

#[test]
fn from_str_and_serde() {
    let d: DistinguishedName = "CN=a,O=b".parse().unwrap();
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(json, "\"CN=a,O=b\"");
    let back: DistinguishedName = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
    assert!(serde_json::from_str::<DistinguishedName>("\"CN\"").is_err());
}

/// Regression guard: the parser is total on arbitrary input (xorshift-generated strings
/// biased towards DN metacharacters).
#[test]
fn parser_never_panics_on_random_input() {
    const ALPHABET: &[u8] = b"CN=O,+\\\"#;<> 0123456789ABCDEFabcdef.\t=\xc3\xa9";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..5000 {
        let len = (next() % 40) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 4 == 0 {
                    (r >> 8) as u8
                } else {
                    ALPHABET[((r >> 8) as usize) % ALPHABET.len()]
                }
            })
            .collect();
        let s = String::from_utf8_lossy(&bytes);
        if let Ok(d) = DistinguishedName::parse_rfc4514(&s) {
            // Whatever parses must display and re-parse to an equal DN.
            assert_eq!(
                DistinguishedName::parse_rfc4514(&d.to_rfc4514()).unwrap(),
                d
            );
        }
    }
}

/// Regression (fuzz target `certificate`): a certificate whose subject has a UTF8String that
/// is not UTF-8 prints it as `#hex`, and that printed DN must read back to match the
/// certificate (it is what an operator registers as `tls_client_auth_subject_dn`).
#[test]
fn an_undecodable_subject_value_prints_as_hex_and_reads_back_matching() {
    use crate::{ClientCertificate, SubjectMatch};
    let sample = ClientCertificate::from_pem(crate::vectors::WSO2_SAMPLE_CERT_PEM).unwrap();
    let mut der = sample[0].der().to_vec();
    // The subject's L=Colombo (the issuer's comes first) becomes the bytes of the crash input.
    let at = der
        .windows(7)
        .enumerate()
        .filter(|(_, w)| *w == b"Colombo")
        .map(|(i, _)| i)
        .nth(1)
        .unwrap();
    der[at..at + 7].copy_from_slice(b"ColP\x00b\xb4");
    let cert = ClientCertificate::from_der(der).unwrap();
    let printed = cert.subject_dn().to_rfc4514();
    assert!(printed.contains("L=#0C07436F6C500062B4"), "{printed}");
    let back = dn(&printed);
    assert_eq!(&back, cert.subject_dn());
    assert!(cert.matches(&SubjectMatch::SubjectDn(back)));
}
