//! Development TLS: on first start without configured certificates, generate a local CA and a
//! server certificate for localhost, 127.0.0.1 and ::1 under `<data_dir>/tls/`, and keep them.

use crate::fsutil::write_private;
use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};

/// Paths of the development TLS files.
#[derive(Debug, Clone)]
pub struct DevTls {
    /// The CA certificate users pass to `curl --cacert`.
    pub ca_cert: PathBuf,
    /// The server certificate chain (server, then CA).
    pub server_cert: PathBuf,
    /// The server private key (0600).
    pub server_key: PathBuf,
}

impl DevTls {
    /// The file locations under `data_dir`.
    pub fn paths(data_dir: &Path) -> DevTls {
        let dir = data_dir.join("tls");
        DevTls {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
        }
    }

    /// Returns the files, generating them if any is missing. Returns true when generated.
    pub fn ensure(data_dir: &Path) -> Result<(DevTls, bool)> {
        let paths = Self::paths(data_dir);
        if paths.ca_cert.exists() && paths.server_cert.exists() && paths.server_key.exists() {
            return Ok((paths, false));
        }
        std::fs::create_dir_all(data_dir.join("tls")).context("cannot create the tls directory")?;
        generate(&paths)?;
        Ok((paths, true))
    }
}

/// The server certificate and key files of a configuration: the configured ones, or the
/// development ones (generated on first use). True when they were just generated.
pub fn server_files(config: &crate::config::Config) -> Result<(PathBuf, PathBuf, bool)> {
    match &config.tls {
        crate::config::TlsSource::Files {
            cert_file,
            key_file,
        } => Ok((cert_file.clone(), key_file.clone(), false)),
        crate::config::TlsSource::Development => {
            let (dev, generated) = DevTls::ensure(&config.data_dir)?;
            Ok((dev.server_cert, dev.server_key, generated))
        }
    }
}

fn generate(paths: &DevTls) -> Result<()> {
    let ca_key = KeyPair::generate().context("cannot generate the development CA key")?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "certbound development CA");
    dn.push(DnType::OrganizationName, "certbound (development only)");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    ca.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, &ca_key);

    let server_key = KeyPair::generate().context("cannot generate the development server key")?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse()?));
    server
        .subject_alt_names
        .push(SanType::IpAddress("::1".parse()?));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    server.distinguished_name = dn;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    server.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(825);
    let server_cert = server.signed_by(&server_key, &issuer)?;

    // The CA key is not kept: the server certificate is generated once with it, and a lost or
    // stolen development CA key could otherwise sign certificates for any host.
    std::fs::write(&paths.ca_cert, ca_cert.pem()).context("cannot write the CA certificate")?;
    write_private(&paths.server_key, server_key.serialize_pem().as_bytes())?;
    std::fs::write(
        &paths.server_cert,
        format!("{}{}", server_cert.pem(), ca_cert.pem()),
    )
    .context("cannot write the server certificate")?;
    Ok(())
}
