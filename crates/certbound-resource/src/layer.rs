//! [`RequireBearer`]: the tower layer in front of protected routes. It reads the RFC 6750 §2.1
//! `Authorization: Bearer` header, finds the presented certificate (the connection's, or a
//! trusted proxy's header via `ProxyPolicy::select` — the server's own rules), calls
//! [`Verifier::verify`], and either inserts the [`Principal`] and calls the inner service or
//! answers the [`BearerError`]. It must not parse certificates or tokens itself.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use axum::response::Response;
use certbound_mtls::{PeerCertificate, Presented};
use tower::{Layer, Service};

use crate::{BearerError, ConnectionCertificate, PeerAddr, Verifier};

/// Layer requiring a valid (and, when bound, certificate-matching) bearer token.
#[derive(Clone, Debug)]
pub struct RequireBearer {
    verifier: Verifier,
}

impl RequireBearer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        RequireBearer { verifier }
    }
}

impl<S> Layer<S> for RequireBearer {
    type Service = RequireBearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireBearerService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service produced by [`RequireBearer`].
#[derive(Clone, Debug)]
pub struct RequireBearerService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S> Service<Request<Body>> for RequireBearerService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone that was polled ready is the one called (tower's documented pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let gathered = bearer_token(request.headers()).and_then(|token| {
            presented_certificate(&verifier, &request).map(|certificate| (token, certificate))
        });
        Box::pin(async move {
            let config = verifier.config();
            let result = match gathered {
                Ok((token, certificate)) => verifier.verify(&token, certificate.as_deref()).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(e) => {
                    Ok(e.into_response_with(&config.audience, config.required_scope.as_deref()))
                }
            }
        })
    }
}

/// RFC 6750 §2.1: `Authorization: Bearer <b64token>`, the scheme case-insensitive. No header,
/// or another scheme → `Missing`; a repeated header or a malformed credential →
/// `invalid_request`. Tokens in the query or body (§2.2, §2.3) are not accepted.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<String, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "the Authorization header is repeated",
        ));
    }
    let malformed = BearerError::InvalidRequest("the Authorization header is malformed");
    let text = value.to_str().map_err(|_| malformed)?;
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Missing);
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let b64token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/');
    if body.is_empty() || !body.chars().all(b64token_char) {
        return Err(malformed);
    }
    Ok(token.to_owned())
}

/// The certificate the request presents: the connection's, or — only when the TCP peer is a
/// trusted proxy — the one in the proxy's header (never both, never from anyone else).
fn presented_certificate<B>(
    verifier: &Verifier,
    request: &Request<B>,
) -> Result<Option<Arc<PeerCertificate>>, BearerError> {
    let connection = request
        .extensions()
        .get::<ConnectionCertificate>()
        .and_then(|c| c.0.clone());
    let Some(policy) = &verifier.config().proxy else {
        return Ok(connection);
    };
    let Some(PeerAddr(peer)) = request.extensions().get::<PeerAddr>().copied() else {
        if request.headers().contains_key(policy.header.as_str()) {
            tracing::warn!(
                header = %policy.header,
                "ignoring a client certificate header: the request has no PeerAddr"
            );
        }
        return Ok(connection);
    };
    let lookup = |name: &str| {
        request
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes())
            .collect()
    };
    let presented = policy
        .select_with(peer.ip(), lookup)
        .map_err(|e| {
            tracing::warn!(peer = %peer, error = %e, "unusable certificate header from a trusted proxy");
            BearerError::InvalidRequest("the forwarded client certificate is unusable")
        })?;
    match presented {
        Presented::Tls => Ok(connection),
        Presented::IgnoredHeader => {
            tracing::warn!(
                peer = %peer,
                header = %policy.header,
                "ignoring a client certificate header from a peer that is not a trusted proxy"
            );
            Ok(connection)
        }
        Presented::Forwarded(certificate) => {
            tracing::debug!(
                peer = %peer,
                x5t = ?certificate.as_ref().map(|c| c.thumbprint().to_base64url()),
                "client certificate forwarded by a trusted proxy"
            );
            Ok(certificate.map(Arc::new))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_header_form_only() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def-_~+/=="])).unwrap(),
            "abc.def-_~+/=="
        );
        assert_eq!(bearer_token(&headers(&["bearer  x"])).unwrap(), "x");
        assert_eq!(bearer_token(&headers(&[])), Err(BearerError::Missing));
        assert_eq!(
            bearer_token(&headers(&["Basic YTpi"])),
            Err(BearerError::Missing)
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer ==",
            "Bearer \"x\"",
        ] {
            assert!(
                matches!(
                    bearer_token(&headers(&[bad])),
                    Err(BearerError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(BearerError::InvalidRequest(_))
        ));
    }
}
