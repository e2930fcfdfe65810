//! The refresh token grant (RFC 6749 §6, RFC 8705 §4, RFC 9700 §4.14) and revocation
//! (RFC 7009), over real mutual TLS.

use crate::browser::{Browser, location, query_param};
use crate::code_flow::{
    REDIRECT, authorize_url, challenge, decide, obtain_code, redeem, setup, setup_with, sign_in,
    verify_id_token,
};
use crate::harness::{Response, Server};
use crate::pki::{self, Identity, Validity};
use serde_json::Value;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The reference's refresh request, with the certificate `id` (if any).
fn refresh(
    server: &Server,
    id: Option<&Identity>,
    client_id: &str,
    refresh_token: &str,
    extra: &str,
) -> Response {
    let mut r = server.post("/oauth2/token");
    if let Some(id) = id {
        r = r.cert(id);
    }
    r.form(&format!(
        "grant_type=refresh_token&refresh_token={refresh_token}&client_id={client_id}{extra}"
    ))
    .send()
}

/// Tokens from a fresh code flow.
fn tokens(server: &Server, id: &Identity, client_id: &str) -> Value {
    let b = Browser::new(server, &format!("b{}", rand_suffix()));
    let code = obtain_code(server, &b, client_id);
    let r = redeem(server, id, client_id, &code, Some(VERIFIER));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn introspect_hint(server: &Server, token: &str, hint: &str) -> Value {
    let r = server
        .post("/oauth2/introspect")
        .basic("admin", "admin")
        .form(&format!("token={token}&token_type_hint={hint}"))
        .send();
    r.json()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing: {v}"))
}

#[test]
fn the_reference_refresh_request_rotates_and_returns_a_new_id_token() {
    let (server, id, client_id) = setup();
    let t1 = tokens(&server, &id, &client_id);
    let r = refresh(&server, Some(&id), &client_id, s(&t1, "refresh_token"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    let t2 = r.json();
    for k in [
        "access_token",
        "refresh_token",
        "scope",
        "id_token",
        "token_type",
        "expires_in",
    ] {
        assert!(!t2[k].is_null(), "{k} missing: {t2}");
    }
    assert_ne!(t2["refresh_token"], t1["refresh_token"], "rotated");
    assert_eq!(t2["scope"], t1["scope"]);
    let (_, claims) = verify_id_token(&server, s(&t2, "id_token"));
    assert_eq!(claims["amr"], serde_json::json!(["refresh_token"]));
    assert!(claims.get("nonce").is_none(), "no nonce on refresh");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["at_hash"],
        certbound_core::jose::left_half_hash(s(&t2, "access_token")).as_str()
    );
    assert_eq!(
        server.introspect(s(&t2, "access_token"))["cnf"]["x5t#S256"],
        id.thumbprint().as_str()
    );
    assert_eq!(
        introspect_hint(&server, s(&t1, "refresh_token"), "refresh_token"),
        serde_json::json!({"active": false})
    );
    let rt2 = introspect_hint(&server, s(&t2, "refresh_token"), "refresh_token");
    assert_eq!(rt2["active"], true);
    assert_eq!(rt2["client_id"], client_id.as_str());
    assert_eq!(rt2["username"], "alice");
}

#[test]
fn another_clients_certificate_or_identity_cannot_refresh() {
    let (server, id, client_id) = setup();
    let t = tokens(&server, &id, &client_id);
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);
    let other_id = server.self_signed_client(
        &other.cert,
        &[
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
        ],
    );
    refresh(&server, Some(&other), &other_id, s(&t, "refresh_token"), "")
        .assert_error(400, "invalid_grant");
    refresh(
        &server,
        Some(&other),
        &client_id,
        s(&t, "refresh_token"),
        "",
    )
    .assert_error(401, "invalid_client");
    refresh(&server, None, &client_id, s(&t, "refresh_token"), "")
        .assert_error(401, "invalid_client");
    // The failed attempts did not burn the token for its owner.
    assert_eq!(
        refresh(&server, Some(&id), &client_id, s(&t, "refresh_token"), "").status,
        200
    );
}

#[test]
fn a_client_that_rotated_its_certificate_keeps_working_and_gets_the_new_thumbprint() {
    let server = Server::start();
    crate::code_flow::create_user(&server, "alice", "alice-pw", &["email=alice@example.com"]);
    let old = pki::self_signed(server.path(), "old", "svc", Validity::Current);
    let new = pki::self_signed(server.path(), "new", "svc", Validity::Current);
    let client_id = server.self_signed_client(
        &old.cert,
        &[
            "--cert",
            new.cert.to_str().unwrap(),
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
        ],
    );
    let t = tokens(&server, &old, &client_id);
    assert_eq!(
        server.introspect(s(&t, "access_token"))["cnf"]["x5t#S256"],
        old.thumbprint().as_str()
    );
    let r = refresh(&server, Some(&new), &client_id, s(&t, "refresh_token"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        server.introspect(s(&r.json(), "access_token"))["cnf"]["x5t#S256"],
        new.thumbprint().as_str(),
        "RFC 8705 §6.3"
    );
}

#[test]
fn a_public_clients_refresh_token_is_bound_to_its_certificate() {
    let server = Server::start();
    crate::code_flow::create_user(&server, "alice", "alice-pw", &["email=alice@example.com"]);
    let c = server.create_client(&[
        "--name",
        "spa",
        "--auth-method",
        "none",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--redirect-uri",
        REDIRECT,
    ]);
    let client_id = c["client_id"].as_str().unwrap().to_owned();
    let mine = pki::self_signed(server.path(), "mine", "device", Validity::Current);
    let other = pki::self_signed(server.path(), "other", "device", Validity::Current);
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    let consent = b.get(&location(&sign_in(&b, &page, "alice", "alice-pw")));
    let code = query_param(
        &location(&decide(&b, &consent, "approve_once", &["email"])),
        "code",
    )
    .unwrap();
    let r = redeem(&server, &mine, &client_id, &code, Some(VERIFIER));
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    let rt = s(&t, "refresh_token");
    assert_eq!(
        introspect_hint(&server, rt, "refresh_token")["cnf"]["x5t#S256"],
        mine.thumbprint().as_str()
    );
    assert_eq!(
        server.introspect(s(&t, "access_token"))["cnf"]["x5t#S256"],
        mine.thumbprint().as_str()
    );
    refresh(&server, None, &client_id, rt, "").assert_error(400, "invalid_grant");
    refresh(&server, Some(&other), &client_id, rt, "").assert_error(400, "invalid_grant");
    let r = refresh(&server, Some(&mine), &client_id, rt, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let _ = challenge;
}

#[test]
fn reusing_a_rotated_refresh_token_revokes_the_whole_grant() {
    // The default: any reuse revokes (refresh_token_reuse_grace = 0).
    let (server, id, client_id) = setup();
    let t1 = tokens(&server, &id, &client_id);
    let t2 = refresh(&server, Some(&id), &client_id, s(&t1, "refresh_token"), "").json();
    assert_eq!(server.introspect(s(&t2, "access_token"))["active"], true);
    refresh(&server, Some(&id), &client_id, s(&t1, "refresh_token"), "")
        .assert_error(400, "invalid_grant");
    for at in [s(&t1, "access_token"), s(&t2, "access_token")] {
        assert_eq!(
            server.introspect(at),
            serde_json::json!({"active": false}),
            "the family's access tokens are revoked"
        );
    }
    refresh(&server, Some(&id), &client_id, s(&t2, "refresh_token"), "")
        .assert_error(400, "invalid_grant");
}

#[test]
fn concurrent_uses_of_one_refresh_token_succeed_exactly_once() {
    let (server, id, client_id) = setup();
    for _ in 0..3 {
        let t = tokens(&server, &id, &client_id);
        let rt = s(&t, "refresh_token").to_owned();
        let results: Vec<Response> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..2)
                .map(|_| sc.spawn(|| refresh(&server, Some(&id), &client_id, &rt, "")))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, vec![200, 400], "exactly one succeeds");
        // The other use was a reuse: by default the whole grant goes, the winner's new tokens
        // included (RFC 9700 §4.14.2), whichever request got there first.
        let winner = results.iter().find(|r| r.status == 200).unwrap().json();
        assert_eq!(
            server.introspect(s(&winner, "access_token"))["active"],
            false
        );
        assert_eq!(
            introspect_hint(&server, s(&winner, "refresh_token"), "refresh_token")["active"],
            false
        );
    }
}

#[test]
fn with_a_reuse_grace_a_concurrent_retry_is_only_refused() {
    let (server, id, client_id) = setup_with("[oauth]\nrefresh_token_reuse_grace = 30\n");
    let t = tokens(&server, &id, &client_id);
    let t2 = refresh(&server, Some(&id), &client_id, s(&t, "refresh_token"), "").json();
    refresh(&server, Some(&id), &client_id, s(&t, "refresh_token"), "")
        .assert_error(400, "invalid_grant");
    assert_eq!(
        server.introspect(s(&t2, "access_token"))["active"],
        true,
        "within the grace the grant survives"
    );
}

#[test]
fn scope_may_narrow_but_never_widen() {
    let (server, id, client_id) = setup();
    let t = tokens(&server, &id, &client_id);
    let r = refresh(
        &server,
        Some(&id),
        &client_id,
        s(&t, "refresh_token"),
        "&scope=openid",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let narrowed = r.json();
    assert_eq!(narrowed["scope"], "openid");
    assert!(narrowed["id_token"].is_string());
    // Narrowing the scope narrows what userinfo releases too.
    let ui = server
        .request_to(server.url("/oauth2/userinfo"))
        .cert(&id)
        .header(&format!(
            "authorization: Bearer {}",
            s(&narrowed, "access_token")
        ))
        .send();
    assert_eq!(ui.json(), serde_json::json!({"sub": "alice"}));
    // The rotated token keeps the original grant; widening beyond it is refused.
    refresh(
        &server,
        Some(&id),
        &client_id,
        s(&narrowed, "refresh_token"),
        "&scope=openid%20phone",
    )
    .assert_error(400, "invalid_scope");
    let r = refresh(
        &server,
        Some(&id),
        &client_id,
        s(&narrowed, "refresh_token"),
        "&scope=email%20openid%20profile",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn revoke(
    server: &Server,
    id: Option<&Identity>,
    client_id: &str,
    token: &str,
    hint: &str,
) -> Response {
    let mut r = server.post("/oauth2/revoke");
    if let Some(id) = id {
        r = r.cert(id);
    }
    r.form(&format!("token={token}&client_id={client_id}{hint}"))
        .send()
}

#[test]
fn revocation_follows_rfc_7009() {
    let (server, id, client_id) = setup();
    // An access token.
    let t = tokens(&server, &id, &client_id);
    let r = revoke(&server, Some(&id), &client_id, s(&t, "access_token"), "");
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(
        server.introspect(s(&t, "access_token")),
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect_hint(&server, s(&t, "refresh_token"), "refresh_token")["active"],
        true,
        "only that token"
    );
    // A refresh token, with a misleading hint: its grant's access tokens go with it.
    let t = tokens(&server, &id, &client_id);
    let r = revoke(
        &server,
        Some(&id),
        &client_id,
        s(&t, "refresh_token"),
        "&token_type_hint=access_token",
    );
    assert_eq!(r.status, 200);
    assert_eq!(server.introspect(s(&t, "access_token"))["active"], false);
    assert_eq!(
        introspect_hint(&server, s(&t, "refresh_token"), "refresh_token")["active"],
        false
    );
    refresh(&server, Some(&id), &client_id, s(&t, "refresh_token"), "")
        .assert_error(400, "invalid_grant");
    // Another client's token: 200, and nothing happens.
    let t = tokens(&server, &id, &client_id);
    let other = pki::self_signed(server.path(), "other", "other", Validity::Current);
    let other_id = server.self_signed_client(&other.cert, &[]);
    assert_eq!(
        revoke(&server, Some(&other), &other_id, s(&t, "access_token"), "").status,
        200
    );
    assert_eq!(
        revoke(
            &server,
            Some(&other),
            &other_id,
            s(&t, "refresh_token"),
            "&token_type_hint=refresh_token"
        )
        .status,
        200
    );
    assert_eq!(server.introspect(s(&t, "access_token"))["active"], true);
    assert_eq!(
        introspect_hint(&server, s(&t, "refresh_token"), "refresh_token")["active"],
        true
    );
    // Unknown tokens: 200. No client authentication: 401. No token: 400.
    assert_eq!(
        revoke(&server, Some(&id), &client_id, "never-issued", "").status,
        200
    );
    revoke(&server, None, &client_id, s(&t, "access_token"), "")
        .assert_error(401, "invalid_client");
    server
        .post("/oauth2/revoke")
        .cert(&id)
        .form(&format!("client_id={client_id}"))
        .send()
        .assert_error(400, "invalid_request");
    assert_eq!(server.introspect(s(&t, "access_token"))["active"], true);
}

#[test]
fn cli_revokes_everything_of_a_client_or_a_user() {
    let (server, id, client_id) = setup();
    let t1 = tokens(&server, &id, &client_id);
    let out = server.cli(&["token", "revoke", "--user", "alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.introspect(s(&t1, "access_token"))["active"], false);
    assert_eq!(
        introspect_hint(&server, s(&t1, "refresh_token"), "refresh_token")["active"],
        false
    );
    let t2 = tokens(&server, &id, &client_id);
    let out = server.cli(&["token", "revoke", "--client", &client_id]);
    assert!(out.status.success());
    assert_eq!(server.introspect(s(&t2, "access_token"))["active"], false);
    assert_eq!(
        introspect_hint(&server, s(&t2, "refresh_token"), "refresh_token")["active"],
        false
    );
    assert!(
        !server.cli(&["token", "revoke"]).status.success(),
        "needs --client or --user"
    );
}
