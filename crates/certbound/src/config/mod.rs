//! Configuration: one TOML file, overlaid by `CERTBOUND_*` environment variables, then CLI
//! flags (DESIGN rule 10). Raw TOML is parsed into [`Config`] once, in `main`, and passed down.
//! Every key is documented with its default in `certbound.example.toml`.

use anyhow::{Context, Result, bail};
use certbound_core::jose::JwsAlg;
use certbound_core::model::TokenFormat;
use certbound_mtls::{Cidr, HeaderFormat, ProxyPolicy};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod jwks_uri;
mod log;
mod ops;
mod rate_limits;
mod registration;
mod storage;
pub use jwks_uri::JwksUriConfig;
pub use log::{LogConfig, LogFormat};
pub use ops::OpsListen;
pub use rate_limits::RateLimitSettings;
mod trust;
pub use trust::TrustStoreConfig;

/// Default listen address: loopback only, so a development server is not exposed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9443";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "certbound-data";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    storage: storage::RawStorage,
    #[serde(default)]
    oauth: RawOAuth,
    #[serde(default)]
    log: log::RawLog,
    #[serde(default)]
    registration: registration::RawRegistration,
    #[serde(default)]
    rate_limits: rate_limits::RawRateLimits,
    #[serde(default)]
    trust_stores: std::collections::BTreeMap<String, trust::RawTrustStore>,
    #[serde(default)]
    ops: ops::RawOps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    request_client_certificate: Option<bool>,
    #[serde(default)]
    mtls: RawMtlsAliases,
    http_listen: Option<String>,
    data_dir: Option<PathBuf>,
    issuer: Option<String>,
    max_body_bytes: Option<usize>,
    max_connections: Option<usize>,
    max_in_flight_requests: Option<usize>,
    max_queued_requests: Option<usize>,
    request_queue_timeout_ms: Option<u64>,
    shutdown_timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMtlsAliases {
    listen: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    profile: Option<crate::tls::TlsProfile>,
    reload_check_interval: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth {
    access_token_lifetime: Option<u64>,
    access_token_format: Option<String>,
    access_token_audience: Option<String>,
    authorization_code_lifetime: Option<u64>,
    id_token_lifetime: Option<u64>,
    refresh_token_lifetime: Option<u64>,
    refresh_token_idle_lifetime: Option<u64>,
    refresh_token_rotation: Option<bool>,
    refresh_token_reuse_grace: Option<u64>,
    session_lifetime: Option<u64>,
    require_pkce: Option<bool>,
    id_token_signing_alg: Option<String>,
    signing_key_refresh_interval: Option<u64>,
    #[serde(default)]
    mutualtls: RawMutualTls,
    #[serde(default)]
    introspection: RawIntrospection,
    #[serde(default)]
    jwks_uri: jwks_uri::RawJwksUri,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntrospection {
    legacy_x5t_sha256: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutualTls {
    trusted_ca_file: Option<PathBuf>,
    certificate_expiry_warning_days: Option<u32>,
    client_certificate_header: Option<String>,
    client_certificate_header_format: Option<HeaderFormat>,
    client_certificate_chain_header: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    max_chain_length: Option<usize>,
}

/// Where the server's TLS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// A development CA and server certificate generated under `<data_dir>/tls/`.
    Development,
    /// Operator-provided PEM files.
    Files {
        /// Certificate chain, leaf first.
        cert_file: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key_file: PathBuf,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address of the HTTPS listener.
    pub listen: SocketAddr,
    /// True when `listen` is the default: then `[::1]` on the same port is bound too, so
    /// `https://localhost:9443` works whichever loopback address a client tries first.
    pub listen_is_default: bool,
    /// Optional plain-HTTP listener for a TLS-terminating proxy in front.
    pub http_listen: Option<SocketAddr>,
    /// Whether the main listener asks for client certificates.
    pub request_client_certificate: bool,
    /// The RFC 8705 §5 alias listener, which requires a client certificate.
    pub mtls_listen: Option<SocketAddr>,
    /// Its public base URL; by default the issuer's host with the alias port.
    pub mtls_url: Option<String>,
    /// Default access token format.
    pub access_token_format: TokenFormat,
    /// `aud` of JWT access tokens (default: the issuer).
    pub access_token_audience: Option<String>,
    /// Client certificates forwarded by trusted proxies, when configured.
    pub proxy: Option<ProxyPolicy>,
    /// Emit WSO2's `x5t#SHA256` beside `x5t#S256` in introspection (compatibility).
    pub legacy_x5t_sha256: bool,
    /// Data directory (database, development TLS, first admin password).
    pub data_dir: PathBuf,
    /// Issuer; when unset, `https://localhost:<port>/oauth2/token`.
    pub issuer: Option<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Overload limits of the listeners.
    pub limits: crate::admission::Limits,
    /// How long a shutdown waits for the requests in flight (`[server] shutdown_timeout`).
    pub shutdown_timeout: std::time::Duration,
    /// TLS certificate source.
    pub tls: TlsSource,
    /// `[tls] profile`: the TLS 1.2 cipher suites offered.
    pub tls_profile: crate::tls::TlsProfile,
    /// `[tls] reload_check_interval`: how often the certificate files are checked for a
    /// change (`None`: only SIGHUP reloads).
    pub tls_reload_check: Option<std::time::Duration>,
    /// Storage URL (`sqlite://PATH` or `postgres://…`).
    pub storage_url: String,
    /// `[storage]` pool size and connect timeout.
    pub storage_options: certbound_store::StoreOptions,
    /// Default access token lifetime, seconds.
    pub access_token_lifetime: u64,
    /// Authorization code lifetime, seconds.
    pub code_lifetime: u64,
    /// id_token lifetime, seconds.
    pub id_token_lifetime: u64,
    /// Absolute refresh token lifetime, seconds.
    pub refresh_token_lifetime: u64,
    /// Idle refresh token lifetime, seconds.
    pub refresh_token_idle_lifetime: u64,
    /// Rotate refresh tokens on use.
    pub refresh_token_rotation: bool,
    /// Seconds within which a reused rotated refresh token is only refused.
    pub refresh_token_reuse_grace: u64,
    /// Sign-in session lifetime, seconds.
    pub session_lifetime: u64,
    /// Require PKCE from every client.
    pub require_pkce: bool,
    /// Algorithm of new signing keys.
    pub signing_alg: JwsAlg,
    /// Seconds a node caches the signing keys before reloading them from the store.
    pub signing_key_refresh_interval: u64,
    /// Fetching the key sets of `jwks_uri` clients.
    pub jwks_uri: JwksUriConfig,
    /// Trust stores for `tls_client_auth`: `[trust_stores.NAME]`, plus `default` from
    /// `[oauth.mutualtls] trusted_ca_file`.
    pub trust_stores: Vec<TrustStoreConfig>,
    /// Registered client certificates expiring within this many days are reported (0: off).
    pub certificate_expiry_warning_days: u32,
    /// `[log]`: filter, format, audit file.
    pub log: LogConfig,
    /// `[registration] policy`: who may register clients dynamically (RFC 7591).
    pub registration_policy: certbound_core::dynamic_registration::RegistrationPolicy,
    /// `[rate_limits]`: request rates and sign-in failure backoff (per node).
    pub rate_limits: RateLimitSettings,
    /// `[ops]`: the operations listener (`/healthz`, `/readyz`, `/metrics`), if on.
    pub ops: Option<OpsListen>,
}

/// Values that override the file: environment, then flags.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` / `CERTBOUND_LISTEN`.
    pub listen: Option<String>,
    /// `--data-dir` / `CERTBOUND_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `serve --log-format`.
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads the file (if any), applies environment and flag overrides, and validates.
    pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<Config> {
        let raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str::<RawConfig>(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => RawConfig::default(),
        };
        Self::from_raw(
            raw,
            |k| std::env::var(k).ok().filter(|v| !v.is_empty()),
            flags,
        )
    }

    fn from_raw(
        raw: RawConfig,
        env: impl Fn(&str) -> Option<String>,
        flags: &Overrides,
    ) -> Result<Config> {
        let listen = flags
            .listen
            .clone()
            .or_else(|| env("CERTBOUND_LISTEN"))
            .or(raw.server.listen);
        let listen_is_default = listen.is_none();
        let listen = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("server.listen {listen:?} is not an address like 127.0.0.1:9443 or [::1]:9443")
        })?;
        let http_listen = raw
            .server
            .http_listen
            .map(|a| {
                a.parse::<SocketAddr>().with_context(|| {
                    format!("server.http_listen {a:?} is not an address like 127.0.0.1:8080")
                })
            })
            .transpose()?;
        let mtls_listen = raw
            .server
            .mtls
            .listen
            .as_deref()
            .map(|a| {
                a.parse::<SocketAddr>().with_context(|| {
                    format!("server.mtls.listen {a:?} is not an address like 127.0.0.1:9444")
                })
            })
            .transpose()?;
        if raw.server.mtls.url.is_some() && mtls_listen.is_none() {
            bail!("server.mtls.url is set but server.mtls.listen is not");
        }
        let request_client_certificate = raw.server.request_client_certificate.unwrap_or(true);
        if !request_client_certificate
            && mtls_listen.is_none()
            && raw.oauth.mutualtls.client_certificate_header.is_none()
        {
            bail!(
                "server.request_client_certificate = false leaves no way to present a client certificate: also set server.mtls.listen (or a proxy header)"
            );
        }
        let access_token_format = match raw.oauth.access_token_format.as_deref() {
            None => TokenFormat::Opaque,
            Some(f) => f.parse().map_err(|_| {
                anyhow::anyhow!("oauth.access_token_format must be \"opaque\" or \"jwt\"")
            })?,
        };
        let proxy = proxy_policy(
            raw.oauth.mutualtls.client_certificate_header.clone(),
            &raw.oauth.mutualtls,
        )?;
        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("CERTBOUND_DATA_DIR").map(PathBuf::from))
            .or(raw.server.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let issuer = env("CERTBOUND_ISSUER").or(raw.server.issuer);
        if let Some(iss) = &issuer
            && (!iss.starts_with("https://") || iss.contains('?') || iss.contains('#'))
        {
            bail!("server.issuer must be an https URL without query or fragment (RFC 8414 §2)");
        }
        let tls = match (raw.tls.cert_file, raw.tls.key_file) {
            (None, None) => TlsSource::Development,
            (Some(cert_file), Some(key_file)) => TlsSource::Files {
                cert_file,
                key_file,
            },
            _ => bail!(
                "tls.cert_file and tls.key_file must be set together (or neither, for development TLS)"
            ),
        };
        let tls_reload_check = match raw.tls.reload_check_interval.unwrap_or(5) {
            0 => None,
            n if n <= 86_400 => Some(std::time::Duration::from_secs(n)),
            n => bail!(
                "tls.reload_check_interval = {n} is out of range: use 1..=86400 seconds, or 0 to reload only on SIGHUP"
            ),
        };
        let storage_url = env("CERTBOUND_STORAGE_URL")
            .or(raw.storage.url.clone())
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("certbound.db").display()));
        storage::check_url(&storage_url)?;
        let storage_options = raw.storage.options()?;
        let access_token_lifetime = raw.oauth.access_token_lifetime.unwrap_or(3600);
        if access_token_lifetime == 0 {
            bail!("oauth.access_token_lifetime must be at least 1 second");
        }
        let positive = |v: Option<u64>, default: u64, key: &str| -> Result<u64> {
            match v.unwrap_or(default) {
                0 => bail!("oauth.{key} must be at least 1 second"),
                n => Ok(n),
            }
        };
        let code_lifetime = positive(
            raw.oauth.authorization_code_lifetime,
            60,
            "authorization_code_lifetime",
        )?;
        if code_lifetime > 600 {
            bail!(
                "oauth.authorization_code_lifetime must be at most 600 seconds (RFC 6749 §4.1.2)"
            );
        }
        let id_token_lifetime = positive(raw.oauth.id_token_lifetime, 3600, "id_token_lifetime")?;
        let refresh_token_lifetime = positive(
            raw.oauth.refresh_token_lifetime,
            14 * 86_400,
            "refresh_token_lifetime",
        )?;
        let refresh_token_idle_lifetime = positive(
            raw.oauth.refresh_token_idle_lifetime,
            2 * 86_400,
            "refresh_token_idle_lifetime",
        )?;
        let session_lifetime = positive(raw.oauth.session_lifetime, 8 * 3600, "session_lifetime")?;
        let signing_alg = match &raw.oauth.id_token_signing_alg {
            Some(a) => a.parse::<JwsAlg>().map_err(|_| {
                anyhow::anyhow!("oauth.id_token_signing_alg must be RS256, PS256 or ES256")
            })?,
            None => JwsAlg::RS256,
        };
        let max_body_bytes = raw.server.max_body_bytes.unwrap_or(64 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
            bail!("server.max_body_bytes must be between 1024 and 16777216");
        }
        let limits = crate::admission::Limits {
            max_connections: within(
                raw.server.max_connections,
                crate::admission::Limits::default().max_connections,
                "max_connections",
            )?,
            max_in_flight: within(
                raw.server.max_in_flight_requests,
                crate::admission::Limits::default().max_in_flight,
                "max_in_flight_requests",
            )?,
            max_queued: queue_length(raw.server.max_queued_requests)?,
            queue_timeout: queue_timeout(raw.server.request_queue_timeout_ms)?,
        };
        let shutdown_timeout = raw.server.shutdown_timeout.unwrap_or(10);
        if !(1..=3600).contains(&shutdown_timeout) {
            bail!(
                "server.shutdown_timeout must be between 1 and 3600 (seconds to let requests in flight finish at shutdown)"
            );
        }
        let registration_policy = raw.registration.policy()?;
        let rate_limits = raw.rate_limits.validate()?;
        let ops = raw.ops.validate(env("CERTBOUND_OPS_LISTEN"))?;
        if let Some(ops) = &ops {
            ops.check_distinct(&[
                ("server.listen", Some(listen)),
                ("server.http_listen", http_listen),
                ("server.mtls.listen", mtls_listen),
            ])?;
        }
        Ok(Config {
            rate_limits,
            ops,
            limits,
            shutdown_timeout: std::time::Duration::from_secs(shutdown_timeout),
            registration_policy,
            listen,
            listen_is_default,
            request_client_certificate,
            mtls_listen,
            mtls_url: raw.server.mtls.url,
            access_token_format,
            access_token_audience: raw.oauth.access_token_audience,
            http_listen,
            proxy,
            legacy_x5t_sha256: raw.oauth.introspection.legacy_x5t_sha256.unwrap_or(false),
            data_dir,
            issuer,
            max_body_bytes,
            tls,
            tls_profile: raw.tls.profile.unwrap_or_default(),
            tls_reload_check,
            storage_url,
            storage_options,
            access_token_lifetime,
            code_lifetime,
            id_token_lifetime,
            refresh_token_lifetime,
            refresh_token_idle_lifetime,
            refresh_token_rotation: raw.oauth.refresh_token_rotation.unwrap_or(true),
            refresh_token_reuse_grace: raw.oauth.refresh_token_reuse_grace.unwrap_or(0),
            session_lifetime,
            require_pkce: raw.oauth.require_pkce.unwrap_or(false),
            signing_alg,
            signing_key_refresh_interval: positive(
                raw.oauth.signing_key_refresh_interval,
                30,
                "signing_key_refresh_interval",
            )?,
            jwks_uri: raw.oauth.jwks_uri.validate()?,
            trust_stores: trust::trust_stores(
                raw.trust_stores,
                raw.oauth.mutualtls.trusted_ca_file,
            )?,
            certificate_expiry_warning_days: raw
                .oauth
                .mutualtls
                .certificate_expiry_warning_days
                .unwrap_or(30),
            log: raw.log.validate(&env, flags.log_format)?,
        })
    }

    /// The issuer for a server listening on `port`.
    pub fn issuer_for(&self, port: u16) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("https://localhost:{port}/oauth2/token"))
    }
}

