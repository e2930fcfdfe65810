//! certbound-core: the protocol logic of the authorization server.
//!
//! Client authentication (RFC 6749 §2.3, RFC 8705 §2), grants, token issuance and
//! introspection live here. Nothing in this crate knows about HTTP or SQL: handlers in the
//! binary parse requests into the typed inputs defined here, and storage backends implement
//! the traits in [`store`].

pub mod audit;
pub mod authorize;
pub mod client_auth;
pub mod clock;
pub mod discovery;
pub mod dynamic_registration;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod jose;
pub mod keyring;
pub mod login;
pub mod metrics;
pub mod model;
pub mod password;
pub mod registration;
pub mod request;
pub mod revoke;
pub mod scope;
pub mod secret;
pub mod server;
pub mod store;
pub mod tokens;
pub mod trust_stores;
pub mod userinfo;

#[cfg(test)]
mod testing;

pub use clock::{Clock, OsRandom, Random, SystemClock};
pub use error::{ErrorCode, OAuthError};
pub use server::{AuthServer, OAuthSettings};
