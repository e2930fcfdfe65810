//! `POST /oauth2/token` (RFC 6749 §3.2), rate limited per address and per client_id.

use super::extract::{self, ConnectionInfo};
use super::{ApiError, AppState};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use certbound_core::OAuthError;
use certbound_core::request::TokenRequest;
use serde::Serialize;

/// Parses the request, runs client authentication and the grant, answers RFC 6749 §5.1 JSON
/// with `Cache-Control: no-store`.
pub async fn handle(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let peer = conn.peer_addr;
    respond(state, conn, headers, body).await.inspect_err(|e| {
        tracing::info!(%peer, error = e.error.code.as_str(), "token request rejected");
    })
}

async fn respond(
    state: AppState,
    conn: ConnectionInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let parsed = extract::parse_request(&state, &conn, &headers, body).await?;
    // Rate limits (per node): per address, then per claimed client_id, before any client
    // authentication or storage work. The body was read first so HTTP/2 clients see the 429.
    let addr = extract::client_addr(state.proxy.as_deref(), &conn, &headers);
    state.limits.token_address(addr)?;
    let request = TokenRequest::parse(parsed.form, parsed.basic)?;
    if let Some(client_id) = request.credentials.claimed_client_id() {
        state.limits.token_client(&client_id)?;
    }
    let response = state
        .server
        .token(request, parsed.certificate.as_deref())
        .await?;
    no_store_json(&response)
}

/// Bytes reserved for a JSON answer of the token or introspection endpoint: a token response
/// with a refresh token, or an introspection with `cnf`, is 300-500 bytes.
const JSON_CAPACITY: usize = 640;

/// `value` as an `application/json` answer that must not be cached (RFC 6749 §5.1, RFC 7662
/// §2.2). Serialized into one buffer reserved up front: axum's `Json` writes through a
/// `BytesMut` writer that starts at 128 bytes and checks its capacity on each of serde_json's
/// small writes, about a tenth of an introspection's user-space instructions (issue 9,
/// `scripts/instructions introspect`).
pub(super) fn no_store_json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(JSON_CAPACITY);
    serde_json::to_writer(&mut body, value).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a response");
        OAuthError::server_error()
    })?;
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(no_store(response))
}

/// RFC 6749 §5.1: token responses must not be cached.
pub(super) fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
