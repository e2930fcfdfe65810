//! Named trust stores (RFC 8705 §2.1, §7.4), CRLs and the certificate expiry report, against
//! the real server.

use crate::harness::{BIN, Response, Server};
use crate::pki::{self, Ca, Identity, Validity};
use rcgen::DnType;
use std::path::Path;
use std::time::{Duration, Instant};

const SUBJECT: &[(DnType, &str)] = &[
    (DnType::CountryName, "GB"),
    (DnType::OrganizationName, "Acme"),
    (DnType::CommonName, "payments-client"),
];
const SUBJECT_DN: &str = "CN=payments-client,O=Acme,C=GB";

fn token_request(server: &Server, client_id: &str, id: &Identity) -> Response {
    server
        .post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
}

/// A tls_client_auth client for SUBJECT_DN, limited to `store` when given.
fn pki_client(server: &Server, store: Option<&str>) -> String {
    let mut args = vec![
        "--name",
        "bank",
        "--auth-method",
        "tls_client_auth",
        "--subject-dn",
        SUBJECT_DN,
    ];
    if let Some(store) = store {
        args.extend(["--trust-store", store]);
    }
    server.create_client(&args)["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn description(r: &Response) -> String {
    r.assert_error(401, "invalid_client")["error_description"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn path_str(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

#[test]
fn client_bound_to_a_store_refuses_a_certificate_with_the_same_subject_from_another_store() {
    let dir = tempfile::tempdir().unwrap();
    // Two CAs with the same name, in two stores, each issuing a certificate with the same DN.
    let (partners, internal) = (Ca::new("Issuing CA"), Ca::new("Issuing CA"));
    partners.write(&dir.path().join("partners.pem"));
    internal.write(&dir.path().join("internal.pem"));
    let config = format!(
        "[trust_stores.partners]\nca_file = {:?}\n\n[trust_stores.internal]\nca_file = {:?}\n",
        path_str(dir.path(), "partners.pem"),
        path_str(dir.path(), "internal.pem"),
    );
    let server = Server::start_in(dir, &config);
    let from_partners = partners.issue(server.path(), "p", SUBJECT, vec![], Validity::Current);
    let from_internal = internal.issue(server.path(), "i", SUBJECT, vec![], Validity::Current);

    let bound = pki_client(&server, Some("partners"));
    let r = token_request(&server, &bound, &from_internal);
    assert!(description(&r).contains("not issued by a trusted"));
    let token = server.token_with_cert(&bound, &from_partners);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], from_partners.thumbprint().as_str());

    // Without a store, either store's CA may vouch for the client (documented; not advised).
    let unbound = pki_client(&server, None);
    server.token_with_cert(&unbound, &from_partners);
    server.token_with_cert(&unbound, &from_internal);

    // Registering a client for a store that is not configured is refused outright.
    let out = server.cli(&[
        "client",
        "create",
        "--name",
        "x",
        "--auth-method",
        "tls_client_auth",
        "--subject-dn",
        SUBJECT_DN,
        "--trust-store",
        "gone",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust_store"));

    // A store later removed from the configuration: its clients fail closed, and the next
    // start names them (and advises the unbound one).
    let orphan = pki_client(&server, Some("internal"));
    let config = format!(
        "[trust_stores.partners]\nca_file = {:?}\n\n[trust_stores.internal2]\nca_file = {:?}\n",
        path_str(server.path(), "partners.pem"),
        path_str(server.path(), "internal.pem"),
    );
    std::fs::write(server.path().join("certbound.toml"), config).unwrap();
    let server = server.restart();
    token_request(&server, &orphan, &from_internal).assert_error(401, "invalid_client");
    token_request(&server, &orphan, &from_partners).assert_error(401, "invalid_client");
    let log = server.log_after_client_checks();
    assert!(
        log.contains("names a trust store that is not configured"),
        "{log}"
    );
    assert!(
        log.contains(&format!("client_id={orphan}")) && log.contains("trust_store=internal"),
        "{log}"
    );
    assert!(log.contains("client names no trust store"), "{log}");
}

#[test]
fn revoked_certificate_is_refused_audited_and_refresh_picks_up_new_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("CRL Issuing CA");
    ca.write(&dir.path().join("ca.pem"));
    let good = ca.issue(dir.path(), "good", SUBJECT, vec![], Validity::Current);
    let revoked = ca.issue(dir.path(), "revoked", SUBJECT, vec![], Validity::Current);
    let later = ca.issue(dir.path(), "later", SUBJECT, vec![], Validity::Current);
    let crl = dir.path().join("ca.crl");
    ca.write_crl(&crl, &[&revoked]);
    let config = format!(
        "[trust_stores.bank]\nca_file = {:?}\ncrl_files = [{:?}]\ncrl_refresh_interval = 1\n",
        path_str(dir.path(), "ca.pem"),
        crl.to_str().unwrap(),
    );
    let server = Server::start_in(dir, &config);
    let client_id = pki_client(&server, Some("bank"));

    let r = token_request(&server, &client_id, &revoked);
    assert_eq!(description(&r), "the client certificate has been revoked");
    let log = server.log();
    let audit = log
        .lines()
        .find(|l| l.contains("client authentication failed") && l.contains("has been revoked"))
        .unwrap_or_else(|| panic!("no audit line in\n{log}"));
    assert!(audit.contains("audit"), "{audit}");
    assert!(audit.contains(&revoked.thumbprint()), "{audit}");
    assert!(audit.contains(&client_id), "{audit}");
    server.token_with_cert(&client_id, &good);
    server.token_with_cert(&client_id, &later);

    // The CA revokes one more; the next refresh (every second) picks it up.
    ca.write_crl(&crl, &[&revoked, &later]);
    assert!(
        poll(|| token_request(&server, &client_id, &later).status == 401),
        "the refreshed CRL was not applied"
    );
    let r = token_request(&server, &client_id, &later);
    assert_eq!(description(&r), "the client certificate has been revoked");
    server.token_with_cert(&client_id, &good);

    // A broken CRL file is logged and the last good CRL kept.
    std::fs::write(&crl, "not a CRL").unwrap();
    assert!(poll(|| server.log().contains("CRL refresh failed")));
    token_request(&server, &client_id, &later).assert_error(401, "invalid_client");
    server.token_with_cert(&client_id, &good);
    assert!(
        !server.log().contains("BEGIN CERTIFICATE"),
        "logs never carry PEM"
    );
}

/// Polls `f` every 100 ms for up to 15 s.
fn poll(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_crl_not_signed_by_the_store_ca_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, impostor) = (Ca::new("Issuing CA"), Ca::new("Issuing CA"));
    ca.write(&dir.path().join("ca.pem"));
    impostor.write_crl(&dir.path().join("forged.crl"), &[]);
    let config = format!(
        "[trust_stores.bank]\nca_file = {:?}\ncrl_files = [{:?}]\n",
        path_str(dir.path(), "ca.pem"),
        path_str(dir.path(), "forged.crl"),
    );
    std::fs::write(dir.path().join("certbound.toml"), config).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(dir.path().join("certbound.toml"))
        .env("CERTBOUND_ADMIN_PASSWORD", "admin")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trust_stores.bank.crl_files") && err.contains("not signed"),
        "{err}"
    );
}

#[test]
fn registered_certificates_expiring_within_the_window_are_reported_at_start() {
    let server = Server::start_with("[oauth.mutualtls]\ncertificate_expiry_warning_days = 10\n");
    let soon = pki::self_signed(server.path(), "soon", "soon", Validity::ExpiresInDays(5));
    let later = pki::self_signed(server.path(), "later", "later", Validity::ExpiresInDays(60));
    let soon_client = server.self_signed_client(&soon.cert, &[]);
    server.self_signed_client(&later.cert, &[]);
    let server = server.restart();
    let log = server.log_after_client_checks();
    let line = log
        .lines()
        .find(|l| l.contains("expires soon"))
        .unwrap_or_else(|| panic!("no expiry warning in\n{log}"));
    assert!(line.contains(&soon.thumbprint()), "{line}");
    assert!(line.contains(&soon_client), "{line}");
    assert!(line.contains("not_after="), "{line}");
    assert!(!log.contains(&later.thumbprint()), "{log}");
}
