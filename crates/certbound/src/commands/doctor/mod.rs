//! `certbound doctor`: checks a running deployment from the outside, as a client would, and
//! prints one row per check (name, PASS/FAIL/SKIP, what was seen and what to fix).
//!
//! Doctor talks only to the host named by `--url`: an endpoint that discovery places on
//! another host is reached at the same path on `--url`'s origin (and the discovery check
//! fails for it), so one misconfiguration does not hide the results of the other checks.

mod binding;
mod discovery;
mod proxy_header;
mod tls_versions;

use crate::cli::DoctorArgs;
use crate::error_text::chain as error_chain;
use anyhow::{Context, Result, bail};
use certbound_core::authorize::encode as percent_encode;
use certbound_mtls::ClientCertificate;
use reqwest::Url;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Timeout of every request and handshake.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read.
const MAX_BODY: usize = 1024 * 1024;

/// A check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// One row of the table.
#[derive(Debug)]
struct Check {
    name: &'static str,
    outcome: Outcome,
    detail: String,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Pass,
            detail: detail.into(),
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Fail,
            detail: detail.into(),
        }
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Skip,
            detail: detail.into(),
        }
    }
}

/// A client identity given on the command line.
struct Identity {
    certificate: ClientCertificate,
    /// Presents this identity in the TLS handshake.
    http: reqwest::Client,
}

/// The registered client of the binding checks.
struct TestClient {
    client_id: String,
    identity: Identity,
    other: Option<Identity>,
}

/// What every check may use.
struct Doctor {
    issuer: Url,
    roots: Arc<RootCertStore>,
    /// No client certificate.
    plain: reqwest::Client,
    client: Option<TestClient>,
    /// The RFC 8414 metadata, when discovery answered.
    metadata: Option<Value>,
}

/// Runs every check, prints the table; an error (exit status 1) when a check failed.
pub async fn run(args: DoctorArgs) -> Result<()> {
    let issuer = Url::parse(&args.url).with_context(|| format!("--url {:?}", args.url))?;
    if issuer.scheme() != "https" || issuer.host_str().is_none() {
        bail!("--url must be an https URL with a host, e.g. https://auth.example.com/oauth2/token");
    }
    let roots = Arc::new(root_store(args.cacert.as_deref())?);
    let plain = https_client(&roots, None)?;
    let client = match (&args.client_id, &args.cert, &args.key) {
        (Some(id), Some(cert), Some(key)) => Some(TestClient {
            client_id: id.clone(),
            identity: identity(&roots, cert, key)?,
            other: match (&args.other_cert, &args.other_key) {
                (Some(c), Some(k)) => Some(identity(&roots, c, k)?),
                _ => None,
            },
        }),
        _ => None,
    };
    let mut doctor = Doctor {
        issuer,
        roots,
        plain,
        client,
        metadata: None,
    };
    let mut checks = discovery::run(&mut doctor).await;
    checks.push(proxy_header::run(&doctor).await);
    checks.push(binding::run(&doctor).await);
    checks.extend(tls_versions::run(&doctor).await);
    print!("{}", table(&checks));
    let failed = checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    if failed > 0 {
        bail!("{failed} of {} checks failed", checks.len());
    }
    Ok(())
}

/// The table: a header, one row per check, then a summary line.
fn table(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:width$}  RESULT  DETAIL\n", "CHECK");
    for c in checks {
        let result = match c.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        };
        // One line per row, whatever the server sent.
        let detail: String = c
            .detail
            .chars()
            .map(|ch| if ch.is_control() { ' ' } else { ch })
            .collect();
        out.push_str(&format!("{:width$}  {result:6}  {detail}\n", c.name));
    }
    let count = |o| checks.iter().filter(|c| c.outcome == o).count();
    out.push_str(&format!(
        "{} passed, {} failed, {} skipped\n",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Skip)
    ));
    out
}

