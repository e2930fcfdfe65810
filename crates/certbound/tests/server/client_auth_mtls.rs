//! RFC 8705 §2 client authentication over real mutual TLS: positive and negative cases for
//! `self_signed_tls_client_auth` and `tls_client_auth`.

use crate::harness::Server;
use crate::pki::{self, Ca, Identity, Validity};
use rcgen::{DnType, SanType};

fn token_request(
    server: &Server,
    client_id: &str,
    id: Option<&Identity>,
) -> crate::harness::Response {
    let mut r = server.post("/oauth2/token");
    if let Some(id) = id {
        r = r.cert(id);
    }
    r.form(&format!(
        "grant_type=client_credentials&client_id={client_id}"
    ))
    .send()
}

#[test]
fn self_signed_client_gets_a_token_bound_to_its_certificate() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "client", "playground2", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &["--grant-type", "client_credentials"]);
    let r = token_request(&server, &client_id, Some(&id));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let token = r.json();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["scope"], "default");
    assert!(
        token.get("refresh_token").is_none(),
        "RFC 6749 §4.4.3: no refresh token"
    );
    let access_token = token["access_token"].as_str().unwrap();
    assert!(access_token.len() >= 43, "at least 256 bits");
    let info = server.introspect(access_token);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], client_id.as_str());
    assert_eq!(
        info["cnf"]["x5t#S256"],
        id.thumbprint().as_str(),
        "cnf must be SHA-256 of the presented DER"
    );
    assert!(
        info["cnf"].get("x5t#SHA256").is_none(),
        "WSO2's member is opt-in only"
    );
    assert!(
        server.log().contains(&id.thumbprint()),
        "logs name the thumbprint"
    );
    assert!(
        !server.log().contains("BEGIN CERTIFICATE"),
        "logs never carry PEM"
    );
}

#[test]
fn several_registered_certificates_allow_rotation() {
    let server = Server::start();
    let old = pki::self_signed(server.path(), "old", "svc", Validity::Current);
    let new = pki::self_signed(server.path(), "new", "svc", Validity::Current);
    let client_id = server.self_signed_client(&old.cert, &["--cert", new.cert.to_str().unwrap()]);
    for id in [&old, &new] {
        let token = server.token_with_cert(&client_id, id);
        let info = server.introspect(token["access_token"].as_str().unwrap());
        assert_eq!(info["cnf"]["x5t#S256"], id.thumbprint().as_str());
    }
}

#[test]
fn self_signed_negative_cases() {
    let server = Server::start();
    let mine = pki::self_signed(server.path(), "mine", "mine", Validity::Current);
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);
    let expired = pki::self_signed(server.path(), "expired", "mine", Validity::Expired);
    let future = pki::self_signed(server.path(), "future", "mine", Validity::NotYetValid);
    let client_id = server.self_signed_client(&mine.cert, &[]);
    let other_id = server.self_signed_client(&other.cert, &[]);
    let expired_id = server.self_signed_client(&expired.cert, &[]);
    let future_id = server.self_signed_client(&future.cert, &[]);

    token_request(&server, &client_id, None).assert_error(401, "invalid_client");
    let r = token_request(&server, &client_id, Some(&other));
    let body = r.assert_error(401, "invalid_client");
    assert!(r.header("www-authenticate").is_some());
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not one of the certificates")
    );
    token_request(&server, &other_id, Some(&mine)).assert_error(401, "invalid_client");
    let r = token_request(&server, &expired_id, Some(&expired));
    assert!(
        r.assert_error(401, "invalid_client")["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let r = token_request(&server, &future_id, Some(&future));
    assert!(
        r.assert_error(401, "invalid_client")["error_description"]
            .as_str()
            .unwrap()
            .contains("not yet valid")
    );
    // Sanity: the same server does issue to the right certificate.
    server.token_with_cert(&client_id, &mine);
}

#[test]
fn mtls_client_that_also_sends_a_secret_is_rejected() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let r = server
        .post("/oauth2/token")
        .cert(&id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret=guess"
        ))
        .send();
    r.assert_error(400, "invalid_request");
    let r = server
        .post("/oauth2/token")
        .cert(&id)
        .basic(&client_id, "guess")
        .form("grant_type=client_credentials")
        .send();
    r.assert_error(400, "invalid_request");
}

/// A server trusting `ca` for tls_client_auth.
fn pki_server(ca: &Ca) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("client-ca.pem");
    ca.write(&ca_path);
    let config = format!(
        "[oauth.mutualtls]\ntrusted_ca_file = {:?}\n",
        ca_path.to_str().unwrap()
    );
    Server::start_in(dir, &config)
}

