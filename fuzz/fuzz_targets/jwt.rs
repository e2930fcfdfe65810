//! JWT access token verification as certbound-resource does it (RFC 9068 §4; RFC 7515): the
//! header checks, the signature against a real key, the claims. The first byte picks the mode:
//! a token taken as it comes (garbage, forged headers, `alg: none`, …), or the input read as a
//! JSON claims set and signed with the real key, so the claim checks run on what verifies.
#![no_main]

use certbound_core::jose::{JwsAlg, SigningKey, verify_jwt};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const NOW: i64 = 1_800_000_000;

static KEYS: LazyLock<Vec<SigningKey>> = LazyLock::new(|| {
    [JwsAlg::ES256, JwsAlg::RS256]
        .into_iter()
        .map(|alg| SigningKey::generate(alg, NOW).expect("a key"))
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let key = &KEYS[usize::from(selector >> 1) % KEYS.len()];
    let jwk = key.public_jwk();
    if selector % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        let _ = verify_jwt(token, &jwk);
        let _ = certbound_resource::verify_offline(token, &jwk, NOW);
    } else {
        // A JWT claims set is a JSON object (RFC 7519 §7.2 step 10); the server only signs
        // objects, so only objects are signed here.
        let Ok(claims @ serde_json::Value::Object(_)) =
            serde_json::from_slice::<serde_json::Value>(rest)
        else {
            return;
        };
        let token = key.sign_jwt(Some("at+jwt"), &claims).expect("signing");
        let (_, back) = verify_jwt(&token, &jwk).expect("a token just signed verifies");
        // serde_json's default float parsing is best effort (last-digit rounding, without its
        // `float_roundtrip` feature), so only claims without fractional numbers must read back
        // identical; every claim certbound checks (exp, nbf, iat) is an integer.
        if !has_fraction(&claims) {
            assert_eq!(back, claims, "the claims read back differ");
        }
        if let Ok(principal) = certbound_resource::verify_offline(&token, &jwk, NOW) {
            let _ = principal.has_scope("read");
        }
    }
});

/// Whether a JSON value holds a number that is not an integer, at any depth.
fn has_fraction(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_fraction),
        serde_json::Value::Object(o) => o.values().any(has_fraction),
        _ => false,
    }
}
