//! Logs and the audit trail: attacker-controlled strings (certificate DNs, client_ids) cannot
//! forge log lines or send terminal escapes; `--log-format json` writes one JSON object per
//! line; `[log] audit_file` receives one JSON line per audited event, never a secret.

use crate::browser::Browser;
use crate::code_flow::{VERIFIER, obtain_code, provision, redeem};
use crate::harness::{Response, Server};
use crate::pki::{self, Ca, Identity, Validity};
use rcgen::DnType;
use serde_json::{Value, json};
use std::path::PathBuf;

/// A common name that, written raw, would end the log line, start a forged one and clear the
/// operator's terminal.
const EVIL_CN: &str = "evil\r\nFORGED-LINE ERROR certbound: admin signed in\x1b[2J\x1b[31m";
/// The same in a client_id, URL-encoded for a form body.
const EVIL_CLIENT_ID_FORM: &str = "evil%0D%0AFORGED-LINE%20ERROR%1B%5B2J";
const EVIL_CLIENT_ID: &str = "evil\r\nFORGED-LINE ERROR\x1b[2J";

fn token_request(server: &Server, client_id: &str, id: &Identity) -> Response {
    server
        .post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
}

/// A token request whose client_id carries CR, LF and an ANSI escape. In a form body such a
/// value is refused outright (400); in the HTTP Basic header (form-encoded, RFC 6749 §2.3.1)
/// it reaches client authentication, which fails and logs it.
fn evil_client_id_request(server: &Server) -> Response {
    use base64::Engine;
    server
        .post("/oauth2/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={EVIL_CLIENT_ID_FORM}&client_secret=wrong"
        ))
        .send()
        .assert_error(400, "invalid_request");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{EVIL_CLIENT_ID_FORM}:wrong"));
    server
        .post("/oauth2/token")
        .header(&format!("authorization: Basic {basic}"))
        .form("grant_type=client_credentials")
        .send()
}

/// Asserts that nothing in `log` could forge a line or reach the terminal raw.
fn assert_no_injection(log: &str) {
    assert!(!log.contains('\x1b'), "raw ESC in the log:\n{log}");
    for line in log.split(['\n', '\r']) {
        assert!(
            !line.trim_start().starts_with("FORGED-LINE"),
            "a forged line in the log: {line:?}\n{log}"
        );
    }
}

#[test]
fn certificate_dns_and_client_ids_cannot_forge_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Log Injection Test CA");
    ca.write(&dir.path().join("ca.pem"));
    let config = format!(
        "[oauth.mutualtls]\ntrusted_ca_file = \"{}\"\n",
        dir.path().join("ca.pem").display()
    );
    let server = Server::start_in(dir, &config);
    let issued = ca.issue(
        server.path(),
        "evil-issued",
        &[(DnType::CommonName, EVIL_CN)],
        vec![],
        Validity::Current,
    );
    let self_signed = pki::self_signed(server.path(), "evil-self", EVIL_CN, Validity::Current);
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);

    // tls_client_auth: the evil certificate chains to the CA but its subject does not match.
    let pki_client = server.create_client(&[
        "--name",
        "bank",
        "--auth-method",
        "tls_client_auth",
        "--subject-dn",
        "CN=expected",
    ])["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    token_request(&server, &pki_client, &issued).assert_error(401, "invalid_client");
    // An unknown client_id, with the evil certificate.
    token_request(&server, "no-such-client", &issued).assert_error(401, "invalid_client");
    // A self-signed client registered with another certificate (the evil one is unregistered).
    let client = server.self_signed_client(&other.cert, &[]);
    token_request(&server, &client, &self_signed).assert_error(401, "invalid_client");
    // Registered: the evil certificate itself authenticates its client.
    let registered = server.self_signed_client(&self_signed.cert, &[]);
    assert_eq!(
        token_request(&server, &registered, &self_signed).status,
        200
    );
    // A client_id with CR/LF and an escape sequence in the form body and the Basic header.
    evil_client_id_request(&server).assert_error(401, "invalid_client");

    let log = server.log();
    assert_no_injection(&log);
    // The DN is logged, its control characters escaped (RFC 4514 hex pairs).
    let escaped_dn = "evil\\0D\\0AFORGED-LINE ERROR certbound: admin signed in\\1B[2J\\1B[31m";
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("client authentication failed") && l.contains(escaped_dn))
        .collect();
    assert_eq!(
        failures.len(),
        3,
        "mismatch, unknown client and unregistered certificate, each naming the DN:\n{log}"
    );
    assert!(
        failures
            .iter()
            .any(|l| l.contains(&pki_client) && l.contains(&issued.thumbprint())),
        "{failures:?}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("client authenticated") && l.contains(escaped_dn)),
        "the registered case is logged, escaped:\n{log}"
    );
    // The client_id is escaped by the log formatter: `\r`, `\n`, `\u{1b}`.
    assert!(
        log.lines()
            .any(|l| l.contains("client authentication failed")
                && l.contains("client_id=evil\\r\\nFORGED-LINE ERROR\\u{1b}[2J")),
        "the escaped client_id is logged:\n{log}"
    );
}

