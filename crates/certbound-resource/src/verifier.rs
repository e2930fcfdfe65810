//! [`Verifier`]: validates a bearer token (JWT or introspection), then enforces the RFC 8705
//! §3 certificate binding and the required scope. Holds the JWKS / introspection cache and
//! the HTTPS client. It never logs tokens, only certificate thumbprints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use certbound_mtls::PeerCertificate;

use crate::config::{Config, ConfigError, IntrospectionCredentials, Validation};
use crate::http_client;
use crate::introspection::{Auth, Introspector, basic_header};
use crate::jwks::JwksCache;
use crate::jwt::{self, Expectations};
use crate::{BearerError, Principal};

/// Longest token accepted before any parsing.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Verifies access tokens. Cheap to clone: clones share the caches.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    http: reqwest::Client,
    mode: Mode,
}

enum Mode {
    Jwt(JwksCache),
    Introspection(Introspector),
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Checks the configuration and builds the HTTPS client (system roots plus `ca_pem`;
    /// the introspection client certificate when configured). Does no network I/O: the JWKS
    /// is fetched on the first token.
    pub fn new(config: Config) -> Result<Verifier, ConfigError> {
        if config.issuer.is_empty() {
            return Err(ConfigError::EmptyIssuer);
        }
        if config.audience.is_empty() {
            return Err(ConfigError::EmptyAudience);
        }
        let ca = config.ca_pem.as_deref();
        let (http, mode) = match &config.validation {
            Validation::Jwt { jwks_uri } => {
                let uri = http_client::https_url(jwks_uri, "jwks_uri")?;
                let cache = JwksCache::new(uri, config.jwks_refetch_interval);
                (http_client::build(ca, None)?, Mode::Jwt(cache))
            }
            Validation::Introspection {
                endpoint,
                client_id,
                credentials,
                cache_ttl,
            } => {
                let endpoint = http_client::https_url(endpoint, "the introspection endpoint")?;
                if client_id.is_empty() {
                    return Err(ConfigError::EmptyClientId);
                }
                let (http, auth) = match credentials {
                    IntrospectionCredentials::Mtls { cert_pem, key_pem } => (
                        http_client::build(ca, Some((cert_pem, key_pem)))?,
                        Auth::Mtls,
                    ),
                    IntrospectionCredentials::Basic { secret } => (
                        http_client::build(ca, None)?,
                        Auth::Basic(basic_header(client_id, secret)),
                    ),
                };
                let introspector = Introspector {
                    endpoint,
                    client_id: client_id.clone(),
                    auth,
                    cache_ttl: *cache_ttl,
                    cache: Mutex::new(HashMap::new()),
                };
                (http, Mode::Introspection(introspector))
            }
        };
        Ok(Verifier {
            inner: Arc::new(Inner { config, http, mode }),
        })
    }

    /// The configuration this verifier was built from.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Verifies a bearer token and its binding to the presented certificate (RFC 8705 §3),
    /// then the required scope.
    pub async fn verify(
        &self,
        token: &str,
        presented: Option<&PeerCertificate>,
    ) -> Result<Principal, BearerError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(BearerError::InvalidToken("the access token is malformed"));
        }
        let config = &self.inner.config;
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        let principal = match &self.inner.mode {
            Mode::Jwt(jwks) => {
                let expect = Expectations {
                    issuer: &config.issuer,
                    audience: &config.audience,
                    leeway,
                };
                jwt::verify(&self.inner.http, jwks, &expect, token).await?
            }
            Mode::Introspection(introspector) => {
                introspector
                    .verify(
                        &self.inner.http,
                        &config.issuer,
                        &config.audience,
                        leeway,
                        token,
                    )
                    .await?
            }
        };
        check_binding(&principal, presented)?;
        let required = config.required_scope.as_deref();
        if required.is_some_and(|scope| !principal.has_scope(scope)) {
            return Err(BearerError::InsufficientScope);
        }
        Ok(principal)
    }

    /// How many JWKS fetches were started (0 in introspection mode).
    pub fn jwks_fetches(&self) -> u64 {
        match &self.inner.mode {
            Mode::Jwt(jwks) => jwks.fetches(),
            Mode::Introspection(_) => 0,
        }
    }
}

/// RFC 8705 §3: a token with `cnf["x5t#S256"]` is accepted only with the certificate of that
/// thumbprint (constant-time comparison). Unbound tokens need no certificate.
fn check_binding(
    principal: &Principal,
    presented: Option<&PeerCertificate>,
) -> Result<(), BearerError> {
    let Some(bound) = &principal.cnf else {
        return Ok(());
    };
    let matches = presented.is_some_and(|p| p.thumbprint().ct_eq(bound));
    if matches {
        return Ok(());
    }
    tracing::info!(
        bound_x5t = %bound,
        presented_x5t = ?presented.map(|p| p.thumbprint().to_base64url()),
        "certificate-bound access token presented without its certificate"
    );
    Err(BearerError::InvalidToken(
        "the access token is bound to a certificate that was not presented",
    ))
}