impl Doctor {
    /// The URL of a metadata endpoint (`token_endpoint`…): its RFC 8705 §5 alias when `mtls`
    /// and one is published, else the published URL, else `default_path` on the issuer's
    /// origin. A URL on another host is reached at the same path on the issuer's origin.
    fn endpoint(&self, name: &str, mtls: bool, default_path: &str) -> Url {
        let published = self.metadata.as_ref().and_then(|m| {
            let alias = mtls
                .then(|| m["mtls_endpoint_aliases"][name].as_str())
                .flatten();
            alias.or(m[name].as_str())
        });
        let mut url = self.issuer.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.set_path(default_path);
        match published.and_then(|p| Url::parse(p).ok()) {
            Some(p) if p.host_str() == self.issuer.host_str() && p.scheme() == "https" => p,
            Some(p) => {
                url.set_path(p.path());
                url
            }
            None => url,
        }
    }
}

/// System roots, or only the `--cacert` certificates when given.
fn root_store(cacert: Option<&Path>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match cacert {
        Some(path) => {
            let pem =
                std::fs::read(path).with_context(|| format!("--cacert {}", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots
                    .add(cert.with_context(|| format!("{} is not PEM", path.display()))?)
                    .with_context(|| format!("{}: unusable CA certificate", path.display()))?;
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    if roots.is_empty() {
        bail!("no trusted root certificates (pass --cacert)");
    }
    Ok(roots)
}

/// Reads a certificate and its key and builds a client presenting them.
fn identity(roots: &Arc<RootCertStore>, cert: &Path, key: &Path) -> Result<Identity> {
    let cert_pem = std::fs::read_to_string(cert).with_context(|| cert.display().to_string())?;
    let key_pem = std::fs::read(key).with_context(|| key.display().to_string())?;
    let chain = ClientCertificate::from_pem(&cert_pem)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?;
    let certificate = chain
        .first()
        .cloned()
        .with_context(|| format!("{} holds no certificate", cert.display()))?;
    let ders = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("{} holds no private key", key.display()))?;
    Ok(Identity {
        certificate,
        http: https_client(roots, Some((ders, key)))?,
    })
}

/// rustls client configuration (aws-lc-rs): the given protocol versions (`None`: TLS 1.2 and
/// 1.3), optionally presenting a client certificate.
fn tls_config(
    roots: &Arc<RootCertStore>,
    versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = match versions {
        Some(v) => builder.with_protocol_versions(v)?,
        None => builder.with_safe_default_protocol_versions()?,
    }
    .with_root_certificates(Arc::clone(roots));
    Ok(match identity {
        None => builder.with_no_client_auth(),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .context("the private key does not fit the certificate")?,
    })
}

/// reqwest over [`tls_config`]: HTTPS only, no redirects.
fn https_client(
    roots: &Arc<RootCertStore>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(roots, None, identity)?)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .context("cannot build the HTTPS client")
}

/// A response as the checks see it.
struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `401 invalid_client`, `200`…: the status and the OAuth `error`, if any.
    fn summary(&self) -> String {
        match self.json().as_ref().and_then(|j| j["error"].as_str()) {
            Some(e) => format!("{} {e}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// Sends a request and reads at most [`MAX_BODY`] bytes of the answer.
async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let mut response = request.send().await.map_err(|e| error_chain(&e))?;
    let www_authenticate = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("response body larger than {MAX_BODY} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        www_authenticate,
        body,
    })
}

/// An `application/x-www-form-urlencoded` POST.
fn form_post(http: &reqwest::Client, url: Url, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    http.post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_are_one_line_each() {
        let checks = [
            Check::pass("discovery", "ok"),
            Check::fail("tls-1.0-refused", "line\nbreak"),
            Check::skip("certificate-binding", "no client"),
        ];
        let t = table(&checks);
        let lines: Vec<_> = t.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("CHECK "));
        assert!(lines[2].starts_with("tls-1.0-refused      FAIL    line break"));
        assert_eq!(lines[4], "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn percent_encoding_keeps_unreserved_only() {
        assert_eq!(percent_encode("a b+/=-_.~"), "a%20b%2B%2F%3D-_.~");
    }
}
