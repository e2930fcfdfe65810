//! The HTTP surface: router, shared state, per-connection information. Handlers only turn HTTP
//! into typed requests and typed results into responses; protocol logic is in certbound-core.

pub mod admin;
mod authorize;
pub(crate) mod cookies;
pub(crate) mod csrf;
mod discovery;
mod error;
pub(crate) mod extract;
mod introspect;
mod register;
mod revoke;
mod token;
mod userinfo;

pub use error::ApiError;
pub(crate) use error::rate_limited_page;
pub use extract::ConnectionInfo;

use axum::Router;
use axum::routing::{get, post};
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
    /// `[rate_limits]` request rates (per node).
    pub limits: Arc<crate::rate_limit::RateLimits>,
}

/// Builds the router with every endpoint.
pub fn router(state: AppState) -> Router {
    // RFC 8414 §3.1 inserts the well-known suffix before the issuer's path; OpenID Connect
    // Discovery §4 appends it. Both are served for the configured issuer.
    let issuer_path = issuer_path(&state.server.settings.issuer);
    let mut router = Router::new();
    if !issuer_path.is_empty() {
        router = router
            .route(
                &format!("/.well-known/oauth-authorization-server{issuer_path}"),
                get(discovery::metadata),
            )
            .route(
                &format!("/.well-known/openid-configuration{issuer_path}"),
                get(discovery::metadata),
            )
            .route(
                &format!("{issuer_path}/.well-known/openid-configuration"),
                get(discovery::metadata),
            );
    }
    router
        .route("/oauth2/token", post(token::handle))
        .route("/oauth2/introspect", post(introspect::handle))
        .route("/oauth2/revoke", post(revoke::handle))
        .route("/oauth2/authorize", get(authorize::start))
        .route("/oauth2/authorize/login", post(authorize::login))
        .route("/oauth2/authorize/consent", post(authorize::consent))
        .route(
            "/oauth2/userinfo",
            get(userinfo::handle).post(userinfo::handle),
        )
        .route("/oauth2/register", post(register::create))
        .route(
            "/oauth2/register/{client_id}",
            get(register::read)
                .put(register::update)
                .delete(register::delete),
        )
        .route("/oauth2/jwks", get(discovery::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route("/static/certbound.css", get(discovery::stylesheet))
        .merge(admin::router())
        .merge(crate::console::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// The path of an issuer URL (`/oauth2/token` for `https://localhost:9443/oauth2/token`).
fn issuer_path(issuer: &str) -> String {
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    let path = issuer[after_scheme..]
        .find('/')
        .map_or("", |i| &issuer[after_scheme + i..]);
    path.trim_end_matches('/').to_owned()
}
