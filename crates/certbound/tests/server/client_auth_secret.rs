//! Secret-based client authentication (RFC 6749 §2.3.1) and certificate binding requested
//! with `tls_client_certificate_bound_access_tokens` (RFC 8705 §3.4).

use crate::harness::Server;
use crate::pki::{self, Validity};

fn secret_client(server: &Server, method: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["--name", "svc", "--auth-method", method];
    args.extend_from_slice(extra);
    let c = server.create_client(&args);
    (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn client_secret_basic_and_post() {
    let server = Server::start();
    let (basic_id, basic_secret) = secret_client(&server, "client_secret_basic", &[]);
    let r = server
        .post("/oauth2/token")
        .basic(&basic_id, &basic_secret)
        .form("grant_type=client_credentials")
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let info = server.introspect(r.json()["access_token"].as_str().unwrap());
    assert_eq!(info["active"], true);
    assert!(info.get("cnf").is_none(), "an unbound token has no cnf");

    let (post_id, post_secret) = secret_client(&server, "client_secret_post", &[]);
    let r = server
        .post("/oauth2/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={post_id}&client_secret={post_secret}"
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);

    // Wrong secret, wrong method, both methods at once.
    server
        .post("/oauth2/token")
        .basic(&basic_id, "wrong")
        .form("grant_type=client_credentials")
        .send()
        .assert_error(401, "invalid_client");
    server
        .post("/oauth2/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={basic_id}&client_secret={basic_secret}"
        ))
        .send()
        .assert_error(401, "invalid_client");
    server
        .post("/oauth2/token")
        .basic(&post_id, &post_secret)
        .form(&format!(
            "grant_type=client_credentials&client_secret={post_secret}"
        ))
        .send()
        .assert_error(400, "invalid_request");
    server
        .post("/oauth2/token")
        .basic(&basic_id, &basic_secret)
        .form(&format!(
            "grant_type=client_credentials&client_id={post_id}"
        ))
        .send()
        .assert_error(400, "invalid_request");
}

#[test]
fn bound_tokens_flag_binds_secret_clients_and_requires_a_certificate() {
    let server = Server::start();
    let (id, secret) = secret_client(&server, "client_secret_basic", &["--bound-tokens"]);
    let cert = pki::self_signed(server.path(), "any", "any", Validity::Current);
    let r = server
        .post("/oauth2/token")
        .cert(&cert)
        .basic(&id, &secret)
        .form("grant_type=client_credentials")
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let info = server.introspect(r.json()["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], cert.thumbprint().as_str());
    let r = server
        .post("/oauth2/token")
        .basic(&id, &secret)
        .form("grant_type=client_credentials")
        .send();
    r.assert_error(400, "invalid_request");

    // Without the flag, a presented certificate does not bind a secret client's token.
    let (plain, plain_secret) = secret_client(&server, "client_secret_basic", &[]);
    let r = server
        .post("/oauth2/token")
        .cert(&cert)
        .basic(&plain, &plain_secret)
        .form("grant_type=client_credentials")
        .send();
    assert!(
        server
            .introspect(r.json()["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
}

#[test]
fn scopes_and_lifetime_follow_the_registration() {
    let server = Server::start();
    let (id, secret) = secret_client(
        &server,
        "client_secret_basic",
        &[
            "--scope",
            "payments:read payments:write",
            "--access-token-lifetime",
            "120",
        ],
    );
    let r = server
        .post("/oauth2/token")
        .basic(&id, &secret)
        .form("grant_type=client_credentials")
        .send();
    let v = r.json();
    assert_eq!(v["scope"], "payments:read payments:write");
    assert_eq!(v["expires_in"], 120);
    let r = server
        .post("/oauth2/token")
        .basic(&id, &secret)
        .form("grant_type=client_credentials&scope=payments:read")
        .send();
    assert_eq!(r.json()["scope"], "payments:read");
    let info = server.introspect(r.json()["access_token"].as_str().unwrap());
    assert_eq!(info["scope"], "payments:read");
    assert_eq!(
        info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(),
        120
    );
    server
        .post("/oauth2/token")
        .basic(&id, &secret)
        .form("grant_type=client_credentials&scope=admin")
        .send()
        .assert_error(400, "invalid_scope");
}
