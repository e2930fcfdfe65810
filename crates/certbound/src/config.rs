//! Configuration: one TOML file, overlaid by `CERTBOUND_*` environment variables, then CLI
//! flags (DESIGN rule 10). Raw TOML is parsed into [`Config`] once, in `main`, and passed down.
//! Every key is documented with its default in `certbound.example.toml`.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    storage: RawStorage,
    #[serde(default)]
    oauth: RawOAuth,
    #[serde(default)]
    log: RawLog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    issuer: Option<String>,
    max_body_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth {
    access_token_lifetime: Option<u64>,
    #[serde(default)]
    mutualtls: RawMutualTls,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutualTls {
    trusted_ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    filter: Option<String>,
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
    /// Data directory (database, development TLS, first admin password).
    pub data_dir: PathBuf,
    /// Issuer; when unset, `https://localhost:<port>/oauth2/token`.
    pub issuer: Option<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// TLS certificate source.
    pub tls: TlsSource,
    /// Storage URL.
    pub storage_url: String,
    /// Default access token lifetime, seconds.
    pub access_token_lifetime: u64,
    /// Trust anchors for `tls_client_auth`.
    pub trusted_ca_file: Option<PathBuf>,
    /// tracing filter directive.
    pub log_filter: String,
}

/// Values that override the file: environment, then flags.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` / `CERTBOUND_LISTEN`.
    pub listen: Option<String>,
    /// `--data-dir` / `CERTBOUND_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
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
            .or(raw.server.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("server.listen {listen:?} is not an address like 127.0.0.1:9443 or [::1]:9443")
        })?;
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
        let storage_url = env("CERTBOUND_STORAGE_URL")
            .or(raw.storage.url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("certbound.db").display()));
        let access_token_lifetime = raw.oauth.access_token_lifetime.unwrap_or(3600);
        if access_token_lifetime == 0 {
            bail!("oauth.access_token_lifetime must be at least 1 second");
        }
        let max_body_bytes = raw.server.max_body_bytes.unwrap_or(64 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
            bail!("server.max_body_bytes must be between 1024 and 16777216");
        }
        Ok(Config {
            listen,
            data_dir,
            issuer,
            max_body_bytes,
            tls,
            storage_url,
            access_token_lifetime,
            trusted_ca_file: raw.oauth.mutualtls.trusted_ca_file,
            log_filter: env("CERTBOUND_LOG")
                .or(raw.log.filter)
                .unwrap_or_else(|| "info".to_owned()),
        })
    }

    /// The issuer for a server listening on `port`.
    pub fn issuer_for(&self, port: u16) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("https://localhost:{port}/oauth2/token"))
    }
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
            data_dir: None,
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
    fn the_example_file_parses_and_matches_the_defaults() {
        let text = include_str!("../../../certbound.example.toml");
        let c = load(text, &[], Overrides::default()).unwrap();
        let d = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.access_token_lifetime, d.access_token_lifetime);
        assert_eq!(c.max_body_bytes, d.max_body_bytes);
    }
}