#[test]
fn log_format_json_writes_one_json_object_per_line_and_the_flag_wins_over_the_config() {
    let server = Server::start_with_flags("[log]\nformat = \"human\"\n", &["--log-format", "json"]);
    let id = pki::self_signed(server.path(), "json", "json-client", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    server.token_with_cert(&client_id, &id);
    evil_client_id_request(&server).assert_error(401, "invalid_client");

    let log = server.log();
    assert_no_injection(&log);
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    assert!(lines.len() > 5, "{log}");
    for v in &lines {
        assert!(v["timestamp"].is_string(), "{v}");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&v["level"].as_str().unwrap()),
            "{v}"
        );
        assert!(v["target"].is_string(), "{v}");
        // A message, or (sqlx's query events) only fields.
        assert!(
            v["message"].is_string() || v.as_object().unwrap().len() > 3,
            "{v}"
        );
    }
    let issued = lines
        .iter()
        .find(|v| v["action"] == "token.issue")
        .unwrap_or_else(|| panic!("no token.issue in\n{log}"));
    assert_eq!(issued["client_id"], client_id.as_str());
    assert_eq!(issued["x5t_s256"], id.thumbprint().as_str());
    assert_eq!(issued["target"], "audit");
    // JSON escapes by construction: the client_id comes back byte for byte.
    let failed = lines
        .iter()
        .find(|v| v["action"] == "client.auth.fail")
        .unwrap_or_else(|| panic!("no client.auth.fail in\n{log}"));
    assert_eq!(failed["client_id"], EVIL_CLIENT_ID);
    assert_eq!(failed["level"], "WARN");
}

/// A server whose audit events go to their own file (`[log] audit_file`), and that file.
fn start_with_audit_file() -> (Server, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let config = format!("[log]\naudit_file = \"{}\"\n", audit.display());
    (Server::start_in(dir, &config), audit)
}

