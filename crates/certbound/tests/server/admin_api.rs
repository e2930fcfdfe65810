//! The admin REST API (`/api/admin/`): authentication (Basic, session + CSRF header), every
//! client metadata validation rule with the field it names, certificate rotation through the
//! API followed by real mTLS token requests, users and the last-admin rule, and the OpenAPI
//! document kept in sync with the router.

use crate::browser::Browser;
use crate::code_flow::{REDIRECT, authorize_url, sign_in};
use crate::harness::{Request, Response, Server};
use crate::pki::{self, Validity};
use serde_json::{Value, json};

#[path = "../../src/http/admin/routes.rs"]
mod routes;

/// A request to the admin API authenticated as the seeded admin, with an optional JSON body.
fn api(server: &Server, method: &str, path: &str, body: Option<&Value>) -> Request {
    let r = server.post(path).basic("admin", "admin");
    with_body(r, method, body)
}

fn with_body(r: Request, method: &str, body: Option<&Value>) -> Request {
    let r = r.arg("-X").arg(method);
    match body {
        Some(b) => r
            .header("content-type: application/json")
            .arg("--data-raw")
            .arg(b.to_string()),
        None => r,
    }
}

fn create(server: &Server, body: Value) -> Response {
    api(server, "POST", "/api/admin/clients", Some(&body)).send()
}

fn pem(id: &pki::Identity) -> String {
    std::fs::read_to_string(&id.cert).unwrap()
}

