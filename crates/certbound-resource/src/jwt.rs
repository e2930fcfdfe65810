//! RFC 9068 JWT access tokens: header checks (`typ` at+jwt, `kid`, asymmetric `alg`), the
//! signature (by `certbound_core::jose::verify_jwt`), then `iss`, `aud` and the time window.
//! The certificate binding and the scope are checked by the caller for both modes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certbound_core::jose::{JoseError, verify_jwt};
use serde_json::Value;

use crate::BearerError;
use crate::jwks::JwksCache;
use crate::principal::{Principal, check_time, unix_now};

/// What a JWT must satisfy besides its signature.
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) leeway: i64,
}

/// Verifies a JWT access token and reads its principal.
pub(crate) async fn verify(
    http: &reqwest::Client,
    jwks: &JwksCache,
    expect: &Expectations<'_>,
    token: &str,
) -> Result<Principal, BearerError> {
    let header = header(token)?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(BearerError::InvalidToken("the access token has no kid"))?;
    let key = jwks.key(http, kid).await?;
    verify_with_key(token, &key, expect, unix_now())
}

/// Everything after the key look-up: the signature, then the claims (RFC 9068 §4).
fn verify_with_key(
    token: &str,
    key: &Value,
    expect: &Expectations<'_>,
    now: i64,
) -> Result<Principal, BearerError> {
    let (_, claims) = verify_jwt(token, key).map_err(|e| {
        tracing::debug!(error = %e, "JWT access token refused");
        BearerError::InvalidToken(match e {
            JoseError::BadSignature => "the access token's signature does not verify",
            JoseError::UnsupportedAlg => "the access token's alg does not fit the key",
            _ => "the access token is malformed",
        })
    })?;
    check_claims(&claims, expect, now)?;
    Principal::from_claims(claims)
}

/// The verification path of a JWT access token without the network, for the fuzz targets
/// (`fuzz/`, built with `--cfg fuzzing`): header checks, then signature and claims against
/// `key` (a public JWK), with issuer `https://as.example` and audience `api`.
#[cfg(fuzzing)]
pub fn verify_offline(token: &str, key: &Value, now: i64) -> Result<Principal, BearerError> {
    header(token)?;
    let expect = Expectations {
        issuer: "https://as.example",
        audience: "api",
        leeway: 60,
    };
    verify_with_key(token, key, &expect, now)
}

/// The protected header, checked before any key lookup so garbage never causes a JWKS fetch:
/// RFC 9068 §2.1 `typ` is `at+jwt` (an id_token is refused, §4), and `alg` is one of the
/// asymmetric algorithms `verify_jwt` supports (`none` and HMAC are refused, RFC 9068 §4).
fn header(token: &str) -> Result<Value, BearerError> {
    let malformed = BearerError::InvalidToken("the access token is malformed");
    let mut segments = token.split('.');
    let (Some(first), Some(_), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(first).map_err(|_| malformed)?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|_| malformed)?;
    let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
    if !(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
        return Err(BearerError::InvalidToken(
            "the token is not an access token (typ must be at+jwt)",
        ));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !["RS256", "PS256", "ES256"].contains(&alg) {
        return Err(BearerError::InvalidToken(
            "the access token's alg is not accepted",
        ));
    }
    Ok(header)
}

/// RFC 9068 §4: `iss` exact, `aud` the audience or an array containing it, `exp` required.
fn check_claims(claims: &Value, expect: &Expectations<'_>, now: i64) -> Result<(), BearerError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(BearerError::InvalidToken(
            "the access token is from another issuer",
        ));
    }
    let for_us = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expect.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expect.audience)),
        _ => false,
    };
    if !for_us {
        return Err(BearerError::InvalidToken(
            "the access token is not for this audience",
        ));
    }
    check_time(claims, now, expect.leeway, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token_with_header(header: Value) -> String {
        format!(
            "{}.e30.c2ln",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
        )
    }

    #[test]
    fn header_typ_and_alg() {
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            assert!(header(&token_with_header(json!({"typ": typ, "alg": "ES256"}))).is_ok());
        }
        for h in [
            json!({"typ": "JWT", "alg": "ES256"}),
            json!({"alg": "ES256"}),
            json!({"typ": "at+jwt", "alg": "none"}),
            json!({"typ": "at+jwt", "alg": "HS256"}),
        ] {
            assert!(matches!(
                header(&token_with_header(h)),
                Err(BearerError::InvalidToken(_))
            ));
        }
        assert!(header("a.b").is_err());
        assert!(header("a.b.c.d").is_err());
    }

    #[test]
    fn audience_string_or_array() {
        let expect = Expectations {
            issuer: "https://as",
            audience: "api",
            leeway: 0,
        };
        let ok = |aud: Value| {
            check_claims(
                &json!({"iss": "https://as", "aud": aud, "exp": 2_000}),
                &expect,
                1_000,
            )
            .is_ok()
        };
        assert!(ok(json!("api")));
        assert!(ok(json!(["other", "api"])));
        assert!(!ok(json!("apix")));
        assert!(!ok(json!(["other"])));
        assert!(!ok(Value::Null));
    }
}
