//! `certbound doctor` against real servers: a correctly configured one (every check passes,
//! exit 0) and deliberately misconfigured ones, where exactly the affected checks fail.

use crate::harness::{BIN, Server};
use crate::pki::{self, Identity, Validity};
use std::collections::BTreeMap;
use std::process::Command;

/// Every row doctor prints, in order.
const CHECKS: &[&str] = &[
    "discovery",
    "mtls-metadata",
    "forged-proxy-header",
    "certificate-binding",
    "tls-1.3",
    "tls-1.2",
    "tls-1.1-refused",
    "tls-1.0-refused",
];

/// A run of doctor: exit status and the table as check name -> (result, detail).
struct Report {
    success: bool,
    rows: BTreeMap<String, (String, String)>,
    stdout: String,
}

impl Report {
    fn result(&self, check: &str) -> &str {
        &self.rows[check].0
    }

    fn detail(&self, check: &str) -> &str {
        &self.rows[check].1
    }

    /// Asserts the result of every check; the others must PASS.
    fn assert_results(&self, expected: &[(&str, &str)]) {
        for check in CHECKS {
            let want = expected
                .iter()
                .find(|(c, _)| c == check)
                .map_or("PASS", |(_, r)| *r);
            assert_eq!(
                self.result(check),
                want,
                "{check}: {}\n{}",
                self.detail(check),
                self.stdout
            );
        }
    }
}

/// A registered client, its certificate and another certificate.
struct Client {
    id: String,
    cert: Identity,
    other: Identity,
}

/// Registers a self_signed_tls_client_auth client; `extra`: more `client create` flags.
fn client(server: &Server, extra: &[&str]) -> Client {
    let cert = pki::self_signed(server.path(), "doctor", "doctor", Validity::Current);
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);
    let id = server.self_signed_client(&cert.cert, extra);
    Client { id, cert, other }
}

/// Runs `certbound doctor --url URL --cacert <server CA>` with the client's flags.
fn doctor(server: &Server, url: &str, client: Option<&Client>) -> Report {
    let mut command = Command::new(BIN);
    command
        .args(["doctor", "--url", url, "--cacert"])
        .arg(server.ca())
        .env("CERTBOUND_LOG", "warn");
    if let Some(c) = client {
        command
            .args(["--client-id", &c.id, "--cert"])
            .arg(&c.cert.cert)
            .arg("--key")
            .arg(&c.cert.key)
            .arg("--other-cert")
            .arg(&c.other.cert)
            .arg("--other-key")
            .arg(&c.other.key);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("CHECK") && header.contains("RESULT") && header.contains("DETAIL"),
        "no table header: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = BTreeMap::new();
    for line in lines.by_ref().take(CHECKS.len()) {
        let mut parts = line
            .splitn(3, char::is_whitespace)
            .filter(|p| !p.is_empty());
        let name = parts.next().unwrap().to_owned();
        let rest = line[name.len()..].trim_start();
        let (result, detail) = rest.split_once(' ').unwrap_or((rest, ""));
        assert!(
            ["PASS", "FAIL", "SKIP"].contains(&result),
            "bad row {line:?}"
        );
        rows.insert(name, (result.to_owned(), detail.trim().to_owned()));
    }
    let names: Vec<&str> = rows.keys().map(String::as_str).collect();
    let mut expected = CHECKS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "{stdout}");
    let summary = lines.next().unwrap_or_default();
    let failed = rows.values().filter(|(r, _)| r == "FAIL").count();
    assert!(
        summary.contains(&format!("{failed} failed")),
        "summary {summary:?} for {failed} failures"
    );
    Report {
        success: out.status.success(),
        rows,
        stdout,
    }
}

