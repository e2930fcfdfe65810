//! RFC 4514 distinguished names as registered (`tls_client_auth_subject_dn`): whatever parses
//! must print in a form that parses back to an equal name, and printing must be stable.
#![no_main]

use certbound_mtls::DistinguishedName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(dn) = DistinguishedName::parse_rfc4514(text) else {
        return;
    };
    let printed = dn.to_rfc4514();
    let back = DistinguishedName::parse_rfc4514(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(back, dn, "{text:?} printed as {printed:?} reads back differently");
    assert_eq!(back.to_rfc4514(), printed, "printing is not stable for {text:?}");
});
