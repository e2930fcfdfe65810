//! Dynamic client registration: `POST /oauth2/register` (RFC 7591 §3) and the client
//! configuration endpoint `GET/PUT/DELETE /oauth2/register/{client_id}` (RFC 7592 §2). Only
//! HTTP here: the bearer token and the JSON body are extracted and handed to
//! `certbound_core::dynamic_registration`, which holds the policy and the protocol.

use super::token::no_store;
use super::{ApiError, AppState, extract};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use certbound_core::OAuthError;
use certbound_core::dynamic_registration as dcr;
use certbound_core::secret::Secret;
use serde_json::Value;

/// RFC 7591 §3.1: registers a client; 201 with the client information response.
pub async fn create(
    State(state): State<AppState>,
    Extension(conn): Extension<extract::ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let json = json_body(&state, &headers, body).await?;
    // Per address, per node; counted before the initial access token is checked, so guessing
    // tokens is limited too.
    let addr = extract::client_addr(state.proxy.as_deref(), &conn, &headers);
    state.limits.registration(addr).inspect_err(|_| {
        tracing::info!(%addr, "registration refused: rate limit");
    })?;
    let bearer = bearer(&headers)?;
    let info = dcr::register(&state.server, bearer.as_ref(), json)
        .await
        .inspect_err(|e| rejected("registration", e))?;
    Ok(respond(StatusCode::CREATED, info))
}

/// RFC 7592 §2.1: reads a registration.
pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let _ = extract::read_limited(body, 0).await;
    let bearer = bearer(&headers)?;
    let info = dcr::read(&state.server, &client_id, bearer.as_ref())
        .await
        .inspect_err(|e| rejected("registration read", e))?;
    Ok(respond(StatusCode::OK, info))
}

/// RFC 7592 §2.2: replaces a registration.
pub async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let json = json_body(&state, &headers, body).await?;
    let bearer = bearer(&headers)?;
    let info = dcr::update(&state.server, &client_id, bearer.as_ref(), json)
        .await
        .inspect_err(|e| rejected("registration update", e))?;
    Ok(respond(StatusCode::OK, info))
}

/// RFC 7592 §2.3: deletes a registration; 204.
pub async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let _ = extract::read_limited(body, 0).await;
    let bearer = bearer(&headers)?;
    dcr::delete(&state.server, &client_id, bearer.as_ref())
        .await
        .inspect_err(|e| rejected("registration delete", e))?;
    Ok(no_store(StatusCode::NO_CONTENT.into_response()))
}

fn rejected(what: &str, e: &OAuthError) {
    tracing::info!(error = e.code.as_str(), field = ?e.field, "{what} rejected");
}

/// RFC 7591 §3.2.1: JSON, never cached.
fn respond(status: StatusCode, info: Value) -> Response {
    no_store((status, Json(info)).into_response())
}

/// The body as JSON, or why not (RFC 7591 §3.1: `application/json`). The body is read in full
/// first, so the error reaches HTTP/2 clients; a body over the limit is refused with 413 at once.
async fn json_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Result<Value, OAuthError>, ApiError> {
    let bytes = extract::read_limited(body, state.max_body_bytes).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Ok(Err(OAuthError::invalid_request(
            "the client metadata must be sent as application/json (RFC 7591 §3.1)",
        )));
    }
    Ok(serde_json::from_slice(&bytes).map_err(|_| {
        certbound_core::registration::FieldError {
            field: "body".into(),
            message: "is not valid JSON".into(),
        }
        .into()
    }))
}

/// The RFC 6750 §2.1 bearer token of the `Authorization` header, if any. Other schemes count
/// as no token.
fn bearer(headers: &HeaderMap) -> Result<Option<Secret>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(OAuthError::invalid_request("the Authorization header is repeated").into());
        }
        return Ok(None);
    };
    let Some((scheme, token)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Ok(None);
    };
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Ok(None);
    }
    Ok(Some(Secret::new(token)))
}
