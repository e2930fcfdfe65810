//! Helpers that drive the authorization code flow at the HTTP level (sign-in, consent, code
//! redemption, id_token checks), shared by the test modules.

use crate::browser::{Browser, enc, input, location, query_param};
use crate::harness::Server;
use crate::pki::{self, Identity, Validity};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const REDIRECT: &str = "http://localhost:8080/playground2/oauth2client";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A user with profile claims, created through the CLI.
pub fn create_user(server: &Server, name: &str, password: &str, claims: &[&str]) {
    use std::io::Write;
    let mut args: Vec<String> = vec![
        "user".into(),
        "create".into(),
        name.into(),
        "--password-stdin".into(),
    ];
    for c in claims {
        args.push("--claim".into());
        args.push((*c).into());
    }
    let mut child = server
        .command()
        .args(&args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// A server with alice (email, given_name) and a self-signed mTLS client for the code flow.
pub fn setup() -> (Server, Identity, String) {
    setup_with("")
}

/// [`setup`] with a configuration file.
pub fn setup_with(config: &str) -> (Server, Identity, String) {
    let server = Server::start_with(config);
    let (id, client_id) = provision(&server);
    (server, id, client_id)
}

/// Creates alice and the code-flow client on `server` (and its database).
pub fn provision(server: &Server) -> (Identity, String) {
    create_user(
        server,
        "alice",
        "alice-pw",
        &[
            "email=alice@example.com",
            "given_name=Alice",
            "family_name=Liddell",
        ],
    );
    let id = pki::self_signed(
        server.path(),
        "playground2",
        "playground2",
        Validity::Current,
    );
    let client_id = server.self_signed_client(
        &id.cert,
        &[
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
        ],
    );
    (id, client_id)
}

pub fn authorize_url(client_id: &str, extra: &str) -> String {
    format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email&state=xyz&nonce=n-0S6&code_challenge={}&code_challenge_method=S256{extra}",
        enc(REDIRECT),
        challenge(VERIFIER)
    )
}

/// Signs in on the page `r` shows; returns the response to the login POST.
pub fn sign_in(
    b: &Browser,
    page: &crate::harness::Response,
    user: &str,
    password: &str,
) -> crate::harness::Response {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("action=\"/oauth2/authorize/login\""),
        "not the sign-in page: {}",
        page.body
    );
    let csrf = input(&page.body, "csrf").unwrap();
    let request = input(&page.body, "request").unwrap();
    b.post(
        "/oauth2/authorize/login",
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("username", user),
            ("password", password),
        ],
    )
}

/// Approves on the consent page `page` with `decision`, sharing `claims`.
pub fn decide(
    b: &Browser,
    page: &crate::harness::Response,
    decision: &str,
    claims: &[&str],
) -> crate::harness::Response {
    assert!(
        page.body.contains("action=\"/oauth2/authorize/consent\""),
        "not the consent page: {}",
        page.body
    );
    let csrf = input(&page.body, "csrf").unwrap();
    let request = input(&page.body, "request").unwrap();
    let mut pairs = vec![
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("decision", decision),
    ];
    for c in claims {
        pairs.push(("claim", c));
    }
    b.post("/oauth2/authorize/consent", &pairs)
}

/// The whole browser part: sign in, approve once with every claim; returns the code.
pub fn obtain_code(server: &Server, b: &Browser, client_id: &str) -> String {
    let _ = server;
    let page = b.get(&authorize_url(client_id, ""));
    // Sign in when the browser has no session yet.
    let consent = if page.body.contains("action=\"/oauth2/authorize/login\"") {
        let r = sign_in(b, &page, "alice", "alice-pw");
        assert_eq!(r.status, 303, "{}", r.body);
        b.get(&location(&r))
    } else {
        page
    };
    let r = decide(
        b,
        &consent,
        "approve_once",
        &["email", "given_name", "family_name"],
    );
    assert_eq!(r.status, 303);
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    query_param(&to, "code").unwrap()
}

/// The reference's token request for a code, with the client certificate and PKCE verifier.
pub fn redeem(
    server: &Server,
    id: &Identity,
    client_id: &str,
    code: &str,
    verifier: Option<&str>,
) -> crate::harness::Response {
    let mut body = format!(
        "grant_type=authorization_code&client_id={client_id}&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fplayground2%2Foauth2client"
    );
    if let Some(v) = verifier {
        body.push_str(&format!("&code_verifier={v}"));
    }
    server.post("/oauth2/token").cert(id).form(&body).send()
}

pub fn jwks(server: &Server) -> Value {
    server.request_to(server.url("/oauth2/jwks")).send().json()
}

/// Verifies an id_token against the published JWKS; returns (header, claims).
pub fn verify_id_token(server: &Server, token: &str) -> (Value, Value) {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let keys = jwks(server);
    let jwk = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid published");
    certbound_core::jose::verify_jwt(token, jwk).expect("valid signature")
}
