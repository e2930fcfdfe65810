//! The playground's credentials: two self-signed client certificates generated once with rcgen
//! under `<data_dir>/playground/` (the registered one and an unregistered "other" one), the
//! HTTPS clients that present them, and the idempotent registration of the `playground` client
//! in certbound's store. Private keys are written 0600 and never printed.

use crate::fsutil::{create_private_dir, write_private};
use anyhow::{Context, Result};
use certbound_core::model::{Client, ClientAuthMethod, GrantType, TokenFormat};
use certbound_core::registration::{ClientSpec, build_client};
use certbound_core::store::Store;
use certbound_core::{Clock, OsRandom, SystemClock};
use certbound_mtls::{ClientCertificate, PeerCertificate};
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The registered client's name.
pub const CLIENT_NAME: &str = "playground";

/// A client certificate and the HTTPS client that presents it.
pub struct Identity {
    /// Shown on pages: "playground" or "other".
    pub label: &'static str,
    /// The certificate as a presented chain (for local token verification).
    pub peer: PeerCertificate,
    /// base64url SHA-256 of the DER (RFC 8705 §3.1 `x5t#S256`).
    pub x5t: String,
    /// reqwest client: this certificate, trusting the server's CA only.
    pub http: reqwest::Client,
}

/// Loads (or first generates) both identities.
pub fn identities(dir: &Path, ca_pem: &str) -> Result<(Identity, Identity)> {
    create_private_dir(dir)?;
    let right = identity(dir, "client", "playground", ca_pem)?;
    let other = identity(dir, "other", "other", ca_pem)?;
    Ok((right, other))
}

fn identity(dir: &Path, stem: &str, label: &'static str, ca_pem: &str) -> Result<Identity> {
    let cert_path = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}-key.pem"));
    if !cert_path.exists() || !key_path.exists() {
        let (cert, key) = generate(&format!("certbound playground ({label})"))?;
        write_private(&key_path, key.as_bytes())?;
        std::fs::write(&cert_path, cert)
            .with_context(|| format!("cannot write {}", cert_path.display()))?;
    }
    let cert_pem = std::fs::read_to_string(&cert_path)
        .with_context(|| format!("cannot read {}", cert_path.display()))?;
    let key_pem = std::fs::read_to_string(&key_path)
        .with_context(|| format!("cannot read {}", key_path.display()))?;
    let leaf = ClientCertificate::from_pem(&cert_pem)
        .ok()
        .and_then(|v| v.into_iter().next())
        .with_context(|| {
            format!(
                "{} is not a PEM certificate: delete it to regenerate",
                cert_path.display()
            )
        })?;
    let x5t = leaf.thumbprint().to_base64url();
    Ok(Identity {
        label,
        peer: PeerCertificate {
            leaf,
            intermediates: Vec::new(),
        },
        x5t,
        http: https_client(ca_pem, &cert_pem, &key_pem)?,
    })
}

/// A self-signed client certificate (PEM) and its private key (PKCS#8 PEM).
fn generate(common_name: &str) -> Result<(String, String)> {
    let key = KeyPair::generate().context("cannot generate a client key")?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "certbound playground (demo only)");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(825);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// reqwest over rustls (aws-lc-rs): the CA as the only root, the certificate as identity.
fn https_client(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(ca.context("the server's CA file is not PEM")?)
            .context("the server's CA certificate is unusable")?;
    }
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("the playground certificate is not PEM")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .context("the playground private key is not PEM")?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .context("the playground key does not fit its certificate")?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the HTTPS client")
}

/// Returns the playground's client_id: the stored one when that client still exists with this
/// certificate and redirect URI, otherwise a freshly registered client (replacing the old one).
pub async fn ensure_client(
    store: &dyn Store,
    dir: &Path,
    identity: &Identity,
    redirect_uri: &str,
) -> Result<String> {
    let id_file = dir.join("client_id");
    if let Ok(id) = std::fs::read_to_string(&id_file) {
        let id = id.trim();
        if let Some(existing) = store.find_client(id).await? {
            if fits(&existing, identity, redirect_uri) {
                return Ok(existing.client_id.clone());
            }
            // A different port or certificate: replace it (its tokens go with it).
            store.delete_client(id).await?;
        }
    }
    let spec = ClientSpec {
        name: CLIENT_NAME.to_owned(),
        auth_method: ClientAuthMethod::SelfSignedTlsClientAuth,
        certificates: vec![identity.peer.leaf.clone()],
        subject: None,
        trust_store: None,
        jwks_uri: None,
        grant_types: vec![
            GrantType::ClientCredentials,
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
        ],
        redirect_uris: vec![redirect_uri.to_owned()],
        scopes: Vec::new(),
        bound_tokens: false,
        access_token_lifetime: None,
        access_token_format: Some(TokenFormat::Jwt),
        can_introspect: true,
    };
    let (client, _) = build_client(spec, &OsRandom, SystemClock.now())
        .map_err(|e| anyhow::anyhow!("cannot register the playground client: {e}"))?;
    store.insert_client(&client).await?;
    std::fs::write(&id_file, &client.client_id)
        .with_context(|| format!("cannot write {}", id_file.display()))?;
    tracing::info!(client_id = %client.client_id, x5t = %identity.x5t, "registered the playground client");
    Ok(client.client_id)
}

fn fits(client: &Client, identity: &Identity, redirect_uri: &str) -> bool {
    client.auth_method == ClientAuthMethod::SelfSignedTlsClientAuth
        && client.redirect_uris.iter().any(|u| u == redirect_uri)
        && client
            .certificates
            .iter()
            .any(|c| c.thumbprint().to_base64url() == identity.x5t)
        && client.access_token_format == Some(TokenFormat::Jwt)
        && client.can_introspect
        && client.grant_types.contains(&GrantType::RefreshToken)
}
