//! `POST /oauth2/introspect` (RFC 7662 §2).

use super::extract::{self, ConnectionInfo};
use super::token::no_store_json;
use super::{ApiError, AppState};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use certbound_core::request::IntrospectionRequest;

/// Authenticates the caller, then describes the token.
pub async fn handle(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let peer = conn.peer_addr;
    respond(state, conn, headers, body).await.inspect_err(|e| {
        tracing::info!(%peer, error = e.error.code.as_str(), "introspection request rejected");
    })
}

async fn respond(
    state: AppState,
    conn: ConnectionInfo,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let parsed = extract::parse_request(&state, &conn, &headers, body).await?;
    let request = IntrospectionRequest::parse(parsed.form, parsed.basic)?;
    let (caller, response) = state
        .server
        .introspect(request, parsed.certificate.as_deref())
        .await?;
    tracing::debug!(?caller, active = response.active, "introspection");
    no_store_json(&response)
}
