//! The single mapping from errors to HTTP responses (DESIGN rule 5): RFC 6749 §5.2 JSON bodies,
//! 401 with `WWW-Authenticate` for `invalid_client`, 503 with `Retry-After` when storage is
//! down. Internal causes were logged where they happened and are never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_core::{ErrorCode, OAuthError};
use serde_json::json;

/// An OAuth error on its way to the client, with an optional status override.
#[derive(Debug)]
pub struct ApiError {
    /// The error.
    pub error: OAuthError,
    /// Status to use instead of the one implied by the code (e.g. 413).
    pub status: Option<StatusCode>,
    /// `Retry-After` seconds, when the request was refused by a rate limit.
    pub retry_after: Option<u64>,
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        ApiError {
            error,
            status: None,
            retry_after: None,
        }
    }
}

impl ApiError {
    /// 413 Payload Too Large, as `invalid_request`.
    pub fn too_large() -> Self {
        ApiError {
            error: OAuthError::invalid_request(
                "the request body is larger than the server accepts",
            ),
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            retry_after: None,
        }
    }

    /// 429 Too Many Requests with `Retry-After` (RFC 6585 §4), as `temporarily_unavailable`:
    /// the one registered OAuth error code that means "retry later" (RFC 6749 §4.1.2.1, IANA
    /// OAuth Extensions Error registry), so generic clients treat it as transient; the 429
    /// status tells a rate limit apart from the 503 of an overloaded or storage-less server.
    pub fn rate_limited(limited: crate::rate_limit::Limited) -> Self {
        ApiError {
            error: OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "too many requests; retry after the number of seconds in Retry-After",
            ),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            retry_after: Some(limited.retry_after),
        }
    }
}

impl From<crate::rate_limit::Limited> for ApiError {
    fn from(limited: crate::rate_limit::Limited) -> Self {
        ApiError::rate_limited(limited)
    }
}

/// The HTML page for a sign-in form refused by a rate limit: 429 with `Retry-After`.
pub fn rate_limited_page(limited: crate::rate_limit::Limited) -> Response {
    let wait = limited.retry_after;
    let mut response = crate::pages::error(
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
        &format!("Too many sign-in attempts from your network. Try again in {wait} seconds."),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken | ErrorCode::Unauthorized => {
            StatusCode::UNAUTHORIZED
        }
        ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.error.code;
        let status = self.status.unwrap_or_else(|| status_of(code));
        let mut response = json_body(
            status,
            code.as_str(),
            &self.error.description,
            self.error.field.as_deref(),
        );
        let headers = response.headers_mut();
        if code == ErrorCode::InvalidToken {
            // RFC 6750 §3: a bearer challenge naming the error.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if code == ErrorCode::InvalidClient || code == ErrorCode::Unauthorized {
            // RFC 6749 §5.2: 401 for invalid_client, with a challenge.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"certbound\""),
            );
        }
        if let Some(wait) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        } else if code == ErrorCode::TemporarilyUnavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response.extensions_mut().insert(code); // the request metrics' outcome
        response
    }
}

/// Every error body certbound sends: `{"error", "error_description"}`, never cached.
fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_body(status, error, description, None)
}

/// An error body, naming the offending request member (`field`) when there is one.
fn json_body(status: StatusCode, error: &str, description: &str, field: Option<&str>) -> Response {
    let mut body = json!({ "error": error, "error_description": description });
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Unknown paths: a JSON 404. The body is drained first so HTTP/2 clients get the response
/// rather than a reset stream.
pub async fn not_found(body: axum::body::Body) -> Response {
    let _ = super::extract::read_limited(body, 0).await;
    json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// A known path with the wrong method: a JSON 405.
pub async fn method_not_allowed(body: axum::body::Body) -> Response {
    let _ = super::extract::read_limited(body, 0).await;
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept this HTTP method",
    )
}
