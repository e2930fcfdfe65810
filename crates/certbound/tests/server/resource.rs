//! The resource-server side: `examples/protected-api` (built on certbound-resource) against a
//! real certbound, in JWT mode and in introspection mode, over real mutual TLS.

use crate::harness::{Request, Server};
use crate::pki::{self, Identity, Validity};
use certbound_resource::{Config, IntrospectionCredentials, Validation, Verifier};

/// A running protected API; stops with its runtime.
struct Api {
    _runtime: tokio::runtime::Runtime,
    port: u16,
}

fn start_api(server: &Server, validation: Validation) -> Api {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::new(server.issuer.clone(), server.issuer.clone(), validation);
    config.ca_pem = Some(std::fs::read_to_string(server.ca()).unwrap());
    let verifier = Verifier::new(config).unwrap();
    let tls_dir = server.data_dir().join("tls");
    let tls = protected_api::tls_config(
        &std::fs::read_to_string(tls_dir.join("server.pem")).unwrap(),
        &std::fs::read_to_string(tls_dir.join("server-key.pem")).unwrap(),
    )
    .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(protected_api::serve(
        listener,
        tls,
        protected_api::router(verifier),
    ));
    Api {
        _runtime: runtime,
        port,
    }
}

fn call(
    server: &Server,
    api: &Api,
    token: Option<&str>,
    cert: Option<&Identity>,
) -> crate::harness::Response {
    let mut r: Request = server
        .request_to(format!("https://localhost:{}/api/accounts", api.port))
        .arg("-X")
        .arg("GET");
    if let Some(t) = token {
        r = r.header(&format!("authorization: Bearer {t}"));
    }
    if let Some(c) = cert {
        r = r.cert(c);
    }
    r.send()
}

fn challenge(r: &crate::harness::Response) -> String {
    r.header("www-authenticate").unwrap_or_default()
}

#[test]
fn jwt_mode_accepts_a_bound_token_only_with_its_certificate() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &["--access-token-format", "jwt"]);
    let api = start_api(
        &server,
        Validation::Jwt {
            jwks_uri: server.url("/oauth2/jwks"),
        },
    );
    let token = server.token_with_cert(&client_id, &id)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let ok = call(&server, &api, Some(&token), Some(&id));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["bound_to"], id.thumbprint().as_str());
    let thief = pki::self_signed(server.path(), "thief", "c", Validity::Current);
    for r in [
        call(&server, &api, Some(&token), Some(&thief)),
        call(&server, &api, Some(&token), None),
    ] {
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(
            challenge(&r).contains("error=\"invalid_token\""),
            "{}",
            challenge(&r)
        );
    }
    let missing = call(&server, &api, None, Some(&id));
    assert_eq!(missing.status, 401);
    assert!(challenge(&missing).starts_with("Bearer") && !challenge(&missing).contains("error="));
    // An opaque token is not a JWT; neither is garbage.
    let other = pki::self_signed(server.path(), "o", "o", Validity::Current);
    let opaque_id = server.self_signed_client(&other.cert, &[]);
    let opaque = server.token_with_cert(&opaque_id, &other)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(call(&server, &api, Some(&opaque), Some(&other)).status, 401);
}

#[test]
fn an_id_token_is_not_an_access_token() {
    let (server, id, client_id) = crate::code_flow::setup();
    let b = crate::browser::Browser::new(&server, "b");
    let code = crate::code_flow::obtain_code(&server, &b, &client_id);
    let t = crate::code_flow::redeem(
        &server,
        &id,
        &client_id,
        &code,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    )
    .json();
    let api = start_api(
        &server,
        Validation::Jwt {
            jwks_uri: server.url("/oauth2/jwks"),
        },
    );
    let r = call(&server, &api, t["id_token"].as_str(), Some(&id));
    assert_eq!(r.status, 401, "typ must be at+jwt: {}", r.body);
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("typ"),
        "refused for its typ: {}",
        r.body
    );
}

#[test]
fn introspection_mode_against_a_real_certbound() {
    let server = Server::start();
    let rs = pki::self_signed(server.path(), "rs", "resource-server", Validity::Current);
    let rs_id = server.self_signed_client(&rs.cert, &["--introspect"]);
    let credentials = IntrospectionCredentials::Mtls {
        cert_pem: std::fs::read_to_string(&rs.cert).unwrap(),
        key_pem: std::fs::read_to_string(&rs.key).unwrap(),
    };
    let api = start_api(
        &server,
        Validation::Introspection {
            endpoint: server.url("/oauth2/introspect"),
            client_id: rs_id,
            credentials,
            cache_ttl: None,
        },
    );
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let token = server.token_with_cert(&client_id, &id)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = call(&server, &api, Some(&token), Some(&id));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["bound_to"], id.thumbprint().as_str());
    let thief = pki::self_signed(server.path(), "thief", "c", Validity::Current);
    assert_eq!(call(&server, &api, Some(&token), Some(&thief)).status, 401);
    // Revocation takes effect at once (no cache configured).
    let r = server
        .post("/oauth2/revoke")
        .cert(&id)
        .form(&format!("token={token}&client_id={client_id}"))
        .send();
    assert_eq!(r.status, 200);
    let r = call(&server, &api, Some(&token), Some(&id));
    assert_eq!(r.status, 401);
    assert!(challenge(&r).contains("invalid_token"));
}

#[test]
fn introspection_never_takes_a_refresh_token_for_an_access_token() {
    let (server, id, client_id) = crate::code_flow::setup();
    let b = crate::browser::Browser::new(&server, "b");
    let code = crate::code_flow::obtain_code(&server, &b, &client_id);
    let t = crate::code_flow::redeem(
        &server,
        &id,
        &client_id,
        &code,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    )
    .json();
    let rs = pki::self_signed(server.path(), "rs", "resource-server", Validity::Current);
    let rs_id = server.self_signed_client(&rs.cert, &["--introspect"]);
    let credentials = IntrospectionCredentials::Mtls {
        cert_pem: std::fs::read_to_string(&rs.cert).unwrap(),
        key_pem: std::fs::read_to_string(&rs.key).unwrap(),
    };
    let api = start_api(
        &server,
        Validation::Introspection {
            endpoint: server.url("/oauth2/introspect"),
            client_id: rs_id,
            credentials,
            cache_ttl: None,
        },
    );
    assert_eq!(
        call(&server, &api, t["access_token"].as_str(), Some(&id)).status,
        200
    );
    let r = call(&server, &api, t["refresh_token"].as_str(), Some(&id));
    assert_eq!(r.status, 401, "{}", r.body);
}