/// Validates the `[oauth.mutualtls]` proxy-header keys (RFC 8705 deployments behind a
/// TLS-terminating proxy). A header without trusted proxies is refused: it would either be
/// believed from anyone (the Keycloak #35861 mistake) or from no one.
/// A `[server]` limit: the default when unset, else 1 to 1,000,000.
fn within(value: Option<usize>, default: usize, key: &str) -> Result<usize> {
    let v = value.unwrap_or(default);
    if !(1..=1_000_000).contains(&v) {
        bail!("server.{key} must be between 1 and 1000000");
    }
    Ok(v)
}

/// `[server] max_queued_requests`: 0 (no queue: 503 at once beyond the in-flight limit) to
/// 1,000,000.
fn queue_length(value: Option<usize>) -> Result<usize> {
    let v = value.unwrap_or(crate::admission::Limits::default().max_queued);
    if v > 1_000_000 {
        bail!("server.max_queued_requests must be between 0 (no queue: 503 at once) and 1000000");
    }
    Ok(v)
}

/// `[server] request_queue_timeout_ms`: 1 to 60,000 milliseconds.
fn queue_timeout(value: Option<u64>) -> Result<std::time::Duration> {
    let Some(ms) = value else {
        return Ok(crate::admission::Limits::default().queue_timeout);
    };
    if !(1..=60_000).contains(&ms) {
        bail!(
            "server.request_queue_timeout_ms must be between 1 and 60000 (how long a request waits for a slot before it gets 503)"
        );
    }
    Ok(std::time::Duration::from_millis(ms))
}

