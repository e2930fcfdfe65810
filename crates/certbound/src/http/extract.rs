//! Extracting typed inputs from HTTP requests: the connection's peer certificate, the Basic
//! header, and a size-limited form body.

use super::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use certbound_core::OAuthError;
use certbound_core::peer::PeerCertificate;
use certbound_core::request::{BasicCredentials, Form};
use std::net::SocketAddr;
use std::sync::Arc;

/// What the accept loop learned about a connection; attached to every request on it.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The TCP peer.
    pub peer_addr: SocketAddr,
    /// The client certificate from the TLS handshake.
    pub certificate: Option<Arc<PeerCertificate>>,
}

/// Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes and parses it.
/// RFC 6749 §4.1.3/§4.4.2 and RFC 7662 §2.1 require this content type.
pub async fn form(headers: &HeaderMap, body: Body, limit: usize) -> Result<Form, ApiError> {
    let content_type = single(headers, header::CONTENT_TYPE)?
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large())?;
    Ok(Form::parse(&bytes)?)
}

/// The Basic credentials of the `Authorization` header, if any.
pub fn basic(headers: &HeaderMap) -> Result<Option<BasicCredentials>, ApiError> {
    match single(headers, header::AUTHORIZATION)? {
        Some(v) => Ok(BasicCredentials::parse(v.as_bytes())?),
        None => Ok(None),
    }
}

/// A header that must appear at most once.
fn single(
    headers: &HeaderMap,
    name: header::HeaderName,
) -> Result<Option<&header::HeaderValue>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(
            OAuthError::invalid_request("a header that must appear once is repeated").into(),
        );
    }
    Ok(first)
}
