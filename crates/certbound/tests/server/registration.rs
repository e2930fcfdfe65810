//! Dynamic client registration over HTTPS: RFC 7591 at `/oauth2/register` under each policy,
//! every metadata validation rule, RFC 8705 clients registered dynamically and then getting
//! bound tokens over real mutual TLS, and RFC 7592 read/update/delete with the registration
//! access token.

use crate::harness::{Response, Server};
use crate::pki::{self, Ca, Identity, Validity};
use base64::Engine;
use rcgen::{DnType, SanType};
use serde_json::{Value, json};

const OPEN: &str = "[registration]\npolicy = \"open\"\n";

fn register(server: &Server, token: Option<&str>, body: &str) -> Response {
    let mut r = server
        .post("/oauth2/register")
        .header("content-type: application/json")
        .arg("--data-raw")
        .arg(body);
    if let Some(t) = token {
        r = r.header(&format!("authorization: Bearer {t}"));
    }
    r.send()
}

/// Registers, asserting 201; returns the client information response.
fn registered(server: &Server, token: Option<&str>, body: &Value) -> Value {
    let r = register(server, token, &body.to_string());
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    r.json()
}

fn manage(server: &Server, method: &str, client_id: &str, token: &str) -> crate::harness::Request {
    server
        .post(&format!("/oauth2/register/{client_id}"))
        .arg("-X")
        .arg(method)
        .header(&format!("authorization: Bearer {token}"))
}

fn assert_invalid_token(r: &Response) {
    r.assert_error(401, "invalid_token");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "RFC 6750 §3 challenge: {}",
        r.headers
    );
}

fn x5c_jwks(id: &Identity) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(&id.der);
    json!({ "keys": [{ "kty": "EC", "x5c": [b64] }] })
}

fn initial_token(server: &Server, extra: &[&str]) -> String {
    let mut args = vec!["registration", "token", "create", "--json"];
    args.extend_from_slice(extra);
    let out = server.cli(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["initial_access_token"].as_str().unwrap().to_owned()
}

fn discovery(server: &Server) -> Value {
    let r = server
        .post("/.well-known/openid-configuration")
        .arg("-G")
        .send();
    assert_eq!(r.status, 200);
    r.json()
}

#[test]
fn disabled_policy_refuses_registration_and_discovery_omits_it() {
    let server = Server::start_with("[registration]\npolicy = \"disabled\"\n");
    let body = json!({ "grant_types": ["client_credentials"] }).to_string();
    register(&server, None, &body).assert_error(403, "access_denied");
    assert!(discovery(&server).get("registration_endpoint").is_none());
}

#[test]
fn default_policy_requires_an_initial_access_token() {
    let server = Server::start();
    assert_eq!(
        discovery(&server)["registration_endpoint"],
        server.url("/oauth2/register")
    );
    let body = json!({ "client_name": "svc", "grant_types": ["client_credentials"] });
    // Nobody can register until the operator creates a token.
    assert_invalid_token(&register(&server, None, &body.to_string()));
    assert_invalid_token(&register(&server, Some("guessed"), &body.to_string()));
    // Authentication comes first: a caller without a token learns nothing about its body.
    assert_invalid_token(&register(&server, None, "{not json"));

    let token = initial_token(&server, &["--uses", "2"]);
    let stdout = server
        .cli(&["registration", "token", "list", "--json"])
        .stdout;
    assert!(
        !String::from_utf8_lossy(&stdout).contains(&token),
        "never listed"
    );
    registered(&server, Some(&token), &body);
    registered(&server, Some(&token), &body);
    assert_invalid_token(&register(&server, Some(&token), &body.to_string()));

    // Revoked.
    let out = server.cli(&["registration", "token", "create", "--json"]);
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let revoked = created["initial_access_token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(
        server
            .cli(&["registration", "token", "revoke", id])
            .status
            .success()
    );
    assert_invalid_token(&register(&server, Some(revoked), &body.to_string()));

    // Expired.
    let expiring = initial_token(&server, &["--expires-in", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_invalid_token(&register(&server, Some(&expiring), &body.to_string()));
    assert!(!server.log().contains(&token), "tokens never reach the log");
}

#[test]
fn every_validation_rule_is_an_rfc7591_error_naming_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let id = pki::self_signed(dir.path(), "c", "client", Validity::Current);
    let server = Server::start_in(dir, OPEN);
    let cc = json!(["client_credentials"]);
    let not_cert = base64::engine::general_purpose::STANDARD.encode(b"not a certificate");
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": cc}),
            "invalid_client_metadata",
            "tls_client_auth_subject_dn",
        ),
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": cc,
                   "tls_client_auth_subject_dn": "CN=a", "tls_client_auth_san_dns": "a.example"}),
            "invalid_client_metadata",
            "tls_client_auth_san_dns",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": cc,
                   "jwks": {"keys": [{"kty": "EC"}]}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": cc,
                   "jwks": {"keys": [{"kty": "EC", "x5c": ["%%% not base64"]}]}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": cc,
                   "jwks": {"keys": [{"kty": "EC", "x5c": [not_cert]}]}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": cc,
                   "jwks": x5c_jwks(&id), "jwks_uri": "https://client.example/jwks"}),
            "invalid_client_metadata",
            "jwks_uri",
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
            "invalid_client_metadata",
            "response_types",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        (json!([1, 2]), "invalid_client_metadata", "body"),
    ];
    for (body, code, member) in cases {
        let v = register(&server, None, &body.to_string()).assert_error(400, code);
        assert_eq!(v["field"], member, "{body}: {v}");
    }
    // Malformed JSON and the wrong content type are 400s too, never 500s.
    let v =
        register(&server, None, "{\"client_name\": ").assert_error(400, "invalid_client_metadata");
    assert_eq!(v["field"], "body");
    server
        .post("/oauth2/register")
        .form("client_name=x")
        .send()
        .assert_error(400, "invalid_request");
    assert_eq!(
        server
            .post("/oauth2/register")
            .arg("-X")
            .arg("PATCH")
            .send()
            .status,
        405
    );
}

