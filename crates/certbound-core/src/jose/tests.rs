#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::*;

const NOW: i64 = 1_700_000_000;

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

fn json_segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// The token with its header replaced (signature kept).
fn with_header(token: &str, header: &Value) -> String {
    let parts = segments(token);
    format!("{}.{}.{}", json_segment(header), parts[1], parts[2])
}

#[test]
fn left_half_hash_matches_wso2_sample_id_token() {
    assert_eq!(
        left_half_hash("72480539-a018-3611-aeb3-1e3e8b7f78da"),
        "ex2r-mdhaErhOC1J9TN6WA"
    );
    assert_eq!(
        left_half_hash("d7678fec-2cb0-374b-82cb-d368d301be57"),
        "7nyGoF9oCnDWHZOnfUnOug"
    );
}

#[test]
fn rfc7638_section_3_1_thumbprint() {
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        jwk_thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(
        jwk_thumbprint(&json!({"kty": "oct", "k": "AAAA"})),
        Err(JoseError::InvalidKey)
    );
    assert_eq!(
        jwk_thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "AA"})),
        Err(JoseError::InvalidKey)
    );
}

#[test]
fn jws_alg_names_round_trip() {
    for alg in JwsAlg::ALL {
        assert_eq!(alg.to_string(), alg.as_str());
        assert_eq!(alg.as_str().parse::<JwsAlg>().unwrap(), alg);
        assert_eq!(serde_json::to_value(alg).unwrap(), json!(alg.as_str()));
        assert_eq!(
            serde_json::from_value::<JwsAlg>(json!(alg.as_str())).unwrap(),
            alg
        );
    }
    assert_eq!("none".parse::<JwsAlg>(), Err(JoseError::UnsupportedAlg));
    assert_eq!("rs256".parse::<JwsAlg>(), Err(JoseError::UnsupportedAlg));
}

