//! The form bodies of the token (RFC 6749 §3.2), introspection (RFC 7662 §2.1) and revocation
//! (RFC 7009 §2.1) endpoints, with an optional HTTP Basic `Authorization` header: the input up
//! to the first newline is the header value, the rest the body.
#![no_main]

use certbound_core::request::{BasicCredentials, Form, IntrospectionRequest, TokenRequest};
use certbound_core::revoke::RevocationRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (Some(&data[..i]), &data[i + 1..]),
        None => (None, data),
    };
    let basic = || match header {
        Some(h) => BasicCredentials::parse(h).ok().flatten(),
        None => None,
    };
    if let Some(Ok(b)) = header.map(BasicCredentials::parse)
        && let Some(b) = b
    {
        let _ = b.as_client();
    }
    // Each request type takes its form by value: parse it once per type.
    let Ok(form) = Form::parse(body) else {
        return;
    };
    let _ = TokenRequest::parse(form, basic());
    if let Ok(form) = Form::parse(body) {
        let _ = IntrospectionRequest::parse(form, basic());
    }
    if let Ok(form) = Form::parse(body) {
        let _ = RevocationRequest::parse(form, basic());
    }
});