#[test]
fn privileged_members_are_ignored() {
    let server = Server::start_with(OPEN);
    let v = registered(
        &server,
        None,
        &json!({
            "client_name": "greedy",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["client_credentials"],
            "introspection_allowed": true,
            "access_token_lifetime": 31536000,
            "access_token_format": "jwt",
            "trust_store": "partners",
            "certificates": ["-----BEGIN CERTIFICATE-----"],
            "something_else": {"a": 1},
        }),
    );
    assert_eq!(v["introspection_allowed"], false);
    assert!(v["access_token_lifetime"].is_null());
    assert!(v.get("trust_store").is_none());
    assert!(v.get("something_else").is_none());
    let client_id = v["client_id"].as_str().unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    assert_eq!(v["client_secret_expires_at"], 0);
    // It authenticates with its secret, but may not introspect.
    let token = server
        .post("/oauth2/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        ))
        .send();
    assert_eq!(token.status, 200, "{}", token.body);
    let access = token.json()["access_token"].as_str().unwrap().to_owned();
    let r = server
        .post("/oauth2/introspect")
        .form(&format!(
            "token={access}&client_id={client_id}&client_secret={secret}"
        ))
        .send();
    assert_ne!(r.status, 200, "may not introspect: {}", r.body);
    assert_eq!(server.introspect(&access)["active"], true);
}

#[test]
fn self_signed_client_registered_with_jwks_gets_a_bound_token() {
    let dir = tempfile::tempdir().unwrap();
    let id = pki::self_signed(dir.path(), "c", "dcr-client", Validity::Current);
    let server = Server::start_in(dir, OPEN);
    let v = registered(
        &server,
        None,
        &json!({
            "client_name": "dcr mtls",
            "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "grant_types": ["client_credentials"],
            "jwks": x5c_jwks(&id),
            "tls_client_certificate_bound_access_tokens": true,
        }),
    );
    assert!(v.get("client_secret").is_none());
    assert_eq!(v["jwks"]["keys"][0]["x5t#S256"], id.thumbprint().as_str());
    let client_id = v["client_id"].as_str().unwrap();
    let token = server.token_with_cert(client_id, &id);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], client_id);
    assert_eq!(info["cnf"]["x5t#S256"], id.thumbprint().as_str());
    // Another certificate does not authenticate it.
    let other = pki::self_signed(server.path(), "o", "dcr-client", Validity::Current);
    server
        .post("/oauth2/token")
        .cert(&other)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
        .assert_error(401, "invalid_client");
}

