//! The TLS listener configuration: rustls, TLS 1.2 and 1.3 only, an optional `fapi` profile,
//! and a server certificate that is reloaded (SIGHUP, or a change of its files) without
//! dropping a connection. The client-certificate verifier asks for a certificate, accepts any
//! at the handshake, and still checks the handshake signature (proof of the private key).
//! Per-client validation happens later, in client authentication (RFC 8705 §2). The verifier
//! (the only rustls `danger` code, DESIGN rule 11) lives in `certbound_resource::tls`, shared
//! with resource servers.

use anyhow::{Context, Result, anyhow};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ServerConfig, SupportedCipherSuite};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

/// Whether a listener asks TLS clients for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCerts {
    /// Ask, accept any (per-client validation happens later), proceed without one.
    Request,
    /// Ask and refuse the handshake without one (the RFC 8705 §5 alias listener).
    Require,
    /// Do not ask (a main listener for browsers when the alias listener serves mTLS).
    Off,
}

/// Which TLS 1.2 cipher suites are offered (`[tls] profile`). TLS 1.3 is offered with all its
/// suites in both, and nothing older than TLS 1.2 is ever offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsProfile {
    /// rustls' defaults: ECDHE with AES-GCM or ChaCha20-Poly1305, for RSA and ECDSA keys.
    #[default]
    Default,
    /// FAPI 1.0 Advanced §8.5 and FAPI 2.0 Security Profile §5.2.1: TLS 1.2 only with
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 and TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (the
    /// DHE suites FAPI also lists are not implemented by rustls). These need an RSA server key:
    /// with an ECDSA key, only TLS 1.3 clients can connect.
    Fapi,
}

/// The TLS 1.2 suites of the `fapi` profile.
const FAPI_TLS12: [CipherSuite; 2] = [
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
];

/// The crypto provider of a profile.
fn provider(profile: TlsProfile) -> CryptoProvider {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if profile == TlsProfile::Fapi {
        provider.cipher_suites.retain(|s| match s {
            SupportedCipherSuite::Tls13(_) => true,
            SupportedCipherSuite::Tls12(_) => FAPI_TLS12.contains(&s.suite()),
        });
    }
    // Cheapest first: the server's order decides (see `server_config`).
    provider
        .cipher_suites
        .sort_by_key(|s| !AES_128_FIRST.contains(&s.suite()));
    provider
}

/// The suites the server prefers, when the client offers them: AES-128-GCM with SHA-256, the
/// suite every TLS 1.3 implementation must have (RFC 8446 §9.1). Clients such as curl and
/// rustls list AES-256-GCM with SHA-384 first; its key schedule runs SHA-384, which cost
/// about a tenth of the server's CPU per full handshake in a profile, against SHA-256 that
/// the CPU computes in hardware (SHA-NI). Both are 128-bit-secure choices (RFC 9325 §4.2).
const AES_128_FIRST: [CipherSuite; 3] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

/// The server's certificate and key, read from PEM files and replaceable while serving: every
/// new handshake uses the current pair, connections already open keep theirs.
#[derive(Debug)]
pub struct ServerCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// Modification time and length of both files when last read.
    stamp: Mutex<Option<Stamp>>,
}

type Stamp = [(SystemTime, u64); 2];

impl ServerCert {
    /// Reads the certificate chain (leaf first) and the private key (PKCS#8, PKCS#1 or SEC1).
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ServerCert> {
        let stamp = stamp(cert_file, key_file);
        let key = read_pair(cert_file, key_file)?;
        Ok(ServerCert {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(Arc::new(key)),
            stamp: Mutex::new(stamp),
        })
    }

    /// Reads the files again and, if they hold a valid pair, serves it from the next handshake
    /// on. On any error the pair in use stays, and the error says why.
    pub fn reload(&self) -> Result<()> {
        // Noted first: files that fail to load are tried again when they change again.
        *self.stamp.lock().unwrap_or_else(PoisonError::into_inner) =
            stamp(&self.cert_file, &self.key_file);
        let key = read_pair(&self.cert_file, &self.key_file)?;
        let sha256 = key.cert.first().map(|c| hex(&Sha256::digest(c)));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        crate::ops::metrics::set_server_certificate(&self.cert_file);
        tracing::info!(
            cert_file = %self.cert_file.display(),
            sha256 = sha256.as_deref().unwrap_or(""),
            "TLS server certificate reloaded"
        );
        Ok(())
    }

    /// Whether either file changed (time or length) since it was last read.
    pub fn files_changed(&self) -> bool {
        let now = stamp(&self.cert_file, &self.key_file);
        now.is_some() && now != *self.stamp.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

fn stamp(cert_file: &Path, key_file: &Path) -> Option<Stamp> {
    let one = |p: &Path| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len()))
    };
    Some([one(cert_file)?, one(key_file)?])
}

fn read_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .with_context(|| {
            format!(
                "cannot read the TLS certificate file {}",
                cert_file.display()
            )
        })?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert_file.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("{} contains no certificate", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("cannot read a PEM private key from {}", key_file.display()))?;
    CertifiedKey::from_der(certs, key, &provider(TlsProfile::Default))
        .context("the TLS certificate and key do not match or are unsupported")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds a listener's TLS configuration: TLS 1.3 and 1.2, the profile's suites, ALPN h2 and
/// http/1.1, the (reloadable) server certificate.
pub fn server_config(
    cert: &Arc<ServerCert>,
    client_certs: ClientCerts,
    profile: TlsProfile,
) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(provider(profile));
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_certs {
        ClientCerts::Off => builder.with_no_client_auth(),
        ClientCerts::Request | ClientCerts::Require => builder.with_client_cert_verifier(
            certbound_resource::tls::accept_any_client_certificate(
                &provider,
                client_certs == ClientCerts::Require,
            ),
        ),
    };
    let mut config = builder.with_cert_resolver(Arc::clone(cert) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// Reloads the server certificate on SIGHUP at once, and when its files change (checked
/// every `interval`; `None`: only on SIGHUP). A failed reload is logged and the certificate
/// in use stays.
pub fn watch(cert: Arc<ServerCert>, interval: Option<std::time::Duration>) {
    tokio::spawn(async move {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: the certificate reloads only when its files change");
                None
            }
        };
        let mut tick = interval.map(tokio::time::interval);
        loop {
            let signalled = tokio::select! {
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
                _ = async { match tick.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending::<()>().await } } => false,
            };
            if !signalled && !cert.files_changed() {
                continue;
            }
            if let Err(e) = cert.reload() {
                tracing::error!(
                    error = format!("{e:#}"),
                    "TLS server certificate not reloaded; the one in use stays"
                );
            }
        }
    });
}

pub use certbound_resource::tls::peer_certificate;
