//! `GET|POST /oauth2/userinfo` (OIDC Core §5.3): a protected resource. Bearer tokens in the
//! `Authorization` header only (RFC 6750 §2.1); errors per RFC 6750 §3.

use super::extract::ConnectionInfo;
use super::{ApiError, AppState, extract};
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_core::secret::Secret;
use certbound_core::userinfo::{self, BearerError};

/// Answers the user's approved claims.
pub async fn handle(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let _ = extract::read_limited(body, state.max_body_bytes).await;
    let certificate = match extract::presented_certificate(state.proxy.as_deref(), &conn, &headers)
    {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(e) => return bearer_error(e),
    };
    match userinfo::userinfo(&state.server, token, certificate.as_deref()).await {
        Ok(claims) => {
            let mut r = Json(claims).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => bearer_error(e),
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1).
fn bearer(headers: &HeaderMap) -> Result<Option<Secret>, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "the Authorization header is repeated",
        ));
    }
    let text = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("malformed Authorization header"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(Secret::new(token.trim())))
        }
        _ => Err(BearerError::InvalidRequest(
            "use the Bearer authentication scheme",
        )),
    }
}

/// RFC 6750 §3: the status and `WWW-Authenticate` challenge of each error.
fn bearer_error(e: BearerError) -> Response {
    let (status, challenge, body) = match e {
        BearerError::Missing => (
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"certbound\"".to_owned(),
            None,
        ),
        BearerError::InvalidToken(d) => (
            StatusCode::UNAUTHORIZED,
            format!(
                "Bearer realm=\"certbound\", error=\"invalid_token\", error_description=\"{d}\""
            ),
            Some(("invalid_token", d)),
        ),
        BearerError::InsufficientScope => (
            StatusCode::FORBIDDEN,
            "Bearer realm=\"certbound\", error=\"insufficient_scope\", scope=\"openid\"".to_owned(),
            Some((
                "insufficient_scope",
                "the access token was not issued for the openid scope",
            )),
        ),
        BearerError::InvalidRequest(d) => (
            StatusCode::BAD_REQUEST,
            format!(
                "Bearer realm=\"certbound\", error=\"invalid_request\", error_description=\"{d}\""
            ),
            Some(("invalid_request", d)),
        ),
        BearerError::Server(e) => return ApiError::from(e).into_response(),
    };
    let mut response = match body {
        Some((error, description)) => (
            status,
            Json(serde_json::json!({ "error": error, "error_description": description })),
        )
            .into_response(),
        None => status.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}
