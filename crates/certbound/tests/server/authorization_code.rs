//! The authorization code flow at the HTTP level: sign-in and consent pages, PKCE, codes,
//! id_tokens, userinfo with certificate binding, discovery, JWKS and key rotation.

use crate::browser::{self, Browser, enc, input, location, query_param};
use crate::code_flow::*;
use crate::harness::Response;
use crate::pki::{self, Validity};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

#[test]
fn the_reference_code_flow_with_mtls_pkce_and_openid() {
    let (server, id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let code = obtain_code(&server, &b, &client_id);
    let r = redeem(&server, &id, &client_id, &code, Some(VERIFIER));
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    for k in [
        "access_token",
        "refresh_token",
        "scope",
        "id_token",
        "token_type",
        "expires_in",
    ] {
        assert!(!t[k].is_null(), "{k} missing: {t}");
    }
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "email openid profile");
    let access = t["access_token"].as_str().unwrap();

    let (header, claims) = verify_id_token(&server, t["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert!(header["x5t"].is_string());
    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["azp"], client_id.as_str());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "n-0S6");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(
        claims["at_hash"],
        certbound_core::jose::left_half_hash(access).as_str()
    );
    assert_eq!(
        claims["c_hash"],
        certbound_core::jose::left_half_hash(&code).as_str()
    );
    for k in ["exp", "iat", "nbf", "auth_time", "sid"] {
        assert!(!claims[k].is_null(), "{k} missing");
    }

    let info = server.introspect(access);
    assert_eq!(info["cnf"]["x5t#S256"], id.thumbprint().as_str());
    assert_eq!(info["username"], "alice");

    // userinfo: the approved claims, only with the bound certificate.
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .cert(&id)
        .header(&format!("authorization: Bearer {access}"))
        .send();
    assert_eq!(ui.status, 200, "{}", ui.body);
    assert_eq!(
        ui.json(),
        serde_json::json!({"sub": "alice", "email": "alice@example.com", "given_name": "Alice", "family_name": "Liddell"})
    );
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .header(&format!("authorization: Bearer {access}"))
        .send();
    assert_eq!(ui.status, 401);
    assert!(
        ui.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .cert(&other)
        .header(&format!("authorization: Bearer {access}"))
        .send();
    assert_eq!(ui.status, 401);
    let ui = server.request_to(server.url("/oauth2/userinfo")).send();
    assert_eq!(ui.status, 401);
    assert_eq!(
        ui.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"certbound\"")
    );
}

