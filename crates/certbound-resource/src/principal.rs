//! What a valid access token says, read from JWT claims or an introspection response, and the
//! claim checks shared by both modes (time window, issuer, `cnf`). Handlers receive it as an
//! axum extractor. This module does no I/O and never sees the token itself.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use certbound_mtls::Thumbprint;
use serde_json::Value;

use crate::BearerError;

/// A verified access token: who it is for and what it allows. Inserted into the request
/// extensions by [`crate::RequireBearer`]; as an extractor it rejects with
/// [`BearerError::Missing`] when the layer did not run.
#[derive(Clone, Debug)]
pub struct Principal {
    /// `sub` (RFC 9068 §2.2 / RFC 7662 §2.2).
    pub sub: Option<String>,
    /// `client_id` (RFC 9068 §2.2 / RFC 7662 §2.2).
    pub client_id: Option<String>,
    /// `scope`, split on spaces (RFC 6749 §3.3).
    pub scope: Vec<String>,
    /// The certificate the token is bound to (RFC 8705 §3.1 `cnf["x5t#S256"]`), if any.
    pub cnf: Option<Thumbprint>,
    /// All claims (JWT payload or introspection response).
    pub claims: Value,
}

impl Principal {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }

    /// Reads the principal from claims (`scope` as a space-separated string, RFC 8693 §4.2).
    pub(crate) fn from_claims(claims: Value) -> Result<Principal, BearerError> {
        let text = |name: &str| -> Result<Option<String>, BearerError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(BearerError::InvalidToken("a claim has the wrong type")),
            }
        };
        let scope = text("scope")?
            .map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Principal {
            sub: text("sub")?,
            client_id: text("client_id")?,
            scope,
            cnf: confirmation(&claims)?,
            claims,
        })
    }
}

/// RFC 8705 §3.1 `cnf`: absent → unbound. Present, it must carry a valid `x5t#S256`: a token
/// bound by another method (e.g. DPoP `jkt`) cannot be checked here and is refused.
fn confirmation(claims: &Value) -> Result<Option<Thumbprint>, BearerError> {
    match claims.get("cnf") {
        None | Some(Value::Null) => Ok(None),
        Some(cnf) => cnf
            .get("x5t#S256")
            .and_then(Value::as_str)
            .and_then(Thumbprint::from_base64url)
            .map(Some)
            .ok_or(BearerError::InvalidToken(
                "the access token's confirmation (cnf) is not a valid x5t#S256",
            )),
    }
}

/// Current Unix time in seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A NumericDate claim (RFC 7519 §2), truncated to whole seconds.
pub(crate) fn numeric_date(claims: &Value, name: &str) -> Result<Option<i64>, BearerError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(BearerError::InvalidToken("a time claim is not a number")),
    }
}

/// RFC 7519 §4.1.4/§4.1.5/§4.1.6: `exp` (required when `require_exp`) not passed, `nbf` and
/// `iat` not in the future, each with `leeway` seconds of tolerance.
pub(crate) fn check_time(
    claims: &Value,
    now: i64,
    leeway: i64,
    require_exp: bool,
) -> Result<(), BearerError> {
    match numeric_date(claims, "exp")? {
        Some(exp) if now >= exp.saturating_add(leeway) => {
            return Err(BearerError::InvalidToken("the access token has expired"));
        }
        None if require_exp => {
            return Err(BearerError::InvalidToken("the access token has no exp"));
        }
        _ => {}
    }
    for name in ["nbf", "iat"] {
        if numeric_date(claims, name)?.is_some_and(|t| t > now.saturating_add(leeway)) {
            return Err(BearerError::InvalidToken(
                "the access token is not yet valid",
            ));
        }
    }
    Ok(())
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = BearerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(BearerError::Missing)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_scope_and_cnf() {
        let t = Thumbprint::of_der(b"cert");
        let p = Principal::from_claims(json!({
            "sub": "alice", "client_id": "c1", "scope": "openid  accounts",
            "cnf": {"x5t#S256": t.to_base64url()}
        }))
        .unwrap();
        assert_eq!(p.scope, ["openid", "accounts"]);
        assert!(p.has_scope("accounts"));
        assert_eq!(p.cnf, Some(t));
        assert_eq!(p.sub.as_deref(), Some("alice"));
    }

    #[test]
    fn unusable_cnf_is_invalid_not_unbound() {
        for cnf in [
            json!({"jkt": "abc"}),
            json!({"x5t#S256": "short"}),
            json!("x"),
        ] {
            assert!(Principal::from_claims(json!({ "cnf": cnf })).is_err());
        }
    }

    #[test]
    fn time_window_with_leeway() {
        let now = 1_000_000;
        assert!(check_time(&json!({"exp": now + 10}), now, 60, true).is_ok());
        assert!(check_time(&json!({"exp": now - 10}), now, 60, true).is_ok());
        assert!(check_time(&json!({"exp": now - 61}), now, 60, true).is_err());
        assert!(check_time(&json!({}), now, 60, true).is_err());
        assert!(check_time(&json!({}), now, 60, false).is_ok());
        assert!(check_time(&json!({"exp": now + 999, "nbf": now + 120}), now, 60, true).is_err());
        assert!(check_time(&json!({"exp": now + 999, "iat": now + 30}), now, 60, true).is_ok());
    }
}
