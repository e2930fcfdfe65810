//! RFC 9068 JWT access tokens, and the RFC 8705 §5 mutual-TLS endpoint alias listener.

use crate::code_flow::verify_id_token;
use crate::harness::Server;
use crate::pki::{self, Validity};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

fn segment(jwt: &str, i: usize) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn jwt_access_tokens_follow_rfc_9068_and_stay_revocable() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(
        &id.cert,
        &["--access-token-format", "jwt", "--scope", "payments:read"],
    );
    let t = server.token_with_cert(&client_id, &id);
    let jwt = t["access_token"].as_str().unwrap();
    let header = segment(jwt, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    // The signature verifies against the published JWKS.
    let (_, claims) = verify_id_token(&server, jwt);
    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(
        claims["sub"],
        client_id.as_str(),
        "RFC 9068 §2.2: the client for client_credentials"
    );
    assert_eq!(claims["aud"], server.issuer.as_str());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["scope"], "payments:read");
    assert_eq!(claims["cnf"]["x5t#S256"], id.thumbprint().as_str());
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    // Introspection and revocation work for JWTs as for opaque tokens.
    assert_eq!(
        server.introspect(jwt)["cnf"]["x5t#S256"],
        id.thumbprint().as_str()
    );
    let r = server
        .post("/oauth2/revoke")
        .cert(&id)
        .form(&format!("token={jwt}&client_id={client_id}"))
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(server.introspect(jwt), serde_json::json!({"active": false}));
    // Opaque stays the default for other clients.
    let other = pki::self_signed(server.path(), "o", "o", Validity::Current);
    let other_id = server.self_signed_client(&other.cert, &[]);
    assert_eq!(
        server.token_with_cert(&other_id, &other)["access_token"]
            .as_str()
            .unwrap()
            .matches('.')
            .count(),
        0
    );
}

#[test]
fn jwt_can_be_the_global_format_with_a_configured_audience() {
    let server = Server::start_with(
        "[oauth]\naccess_token_format = \"jwt\"\naccess_token_audience = \"https://api.example\"\n",
    );
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let jwt = server.token_with_cert(&client_id, &id)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(segment(&jwt, 1)["aud"], "https://api.example");
}

const ALIASES: &str =
    "[server]\nrequest_client_certificate = false\n\n[server.mtls]\nlisten = \"127.0.0.1:0\"\n";

#[test]
fn the_alias_listener_requires_a_certificate_and_serves_the_flows() {
    let server = Server::start_with(ALIASES);
    let alias = server.alias_port.expect("alias listener announced");
    let base = format!("https://localhost:{alias}");
    let meta = server
        .request_to(server.url("/.well-known/openid-configuration"))
        .send()
        .json();
    let aliases = &meta["mtls_endpoint_aliases"];
    assert_eq!(
        aliases["token_endpoint"],
        format!("{base}/oauth2/token").as_str()
    );
    assert_eq!(
        aliases["introspection_endpoint"],
        format!("{base}/oauth2/introspect").as_str()
    );
    assert_eq!(
        aliases["revocation_endpoint"],
        format!("{base}/oauth2/revoke").as_str()
    );
    assert_eq!(
        aliases["userinfo_endpoint"],
        format!("{base}/oauth2/userinfo").as_str()
    );
    assert_eq!(
        meta["token_endpoint"],
        server.url("/oauth2/token").as_str(),
        "the main endpoints stay"
    );

    // Without a certificate the handshake itself fails on the alias listener.
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            server.ca().to_str().unwrap(),
            "-d",
            "grant_type=client_credentials",
        ])
        .arg(format!("{base}/oauth2/token"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a connection without a certificate must be refused"
    );

    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let form = format!("grant_type=client_credentials&client_id={client_id}");
    // The main listener no longer asks for certificates: mTLS clients must use the alias.
    server
        .post("/oauth2/token")
        .cert(&id)
        .form(&form)
        .send()
        .assert_error(401, "invalid_client");
    let r = server
        .request_to(format!("{base}/oauth2/token"))
        .cert(&id)
        .form(&form)
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    // Introspection by a resource server and revocation through the aliases.
    let rs = pki::self_signed(server.path(), "rs", "rs", Validity::Current);
    let rs_id = server.self_signed_client(&rs.cert, &["--introspect"]);
    let r = server
        .request_to(format!("{base}/oauth2/introspect"))
        .cert(&rs)
        .form(&format!("token={token}&client_id={rs_id}"))
        .send();
    assert_eq!(r.json()["cnf"]["x5t#S256"], id.thumbprint().as_str());
    let r = server
        .request_to(format!("{base}/oauth2/revoke"))
        .cert(&id)
        .form(&format!("token={token}&client_id={client_id}"))
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(server.introspect(&token)["active"], false);
}

#[test]
fn the_code_flow_and_userinfo_work_through_the_aliases_while_browsers_use_the_main_port() {
    let (server, id, client_id) = crate::code_flow::setup_with(ALIASES);
    let alias = format!("https://localhost:{}", server.alias_port.unwrap());
    // The browser part happens on the main port, which no longer asks for a certificate.
    let b = crate::browser::Browser::new(&server, "b");
    let code = crate::code_flow::obtain_code(&server, &b, &client_id);
    let body = format!(
        "grant_type=authorization_code&client_id={client_id}&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fplayground2%2Foauth2client&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
    let r = server
        .request_to(format!("{alias}/oauth2/token"))
        .cert(&id)
        .form(&body)
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    let access = t["access_token"].as_str().unwrap();
    let ui = server
        .request_to(format!("{alias}/oauth2/userinfo"))
        .cert(&id)
        .header(&format!("authorization: Bearer {access}"))
        .send();
    assert_eq!(ui.status, 200, "{}", ui.body);
    assert_eq!(ui.json()["email"], "alice@example.com");
    let refresh = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={client_id}",
        t["refresh_token"].as_str().unwrap()
    );
    let r = server
        .request_to(format!("{alias}/oauth2/token"))
        .cert(&id)
        .form(&refresh)
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
}
