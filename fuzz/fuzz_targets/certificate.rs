//! DER and PEM certificate parsing, and RFC 8705 §2.1.2 subject matching on what parsed: the
//! first byte picks DER or PEM. A certificate's subject DN, written out in RFC 4514 form and
//! read back, must match the certificate again.
#![no_main]

use certbound_mtls::{ClientCertificate, DistinguishedName, SubjectAltName, SubjectMatch};
use libfuzzer_sys::fuzz_target;

fn exercise(cert: &ClientCertificate) {
    let _ = cert.thumbprint().to_base64url();
    let _ = cert.check_validity(1_800_000_000);
    let _ = cert.to_pem();
    let rendered = cert.subject_dn().to_rfc4514();
    let back = DistinguishedName::parse_rfc4514(&rendered)
        .unwrap_or_else(|e| panic!("the subject DN {rendered:?} does not parse back: {e}"));
    assert!(
        cert.matches(&SubjectMatch::SubjectDn(back)),
        "the subject DN {rendered:?} read back does not match its certificate"
    );
    for san in cert.subject_alt_names() {
        let expected = match san {
            SubjectAltName::Dns(d) => SubjectMatch::SanDns(d.to_ascii_uppercase()),
            SubjectAltName::Uri(u) => SubjectMatch::SanUri(u.clone()),
            SubjectAltName::Email(e) => SubjectMatch::SanEmail(e.clone()),
            SubjectAltName::Ip(_) => match san.ip_addr() {
                Some(ip) => SubjectMatch::SanIp(ip),
                None => continue,
            },
        };
        assert!(cert.matches(&expected), "{san:?} does not match itself");
        let _ = expected.value_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Ok(cert) = ClientCertificate::from_der(rest.to_vec()) {
            exercise(&cert);
        }
    } else if let Ok(text) = std::str::from_utf8(rest)
        && let Ok(certs) = ClientCertificate::from_pem(text)
    {
        certs.iter().for_each(exercise);
    }
});
