//! certbound-resource: the resource-server side of RFC 8705 certificate-bound access tokens.
//!
//! A Rust API (resource server) that accepts access tokens from certbound — or from any issuer
//! of RFC 9068 JWT access tokens or with an RFC 7662 introspection endpoint — puts
//! [`RequireBearer`] in front of its routes. For every request the layer
//!
//! 1. reads the bearer token from the `Authorization` header (RFC 6750 §2.1, header form only);
//! 2. finds the client certificate presented on the request: the TLS connection's
//!    ([`ConnectionCertificate`], inserted by the server's accept loop), or — only when the TCP
//!    peer ([`PeerAddr`]) is a configured trusted TLS-terminating proxy — the proxy's header,
//!    with the same parser and trust rules as the certbound server
//!    ([`certbound_mtls::ProxyPolicy`]);
//! 3. verifies the token with a [`Verifier`]: locally against the issuer's JWKS ([`Validation::Jwt`],
//!    cached, refetched on an unknown `kid` at most once per interval) or by introspection
//!    ([`Validation::Introspection`], with an optional cache);
//! 4. enforces the binding (RFC 8705 §3): a token with `cnf["x5t#S256"]` is accepted only with
//!    the certificate of that thumbprint (constant-time comparison);
//! 5. inserts the [`Principal`] into the request extensions (handlers take it as an extractor),
//!    or answers with the RFC 6750 §3 challenge of the [`BearerError`].
//!
//! The library cannot see TLS: the server inserts [`ConnectionCertificate`] (and [`PeerAddr`]
//! when a proxy is trusted) into each request's extensions.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use certbound_resource::{Config, Principal, RequireBearer, Validation, Verifier};
//!
//! async fn hello(principal: Principal) -> String {
//!     format!("hello {}", principal.sub.as_deref().unwrap_or("anonymous"))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::new(
//!     "https://localhost:9443/oauth2/token",
//!     "https://api.example",
//!     Validation::Jwt { jwks_uri: "https://localhost:9443/oauth2/jwks".into() },
//! );
//! config.ca_pem = Some(std::fs::read_to_string("certbound-ca.pem")?);
//! config.required_scope = Some("accounts".into());
//! let verifier = Verifier::new(config)?;
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .layer(RequireBearer::new(verifier));
//! // Serve `app` over rustls; for every request of a connection insert
//! // `certbound_resource::ConnectionCertificate(Some(Arc::new(peer_certificate)))`
//! // (and `PeerAddr` when a trusted proxy forwards certificates) into its extensions.
//! # let _ = (app, Arc::new(()));
//! # Ok(())
//! # }
//! ```
//!
//! Tokens are never logged; certificate thumbprints are.

#![deny(missing_docs)]

mod config;
mod error;
mod http_client;
mod introspection;
mod jwks;
mod jwt;
mod layer;
mod principal;
pub mod tls;
mod verifier;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Config, ConfigError, IntrospectionCredentials, Validation};
pub use error::{BearerError, DEFAULT_REALM};
pub use layer::{RequireBearer, RequireBearerService};
pub use principal::Principal;
pub use verifier::Verifier;

/// The offline JWT verification path, for the fuzz targets only.
#[cfg(fuzzing)]
pub use jwt::verify_offline;

/// The client certificate presented on the TLS connection of a request (`None`: the client sent
/// none). The server's TLS accept loop inserts it into the extensions of every request of the
/// connection; the library cannot see TLS itself.
#[derive(Clone, Debug)]
pub struct ConnectionCertificate(pub Option<Arc<certbound_mtls::PeerCertificate>>);

/// The TCP peer address of a request, inserted likewise. Needed only when a trusted proxy
/// forwards certificates in a header ([`Config::proxy`]): without it, the header is ignored.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);
