//! The demo protected API (`GET /api/hello` on HTTPS): a resource server built on
//! `certbound_resource::RequireBearer` in JWT mode. A small middleware hands the connection's
//! client certificate and peer address (from the TLS accept loop's [`ConnectionInfo`]) to the
//! library; the library does all token and binding checks — this module must not.

use crate::http::ConnectionInfo;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use certbound_resource::{ConnectionCertificate, PeerAddr, Principal, RequireBearer, Verifier};
use serde_json::json;

/// The API routes, guarded by the bearer layer.
pub fn router(verifier: Verifier) -> Router {
    Router::new()
        .route("/api/hello", get(hello))
        .layer(RequireBearer::new(verifier))
        .layer(middleware::from_fn(connection_to_extensions))
}

/// Copies the TLS connection's certificate and peer address into the library's extensions.
async fn connection_to_extensions(
    conn: Option<Extension<ConnectionInfo>>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let (certificate, peer) = match conn {
        Some(Extension(c)) => (c.certificate, Some(c.peer_addr)),
        None => (None, None),
    };
    request
        .extensions_mut()
        .insert(ConnectionCertificate(certificate));
    if let Some(peer) = peer {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    next.run(request).await
}

/// Answers with who the (verified, certificate-bound) token is for.
async fn hello(principal: Principal) -> Response {
    let mut response = Json(json!({
        "message": "hello from the certbound playground's protected API",
        "sub": principal.sub,
        "client_id": principal.client_id,
        "scope": principal.scope.join(" "),
        "cnf": principal.cnf.map(|t| json!({ "x5t#S256": t.to_base64url() })),
    }))
    .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
