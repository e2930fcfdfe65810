//! `POST /oauth2/revoke` (RFC 7009 §2).

use super::extract::{self, ConnectionInfo};
use super::{ApiError, AppState};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use certbound_core::revoke::RevocationRequest;

/// Revokes a token of the calling client; 200 with an empty body whatever the token was
/// (§2.2), errors only for bad requests and failed client authentication.
pub async fn handle(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let parsed = extract::parse_request(&state, &conn, &headers, body).await?;
    let request = RevocationRequest::parse(parsed.form, parsed.basic)?;
    state
        .server
        .revoke(request, parsed.certificate.as_deref())
        .await?;
    Ok(super::token::no_store(StatusCode::OK.into_response()))
}
