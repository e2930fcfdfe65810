//! The CLI reaches the admin operations: `client update`, `client cert add|retire` (a rotation
//! checked with real mTLS token requests), `user list` and `user delete`.

use crate::harness::Server;
use crate::pki::{self, Validity};
use serde_json::Value;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

#[test]
fn cli_rotates_a_certificate_and_updates_a_client() {
    let server = Server::start();
    let first = pki::self_signed(server.path(), "first", "cli", Validity::Current);
    let second = pki::self_signed(server.path(), "second", "cli", Validity::Current);
    let id = server.self_signed_client(&first.cert, &[]);
    server.token_with_cert(&id, &first);

    let out = server.cli(&[
        "client",
        "cert",
        "add",
        &id,
        "--cert",
        second.cert.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(json(&out)["certificates"].as_array().unwrap().len(), 2);
    server.token_with_cert(&id, &second);
    // The same certificate twice, and a file that is not a certificate, are refused.
    let again = server.cli(&[
        "client",
        "cert",
        "add",
        &id,
        "--cert",
        second.cert.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already registered"));
    let key = server.cli(&[
        "client",
        "cert",
        "add",
        &id,
        "--cert",
        second.key.to_str().unwrap(),
    ]);
    assert!(!key.status.success());
    assert!(String::from_utf8_lossy(&key.stderr).contains("certificate"));

    ok(&server.cli(&[
        "client",
        "cert",
        "retire",
        &id,
        "--x5t",
        &first.thumbprint(),
    ]));
    // A change made by another process (this CLI) reaches the running server's client cache
    // within its 100 ms poll interval; allow a slow machine 3 s, then it must be refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let refused = loop {
        let r = server
            .post("/oauth2/token")
            .cert(&first)
            .form(&format!("grant_type=client_credentials&client_id={id}"))
            .send();
        if r.status != 200 || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    refused.assert_error(401, "invalid_client");
    server.token_with_cert(&id, &second);
    let last = server.cli(&[
        "client",
        "cert",
        "retire",
        &id,
        "--x5t",
        &second.thumbprint(),
    ]);
    assert!(!last.status.success());
    assert!(String::from_utf8_lossy(&last.stderr).contains("only certificate"));

    // client update: options replace parts of the registration, validated as the API does.
    let updated = json(&server.cli(&[
        "client",
        "update",
        &id,
        "--name",
        "renamed",
        "--scope",
        "read write",
        "--access-token-lifetime",
        "90",
        "--access-token-format",
        "jwt",
        "--json",
    ]));
    assert_eq!(updated["client_name"], "renamed");
    assert_eq!(updated["scope"], "read write");
    assert_eq!(updated["access_token_lifetime"], 90);
    assert_eq!(updated["access_token_format"], "jwt");
    assert_eq!(updated["certificates"].as_array().unwrap().len(), 1);
    // Settings changed by another process (this CLI) apply within the client cache's 100 ms
    // poll interval; allow a slow machine 3 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let token = loop {
        let token = server.token_with_cert(&id, &second);
        if token["expires_in"] == 90 || std::time::Instant::now() > deadline {
            break token;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(token["expires_in"], 90);
    let bad = server.cli(&[
        "client",
        "update",
        &id,
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        "http://evil.example/cb",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"));
    let code = json(&server.cli(&[
        "client",
        "update",
        &id,
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        "https://app.example/cb",
        "--json",
    ]));
    assert_eq!(
        code["grant_types"],
        serde_json::json!(["authorization_code"])
    );
    assert_eq!(
        code["redirect_uris"],
        serde_json::json!(["https://app.example/cb"])
    );
}

#[test]
fn cli_lists_and_deletes_users_but_keeps_the_last_admin() {
    let server = Server::start();
    crate::code_flow::create_user(&server, "dave", "dave-pw", &["name=Dave"]);
    let users = json(&server.cli(&["user", "list", "--json"]));
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "dave"]);
    assert!(!users.to_string().contains("argon2"));
    let last = server.cli(&["user", "delete", "admin"]);
    assert!(!last.status.success());
    assert!(String::from_utf8_lossy(&last.stderr).contains("last administrator"));
    ok(&server.cli(&["user", "delete", "dave"]));
    assert!(!server.cli(&["user", "delete", "dave"]).status.success());
    assert!(ok(&server.cli(&["user", "list"])).starts_with("admin\tadmin"));
}