#[test]
fn consent_narrows_claims_and_deny_returns_access_denied() {
    let (server, id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    let consent = b.get(&location(&sign_in(&b, &page, "alice", "alice-pw")));
    assert!(
        consent.body.contains("playground2") && consent.body.contains("Email address"),
        "names the client and lists attributes"
    );
    let r = decide(&b, &consent, "approve_once", &["email"]);
    let code = query_param(&location(&r), "code").unwrap();
    let t = redeem(&server, &id, &client_id, &code, Some(VERIFIER)).json();
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .cert(&id)
        .header(&format!(
            "authorization: Bearer {}",
            t["access_token"].as_str().unwrap()
        ))
        .send();
    assert_eq!(
        ui.json(),
        serde_json::json!({"sub": "alice", "email": "alice@example.com"})
    );

    let consent = b.get(&authorize_url(&client_id, ""));
    let r = decide(&b, &consent, "deny", &[]);
    assert_eq!(r.status, 303);
    let to = location(&r);
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
}

#[test]
fn approve_always_is_remembered_until_revoked_with_the_cli() {
    let (server, _id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    let consent = b.get(&location(&sign_in(&b, &page, "alice", "alice-pw")));
    assert_eq!(
        decide(&b, &consent, "approve_always", &["email", "given_name"]).status,
        303
    );
    // Next time: straight back to the client with a code.
    let r = b.get(&authorize_url(&client_id, ""));
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(query_param(&location(&r), "code").is_some());
    // prompt=none works now too.
    let r = b.get(&authorize_url(&client_id, "&prompt=none"));
    assert!(query_param(&location(&r), "code").is_some());
    let out = server.cli(&["consent", "revoke", "alice", &client_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = b.get(&authorize_url(&client_id, ""));
    assert_eq!(r.status, 200);
    assert!(r.body.contains("action=\"/oauth2/authorize/consent\""));
    let r = b.get(&authorize_url(&client_id, "&prompt=none"));
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("consent_required")
    );
}

#[test]
fn prompt_none_without_a_session_and_prompt_login_with_one() {
    let (server, _id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let r = b.get(&authorize_url(&client_id, "&prompt=none"));
    assert_eq!(r.status, 302);
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("login_required")
    );
    let page = b.get(&authorize_url(&client_id, ""));
    sign_in(&b, &page, "alice", "alice-pw");
    let r = b.get(&authorize_url(&client_id, "&prompt=login"));
    assert!(
        r.body.contains("action=\"/oauth2/authorize/login\""),
        "prompt=login shows the sign-in page again"
    );
    let r = sign_in(&b, &r, "alice", "alice-pw");
    assert!(
        !location(&r).contains("prompt"),
        "after signing in, prompt=login is satisfied"
    );
    let r = b.get(&authorize_url(&client_id, "&max_age=0"));
    assert!(
        r.body.contains("action=\"/oauth2/authorize/login\""),
        "max_age=0 asks for a fresh sign-in"
    );
    let r = sign_in(&b, &r, "alice", "alice-pw");
    assert!(!location(&r).contains("max_age"), "and is satisfied by it");
}

#[test]
fn code_replay_revokes_its_tokens_and_concurrent_redemption_succeeds_once() {
    let (server, id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let code = obtain_code(&server, &b, &client_id);
    let first = redeem(&server, &id, &client_id, &code, Some(VERIFIER));
    assert_eq!(first.status, 200);
    let access = first.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.introspect(&access)["active"], true);
    redeem(&server, &id, &client_id, &code, Some(VERIFIER)).assert_error(400, "invalid_grant");
    assert_eq!(
        server.introspect(&access)["active"],
        false,
        "RFC 6749 §4.1.2: tokens from a replayed code are revoked"
    );

    for _ in 0..3 {
        let code = obtain_code(&server, &b, &client_id);
        let results: Vec<Response> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| s.spawn(|| redeem(&server, &id, &client_id, &code, Some(VERIFIER))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            vec![200, 400],
            "exactly one concurrent redemption wins"
        );
        // The loser was a replay: the winner's tokens are revoked too, whatever the timing.
        let winner = results.iter().find(|r| r.status == 200).unwrap().json();
        assert_eq!(
            server.introspect(winner["access_token"].as_str().unwrap())["active"],
            false
        );
    }
}

#[test]
fn pkce_and_code_binding_failures_are_invalid_grant() {
    let (server, id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let code = obtain_code(&server, &b, &client_id);
    redeem(
        &server,
        &id,
        &client_id,
        &code,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"),
    )
    .assert_error(400, "invalid_grant");
    let code = obtain_code(&server, &b, &client_id);
    redeem(&server, &id, &client_id, &code, None).assert_error(400, "invalid_grant");
    // A verifier for a request that had no challenge.
    let page = b.get(&authorize_url(&client_id, "").replace(
        &format!(
            "&code_challenge={}&code_challenge_method=S256",
            challenge(VERIFIER)
        ),
        "",
    ));
    let r = decide(&b, &page, "approve_once", &[]);
    let code = query_param(&location(&r), "code").unwrap();
    redeem(&server, &id, &client_id, &code, Some(VERIFIER)).assert_error(400, "invalid_grant");
    // Another client cannot redeem it, nor a wrong redirect_uri.
    let code = obtain_code(&server, &b, &client_id);
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);
    let other_id = server.self_signed_client(
        &other.cert,
        &[
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
        ],
    );
    redeem(&server, &other, &other_id, &code, Some(VERIFIER)).assert_error(400, "invalid_grant");
    let code = obtain_code(&server, &b, &client_id);
    let body = format!(
        "grant_type=authorization_code&client_id={client_id}&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fother&code_verifier={VERIFIER}"
    );
    server
        .post("/oauth2/token")
        .cert(&id)
        .form(&body)
        .send()
        .assert_error(400, "invalid_grant");
    // A code that never existed; the code client without its certificate.
    redeem(&server, &id, &client_id, "not-a-code", Some(VERIFIER))
        .assert_error(400, "invalid_grant");
    let code = obtain_code(&server, &b, &client_id);
    let body = format!(
        "grant_type=authorization_code&client_id={client_id}&code={code}&code_verifier={VERIFIER}"
    );
    server
        .post("/oauth2/token")
        .form(&body)
        .send()
        .assert_error(401, "invalid_client");
}

#[test]
fn invalid_authorization_requests_never_redirect_to_unregistered_uris() {
    let (server, _id, client_id) = setup();
    let b = Browser::new(&server, "b");
    for url in [
        authorize_url("unknown-client", ""),
        authorize_url(&client_id, "").replace(&enc(REDIRECT), &enc("https://evil.example/cb")),
        format!("/oauth2/authorize?response_type=code&client_id={client_id}&client_id={client_id}"),
    ] {
        let r = b.get(&url);
        assert_eq!(r.status, 400, "{url}");
        assert!(r.header("location").is_none(), "no redirect for {url}");
        assert!(r.body.contains("Cannot continue"));
    }
    let r =
        b.get(&authorize_url(&client_id, "").replace("response_type=code", "response_type=token"));
    assert_eq!(r.status, 302);
    let to = location(&r);
    assert!(to.starts_with(REDIRECT));
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    let r = b.get(&authorize_url(&client_id, "").replace("S256", "plain"));
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn pages_are_protected_by_csrf_cookies_and_headers() {
    let (server, _id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.header("x-frame-options").is_some());
    let set_cookie: Vec<&str> = page
        .headers
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .collect();
    assert!(
        set_cookie
            .iter()
            .any(|c| c.contains("__Host-certbound-csrf=")
                && c.contains("Secure")
                && c.contains("HttpOnly")
                && c.contains("SameSite=Lax")),
        "{set_cookie:?}"
    );
    // A forged or missing CSRF token is refused, and signs nobody in.
    let request = input(&page.body, "request").unwrap();
    let r = b.post(
        "/oauth2/authorize/login",
        &[
            ("csrf", "forged"),
            ("request", &request),
            ("username", "alice"),
            ("password", "alice-pw"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(b.cookie("__Host-certbound-session").is_none());
    let r = sign_in(&b, &page, "alice", "alice-pw");
    assert_eq!(r.status, 303);
    let session_cookie = r
        .headers
        .lines()
        .find(|l| {
            l.to_ascii_lowercase().starts_with("set-cookie:")
                && l.contains("__Host-certbound-session=")
        })
        .unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(session_cookie.contains(flag), "{session_cookie}");
    }
    let first = b.cookie("__Host-certbound-session").unwrap();
    let page = b.get(&authorize_url(&client_id, "&prompt=login"));
    sign_in(&b, &page, "alice", "alice-pw");
    let second = b.cookie("__Host-certbound-session").unwrap();
    assert_ne!(first, second, "the session id changes at sign-in");
    // With the current session cookie in a hand-written jar, prompt=none gets past sign-in
    // (positive control); with the old one it does not: the old session is gone.
    let jar = |name: &str, value: &str| {
        std::fs::write(
            server.path().join(format!("{name}.cookies")),
            format!("localhost\tFALSE\t/\tTRUE\t0\t__Host-certbound-session\t{value}\n"),
        )
        .unwrap();
        Browser::new(&server, name)
    };
    let current = jar("current", &second);
    let r = current.get(&authorize_url(&client_id, "&prompt=none"));
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("consent_required")
    );
    let old = jar("old", &first);
    let r = old.get(&authorize_url(&client_id, "&prompt=none"));
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("login_required")
    );
    // The consent form is CSRF-protected too.
    let consent = b.get(&authorize_url(&client_id, ""));
    let request = input(&consent.body, "request").unwrap();
    let r = b.post(
        "/oauth2/authorize/consent",
        &[
            ("csrf", "forged"),
            ("request", &request),
            ("decision", "approve_once"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

#[test]
fn failed_sign_ins_are_throttled() {
    let (server, _id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    for _ in 0..5 {
        let r = sign_in(&b, &page, "alice", "wrong");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("Wrong username or password"));
    }
    let r = sign_in(&b, &page, "alice", "alice-pw");
    assert_eq!(
        r.status, 429,
        "even the right password waits after repeated failures"
    );
    assert!(r.header("retry-after").is_some());
}

#[test]
fn discovery_documents_jwks_and_key_rotation() {
    let (server, id, client_id) = setup();
    let get = |p: &str| server.request_to(server.url(p)).send().json();
    let oidc = get("/.well-known/openid-configuration");
    assert_eq!(oidc, get("/.well-known/oauth-authorization-server"));
    assert_eq!(oidc, get("/oauth2/token/.well-known/openid-configuration"));
    assert_eq!(
        oidc,
        get("/.well-known/oauth-authorization-server/oauth2/token"),
        "RFC 8414 §3.1"
    );
    assert_eq!(
        oidc["revocation_endpoint"],
        server.url("/oauth2/revoke").as_str()
    );
    assert_eq!(oidc["issuer"], server.issuer.as_str());
    assert_eq!(oidc["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(
        oidc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let methods = oidc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(
        methods.contains(&Value::from("tls_client_auth"))
            && methods.contains(&Value::from("self_signed_tls_client_auth"))
    );
    assert_eq!(oidc["jwks_uri"], server.url("/oauth2/jwks").as_str());
    assert_eq!(
        oidc["userinfo_endpoint"],
        server.url("/oauth2/userinfo").as_str()
    );

    let before = jwks(&server);
    let old_kid = before["keys"][0]["kid"].as_str().unwrap().to_owned();
    // x5t is the SHA-1 of the certificate in x5c (RFC 7517 §4.8), computed here with openssl.
    let x5c = base64::engine::general_purpose::STANDARD
        .decode(before["keys"][0]["x5c"][0].as_str().unwrap())
        .unwrap();
    let der = server.path().join("signing.der");
    std::fs::write(&der, &x5c).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha1", "-binary"])
        .arg(&der)
        .output()
        .unwrap();
    assert_eq!(
        before["keys"][0]["x5t"],
        URL_SAFE_NO_PAD.encode(&out.stdout).as_str()
    );
    let out = server.cli(&["keys", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nodes pick up keys within the cache period; a restart makes it immediate here.
    let server = server.restart();
    let after = jwks(&server);
    let kids: Vec<&str> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "the old key stays published: {kids:?}");
    assert!(kids.contains(&old_kid.as_str()));
    let b = Browser::new(&server, "b2");
    let code = obtain_code(&server, &b, &client_id);
    let t = redeem(&server, &id, &client_id, &code, Some(VERIFIER)).json();
    let (header, _) = verify_id_token(&server, t["id_token"].as_str().unwrap());
    assert_ne!(
        header["kid"],
        old_kid.as_str(),
        "new tokens are signed with the new key"
    );
}

#[test]
fn profile_claims_can_be_edited_later() {
    let (server, id, client_id) = setup();
    let out = server.cli(&[
        "user",
        "update",
        "alice",
        "--claim",
        "email=alice@new.example",
        "--claim",
        "family_name=",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = Browser::new(&server, "b");
    let code = obtain_code(&server, &b, &client_id);
    let t = redeem(&server, &id, &client_id, &code, Some(VERIFIER)).json();
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .cert(&id)
        .header(&format!(
            "authorization: Bearer {}",
            t["access_token"].as_str().unwrap()
        ))
        .send();
    assert_eq!(
        ui.json(),
        serde_json::json!({"sub": "alice", "email": "alice@new.example", "given_name": "Alice"})
    );
    let bad = server.cli(&["user", "update", "alice", "--claim", "shoe_size=44"]);
    assert!(!bad.status.success());
    let _ = browser::enc;
}

#[test]
fn the_reference_token_request_works_byte_for_byte_for_a_confidential_client_without_pkce() {
    let (server, id, client_id) = setup();
    let b = Browser::new(&server, "b");
    let url = authorize_url(&client_id, "").replace(
        &format!(
            "&code_challenge={}&code_challenge_method=S256",
            challenge(VERIFIER)
        ),
        "",
    );
    let page = b.get(&url);
    let consent = b.get(&location(&sign_in(&b, &page, "alice", "alice-pw")));
    let code = query_param(
        &location(&decide(&b, &consent, "approve_once", &["email"])),
        "code",
    )
    .unwrap();
    // The reference's curl, over direct mutual TLS: only client_id and code differ.
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert", server.ca().to_str().unwrap()])
        .args(["--cert", id.cert.to_str().unwrap(), "--key", id.key.to_str().unwrap()])
        .args(["-X", "POST"])
        .arg(server.url("/oauth2/token"))
        .args(["-H", "content-type: application/x-www-form-urlencoded"])
        .args(["-d", &format!("grant_type=authorization_code&client_id={client_id}&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fplayground2%2Foauth2client")])
        .output()
        .unwrap();
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "access_token",
        "refresh_token",
        "scope",
        "id_token",
        "token_type",
        "expires_in",
    ] {
        assert!(!t[k].is_null(), "{k} missing: {t}");
    }
    assert_eq!(t["expires_in"], 3600);
}

#[test]
fn userinfo_needs_an_openid_token_and_public_clients_need_pkce() {
    let (server, id, client_id) = setup();
    let other = pki::self_signed(server.path(), "m2m", "m2m", Validity::Current);
    let m2m = server.self_signed_client(&other.cert, &[]);
    let t = server.token_with_cert(&m2m, &other);
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .cert(&other)
        .header(&format!(
            "authorization: Bearer {}",
            t["access_token"].as_str().unwrap()
        ))
        .send();
    assert_eq!(ui.status, 403, "{}", ui.body);
    assert!(
        ui.header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    let public = server.create_client(&[
        "--name",
        "spa",
        "--auth-method",
        "none",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        REDIRECT,
    ]);
    let public_id = public["client_id"].as_str().unwrap();
    let b = Browser::new(&server, "b");
    let no_pkce = authorize_url(public_id, "").replace(
        &format!(
            "&code_challenge={}&code_challenge_method=S256",
            challenge(VERIFIER)
        ),
        "",
    );
    let r = b.get(&no_pkce);
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    let _ = (id, client_id);
}

#[test]
fn pkce_can_be_required_of_every_client() {
    let (server, _id, client_id) = setup_with("[oauth]\nrequire_pkce = true\n");
    let b = Browser::new(&server, "b");
    let no_pkce = authorize_url(&client_id, "").replace(
        &format!(
            "&code_challenge={}&code_challenge_method=S256",
            challenge(VERIFIER)
        ),
        "",
    );
    let r = b.get(&no_pkce);
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        b.get(&authorize_url(&client_id, "")).status,
        200,
        "with PKCE it proceeds"
    );
}