#[test]
fn every_check_passes_against_a_correctly_configured_server() {
    // Behind a proxy at 127.0.0.2 that forwards the certificate in a header; doctor connects
    // from 127.0.0.1, an untrusted address, so its forged headers must be ignored.
    let server = Server::start_with(
        "[oauth.mutualtls]\nclient_certificate_header = \"x-wso2-mtls-cert\"\ntrusted_proxies = [\"127.0.0.2/32\"]\n",
    );
    // A resource-server client may introspect: doctor then checks cnf too.
    let c = client(&server, &["--introspect"]);
    let report = doctor(&server, &server.issuer, Some(&c));
    report.assert_results(&[]);
    assert!(report.success, "exit status 0: {}", report.stdout);
    assert!(report.detail("discovery").contains(&server.issuer));
    assert!(
        report
            .detail("certificate-binding")
            .contains(&c.cert.thumbprint()),
        "introspection cnf checked: {}",
        report.detail("certificate-binding")
    );
    assert!(
        report.detail("tls-1.0-refused").contains("refused: alert"),
        "{}",
        report.stdout
    );
    assert!(report.stdout.contains("8 passed, 0 failed, 0 skipped"));

    // Without a client, the checks that need one are skipped with the reason.
    let report = doctor(&server, &server.issuer, None);
    report.assert_results(&[
        ("forged-proxy-header", "SKIP"),
        ("certificate-binding", "SKIP"),
    ]);
    assert!(report.detail("certificate-binding").contains("--client-id"));
    assert!(report.success, "skips are not failures: {}", report.stdout);
}

#[test]
fn every_check_passes_with_mtls_endpoint_aliases_and_jwt_tokens() {
    let server = Server::start_with(
        "[oauth]\naccess_token_format = \"jwt\"\n[server]\nrequest_client_certificate = false\n[server.mtls]\nlisten = \"127.0.0.1:0\"\n",
    );
    assert!(server.alias_port.is_some());
    let c = client(&server, &[]);
    let report = doctor(&server, &server.issuer, Some(&c));
    report.assert_results(&[]);
    assert!(report.success);
    assert!(
        report
            .detail("certificate-binding")
            .contains("introspection not checked"),
        "a client that may not introspect: {}",
        report.detail("certificate-binding")
    );
    assert!(
        report
            .detail("mtls-metadata")
            .contains("mtls_endpoint_aliases on https://localhost:"),
        "{}",
        report.detail("mtls-metadata")
    );
}

#[test]
fn a_server_that_trusts_every_address_as_a_proxy_fails_the_forged_header_check() {
    let server = Server::start_with(
        "[oauth.mutualtls]\nclient_certificate_header = \"x-wso2-mtls-cert\"\ntrusted_proxies = [\"0.0.0.0/0\", \"::/0\"]\n",
    );
    let c = client(&server, &[]);
    let report = doctor(&server, &server.issuer, Some(&c));
    // From a "trusted proxy" the header is the only source of the certificate, so doctor's
    // own TLS certificate is ignored too: no bound token can be had directly.
    report.assert_results(&[
        ("forged-proxy-header", "FAIL"),
        ("certificate-binding", "FAIL"),
    ]);
    assert!(!report.success, "exit status 1");
    assert!(
        report
            .detail("forged-proxy-header")
            .contains("x-wso2-mtls-cert")
            && report
                .detail("forged-proxy-header")
                .contains("trusted_proxies"),
        "{}",
        report.detail("forged-proxy-header")
    );
    assert!(
        report
            .detail("certificate-binding")
            .contains("invalid_client"),
        "{}",
        report.detail("certificate-binding")
    );
}

#[test]
fn a_server_whose_issuer_is_not_the_url_fails_discovery_only() {
    let server =
        Server::start_with("[server]\nissuer = \"https://auth.example.com/oauth2/token\"\n");
    assert_eq!(server.issuer, "https://auth.example.com/oauth2/token");
    let c = client(&server, &[]);
    let url = format!("https://localhost:{}/oauth2/token", server.port);
    let report = doctor(&server, &url, Some(&c));
    report.assert_results(&[("discovery", "FAIL")]);
    assert!(!report.success);
    let detail = report.detail("discovery");
    assert!(
        detail.contains("https://auth.example.com/oauth2/token")
            && detail.contains(&url)
            && detail.contains("RFC 8414 §3.3"),
        "{detail}"
    );
}
