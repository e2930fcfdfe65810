//! The resource server's configuration: which issuer and audience to accept, how tokens are
//! validated (local JWT or introspection), which CA the issuer's HTTPS chains to, and which
//! proxy may forward client certificates. Plain data: nothing here does I/O; the checks happen
//! once in [`crate::Verifier::new`].

use std::fmt;
use std::time::Duration;

use certbound_mtls::ProxyPolicy;

/// How access tokens are validated.
#[derive(Clone, Debug)]
pub enum Validation {
    /// RFC 9068 JWT access tokens, verified locally against the issuer's JWKS (RFC 7517),
    /// fetched over HTTPS from `jwks_uri` and cached.
    Jwt {
        /// The issuer's `jwks_uri` (an `https://` URL).
        jwks_uri: String,
    },
    /// RFC 7662 token introspection. The resource server authenticates to the endpoint as a
    /// certbound client: with a TLS client certificate and `client_id` in the form
    /// (RFC 8705 §2), or with HTTP Basic `client_id`/secret (RFC 6749 §2.3.1).
    Introspection {
        /// The introspection endpoint (an `https://` URL).
        endpoint: String,
        /// The resource server's own client_id at the issuer.
        client_id: String,
        /// How the resource server authenticates.
        credentials: IntrospectionCredentials,
        /// How long an active result may be reused (never beyond the token's `exp`);
        /// `None`: every request is introspected.
        cache_ttl: Option<Duration>,
    },
}

/// The resource server's credentials at the introspection endpoint. `Debug` redacts the
/// private key and the secret.
#[derive(Clone)]
pub enum IntrospectionCredentials {
    /// Mutual TLS (RFC 8705 §2): a PEM certificate (chain) and its PEM private key.
    Mtls {
        /// The client certificate, leaf first, PEM.
        cert_pem: String,
        /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
        key_pem: String,
    },
    /// HTTP Basic (RFC 6749 §2.3.1, `client_secret_basic`).
    Basic {
        /// The client secret.
        secret: String,
    },
}

impl fmt::Debug for IntrospectionCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntrospectionCredentials::Mtls { cert_pem, .. } => f
                .debug_struct("Mtls")
                .field("cert_pem", &format_args!("[{} bytes]", cert_pem.len()))
                .field("key_pem", &format_args!("[redacted]"))
                .finish(),
            IntrospectionCredentials::Basic { .. } => f
                .debug_struct("Basic")
                .field("secret", &format_args!("[redacted]"))
                .finish(),
        }
    }
}

/// Everything a [`crate::Verifier`] needs. Build it with [`Config::new`] for the defaults,
/// then set the optional fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// Expected `iss` (exact string comparison).
    pub issuer: String,
    /// Expected audience: in JWT mode `aud` must equal it or be an array containing it. Also
    /// the `realm` of the `WWW-Authenticate` challenges sent by [`crate::RequireBearer`].
    pub audience: String,
    /// Local JWT verification or introspection.
    pub validation: Validation,
    /// Extra root CA (PEM, one or more certificates) for the issuer's HTTPS, e.g. certbound's
    /// development CA; added to the system roots.
    pub ca_pem: Option<String>,
    /// A trusted TLS-terminating proxy that forwards client certificates in a header; the
    /// same rules as the certbound server. `None`: only the TLS connection's certificate counts.
    pub proxy: Option<ProxyPolicy>,
    /// A scope every token must carry; otherwise 403 `insufficient_scope` (RFC 6750 §3.1).
    pub required_scope: Option<String>,
    /// Allowed clock skew for `exp`, `nbf` and `iat`. Default 60 s.
    pub leeway: Duration,
    /// Minimum time between JWKS fetches triggered by an unknown `kid`. Default 30 s.
    pub jwks_refetch_interval: Duration,
}

/// Default clock skew allowance.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Default minimum time between JWKS fetches.
pub(crate) const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

impl Config {
    /// A configuration with the defaults: system roots only, no proxy, no required scope,
    /// 60 s leeway, 30 s JWKS refetch interval.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        validation: Validation,
    ) -> Config {
        Config {
            issuer: issuer.into(),
            audience: audience.into(),
            validation,
            ca_pem: None,
            proxy: None,
            required_scope: None,
            leeway: DEFAULT_LEEWAY,
            jwks_refetch_interval: DEFAULT_REFETCH_INTERVAL,
        }
    }
}

/// Why a [`Config`] was refused by [`crate::Verifier::new`]. Messages never contain keys or
/// secrets.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `issuer` is empty.
    #[error("the issuer must not be empty")]
    EmptyIssuer,
    /// `audience` is empty.
    #[error("the audience must not be empty")]
    EmptyAudience,
    /// `client_id` is empty (introspection mode).
    #[error("the introspection client_id must not be empty")]
    EmptyClientId,
    /// A URL does not parse or is not `https://`.
    #[error("{what} must be an https:// URL")]
    NotHttps {
        /// Which setting.
        what: &'static str,
    },
    /// `ca_pem` holds no certificate, or one rustls refuses.
    #[error("ca_pem does not hold a usable PEM CA certificate")]
    BadCa,
    /// Neither system roots nor `ca_pem` give a root certificate to trust.
    #[error("no root certificates: the system has none and ca_pem is not set")]
    NoRootCertificates,
    /// The introspection client certificate or key does not parse or does not match.
    #[error("the introspection client certificate or key is unusable: {0}")]
    BadClientIdentity(&'static str),
    /// The HTTPS client could not be built.
    #[error("the HTTPS client could not be built: {0}")]
    HttpClient(String),
}
