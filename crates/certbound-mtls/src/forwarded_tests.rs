//! Tests of the forwarded-certificate parser, starting from the reference's exact header value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::test_pki;
use base64::engine::general_purpose::STANDARD;

use crate::vectors::{WSO2_SAMPLE_HEADER as BLOG_HEADER, WSO2_SAMPLE_X5T as BLOG_X5T};

fn leaf(format: HeaderFormat, value: &str) -> String {
    parse_forwarded(format, value.as_bytes(), None, 5)
        .unwrap()
        .unwrap()
        .thumbprint()
        .to_base64url()
}

fn blog_der() -> Vec<u8> {
    let b64 = BLOG_HEADER
        .trim_start_matches("-----BEGIN CERTIFICATE-----")
        .trim_end_matches("-----END CERTIFICATE-----");
    STANDARD.decode(b64).unwrap()
}

fn multiline_pem() -> String {
    ClientCertificate::from_der(blog_der()).unwrap().to_pem()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_reference_header_value_parses_to_its_published_thumbprint() {
    assert_eq!(leaf(HeaderFormat::Auto, BLOG_HEADER), BLOG_X5T);
    assert_eq!(leaf(HeaderFormat::Pem, BLOG_HEADER), BLOG_X5T);
}

#[test]
fn every_pem_layout() {
    let pem = multiline_pem();
    assert_eq!(leaf(HeaderFormat::Auto, &pem), BLOG_X5T, "newlines");
    assert_eq!(
        leaf(HeaderFormat::Auto, &pem.replace('\n', " ")),
        BLOG_X5T,
        "spaces (Apache)"
    );
    assert_eq!(
        leaf(HeaderFormat::Auto, &pem.replace('\n', "\t")),
        BLOG_X5T,
        "tabs"
    );
    assert_eq!(
        leaf(HeaderFormat::Auto, &pem.replace('\n', "\r\n")),
        BLOG_X5T,
        "CRLF"
    );
}

#[test]
fn url_encoded_pem_as_nginx_sends_it() {
    let encoded = url_encode(&multiline_pem());
    assert!(encoded.starts_with("-----BEGIN%20CERTIFICATE-----%0A"));
    assert_eq!(leaf(HeaderFormat::Auto, &encoded), BLOG_X5T);
    assert_eq!(leaf(HeaderFormat::UrlEncodedPem, &encoded), BLOG_X5T);
    // Fully encoded dashes too.
    let all = multiline_pem()
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect::<String>();
    assert_eq!(leaf(HeaderFormat::Auto, &all), BLOG_X5T);
}

#[test]
fn bare_base64_der_with_and_without_padding() {
    let b64 = STANDARD.encode(blog_der());
    assert_eq!(leaf(HeaderFormat::Auto, &b64), BLOG_X5T);
    assert_eq!(leaf(HeaderFormat::Der, b64.trim_end_matches('=')), BLOG_X5T);
}

#[test]
fn rfc9440_client_cert_and_chain() {
    let ca = test_pki::ca("Issuing CA");
    let (inter, inter_ca) = test_pki::intermediate(&ca, "Intermediate");
    let client = test_pki::leaf(&inter_ca, test_pki::LeafSpec::default());
    let value = format!(":{}:", STANDARD.encode(client.der()));
    let chain = format!(
        ":{}:, :{}:",
        STANDARD.encode(inter.der()),
        STANDARD.encode(ca_der(&ca))
    );
    let got = parse_forwarded(
        HeaderFormat::Auto,
        value.as_bytes(),
        Some(chain.as_bytes()),
        5,
    )
    .unwrap()
    .unwrap();
    assert_eq!(got.thumbprint(), client.thumbprint());
    assert_eq!(got.intermediates.len(), 2);
    assert_eq!(got.intermediates[0].thumbprint(), inter.thumbprint());
    // The chain counts toward the limit.
    let e = parse_forwarded(
        HeaderFormat::Rfc9440,
        value.as_bytes(),
        Some(chain.as_bytes()),
        2,
    )
    .unwrap_err();
    assert_eq!(e, ForwardedError::ChainTooLong);
    // Malformed byte sequences.
    for bad in [":abc", "abc:", "::", ":a:b:"] {
        assert!(
            parse_forwarded(HeaderFormat::Rfc9440, bad.as_bytes(), None, 5).is_err(),
            "{bad}"
        );
    }
}

fn ca_der(ca: &test_pki::Ca) -> Vec<u8> {
    ClientCertificate::from_pem(&ca.pem)
        .unwrap()
        .remove(0)
        .der()
        .to_vec()
}

#[test]
fn envoy_xfcc_uses_the_last_element_cert_and_chain() {
    let cert = url_encode(&multiline_pem());
    let value = format!(
        "By=spiffe://a/b;Hash=abc;Subject=\"CN=x,O=y\";URI=spiffe://c,By=spiffe://edge;Hash=def;Cert=\"{cert}\";Subject=\"emailAddress=gangani@wso2.com,CN=Gaga\""
    );
    assert_eq!(leaf(HeaderFormat::Auto, &value), BLOG_X5T);
    assert_eq!(leaf(HeaderFormat::Xfcc, &value), BLOG_X5T);
    let with_chain = format!("Hash=1;Chain={cert}");
    assert_eq!(
        leaf(HeaderFormat::Xfcc, &with_chain),
        BLOG_X5T,
        "leaf from Chain when Cert is absent"
    );
    // An element without a certificate cannot authenticate anyone.
    assert_eq!(
        parse_forwarded(HeaderFormat::Xfcc, b"By=spiffe://x;Hash=abc", None, 5).unwrap_err(),
        ForwardedError::Unparseable
    );
    // A forged earlier element does not matter: the last one is used.
    let forged = format!("Cert=\"{cert}\",Hash=2");
    assert!(parse_forwarded(HeaderFormat::Xfcc, forged.as_bytes(), None, 5).is_err());
    // Unterminated quotes, duplicate Cert.
    assert!(parse_forwarded(HeaderFormat::Xfcc, b"Cert=\"abc", None, 5).is_err());
    let dup = format!("Cert={cert};Cert={cert}");
    assert!(parse_forwarded(HeaderFormat::Xfcc, dup.as_bytes(), None, 5).is_err());
}

#[test]
fn null_values_mean_no_certificate() {
    for v in ["", "(null)", "-", "  ", "\t(null) "] {
        assert!(
            parse_forwarded(HeaderFormat::Auto, v.as_bytes(), None, 5)
                .unwrap()
                .is_none(),
            "{v:?}"
        );
    }
}

#[test]
fn rejections() {
    let too_long = "A".repeat(MAX_HEADER_LEN + 1);
    assert_eq!(
        parse_forwarded(HeaderFormat::Auto, too_long.as_bytes(), None, 5).unwrap_err(),
        ForwardedError::TooLong
    );
    let garbage_after = format!("{BLOG_HEADER}garbage");
    let garbage_before = format!("x{BLOG_HEADER}");
    let truncated = &BLOG_HEADER[..BLOG_HEADER.len() - 40];
    let not_a_cert = "-----BEGIN CERTIFICATE-----aGVsbG8=-----END CERTIFICATE-----";
    let key = "-----BEGIN PRIVATE KEY-----MIIB-----END PRIVATE KEY-----";
    let bad_percent = "-----BEGIN%20CERTIFICATE-----%ZZ";
    let non_ascii = "-----BEGIN CERTIFICATE-----é-----END CERTIFICATE-----";
    for (name, v) in [
        ("garbage after", garbage_after.as_str()),
        ("garbage before", garbage_before.as_str()),
        ("truncated", truncated),
        ("not a certificate", not_a_cert),
        ("private key", key),
        ("bad percent", bad_percent),
        ("non-ascii", non_ascii),
        ("random", "hello world"),
        ("MI prefix garbage", "MIInotbase64!"),
    ] {
        assert_eq!(
            parse_forwarded(HeaderFormat::Auto, v.as_bytes(), None, 5).unwrap_err(),
            ForwardedError::Unparseable,
            "{name}"
        );
    }
    assert!(parse_forwarded(HeaderFormat::Auto, b"\xff\xfe", None, 5).is_err());
    // A certificate in the wrong configured format is refused, not guessed.
    assert!(parse_forwarded(HeaderFormat::Der, BLOG_HEADER.as_bytes(), None, 5).is_err());
    assert!(parse_forwarded(HeaderFormat::Rfc9440, BLOG_HEADER.as_bytes(), None, 5).is_err());
}

#[test]
fn no_input_panics() {
    // A deterministic xorshift fuzz over mutations of every format and random bytes.
    let pem = multiline_pem();
    let seeds: Vec<Vec<u8>> = vec![
        BLOG_HEADER.as_bytes().to_vec(),
        url_encode(&pem).into_bytes(),
        format!(":{}:", STANDARD.encode(blog_der())).into_bytes(),
        format!(
            "By=x;Cert=\"{}\";Chain=\"{}\"",
            url_encode(&pem),
            url_encode(&pem)
        )
        .into_bytes(),
        STANDARD.encode(blog_der()).into_bytes(),
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut input = seeds[round % seeds.len()].clone();
        let edits = 1 + (next() % 8) as usize;
        for _ in 0..edits {
            if input.is_empty() {
                break;
            }
            let pos = (next() as usize) % input.len();
            match next() % 4 {
                0 => input[pos] = next() as u8,
                1 => input.truncate(pos),
                2 => input.insert(pos, b"%:,;=\"-"[(next() % 7) as usize]),
                _ => {
                    input.remove(pos);
                }
            }
        }
        for format in [
            HeaderFormat::Auto,
            HeaderFormat::Pem,
            HeaderFormat::UrlEncodedPem,
            HeaderFormat::Der,
            HeaderFormat::Rfc9440,
            HeaderFormat::Xfcc,
        ] {
            let _ = parse_forwarded(format, &input, Some(&input), 5);
        }
    }
}