#[test]
fn the_audit_file_gets_one_json_line_per_event_and_no_secrets() {
    let (server, audit) = start_with_audit_file();
    // CLI changes (the code-flow client and its user) are audited to the same file.
    let (id, client_id) = provision(&server);
    let b = Browser::new(&server, "audit");
    let code = obtain_code(&server, &b, &client_id);
    let issued = redeem(&server, &id, &client_id, &code, Some(VERIFIER));
    assert_eq!(issued.status, 200, "{}", issued.body);
    let issued = issued.json();
    let refreshed = server
        .post("/oauth2/token")
        .cert(&id)
        .form(&format!(
            "grant_type=refresh_token&refresh_token={}&client_id={client_id}",
            issued["refresh_token"].as_str().unwrap()
        ))
        .send();
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    let refresh_token = refreshed["refresh_token"].as_str().unwrap();
    let r = server
        .post("/oauth2/revoke")
        .cert(&id)
        .form(&format!(
            "token={refresh_token}&token_type_hint=refresh_token&client_id={client_id}"
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    server
        .post("/oauth2/token")
        .form("grant_type=client_credentials&client_id=nobody&client_secret=not-the-secret")
        .send()
        .assert_error(401, "invalid_client");
    let bob = json!({"username": "bob", "password": "bob-secret-pw"});
    let r = server
        .post("/api/admin/users")
        .basic("admin", "admin")
        .header("content-type: application/json")
        .arg("--data-raw")
        .arg(bob.to_string())
        .send();
    assert_eq!(r.status, 201, "{}", r.body);

    let text = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    let one = |action: &str| -> &Value {
        let found: Vec<&Value> = lines.iter().filter(|v| v["action"] == action).collect();
        assert_eq!(found.len(), 1, "one {action} line expected in\n{text}");
        found[0]
    };
    let x5t = id.thumbprint();
    let t = one("token.issue");
    assert_eq!(t["grant"], "authorization_code");
    assert_eq!(t["client_id"], client_id.as_str());
    assert_eq!(t["subject"], "alice");
    assert_eq!(t["x5t_s256"], x5t.as_str());
    assert!(t["scope"].as_str().unwrap().contains("openid"), "{t}");
    let t = one("token.refresh");
    assert_eq!(t["grant"], "refresh_token");
    assert_eq!(t["client_id"], client_id.as_str());
    assert_eq!(t["x5t_s256"], x5t.as_str());
    let t = one("token.revoke");
    assert_eq!(t["token_type"], "refresh_token");
    assert_eq!(t["client_id"], client_id.as_str());
    let t = one("client.auth.fail");
    assert_eq!(t["client_id"], "nobody");
    assert_eq!(t["reason"], "unknown client_id");
    assert_eq!(t["level"], "WARN");
    let t = one("user.create");
    assert_eq!(
        (&t["via"], &t["actor"], &t["user"]),
        (&json!("admin_api"), &json!("admin"), &json!("bob"))
    );
    let cli = lines
        .iter()
        .find(|v| v["action"] == "client.create" && v["client_id"] == client_id.as_str())
        .unwrap_or_else(|| panic!("the CLI's client create is audited:\n{text}"));
    assert_eq!(cli["via"], "cli");
    for v in &lines {
        assert_eq!(v["target"], "audit", "{v}");
        assert!(v["timestamp"].is_string(), "{v}");
    }
    for secret in [
        issued["access_token"].as_str().unwrap(),
        issued["refresh_token"].as_str().unwrap(),
        refreshed["access_token"].as_str().unwrap(),
        refresh_token,
        "not-the-secret",
        "bob-secret-pw",
        "BEGIN CERTIFICATE",
    ] {
        assert!(!text.contains(secret), "{secret:?} in the audit file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&audit).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "audit file mode {mode:o}");
    }
    // With its own file, the audit stream is not in the main log.
    let log = server.log();
    assert!(!log.contains("token.issue"), "{log}");
    assert!(log.contains("certbound started"), "{log}");
}

/// The audit line of a token is written before its response goes out, so a crash of the
/// process cannot lose the line of a token already answered; any batching of log writes must
/// keep this (README, "Tried and dropped"). Clients that each ask for tokens at the same time
/// find their `token.issue` line in the audit file as soon as each answer arrives, without
/// waiting.
#[test]
fn each_token_answered_has_its_audit_line_written_already() {
    let (server, audit) = start_with_audit_file();
    const CLIENTS: usize = 6;
    const REQUESTS: usize = 5;
    let clients: Vec<(Identity, String)> = (0..CLIENTS)
        .map(|i| {
            let name = format!("concurrent-{i}");
            let id = pki::self_signed(server.path(), &name, &name, Validity::Current);
            let client_id = server.self_signed_client(&id.cert, &[]);
            (id, client_id)
        })
        .collect();
    let lines_of = |client_id: &str| {
        let text = std::fs::read_to_string(&audit).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["action"] == "token.issue" && v["client_id"] == client_id)
            .count()
    };
    std::thread::scope(|s| {
        for (id, client_id) in &clients {
            let (server, lines_of) = (&server, &lines_of);
            s.spawn(move || {
                for answered in 1..=REQUESTS {
                    let r = token_request(server, client_id, id);
                    assert_eq!(r.status, 200, "{}", r.body);
                    assert_eq!(
                        lines_of(client_id),
                        answered,
                        "{answered} tokens answered to {client_id}: as many token.issue lines expected at once"
                    );
                }
            });
        }
    });
}
