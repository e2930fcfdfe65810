//! The HTTP surface: router, shared state, per-connection information. Handlers only turn HTTP
//! into typed requests and typed results into responses; protocol logic is in certbound-core.

mod error;
mod extract;
mod introspect;
mod token;

pub use error::ApiError;
pub use extract::ConnectionInfo;

use axum::Router;
use axum::routing::post;
use certbound_core::AuthServer;
use certbound_mtls::ProxyPolicy;
use std::sync::Arc;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The protocol logic.
    pub server: Arc<AuthServer>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Certificates forwarded by trusted proxies, when configured.
    pub proxy: Option<Arc<ProxyPolicy>>,
}

/// Builds the router with every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth2/token", post(token::handle))
        .route("/oauth2/introspect", post(introspect::handle))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}