fn tls_client(server: &Server, flag: &str, value: &str) -> String {
    server.create_client(&[
        "--name",
        "bank",
        "--auth-method",
        "tls_client_auth",
        flag,
        value,
    ])["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const SUBJECT: &[(DnType, &str)] = &[
    (DnType::CountryName, "GB"),
    (DnType::OrganizationName, "Acme, Inc."),
    (DnType::CommonName, "payments-client"),
];

#[test]
fn tls_client_auth_by_subject_dn_matches_canonically() {
    let ca = Ca::new("Test Issuing CA");
    let server = pki_server(&ca);
    let id = ca.issue(server.path(), "client", SUBJECT, vec![], Validity::Current);
    // RFC 4514 order (most specific first), with an escaped comma.
    let canonical = tls_client(
        &server,
        "--subject-dn",
        r"CN=payments-client,O=Acme\, Inc.,C=GB",
    );
    let token = server.token_with_cert(&canonical, &id);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], id.thumbprint().as_str());
    // Only the RDN order differs (as `openssl x509 -subject` prints it).
    let reordered = tls_client(
        &server,
        "--subject-dn",
        r"C=GB,O=Acme\, Inc.,CN=payments-client",
    );
    server.token_with_cert(&reordered, &id);
    // Only the escaping differs: a hex pair instead of a backslash-comma.
    let hex = tls_client(
        &server,
        "--subject-dn",
        r"CN=payments-client,O=Acme\2C Inc.,C=GB",
    );
    server.token_with_cert(&hex, &id);
    // Only the escaping differs: a quoted value.
    let quoted = tls_client(
        &server,
        "--subject-dn",
        r#"CN=payments-client,O="Acme, Inc.",C=GB"#,
    );
    server.token_with_cert(&quoted, &id);
    // Case and spacing (attribute values compare case-insensitively, RFC 4518).
    let cased = tls_client(
        &server,
        "--subject-dn",
        r"cn = Payments-Client , o=ACME\, INC., c=gb",
    );
    server.token_with_cert(&cased, &id);
    // A DN that really differs must not match; nor one with an extra RDN.
    let different = tls_client(
        &server,
        "--subject-dn",
        r"CN=payments-client2,O=Acme\, Inc.,C=GB",
    );
    let r = token_request(&server, &different, Some(&id));
    assert!(
        r.assert_error(401, "invalid_client")["error_description"]
            .as_str()
            .unwrap()
            .contains("subject")
    );
    let extra = tls_client(
        &server,
        "--subject-dn",
        r"CN=payments-client,OU=Ops,O=Acme\, Inc.,C=GB",
    );
    token_request(&server, &extra, Some(&id)).assert_error(401, "invalid_client");
}

#[test]
fn tls_client_auth_rejects_untrusted_expired_and_missing_certificates() {
    let ca = Ca::new("Test Issuing CA");
    let rogue = Ca::new("Test Issuing CA"); // same name, different key: not trusted
    let server = pki_server(&ca);
    let client_id = tls_client(
        &server,
        "--subject-dn",
        r"CN=payments-client,O=Acme\, Inc.,C=GB",
    );
    let forged = rogue.issue(server.path(), "forged", SUBJECT, vec![], Validity::Current);
    let r = token_request(&server, &client_id, Some(&forged));
    assert!(
        r.assert_error(401, "invalid_client")["error_description"]
            .as_str()
            .unwrap()
            .contains("trusted")
    );
    let expired = ca.issue(server.path(), "expired", SUBJECT, vec![], Validity::Expired);
    token_request(&server, &client_id, Some(&expired)).assert_error(401, "invalid_client");
    let future = ca.issue(
        server.path(),
        "future",
        SUBJECT,
        vec![],
        Validity::NotYetValid,
    );
    token_request(&server, &client_id, Some(&future)).assert_error(401, "invalid_client");
    token_request(&server, &client_id, None).assert_error(401, "invalid_client");
    let self_signed = pki::self_signed(server.path(), "ss", "payments-client", Validity::Current);
    token_request(&server, &client_id, Some(&self_signed)).assert_error(401, "invalid_client");
    let good = ca.issue(server.path(), "good", SUBJECT, vec![], Validity::Current);
    server.token_with_cert(&client_id, &good);
}

#[test]
fn tls_client_auth_by_each_san_type() {
    let ca = Ca::new("Test Issuing CA");
    let server = pki_server(&ca);
    let sans = vec![
        SanType::DnsName("client.bank.example".try_into().unwrap()),
        SanType::URI("spiffe://bank.example/payments".try_into().unwrap()),
        SanType::IpAddress("192.0.2.10".parse().unwrap()),
        SanType::Rfc822Name("ops@bank.example".try_into().unwrap()),
    ];
    let id = ca.issue(
        server.path(),
        "san",
        &[(DnType::CommonName, "san-client")],
        sans,
        Validity::Current,
    );
    for (flag, good, bad) in [
        ("--san-dns", "CLIENT.bank.example", "other.bank.example"),
        (
            "--san-uri",
            "spiffe://bank.example/payments",
            "spiffe://bank.example/Payments",
        ),
        ("--san-ip", "192.0.2.10", "::ffff:192.0.2.10"),
        ("--san-email", "ops@BANK.example", "dev@bank.example"),
    ] {
        let ok = tls_client(&server, flag, good);
        let token = server.token_with_cert(&ok, &id);
        assert!(token["access_token"].is_string(), "{flag}");
        let no = tls_client(&server, flag, bad);
        token_request(&server, &no, Some(&id)).assert_error(401, "invalid_client");
    }
}

#[test]
fn tls_client_auth_without_configured_trust_anchors_fails_closed() {
    let ca = Ca::new("Test Issuing CA");
    let server = Server::start();
    let id = ca.issue(server.path(), "client", SUBJECT, vec![], Validity::Current);
    let client_id = tls_client(
        &server,
        "--subject-dn",
        r"CN=payments-client,O=Acme\, Inc.,C=GB",
    );
    token_request(&server, &client_id, Some(&id)).assert_error(401, "invalid_client");
}