#[test]
fn tls_client_auth_client_registered_with_san_dns_authenticates_with_a_ca_certificate() {
    let ca = Ca::new("DCR Issuing CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("client-ca.pem");
    ca.write(&ca_path);
    let id = ca.issue(
        dir.path(),
        "client",
        &[(DnType::CommonName, "payments")],
        vec![SanType::DnsName("client.bank.example".try_into().unwrap())],
        Validity::Current,
    );
    let config = format!(
        "{OPEN}[oauth.mutualtls]\ntrusted_ca_file = {:?}\n",
        ca_path.to_str().unwrap()
    );
    let server = Server::start_in(dir, &config);
    let v = registered(
        &server,
        None,
        &json!({
            "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_san_dns": "client.bank.example",
            "grant_types": ["client_credentials"],
        }),
    );
    assert_eq!(v["tls_client_auth_san_dns"], "client.bank.example");
    assert_eq!(v["tls_client_certificate_bound_access_tokens"], true);
    let client_id = v["client_id"].as_str().unwrap();
    let token = server.token_with_cert(client_id, &id);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], id.thumbprint().as_str());
}

#[test]
fn rfc7592_read_update_delete_with_the_registration_access_token() {
    let server = Server::start_with(OPEN);
    let body = json!({
        "client_name": "managed",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "read write",
    });
    let v = registered(&server, None, &body);
    let other = registered(&server, None, &body);
    let client_id = v["client_id"].as_str().unwrap().to_owned();
    let secret = v["client_secret"].as_str().unwrap().to_owned();
    let first = v["registration_access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        v["registration_client_uri"],
        server.url(&format!("/oauth2/register/{client_id}"))
    );

    // Wrong, missing and another client's tokens, and unknown clients: all the same 401.
    assert_invalid_token(&manage(&server, "GET", &client_id, "wrong").send());
    assert_invalid_token(
        &server
            .post(&format!("/oauth2/register/{client_id}"))
            .arg("-G")
            .send(),
    );
    let others = other["registration_access_token"].as_str().unwrap();
    assert_invalid_token(&manage(&server, "GET", &client_id, others).send());
    assert_invalid_token(&manage(&server, "DELETE", &client_id, others).send());
    assert_invalid_token(&manage(&server, "GET", "no-such-client", &first).send());

    // Read: the registration, with a new registration access token.
    let r = manage(&server, "GET", &client_id, &first).send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let read = r.json();
    assert_eq!(read["client_name"], "managed");
    assert_eq!(read["scope"], "read write");
    let second = read["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first);
    assert_invalid_token(&manage(&server, "GET", &client_id, &first).send());

    // Update: client_id must match; a wrong client_secret is refused; omitted members go.
    let put = |token: &str, body: &Value| {
        manage(&server, "PUT", &client_id, token)
            .header("content-type: application/json")
            .arg("--data-raw")
            .arg(body.to_string())
            .send()
    };
    let mut update = json!({
        "client_id": "someone-else",
        "client_name": "renamed",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
    });
    let e = put(&second, &update).assert_error(400, "invalid_client_metadata");
    assert_eq!(e["field"], "client_id");
    update["client_id"] = json!(client_id);
    update["client_secret"] = json!("my-own-choice");
    let e = put(&second, &update).assert_error(400, "invalid_client_metadata");
    assert_eq!(e["field"], "client_secret");
    update["client_secret"] = json!(secret);
    assert_invalid_token(&put("wrong", &update));
    let r = put(&second, &update);
    assert_eq!(r.status, 200, "{}", r.body);
    let updated = r.json();
    assert_eq!(updated["client_name"], "renamed");
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(updated["scope"], "", "omitted members are removed");
    let third = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The secret is unchanged and now goes in the body.
    let token = server
        .post("/oauth2/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        ))
        .send();
    assert_eq!(token.status, 200, "{}", token.body);
    let access = token.json()["access_token"].as_str().unwrap().to_owned();

    // Delete: 204, then the client, its tokens and its registration are gone.
    let r = manage(&server, "DELETE", &client_id, &third).send();
    assert_eq!(r.status, 204, "{}", r.body);
    assert_invalid_token(&manage(&server, "GET", &client_id, &third).send());
    assert_eq!(server.introspect(&access)["active"], false);
    server
        .post("/oauth2/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        ))
        .send()
        .assert_error(401, "invalid_client");
}
