//! Bad input of every kind gets a clear OAuth error, never a 500, and the server keeps serving.

use crate::harness::Server;
use crate::pki::{self, Validity};

#[test]
fn malformed_token_requests_get_oauth_errors() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let post = |body: &str| server.post("/oauth2/token").cert(&id).form(body).send();

    post(&format!("client_id={client_id}")).assert_error(400, "invalid_request");
    let r = post(&format!(
        "grant_type=password&client_id={client_id}&username=a&password=b"
    ));
    r.assert_error(400, "unsupported_grant_type");
    let r = post(&format!("grant_type=%3Cscript%3E&client_id={client_id}"));
    let v = r.assert_error(400, "unsupported_grant_type");
    assert!(
        !v["error_description"].as_str().unwrap().contains("script"),
        "no echo of input"
    );
    post(&format!(
        "grant_type=client_credentials&grant_type=client_credentials&client_id={client_id}"
    ))
    .assert_error(400, "invalid_request");
    post(&format!(
        "grant_type=client_credentials&client_id={client_id}&client_id={client_id}"
    ))
    .assert_error(400, "invalid_request");
    post(&format!(
        "grant_type=client_credentials&client_id={client_id}%00"
    ))
    .assert_error(400, "invalid_request");
    post(&format!(
        "grant_type=client_credentials&client_id={client_id}%ff"
    ))
    .assert_error(400, "invalid_request");
    post("grant_type=client_credentials&client_id=%27%20OR%201%3D1%20--")
        .assert_error(401, "invalid_client");
    post("grant_type=client_credentials&client_id=unknown-client")
        .assert_error(401, "invalid_client");
    post("grant_type=client_credentials").assert_error(401, "invalid_client");
    post(&format!(
        "grant_type=client_credentials&client_id={client_id}&scope=%22quoted%22"
    ))
    .assert_error(400, "invalid_scope");
    post(&format!(
        "grant_type=client_credentials&client_id={client_id}&client_assertion=x"
    ))
    .assert_error(401, "invalid_client");
    post("%%%&&&===").assert_error(400, "invalid_request");

    // Wrong or missing content type.
    server
        .post("/oauth2/token")
        .cert(&id)
        .header("content-type: application/json")
        .arg("--data-raw")
        .arg(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .assert_error(400, "invalid_request");
    // Raw non-UTF-8 bytes and NUL bytes in the body.
    let raw = server.path().join("raw.bin");
    std::fs::write(
        &raw,
        b"grant_type=client_credentials&client_id=\xff\xfe\x00abc",
    )
    .unwrap();
    server
        .post("/oauth2/token")
        .cert(&id)
        .body_file(&raw)
        .send()
        .assert_error(400, "invalid_request");
    // A 1 MB body is refused with 413.
    let big = server.path().join("big.bin");
    std::fs::write(
        &big,
        format!(
            "grant_type=client_credentials&client_id={client_id}&pad={}",
            "a".repeat(1 << 20)
        ),
    )
    .unwrap();
    server
        .post("/oauth2/token")
        .cert(&id)
        .body_file(&big)
        .send()
        .assert_error(413, "invalid_request");
    // Garbage Authorization headers.
    server
        .post("/oauth2/token")
        .header("authorization: Basic !!!not-base64")
        .form("grant_type=client_credentials")
        .send()
        .assert_error(401, "invalid_client");
    server
        .post("/oauth2/token")
        .header("authorization: Basic Zm9v")
        .header("authorization: Basic YmFy")
        .form("grant_type=client_credentials")
        .send()
        .assert_error(400, "invalid_request");
    // Wrong method and unknown path.
    let r = server.post("/oauth2/token").arg("-X").arg("GET").send();
    r.assert_error(405, "method_not_allowed");
    server
        .post("/nope")
        .form("a=b")
        .send()
        .assert_error(404, "not_found");

    // After all that, the server still serves, and nothing was a 500.
    server.token_with_cert(&client_id, &id);
    assert!(!server.log().contains("panicked"));
}

#[test]
fn introspection_with_malformed_bodies() {
    let server = Server::start();
    let post = |body: &str| {
        server
            .post("/oauth2/introspect")
            .basic("admin", "admin")
            .form(body)
            .send()
    };
    post("token=a&token=b").assert_error(400, "invalid_request");
    post("token=%zz").assert_error(400, "invalid_request");
    let r = post("token=%27%3B%20DROP%20TABLE%20access_tokens%3B%20--");
    assert_eq!(r.body, r#"{"active":false}"#);
    let big = server.path().join("big.bin");
    std::fs::write(&big, format!("token={}", "a".repeat(1 << 20))).unwrap();
    server
        .post("/oauth2/introspect")
        .basic("admin", "admin")
        .body_file(&big)
        .send()
        .assert_error(413, "invalid_request");
}