/// Everything the brief asks of one algorithm: sign, verify, header, kid, x5t, x5c, tampering.
fn check_round_trip(alg: JwsAlg) {
    let key = SigningKey::generate(alg, NOW).unwrap();
    let jwk = key.public_jwk();
    let claims = json!({"iss": "https://localhost:9443/oauth2/token", "sub": "alice", "exp": NOW + 300, "nested": {"a": [1, 2]}});

    let token = key.sign_jwt(Some("at+jwt"), &claims).unwrap();
    let (header, verified) = verify_jwt(&token, &jwk).unwrap();
    assert_eq!(verified, claims);
    assert_eq!(header["alg"], alg.as_str());
    assert_eq!(header["kid"], key.kid());
    assert_eq!(header["x5t"], key.x5t());
    assert_eq!(header["typ"], "at+jwt");

    let untyped = key.sign_jwt(None, &claims).unwrap();
    let (header, _) = verify_jwt(&untyped, &jwk).unwrap();
    assert!(header.get("typ").is_none());

    // kid is the RFC 7638 thumbprint; x5t and x5c describe the certificate.
    assert_eq!(key.kid(), jwk_thumbprint(&jwk).unwrap());
    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, key.cert_der());
    assert_eq!(key.x5t(), URL_SAFE_NO_PAD.encode(sha1.as_ref()));
    assert_eq!(jwk["x5t"], key.x5t());
    let x5c0 = STANDARD.decode(jwk["x5c"][0].as_str().unwrap()).unwrap();
    assert_eq!(x5c0, key.cert_der());
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["alg"], alg.as_str());
    assert_eq!(jwk["kid"], key.kid());
    for member in ["n", "e", "x", "y"] {
        if let Some(text) = jwk.get(member).and_then(Value::as_str) {
            let bytes = URL_SAFE_NO_PAD.decode(text).unwrap();
            if member == "n" || member == "e" {
                assert_ne!(bytes[0], 0, "{member} has a leading zero");
            } else {
                assert_eq!(bytes.len(), 32);
            }
        }
    }

    let parts = segments(&token);
    // Tampered payload.
    let mut evil = claims.clone();
    evil["sub"] = json!("mallory");
    let tampered = format!("{}.{}.{}", parts[0], json_segment(&evil), parts[2]);
    assert_eq!(verify_jwt(&tampered, &jwk), Err(JoseError::BadSignature));
    // Tampered signature.
    let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    sig[5] ^= 0x01;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    assert_eq!(verify_jwt(&tampered, &jwk), Err(JoseError::BadSignature));
    // alg swapped to none (with and without the signature) or HS256.
    let mut header = decode_segment(&parts[0]);
    header["alg"] = json!("none");
    let none = with_header(&token, &header);
    assert_eq!(verify_jwt(&none, &jwk), Err(JoseError::UnsupportedAlg));
    let unsigned = format!("{}.{}.", json_segment(&header), parts[1]);
    assert_eq!(verify_jwt(&unsigned, &jwk), Err(JoseError::UnsupportedAlg));
    header["alg"] = json!("HS256");
    assert_eq!(
        verify_jwt(&with_header(&token, &header), &jwk),
        Err(JoseError::UnsupportedAlg)
    );
    // Another key of the same algorithm does not verify it.
    let other = SigningKey::generate(alg, NOW).unwrap();
    assert_eq!(
        verify_jwt(&token, &other.public_jwk()),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn rs256_round_trip_and_tampering() {
    check_round_trip(JwsAlg::RS256);
}

#[test]
fn ps256_round_trip_and_tampering() {
    check_round_trip(JwsAlg::PS256);
}

#[test]
fn es256_round_trip_and_tampering() {
    check_round_trip(JwsAlg::ES256);
    let key = SigningKey::generate(JwsAlg::ES256, NOW).unwrap();
    let token = key.sign_jwt(None, &json!({})).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(&segments(&token)[2]).unwrap();
    assert_eq!(sig.len(), 64, "RFC 7518 §3.4 fixed-width R || S");
}

#[test]
fn alg_must_agree_with_key_type_and_jwk_alg() {
    let rsa = SigningKey::generate(JwsAlg::RS256, NOW).unwrap();
    let ec = SigningKey::generate(JwsAlg::ES256, NOW).unwrap();
    let token = rsa.sign_jwt(None, &json!({"sub": "a"})).unwrap();
    // RS256 token against an EC key.
    assert_eq!(
        verify_jwt(&token, &ec.public_jwk()),
        Err(JoseError::UnsupportedAlg)
    );
    // ES256 token against an RSA key.
    let es = ec.sign_jwt(None, &json!({"sub": "a"})).unwrap();
    assert_eq!(
        verify_jwt(&es, &rsa.public_jwk()),
        Err(JoseError::UnsupportedAlg)
    );
    // Header says PS256 while the JWK declares RS256.
    let mut header = decode_segment(&segments(&token)[0]);
    header["alg"] = json!("PS256");
    assert_eq!(
        verify_jwt(&with_header(&token, &header), &rsa.public_jwk()),
        Err(JoseError::UnsupportedAlg)
    );
    // Without the JWK's alg, the kty check still holds and the PSS check fails the signature.
    let mut bare = rsa.public_jwk();
    bare.as_object_mut().unwrap().remove("alg");
    assert!(verify_jwt(&token, &bare).is_ok());
    assert_eq!(
        verify_jwt(&with_header(&token, &header), &bare),
        Err(JoseError::BadSignature)
    );
    // A key meant for encryption is refused.
    let mut enc = rsa.public_jwk();
    enc["use"] = json!("enc");
    assert_eq!(verify_jwt(&token, &enc), Err(JoseError::InvalidKey));
}

#[test]
fn malformed_tokens_are_rejected() {
    let key = SigningKey::generate(JwsAlg::ES256, NOW).unwrap();
    let jwk = key.public_jwk();
    let token = key.sign_jwt(None, &json!({"sub": "a"})).unwrap();
    let parts = segments(&token);
    let cases = [
        String::new(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}.{}", parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}!", parts[0], parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(b"{not json"),
            parts[1],
            parts[2]
        ),
        format!("{}.{}.{}", json_segment(&json!([1])), parts[1], parts[2]),
    ];
    for case in &cases {
        assert_eq!(verify_jwt(case, &jwk), Err(JoseError::Malformed), "{case}");
    }
    let mut header = decode_segment(&parts[0]);
    header["crit"] = json!(["exp"]);
    assert_eq!(
        verify_jwt(&with_header(&token, &header), &jwk),
        Err(JoseError::Malformed)
    );
    // A validly signed payload that is not a JSON object.
    let token = key.sign_jwt(None, &json!([1, 2])).unwrap();
    assert_eq!(verify_jwt(&token, &jwk), Err(JoseError::Malformed));
}

