//! Extracting typed inputs from HTTP requests: the connection's peer certificate, the Basic
//! header, and a size-limited form body.

use super::{ApiError, AppState};
use axum::body::Body;
use axum::http::{HeaderMap, header};
use certbound_core::OAuthError;

use certbound_core::request::{BasicCredentials, Form};
use certbound_mtls::{PeerCertificate, Presented, ProxyPolicy};
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
async fn form(headers: &HeaderMap, body: Body, limit: usize) -> Result<Form, ApiError> {
    // Read (or drain) the body first: answering before the client finished sending makes
    // HTTP/2 clients see a reset stream instead of the error.
    let bytes = read_limited(body, limit).await?;
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
    Ok(Form::parse(&bytes)?)
}

/// How much of an oversized body is read and discarded before answering 413, so that HTTP/2
/// and HTTP/1.1 clients receive the error instead of a reset stream. Beyond this the
/// connection is simply closed.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

/// Reads at most `limit` bytes of body; larger bodies are drained (up to [`DRAIN_LIMIT`]) and
/// refused with 413.
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= limit {
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(ApiError::too_large());
    }
    Ok(buf)
}

/// What a token-endpoint-style request carries: its form, its Basic credentials, and the
/// client certificate it presents.
pub struct ParsedRequest {
    /// The form body.
    pub form: Form,
    /// `Authorization: Basic`, if sent.
    pub basic: Option<BasicCredentials>,
    /// The presented certificate (TLS, or forwarded by a trusted proxy).
    pub certificate: Option<Arc<PeerCertificate>>,
}

/// Parses a form-encoded request. The body is read before anything is validated, so every
/// error reaches the client as a response.
pub async fn parse_request(
    state: &AppState,
    conn: &ConnectionInfo,
    headers: &HeaderMap,
    body: Body,
) -> Result<ParsedRequest, ApiError> {
    let form = form(headers, body, state.max_body_bytes).await?;
    let certificate = presented_certificate(state.proxy.as_deref(), conn, headers)?;
    Ok(ParsedRequest {
        form,
        basic: basic(headers)?,
        certificate,
    })
}

/// The address of the client for rate limits: the TCP peer, or — only when the peer is a
/// trusted proxy — the address that proxy appended to `X-Forwarded-For` (the rightmost one;
/// anything further left was written by the client and is never believed).
pub fn client_addr(
    proxy: Option<&ProxyPolicy>,
    conn: &ConnectionInfo,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    let peer = conn.peer_addr.ip();
    if !proxy.is_some_and(|p| p.is_trusted(peer)) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(peer)
}

/// The certificate a request presents: the connection's, or — from a trusted proxy only —
/// the one in the configured header (DESIGN: never both, never from anyone else).
pub(super) fn presented_certificate(
    proxy: Option<&ProxyPolicy>,
    conn: &ConnectionInfo,
    headers: &HeaderMap,
) -> Result<Option<Arc<PeerCertificate>>, ApiError> {
    let Some(policy) = proxy else {
        return Ok(conn.certificate.clone());
    };
    let lookup = |name: &str| headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
    match policy
        .select_with(conn.peer_addr.ip(), lookup)
        .map_err(OAuthError::from)?
    {
        Presented::Tls => Ok(conn.certificate.clone()),
        Presented::IgnoredHeader => {
            tracing::warn!(
                peer = %conn.peer_addr,
                header = %policy.header,
                "ignoring a client certificate header from a peer that is not in trusted_proxies"
            );
            Ok(conn.certificate.clone())
        }
        Presented::Forwarded(certificate) => {
            tracing::debug!(
                peer = %conn.peer_addr,
                x5t = ?certificate.as_ref().map(|c| c.thumbprint().to_base64url()),
                "client certificate forwarded by a trusted proxy"
            );
            Ok(certificate.map(Arc::new))
        }
    }
}

/// A browser form: decoded pairs, where only the named fields may repeat.
pub struct FormPairs(Vec<(String, String)>);

impl FormPairs {
    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of a repeatable field.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Reads a browser form (sign-in, consent). Errors are HTML pages, not JSON.
pub async fn read_form_pairs(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    repeatable: &[&str],
) -> Result<FormPairs, axum::response::Response> {
    let bad =
        |m: &str| crate::pages::error(axum::http::StatusCode::BAD_REQUEST, "invalid_request", m);
    let bytes = match read_limited(body, limit).await {
        Ok(b) => b,
        Err(_) => return Err(bad("The form is too large.")),
    };
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(bad(
            "The form was not sent as application/x-www-form-urlencoded.",
        ));
    }
    let pairs = certbound_core::request::form_pairs(&bytes)
        .map_err(|_| bad("The form could not be read."))?;
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !repeatable.contains(&k.as_str()) && !seen.insert(k.as_str()) {
            return Err(bad("A form field was sent twice."));
        }
    }
    Ok(FormPairs(pairs))
}

/// The Basic credentials of the `Authorization` header, if any.
fn basic(headers: &HeaderMap) -> Result<Option<BasicCredentials>, ApiError> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy() -> ProxyPolicy {
        ProxyPolicy {
            header: "x-cert".into(),
            chain_header: None,
            format: certbound_mtls::HeaderFormat::Auto,
            trusted: vec!["127.0.0.1/32".parse().unwrap()],
            max_chain: 5,
        }
    }

    fn conn(peer: &str) -> ConnectionInfo {
        ConnectionInfo {
            peer_addr: format!("{peer}:40000").parse().unwrap(),
            certificate: None,
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies_and_only_its_last_hop() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.66, 198.51.100.7".parse().unwrap(),
        );
        let p = policy();
        assert_eq!(
            client_addr(Some(&p), &conn("127.0.0.1"), &headers).to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            client_addr(Some(&p), &conn("127.0.0.2"), &headers).to_string(),
            "127.0.0.2"
        );
        assert_eq!(
            client_addr(None, &conn("127.0.0.1"), &headers).to_string(),
            "127.0.0.1"
        );
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(
            client_addr(Some(&p), &conn("127.0.0.1"), &headers).to_string(),
            "127.0.0.1"
        );
    }
}