/// Asserts a 400 validation error naming `field`.
fn assert_field(r: &Response, code: &str, field: &str) {
    let v = r.assert_error(400, code);
    assert_eq!(v["field"], field, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[test]
fn client_metadata_validation_errors_name_the_member() {
    let server = Server::start();
    let cert = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let cases: Vec<(Value, &str, &str)> = vec![
        // RFC 8705 §7.4: a trust store must be configured (this server has none).
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"],
                   "tls_client_auth_subject_dn": "CN=a", "trust_store": "partners"}),
            "invalid_client_metadata",
            "trust_store",
        ),
        // RFC 8705 §2.1.2: exactly one subject member for tls_client_auth.
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "tls_client_auth_subject_dn",
        ),
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"],
                   "tls_client_auth_subject_dn": "CN=a", "tls_client_auth_san_dns": "a.example"}),
            "invalid_client_metadata",
            "tls_client_auth_san_dns",
        ),
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "grant_types": ["client_credentials"],
                   "tls_client_auth_subject_dn": "not a dn"}),
            "invalid_client_metadata",
            "tls_client_auth_subject_dn",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"],
                   "tls_client_auth_san_ip": "10.0.0.1"}),
            "invalid_client_metadata",
            "tls_client_auth_san_ip",
        ),
        // Bad PEM and bad JWKS.
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
                   "certificates": ["-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"]}),
            "invalid_client_metadata",
            "certificates",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
                   "certificates": ["hello"]}),
            "invalid_client_metadata",
            "certificates",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
                   "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
                   "jwks": {"keys": [{"kty": "EC", "x5c": ["%%% not base64 %%%"]}]}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
                   "jwks": "keys"}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "self_signed_tls_client_auth", "grant_types": ["client_credentials"],
                   "certificates": [pem(&cert)], "jwks_uri": "https://keys.example/jwks"}),
            "invalid_client_metadata",
            "jwks_uri",
        ),
        // Unknown members and wrong types.
        (
            json!({"client_name": "x", "favourite_colour": "blue"}),
            "invalid_client_metadata",
            "favourite_colour",
        ),
        (
            json!({"client_name": 5}),
            "invalid_client_metadata",
            "client_name",
        ),
        (
            json!({"grant_types": "client_credentials"}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"grant_types": ["client_credentials"], "tls_client_certificate_bound_access_tokens": "yes"}),
            "invalid_client_metadata",
            "tls_client_certificate_bound_access_tokens",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        (
            json!({"grant_types": ["client_credentials"], "access_token_lifetime": -1}),
            "invalid_client_metadata",
            "access_token_lifetime",
        ),
        (
            json!({"grant_types": ["client_credentials"], "access_token_format": "paseto"}),
            "invalid_client_metadata",
            "access_token_format",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": 3}),
            "invalid_client_metadata",
            "scope",
        ),
        (
            json!({"client_id": "chosen-by-me", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "client_id",
        ),
        // Redirect URI rules (RFC 7591 §3.2.2 invalid_redirect_uri).
        (
            json!({"grant_types": ["authorization_code"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"grant_types": ["authorization_code"], "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"grant_types": ["authorization_code"], "redirect_uris": ["https://app.example/cb#frag"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"grant_types": ["authorization_code"], "redirect_uris": "https://app.example/cb"}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
            "invalid_client_metadata",
            "response_types",
        ),
    ];
    for (body, code, field) in cases {
        let r = create(&server, body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_field(&r, code, field);
    }
    // Malformed bodies.
    for raw in ["{", "[]", "\"text\"", ""] {
        let r = server
            .post("/api/admin/clients")
            .basic("admin", "admin")
            .header("content-type: application/json")
            .arg("--data-raw")
            .arg(raw)
            .send();
        r.assert_error(400, "invalid_request");
    }
    let big = format!("{{\"client_name\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let file = server.path().join("big.json");
    std::fs::write(&file, big).unwrap();
    let r = server
        .post("/api/admin/clients")
        .basic("admin", "admin")
        .header("content-type: application/json")
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .send();
    assert_eq!(r.status, 413, "{}", r.body);
    // Nothing was registered by any of the above.
    let list = api(&server, "GET", "/api/admin/clients", None).send();
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json(), json!([]));
    assert!(!server.log().contains("panicked"));
}

#[test]
fn clients_are_created_read_updated_and_deleted() {
    let server = Server::start();
    let r = create(
        &server,
        json!({"client_name": "svc", "token_endpoint_auth_method": "client_secret_basic",
               "grant_types": ["client_credentials"], "scope": "read write"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let created = r.json();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    // The secret works, and is never shown again.
    let t = server
        .post("/oauth2/token")
        .basic(&id, &secret)
        .form("grant_type=client_credentials")
        .send();
    assert_eq!(t.status, 200, "{}", t.body);
    let shown = api(&server, "GET", &format!("/api/admin/clients/{id}"), None).send();
    assert_eq!(shown.status, 200);
    assert!(shown.json().get("client_secret").is_none());
    assert_eq!(shown.json()["scope"], "read write");
    assert!(!server.log().contains(&secret), "the secret was logged");
    // PUT replaces the registration; the secret stays, so none is returned.
    let mut changed = shown.json();
    changed["client_name"] = json!("svc renamed");
    changed["access_token_lifetime"] = json!(120);
    let u = api(
        &server,
        "PUT",
        &format!("/api/admin/clients/{id}"),
        Some(&changed),
    )
    .send();
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.json()["client_name"], "svc renamed");
    assert_eq!(u.json()["access_token_lifetime"], 120);
    assert!(u.json().get("client_secret").is_none());
    let wrong_id = json!({"client_id": "other", "grant_types": ["client_credentials"]});
    let r = api(
        &server,
        "PUT",
        &format!("/api/admin/clients/{id}"),
        Some(&wrong_id),
    )
    .send();
    assert_field(&r, "invalid_client_metadata", "client_id");
    let t = server
        .post("/oauth2/token")
        .basic(&id, &secret)
        .form("grant_type=client_credentials")
        .send();
    assert_eq!(t.json()["expires_in"], 120);
    let access_token = t.json()["access_token"].as_str().unwrap().to_owned();
    // Unknown ids are 404 for every operation on a client.
    for (method, path) in [
        ("GET", "/api/admin/clients/nope"),
        ("PUT", "/api/admin/clients/nope"),
        ("DELETE", "/api/admin/clients/nope"),
        ("POST", "/api/admin/clients/nope/certificates"),
        ("DELETE", "/api/admin/clients/nope/certificates/abc"),
    ] {
        let body = json!({"grant_types": ["client_credentials"]});
        let r = api(&server, method, path, Some(&body)).send();
        r.assert_error(404, "not_found");
    }
    // Deleting the client deletes its tokens.
    let d = api(&server, "DELETE", &format!("/api/admin/clients/{id}"), None).send();
    assert_eq!(d.status, 204, "{}", d.body);
    assert_eq!(server.introspect(&access_token)["active"], false);
    let r = api(&server, "GET", &format!("/api/admin/clients/{id}"), None).send();
    r.assert_error(404, "not_found");
    let log = server.log();
    assert!(log.contains("client.create") && log.contains("client.delete"));
}

#[test]
fn a_self_signed_client_rotates_its_certificate_through_the_api() {
    let server = Server::start();
    let first = pki::self_signed(server.path(), "first", "rotating", Validity::Current);
    let second = pki::self_signed(server.path(), "second", "rotating", Validity::Current);
    let r = create(
        &server,
        json!({"client_name": "rotating", "token_endpoint_auth_method": "self_signed_tls_client_auth",
               "grant_types": ["client_credentials"], "certificates": [pem(&first)]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert!(created.get("client_secret").is_none());
    assert_eq!(
        created["certificate_details"][0]["x5t#S256"],
        first.thumbprint()
    );
    let id = created["client_id"].as_str().unwrap().to_owned();
    let token = server.token_with_cert(&id, &first);
    assert_eq!(token["token_type"], "Bearer");

    let certs = format!("/api/admin/clients/{id}/certificates");
    // Bad bodies for the certificate endpoint.
    for (body, field) in [
        (json!({"certificate": "nope"}), "certificate"),
        (json!({"certificate": 1}), "certificate"),
        (json!({}), "certificate"),
        (json!({"certificate": pem(&second), "extra": true}), "extra"),
        (
            json!({"certificate": format!("{}{}", pem(&first), pem(&second))}),
            "certificate",
        ),
        (json!({"certificate": pem(&first)}), "certificate"),
    ] {
        let r = api(&server, "POST", &certs, Some(&body)).send();
        assert_field(&r, "invalid_client_metadata", field);
    }
    let r = api(
        &server,
        "POST",
        &certs,
        Some(&json!({"certificate": pem(&second)})),
    )
    .send();
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["certificate_details"].as_array().unwrap().len(), 2);
    server.token_with_cert(&id, &second);
    server.token_with_cert(&id, &first);

    let r = api(
        &server,
        "DELETE",
        &format!("{certs}/{}", first.thumbprint()),
        None,
    )
    .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["certificate_details"].as_array().unwrap().len(), 1);
    let refused = server
        .post("/oauth2/token")
        .cert(&first)
        .form(&format!("grant_type=client_credentials&client_id={id}"))
        .send();
    refused.assert_error(401, "invalid_client");
    server.token_with_cert(&id, &second);
    // The last certificate cannot be retired; an unknown or malformed thumbprint is a 400.
    for x5t in [
        second.thumbprint(),
        first.thumbprint(),
        "not!a!thumbprint".into(),
    ] {
        let r = api(&server, "DELETE", &format!("{certs}/{x5t}"), None).send();
        assert_field(&r, "invalid_client_metadata", "x5t#S256");
    }
    let log = server.log();
    assert!(
        log.contains(&second.thumbprint()),
        "audit lines name thumbprints"
    );
    assert!(!log.contains("BEGIN CERTIFICATE"), "PEM must not be logged");
}

#[test]
fn only_administrators_are_let_in() {
    let server = Server::start();
    // No credentials, wrong ones, a malformed header.
    let r = server
        .post("/api/admin/clients")
        .arg("-X")
        .arg("GET")
        .send();
    r.assert_error(401, "unauthorized");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = server
        .post("/api/admin/clients")
        .basic("admin", "wrong")
        .arg("-X")
        .arg("GET")
        .send();
    r.assert_error(401, "unauthorized");
    let r = server
        .post("/api/admin/users")
        .header("authorization: Basic %%%")
        .arg("-X")
        .arg("GET")
        .send();
    r.assert_error(401, "unauthorized");
    // A user who is not an administrator.
    let alice =
        json!({"username": "alice", "password": "alice-pw", "claims": {"email": "a@example.com"}});
    let r = api(&server, "POST", "/api/admin/users", Some(&alice)).send();
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json().get("password").is_none());
    let r = server
        .post("/api/admin/clients")
        .basic("alice", "alice-pw")
        .arg("-X")
        .arg("GET")
        .send();
    r.assert_error(403, "access_denied");
    // The OpenAPI document needs no credentials.
    let r = server
        .post("/api/admin/openapi.json")
        .arg("-X")
        .arg("GET")
        .send();
    assert_eq!(r.status, 200);
    // Repeated wrong passwords are throttled like sign-in.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = server
            .post("/api/admin/clients")
            .basic("mallory", "guess")
            .arg("-X")
            .arg("GET")
            .send();
        statuses.push(r.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// Signs `user` in on the sign-in page; returns (session cookie, csrf cookie).
fn browser_session(server: &Server, user: &str, password: &str) -> (String, String) {
    let web = create(
        server,
        json!({"client_name": "web", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT]}),
    );
    assert_eq!(web.status, 201, "{}", web.body);
    let client_id = web.json()["client_id"].as_str().unwrap().to_owned();
    let b = Browser::new(server, user);
    let page = b.get(&authorize_url(&client_id, ""));
    let r = sign_in(&b, &page, user, password);
    assert_eq!(r.status, 303, "{}", r.body);
    (
        b.cookie("__Host-certbound-session").unwrap(),
        b.cookie("__Host-certbound-csrf").unwrap(),
    )
}

fn with_session(server: &Server, path: &str, session: &str, csrf: &str) -> Request {
    server.post(path).header(&format!(
        "cookie: __Host-certbound-session={session}; __Host-certbound-csrf={csrf}"
    ))
}

#[test]
fn a_browser_session_works_with_the_csrf_header_for_changes() {
    let server = Server::start();
    let (session, csrf) = browser_session(&server, "admin", "admin");
    let r = with_body(
        with_session(&server, "/api/admin/clients", &session, &csrf),
        "GET",
        None,
    )
    .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json!({"client_name": "via session", "grant_types": ["client_credentials"]});
    let r = with_body(
        with_session(&server, "/api/admin/clients", &session, &csrf),
        "POST",
        Some(&body),
    )
    .send();
    r.assert_error(403, "access_denied");
    let r = with_body(
        with_session(&server, "/api/admin/clients", &session, &csrf)
            .header("x-csrf-token: wrong-token-of-the-same-length-0123456789abc"),
        "POST",
        Some(&body),
    )
    .send();
    r.assert_error(403, "access_denied");
    let r = with_body(
        with_session(&server, "/api/admin/clients", &session, &csrf)
            .header(&format!("x-csrf-token: {csrf}")),
        "POST",
        Some(&body),
    )
    .send();
    assert_eq!(r.status, 201, "{}", r.body);
    // A non-admin's session is refused; a forged session cookie is a 401.
    let bob = json!({"username": "bob", "password": "bob-pw"});
    assert_eq!(
        api(&server, "POST", "/api/admin/users", Some(&bob))
            .send()
            .status,
        201
    );
    let (bob_session, bob_csrf) = browser_session(&server, "bob", "bob-pw");
    let r = with_body(
        with_session(&server, "/api/admin/users", &bob_session, &bob_csrf),
        "GET",
        None,
    )
    .send();
    r.assert_error(403, "access_denied");
    let r = with_body(
        with_session(&server, "/api/admin/users", "forged", &csrf),
        "GET",
        None,
    )
    .send();
    r.assert_error(401, "unauthorized");
}

#[test]
fn users_are_managed_and_the_last_admin_stays() {
    let server = Server::start();
    for (body, field) in [
        (json!({"password": "x"}), "username"),
        (json!({"username": "carol"}), "password"),
        (json!({"username": "a:b", "password": "x"}), "username"),
        (
            json!({"username": "carol", "password": "x", "role": "root"}),
            "role",
        ),
        (
            json!({"username": "carol", "password": "x", "is_admin": "yes"}),
            "is_admin",
        ),
        (
            json!({"username": "carol", "password": "x", "claims": {"shoe_size": "9"}}),
            "claim",
        ),
        (
            json!({"username": "carol", "password": "x", "claims": {"email": 1}}),
            "claims",
        ),
    ] {
        let r = api(&server, "POST", "/api/admin/users", Some(&body)).send();
        assert_field(&r, "invalid_request", field);
    }
    let dup = json!({"username": "admin", "password": "x"});
    assert_eq!(
        api(&server, "POST", "/api/admin/users", Some(&dup))
            .send()
            .status,
        409
    );
    // The only admin can be neither deleted nor demoted.
    let r = api(&server, "DELETE", "/api/admin/users/admin", None).send();
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("last administrator")
    );
    let demote = json!({"is_admin": false});
    let r = api(&server, "PUT", "/api/admin/users/admin", Some(&demote)).send();
    assert_eq!(r.status, 409, "{}", r.body);
    // With a second admin, the first may go.
    let root = json!({"username": "root", "password": "root-pw", "is_admin": true});
    let r = api(&server, "POST", "/api/admin/users", Some(&root)).send();
    assert_eq!(r.status, 201, "{}", r.body);
    let list = api(&server, "GET", "/api/admin/users", None).send().json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains("argon2"), "no password hashes");
    let r = api(&server, "PUT", "/api/admin/users/admin", Some(&demote)).send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["is_admin"], false);
    // The password changes; the old one no longer works.
    let new_password = json!({"password": "n3w", "claims": {"name": "Root"}});
    let r = server
        .post("/api/admin/users/root")
        .basic("root", "root-pw")
        .arg("-X")
        .arg("PUT")
        .header("content-type: application/json")
        .arg("--data-raw")
        .arg(new_password.to_string())
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["claims"]["name"], "Root");
    let r = server
        .post("/api/admin/users/root")
        .basic("root", "n3w")
        .arg("-X")
        .arg("DELETE")
        .send();
    assert_eq!(r.status, 409, "root is now the last admin: {}", r.body);
    let r = server
        .post("/api/admin/users/admin")
        .basic("root", "n3w")
        .arg("-X")
        .arg("DELETE")
        .send();
    assert_eq!(r.status, 204, "{}", r.body);
    let r = server
        .post("/api/admin/users/admin")
        .basic("root", "n3w")
        .arg("-X")
        .arg("GET")
        .send();
    r.assert_error(404, "not_found");
    assert!(!server.log().contains("n3w"), "passwords are never logged");
}

/// The OpenAPI document lists exactly the operations of `ROUTES` (the list the router is built
/// from), and each of them answers on the running server.
#[test]
fn the_openapi_document_matches_the_router() {
    let server = Server::start();
    let doc = server
        .post("/api/admin/openapi.json")
        .arg("-X")
        .arg("GET")
        .send();
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut routed: Vec<(String, String)> = routes::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed, "openapi.json and ROUTES differ");
    for (_, item) in doc["paths"].as_object().unwrap() {
        for op in ["get", "post", "put", "delete"]
            .iter()
            .filter_map(|m| item.get(m))
        {
            assert!(op["operationId"].is_string() && op["responses"].is_object());
        }
    }
    // Every operation answers (never the router's 404 or 405), and the other methods of each
    // documented path are 405.
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let r = create(
        &server,
        json!({"token_endpoint_auth_method": "self_signed_tls_client_auth",
               "grant_types": ["client_credentials"], "certificates": [pem(&id)]}),
    );
    let client_id = r.json()["client_id"].as_str().unwrap().to_owned();
    let concrete = |p: &str| {
        p.replace("{client_id}", &client_id)
            .replace("{username}", "nobody")
            .replace("{x5t}", &id.thumbprint())
    };
    for (method, path) in &routed {
        let r = api(&server, method, &concrete(path), Some(&json!({}))).send();
        let router_404 = r.status == 404 && r.json()["error_description"] == "no such endpoint";
        assert!(
            r.status != 405 && !router_404,
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_none() {
                let r = api(&server, &method.to_uppercase(), &concrete(path), None).send();
                assert_eq!(r.status, 405, "{method} {path}: {}", r.body);
            }
        }
    }
}

/// The client_ids of a client list response, in its order.
fn client_ids(r: &Response) -> Vec<String> {
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn clients_are_listed_a_page_at_a_time_with_a_next_link() {
    let server = Server::start();
    let mut ids: Vec<String> = (0..5)
        .map(|i| {
            let r = create(
                &server,
                json!({"client_name": format!("svc{i}"), "token_endpoint_auth_method": "client_secret_basic",
                       "grant_types": ["client_credentials"]}),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["client_id"].as_str().unwrap().to_owned()
        })
        .collect();
    // Without a limit: all of them, by client_id, and no link.
    let all = api(&server, "GET", "/api/admin/clients", None).send();
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.header("link").is_none());
    assert_eq!(all.header("cache-control").as_deref(), Some("no-store"));
    ids.sort();
    assert_eq!(client_ids(&all), ids);
    // Pages of two by client_id, following the links to the end.
    let mut path = "/api/admin/clients?limit=2".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = api(&server, "GET", &path, None).send();
        assert_eq!(r.status, 200, "{}", r.body);
        pages += 1;
        let page = client_ids(&r);
        assert!(page.len() <= 2);
        seen.extend(page.iter().cloned());
        match r.header("link") {
            Some(link) => {
                assert_eq!(page.len(), 2, "a next link only after a full page");
                let want = format!(
                    "</api/admin/clients?limit=2&after={}>; rel=\"next\"",
                    page[1]
                );
                assert_eq!(link, want);
                path = link[1..link.find('>').unwrap()].to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(pages, 3);
    // Bad paging parameters are the client's error, never a 500.
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=two",
        "limit=-1",
        "after=x",
        "limit=2&limit=3",
    ] {
        let r = api(&server, "GET", &format!("/api/admin/clients?{bad}"), None).send();
        r.assert_error(400, "invalid_request");
    }
    assert!(!server.log().contains("panicked"));
}
