//! Why a request is refused, and the single mapping to an HTTP answer with its RFC 6750 §3
//! `WWW-Authenticate: Bearer` challenge. Descriptions are fixed strings, safe to send; internal
//! causes (network errors, JOSE details) are logged where they happen, never put here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The realm used by the plain [`IntoResponse`] impl (the layer uses the configured audience).
pub const DEFAULT_REALM: &str = "certbound-resource";
/// Seconds a client should wait after a 503.
const RETRY_AFTER_SECS: u64 = 5;

/// Why a bearer token was not accepted (RFC 6750 §3.1 error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// RFC 6750 §3.1: "If the request lacks any authentication information ..., the resource
    /// server SHOULD NOT include an error code": 401 with a bare challenge.
    #[error("no bearer token")]
    Missing,
    /// RFC 6750 §3.1 `invalid_request` (400): the `Authorization` header is repeated or is not
    /// a well-formed `Bearer` credential, or a trusted proxy's certificate header is unusable.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// RFC 6750 §3.1 `invalid_token` (401): expired, revoked, malformed, not for this audience,
    /// or bound to a certificate that was not presented (RFC 8705 §3). The reason is safe to
    /// send as `error_description`.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// RFC 6750 §3.1 `insufficient_scope` (403): the token lacks the required scope.
    #[error("insufficient scope")]
    InsufficientScope,
    /// The issuer's JWKS or introspection endpoint is unreachable: 503 with `Retry-After`.
    #[error("the token issuer is unavailable")]
    Unavailable,
}

impl BearerError {
    /// The RFC 6750 §3.1 error code, if any.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            BearerError::Missing | BearerError::Unavailable => None,
            BearerError::InvalidRequest(_) => Some("invalid_request"),
            BearerError::InvalidToken(_) => Some("invalid_token"),
            BearerError::InsufficientScope => Some("insufficient_scope"),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            BearerError::Missing | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerError::InsufficientScope => StatusCode::FORBIDDEN,
            BearerError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn description(&self) -> Option<&'static str> {
        match self {
            BearerError::InvalidRequest(d) | BearerError::InvalidToken(d) => Some(d),
            BearerError::InsufficientScope => {
                Some("the access token does not carry the required scope")
            }
            BearerError::Missing | BearerError::Unavailable => None,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3): `Bearer realm="…"` plus `error`,
    /// `error_description` and, for `insufficient_scope`, `scope` when given. `None` for
    /// [`BearerError::Unavailable`], which is not an authentication failure.
    pub fn challenge(&self, realm: &str, scope: Option<&str>) -> Option<String> {
        if *self == BearerError::Unavailable {
            return None;
        }
        let mut value = format!("Bearer realm=\"{}\"", quoted(realm));
        if let Some(code) = self.code() {
            value.push_str(&format!(", error=\"{code}\""));
        }
        if let Some(description) = self.description() {
            value.push_str(&format!(", error_description=\"{}\"", quoted(description)));
        }
        if let (BearerError::InsufficientScope, Some(scope)) = (self, scope) {
            value.push_str(&format!(", scope=\"{}\"", quoted(scope)));
        }
        Some(value)
    }

    /// The full answer with the given realm and required scope (what [`crate::RequireBearer`]
    /// sends). JSON body `{"error", "error_description"}` when there is an error code.
    pub fn into_response_with(self, realm: &str, scope: Option<&str>) -> Response {
        let body = match (self.code(), self.description()) {
            (Some(error), description) => axum::Json(serde_json::json!({
                "error": error,
                "error_description": description,
            }))
            .into_response(),
            (None, _) => ().into_response(),
        };
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        if let Some(value) = self
            .challenge(realm, scope)
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if self == BearerError::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// RFC 6750 §3: realm, scope and description are quoted-strings; keep them printable ASCII
/// without `"` and `\` (RFC 6750 §3 restricts `error_description` and `scope` to these anyway).
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

impl IntoResponse for BearerError {
    /// RFC 6750 §3 with realm [`DEFAULT_REALM`] and no `scope` attribute.
    fn into_response(self) -> Response {
        self.into_response_with(DEFAULT_REALM, None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc6750_section_3() {
        assert_eq!(
            BearerError::Missing.challenge("api", None).unwrap(),
            "Bearer realm=\"api\""
        );
        assert_eq!(
            BearerError::InvalidToken("expired")
                .challenge("api", None)
                .unwrap(),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"expired\""
        );
        let c = BearerError::InsufficientScope
            .challenge("a\"pi", Some("read"))
            .unwrap();
        assert!(c.starts_with("Bearer realm=\"api\", error=\"insufficient_scope\""));
        assert!(c.ends_with(", scope=\"read\""));
        assert_eq!(BearerError::Unavailable.challenge("api", None), None);
    }

    #[test]
    fn unavailable_is_503_with_retry_after() {
        let r = BearerError::Unavailable.into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
