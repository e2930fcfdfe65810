//! RFC 7662 introspection: caller authentication, the RFC 8705 §3.2 `cnf` member, and the
//! reference's request as written.

use crate::harness::Server;
use crate::pki::{self, Validity};
use std::process::Command;

#[test]
fn the_reference_introspection_request_works_as_written() {
    let server = Server::start();
    let id = pki::self_signed(
        server.path(),
        "client-certificate",
        "Gaga",
        Validity::Current,
    );
    let client_id = server.self_signed_client(&id.cert, &["--grant-type", "client_credentials"]);
    let token = server.token_with_cert(&client_id, &id);
    let token = token["access_token"].as_str().unwrap();
    // The reference's curl, only host/port (and --cacert for the development CA) differing.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            server.ca().to_str().unwrap(),
            "-X",
            "POST",
        ])
        .arg(server.url("/oauth2/introspect"))
        .args(["-H", "authorization: Basic YWRtaW46YWRtaW4="])
        .args(["-H", "content-type: application/x-www-form-urlencoded"])
        .args(["-d", &format!("token={token}")])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["scope"], "default");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["client_id"], client_id.as_str());
    assert_eq!(v["iss"], server.issuer.as_str());
    assert_eq!(v["cnf"]["x5t#S256"], id.thumbprint().as_str());
    for k in ["exp", "iat", "nbf"] {
        assert!(v[k].is_i64(), "{k} missing: {v}");
    }
    assert_eq!(
        v["exp"].as_i64().unwrap() - v["iat"].as_i64().unwrap(),
        3600
    );
}

/// Expiry itself is unit-tested with a fixed clock (certbound-core `introspect`); here the
/// wire form of an inactive answer.
#[test]
fn unknown_tokens_are_exactly_inactive() {
    let server = Server::start();
    let r = server
        .post("/oauth2/introspect")
        .basic("admin", "admin")
        .form("token=not-a-real-token")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"active":false}"#);
}

#[test]
fn introspection_requires_an_authorized_caller() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let token = server.token_with_cert(&client_id, &id);
    let form = format!("token={}", token["access_token"].as_str().unwrap());

    let r = server.post("/oauth2/introspect").form(&form).send();
    r.assert_error(401, "invalid_client");
    assert!(r.header("www-authenticate").is_some());
    server
        .post("/oauth2/introspect")
        .basic("admin", "wrong")
        .form(&form)
        .send()
        .assert_error(401, "invalid_client");
    // An unknown username reads exactly like a wrong password.
    let wrong = server
        .post("/oauth2/introspect")
        .basic("admin", "wrong")
        .form(&form)
        .send();
    let unknown = server
        .post("/oauth2/introspect")
        .basic("nobody", "admin")
        .form(&form)
        .send();
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    // A plain user is not an admin.
    let mut child = server
        .command()
        .args(["user", "create", "alice", "--password-stdin", "--data-dir"])
        .arg(server.data_dir())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"alice-pw\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    server
        .post("/oauth2/introspect")
        .basic("alice", "alice-pw")
        .form(&form)
        .send()
        .assert_error(401, "invalid_client");
    // A client not registered for introspection, authenticating correctly, is refused.
    server
        .post("/oauth2/introspect")
        .cert(&id)
        .form(&format!("{form}&client_id={client_id}"))
        .send()
        .assert_error(401, "invalid_client");
    // A resource server client registered with --introspect may, over mTLS.
    let rs = pki::self_signed(server.path(), "rs", "resource-server", Validity::Current);
    let rs_id = server.self_signed_client(&rs.cert, &["--introspect"]);
    let r = server
        .post("/oauth2/introspect")
        .cert(&rs)
        .form(&format!("{form}&client_id={rs_id}"))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["cnf"]["x5t#S256"], id.thumbprint().as_str());
    // The token parameter is required.
    server
        .post("/oauth2/introspect")
        .basic("admin", "admin")
        .form("token_type_hint=access_token")
        .send()
        .assert_error(400, "invalid_request");
}
