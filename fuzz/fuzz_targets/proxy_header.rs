//! The proxy's client-certificate header in every format (`parse_forwarded`): the first byte
//! picks the format, a NUL byte separates the certificate header from the chain header.
#![no_main]

use certbound_mtls::{HeaderFormat, parse_forwarded};
use libfuzzer_sys::fuzz_target;

const FORMATS: [HeaderFormat; 6] = [
    HeaderFormat::Auto,
    HeaderFormat::Pem,
    HeaderFormat::UrlEncodedPem,
    HeaderFormat::Der,
    HeaderFormat::Rfc9440,
    HeaderFormat::Xfcc,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    let (cert, chain) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if let Ok(Some(peer)) = parse_forwarded(format, cert, chain, 4) {
        // A certificate that parsed must be usable everywhere the server uses it.
        let _ = peer.thumbprint().to_base64url();
        let leaf = &peer.leaf;
        let _ = leaf.subject_dn().to_rfc4514();
        for san in leaf.subject_alt_names() {
            let _ = san.ip_addr();
        }
    }
});