#[test]
fn from_parts_round_trip() {
    for alg in JwsAlg::ALL {
        let key = SigningKey::generate(alg, NOW).unwrap();
        let rebuilt = SigningKey::from_parts(
            key.kid().to_owned(),
            alg,
            key.pkcs8().to_vec(),
            key.cert_der().to_vec(),
            key.created_at(),
            Some(NOW + 60),
        )
        .unwrap();
        assert_eq!(rebuilt.kid(), key.kid());
        assert_eq!(rebuilt.alg(), alg);
        assert_eq!(rebuilt.created_at(), NOW);
        assert_eq!(rebuilt.retire_at(), Some(NOW + 60));
        assert_eq!(rebuilt.clone().with_retire_at(None).retire_at(), None);
        assert_eq!(rebuilt.public_jwk(), key.public_jwk());
        let token = rebuilt.sign_jwt(Some("JWT"), &json!({"n": 1})).unwrap();
        assert_eq!(
            verify_jwt(&token, &key.public_jwk()).unwrap().1,
            json!({"n": 1})
        );
    }
}

#[test]
fn from_parts_rejects_garbage_and_mismatches() {
    let rsa = SigningKey::generate(JwsAlg::RS256, NOW).unwrap();
    let ec = SigningKey::generate(JwsAlg::ES256, NOW).unwrap();
    let other_ec = SigningKey::generate(JwsAlg::ES256, NOW).unwrap();
    let build = |alg, pkcs8: &[u8], cert: &[u8]| {
        SigningKey::from_parts("kid".into(), alg, pkcs8.to_vec(), cert.to_vec(), NOW, None)
            .map(|_| ())
    };
    let garbage = b"not a key at all".as_slice();
    assert_eq!(
        build(JwsAlg::RS256, garbage, rsa.cert_der()),
        Err(JoseError::InvalidKey)
    );
    assert_eq!(
        build(JwsAlg::ES256, garbage, ec.cert_der()),
        Err(JoseError::InvalidKey)
    );
    assert_eq!(
        build(JwsAlg::RS256, rsa.pkcs8(), garbage),
        Err(JoseError::InvalidKey)
    );
    // Key of the wrong type for the algorithm.
    assert_eq!(
        build(JwsAlg::ES256, rsa.pkcs8(), rsa.cert_der()),
        Err(JoseError::InvalidKey)
    );
    assert_eq!(
        build(JwsAlg::PS256, ec.pkcs8(), ec.cert_der()),
        Err(JoseError::InvalidKey)
    );
    // Certificate of another key.
    assert_eq!(
        build(JwsAlg::ES256, ec.pkcs8(), other_ec.cert_der()),
        Err(JoseError::InvalidKey)
    );
    // Truncated certificate.
    let cert = ec.cert_der();
    assert_eq!(
        build(JwsAlg::ES256, ec.pkcs8(), &cert[..cert.len() - 1]),
        Err(JoseError::InvalidKey)
    );
}

#[test]
fn debug_prints_kid_and_alg_only() {
    for alg in [JwsAlg::RS256, JwsAlg::ES256] {
        let key = SigningKey::generate(alg, NOW).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()));
        assert!(debug.contains(alg.as_str()));
        for encoded in [
            STANDARD.encode(key.pkcs8()),
            URL_SAFE_NO_PAD.encode(key.pkcs8()),
        ] {
            assert!(!debug.contains(&encoded[..16]));
        }
        let hex: String = key.pkcs8()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!debug.contains(&hex));
        assert!(!debug.contains("pkcs8"));
    }
}

#[test]
fn certificate_has_the_promised_name_and_validity() {
    let key = SigningKey::generate(JwsAlg::ES256, NOW).unwrap();
    let cert = key.cert_der();
    let cn = b"certbound token signing key";
    assert!(cert.windows(cn.len()).any(|w| w == cn));
    // UTCTime of NOW - 3600 (2023-11-14 21:13:20Z) and of NOW + 10 years.
    assert!(cert.windows(13).any(|w| w == b"231114211320Z"));
    assert!(cert.windows(13).any(|w| w == b"331114221320Z"));
}