fn proxy_policy(header: Option<String>, raw: &RawMutualTls) -> Result<Option<ProxyPolicy>> {
    let trusted = raw.trusted_proxies.clone().unwrap_or_default();
    let Some(header) = header else {
        if !trusted.is_empty() || raw.client_certificate_chain_header.is_some() {
            bail!(
                "oauth.mutualtls.trusted_proxies is set but client_certificate_header is not: name the header your proxy puts the client certificate in"
            );
        }
        return Ok(None);
    };
    let header = header_name(&header, "client_certificate_header")?;
    if trusted.is_empty() {
        bail!(
            "oauth.mutualtls.client_certificate_header is set but trusted_proxies is empty: certbound believes the header only from the proxies listed there. Add the address of your TLS-terminating proxy, e.g. trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]"
        );
    }
    let trusted = trusted
        .iter()
        .map(|c| {
            c.parse::<Cidr>()
                .map_err(|e| anyhow::anyhow!("oauth.mutualtls.trusted_proxies: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let chain_header = match &raw.client_certificate_chain_header {
        Some(h) => Some(header_name(h, "client_certificate_chain_header")?),
        None if header == "client-cert" => Some("client-cert-chain".to_owned()),
        None => None,
    };
    let max_chain = raw.max_chain_length.unwrap_or(5);
    if !(1..=16).contains(&max_chain) {
        bail!("oauth.mutualtls.max_chain_length must be between 1 and 16");
    }
    Ok(Some(ProxyPolicy {
        header,
        chain_header,
        format: raw.client_certificate_header_format.unwrap_or_default(),
        trusted,
        max_chain,
    }))
}

/// A lower-cased HTTP header name that is not one the protocol itself uses.
fn header_name(name: &str, key: &str) -> Result<String> {
    let lower = name.trim().to_ascii_lowercase();
    let token = !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        bail!("oauth.mutualtls.{key} {name:?} is not a valid HTTP header name");
    }
    if [
        "authorization",
        "content-type",
        "content-length",
        "host",
        "cookie",
        "transfer-encoding",
    ]
    .contains(&lower.as_str())
    {
        bail!("oauth.mutualtls.{key} cannot be {lower:?}: that header has another meaning");
    }
    Ok(lower)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load(toml_text: &str, env: &[(&str, &str)], flags: Overrides) -> Result<Config> {
        let raw: RawConfig = toml::from_str(toml_text)?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_raw(
            raw,
            |k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            &flags,
        )
    }

    #[test]
    fn defaults_need_no_file() {
        let c = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9443");
        assert_eq!(c.issuer_for(9443), "https://localhost:9443/oauth2/token");
        assert_eq!(c.storage_url, "sqlite://certbound-data/certbound.db");
        assert!(matches!(c.tls, TlsSource::Development));
        assert_eq!(c.access_token_lifetime, 3600);
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let file = "[server]\nlisten = \"127.0.0.1:1\"\n";
        let c = load(
            file,
            &[("CERTBOUND_LISTEN", "127.0.0.1:2")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 2);
        let flags = Overrides {
            listen: Some("127.0.0.1:3".into()),
            ..Overrides::default()
        };
        let c = load(file, &[("CERTBOUND_LISTEN", "127.0.0.1:2")], flags).unwrap();
        assert_eq!(c.listen.port(), 3);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_that_name_the_key() {
        assert!(load("[server]\nlisen = \"x\"\n", &[], Overrides::default()).is_err());
        let e = load(
            "[server]\nlisten = \"localhost\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("server.listen"));
        let e = load("[tls]\ncert_file = \"a.pem\"\n", &[], Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("tls.key_file"));
    }

    #[test]
    fn the_request_queue_defaults_to_4096_for_a_second_and_is_range_checked() {
        let c = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.limits.max_queued, 4096);
        assert_eq!(c.limits.queue_timeout.as_millis(), 1000);
        let c = load(
            "[server]\nmax_queued_requests = 0\nrequest_queue_timeout_ms = 250\n",
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.limits.max_queued, 0, "0 turns the queue off");
        assert_eq!(c.limits.queue_timeout.as_millis(), 250);
        let e = load(
            "[server]\nmax_queued_requests = 1000001\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("server.max_queued_requests must be between 0"),
            "{e}"
        );
        for bad in ["0", "60001"] {
            let e = load(
                &format!("[server]\nrequest_queue_timeout_ms = {bad}\n"),
                &[],
                Overrides::default(),
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("server.request_queue_timeout_ms must be between 1 and 60000"),
                "{e}"
            );
        }
    }

    #[test]
    fn shutdown_timeout_defaults_to_ten_seconds_and_is_range_checked() {
        let c = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.shutdown_timeout.as_secs(), 10);
        let c = load(
            "[server]\nshutdown_timeout = 1\n",
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.shutdown_timeout.as_secs(), 1);
        for bad in ["0", "3601"] {
            let e = load(
                &format!("[server]\nshutdown_timeout = {bad}\n"),
                &[],
                Overrides::default(),
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("server.shutdown_timeout must be between 1 and 3600"),
                "{e}"
            );
        }
        // Not a number of seconds: the TOML type check names the key.
        let e = load(
            "[server]\nshutdown_timeout = -5\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("shutdown_timeout"), "{e:#}");
    }

    #[test]
    fn proxy_header_needs_trusted_proxies() {
        let e = load(
            "[oauth.mutualtls]\nclient_certificate_header = \"x-wso2-mtls-cert\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("trusted_proxies is empty"), "{e}");
        let ok = "[oauth.mutualtls]\nclient_certificate_header = \"X-WSO2-MTLS-Cert\"\ntrusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]\n";
        let c = load(ok, &[], Overrides::default()).unwrap();
        let p = c.proxy.unwrap();
        assert_eq!(p.header, "x-wso2-mtls-cert");
        assert_eq!(p.format, HeaderFormat::Auto);
        assert!(p.is_trusted("::1".parse().unwrap()));
        assert!(!p.is_trusted("127.0.0.2".parse().unwrap()));
        let e = load(
            "[oauth.mutualtls]\ntrusted_proxies = [\"127.0.0.1\"]\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("client_certificate_header is not"));
        let bad = "[oauth.mutualtls]\nclient_certificate_header = \"x\"\ntrusted_proxies = [\"10.0.0.0/99\"]\n";
        assert!(
            load(bad, &[], Overrides::default())
                .unwrap_err()
                .to_string()
                .contains("trusted_proxies")
        );
        let bad = "[oauth.mutualtls]\nclient_certificate_header = \"bad header\"\ntrusted_proxies = [\"10.0.0.1\"]\n";
        assert!(load(bad, &[], Overrides::default()).is_err());
        let fmt = "[oauth.mutualtls]\nclient_certificate_header = \"client-cert\"\nclient_certificate_header_format = \"rfc9440\"\ntrusted_proxies = [\"10.0.0.1\"]\n";
        let p = load(fmt, &[], Overrides::default()).unwrap().proxy.unwrap();
        assert_eq!(p.format, HeaderFormat::Rfc9440);
        assert_eq!(p.chain_header.as_deref(), Some("client-cert-chain"));
    }

    #[test]
    fn the_example_file_parses_and_matches_the_defaults() {
        let text = include_str!("../../../../certbound.example.toml");
        let c = load(text, &[], Overrides::default()).unwrap();
        let d = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.access_token_lifetime, d.access_token_lifetime);
        assert_eq!(c.max_body_bytes, d.max_body_bytes);
        assert_eq!(
            c.storage_options.connect_timeout,
            d.storage_options.connect_timeout
        );
        assert_eq!(c.registration_policy, d.registration_policy);
        assert_eq!(c.jwks_uri, d.jwks_uri);
        assert_eq!(
            c.certificate_expiry_warning_days,
            d.certificate_expiry_warning_days
        );
        assert!(c.trust_stores.is_empty());
        assert_eq!(c.rate_limits, d.rate_limits);
        assert_eq!(c.ops.map(|o| o.addr), d.ops.map(|o| o.addr));
        assert_eq!(d.ops.unwrap().addr.to_string(), "127.0.0.1:9464");
    }
}
