//! Two certbound nodes on one PostgreSQL schema, the database as their only shared state
//! (issue 8): tokens, revocations, codes, refresh tokens, sessions, consents and signing keys
//! work whichever node serves each request, and the two races succeed exactly once.
//!
//! These tests always use PostgreSQL (a fresh schema each), whatever `CERTBOUND_TEST_STORAGE`
//! says: several nodes are what PostgreSQL is for.

pub mod outage;

use crate::browser::{Browser, location, query_param};
use crate::code_flow::{
    VERIFIER, authorize_url, decide, obtain_code, provision, redeem, sign_in, verify_id_token,
};
use crate::harness::{PgSchema, Response, Server};
use crate::pki::{self, Identity, Validity};
use serde_json::Value;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The public issuer both nodes share, as a load balancer in front of them would have it.
pub const ISSUER: &str = "https://localhost:9443/oauth2/token";

/// How many concurrent attempts each race makes, split evenly across the two nodes.
const ATTEMPTS: usize = 50;

/// Node A, then node B on the same schema, sharing A's development TLS files and the issuer.
pub fn two_nodes(config: &str) -> (Server, Server) {
    let schema = PgSchema::create();
    two_nodes_on(&schema, config)
}

/// [`two_nodes`] on a given schema.
pub fn two_nodes_on(schema: &Arc<PgSchema>, config: &str) -> (Server, Server) {
    let config = format!("[server]\nissuer = \"{ISSUER}\"\n{config}");
    let a = Server::launch_on(
        tempfile::tempdir().unwrap(),
        &config,
        Some("admin"),
        Some(Arc::clone(schema)),
    );
    let b = start_like(&a, schema, &config);
    (a, b)
}

/// Starts another node like `a`: same TLS certificate and CA, same database, same config.
pub fn start_like(a: &Server, schema: &Arc<PgSchema>, config: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("data").join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    for entry in std::fs::read_dir(a.data_dir().join("tls")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, tls.join(path.file_name().unwrap())).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::Permissions::from_mode(0o700);
        std::fs::set_permissions(dir.path().join("data"), private.clone()).unwrap();
        std::fs::set_permissions(&tls, private).unwrap();
    }
    Server::launch_on(dir, config, Some("admin"), Some(Arc::clone(schema)))
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing: {v}"))
}

fn introspect_refresh(server: &Server, token: &str) -> Value {
    server
        .post("/oauth2/introspect")
        .basic("admin", "admin")
        .form(&format!("token={token}&token_type_hint=refresh_token"))
        .send()
        .json()
}

/// Runs `attempt(node)` `ATTEMPTS` times at once, alternating the nodes, released together.
fn race(nodes: [&Server; 2], attempt: impl Fn(&Server) -> Response + Sync) -> Vec<Response> {
    let start = Barrier::new(ATTEMPTS);
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..ATTEMPTS)
            .map(|i| {
                let (start, attempt, node) = (&start, &attempt, nodes[i % 2]);
                sc.spawn(move || {
                    start.wait();
                    attempt(node)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Asserts exactly one 200 and only `invalid_grant` otherwise; returns the winner's body.
fn exactly_one_success(results: &[Response]) -> Value {
    let winners: Vec<&Response> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {} concurrent attempts succeeds; statuses: {:?}",
        results.len(),
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "invalid_grant");
    }
    winners[0].json()
}

#[test]
fn tokens_and_revocations_are_seen_by_every_node() {
    let (a, b) = two_nodes("");
    let id = pki::self_signed(a.path(), "c", "c", Validity::Current);
    let client_id = a.self_signed_client(&id.cert, &[]);
    // Issued on A, active on B, with the same binding.
    let t = a.token_with_cert(&client_id, &id);
    let on_b = b.introspect(s(&t, "access_token"));
    assert_eq!(on_b["active"], true, "{on_b}");
    assert_eq!(on_b["cnf"]["x5t#S256"], id.thumbprint().as_str());
    assert_eq!(on_b["iss"], ISSUER);
    // Revoked on A (RFC 7009): inactive on B at once.
    let r = a
        .post("/oauth2/revoke")
        .cert(&id)
        .form(&format!(
            "token={}&client_id={client_id}",
            s(&t, "access_token")
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        b.introspect(s(&t, "access_token")),
        serde_json::json!({"active": false})
    );
    // Issued on B, revoked with the CLI against the database: inactive on both.
    let t = b.token_with_cert(&client_id, &id);
    assert_eq!(a.introspect(s(&t, "access_token"))["active"], true);
    let out = a.cli(&["token", "revoke", "--client", &client_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for node in [&a, &b] {
        assert_eq!(node.introspect(s(&t, "access_token"))["active"], false);
    }
}

#[test]
fn sign_in_on_one_node_and_consent_on_the_other() {
    let (a, b) = two_nodes("");
    let (id, client_id) = provision(&a);
    let on_a = Browser::new(&a, "browser");
    let on_b = on_a.on(&b);
    // Sign in on A; the session cookie is good on B, which shows the consent page.
    let page = on_a.get(&authorize_url(&client_id, ""));
    let r = sign_in(&on_a, &page, "alice", "alice-pw");
    assert_eq!(r.status, 303, "{}", r.body);
    let consent = on_b.get(&location(&r));
    assert_eq!(consent.status, 200, "{}", consent.body);
    // Remembered consent given on B...
    let r = decide(&on_b, &consent, "approve_always", &["email", "given_name"]);
    assert_eq!(r.status, 303, "{}", r.body);
    let code = query_param(&location(&r), "code").unwrap();
    // ...its code redeems on A...
    let t = redeem(&a, &id, &client_id, &code, Some(VERIFIER));
    assert_eq!(t.status, 200, "{}", t.body);
    // ...and applies on A: straight back to the client with a code, no page.
    let r = on_a.get(&authorize_url(&client_id, "&prompt=none"));
    assert_eq!(r.status, 302, "{}", r.body);
    let code = query_param(&location(&r), "code").expect("a code, no consent page");
    let t = redeem(&b, &id, &client_id, &code, Some(VERIFIER));
    assert_eq!(t.status, 200, "{}", t.body);
}

#[test]
fn a_code_redeemed_concurrently_on_both_nodes_succeeds_exactly_once() {
    let (a, b) = two_nodes("");
    let (id, client_id) = provision(&a);
    let browser = Browser::new(&a, "b");
    let code = obtain_code(&a, &browser, &client_id);
    let results = race([&a, &b], |node| {
        redeem(node, &id, &client_id, &code, Some(VERIFIER))
    });
    let winner = exactly_one_success(&results);
    // The losers were replays (RFC 6749 §4.1.2): the winner's tokens are revoked on both nodes.
    for node in [&a, &b] {
        assert_eq!(node.introspect(s(&winner, "access_token"))["active"], false);
    }
}

#[test]
fn a_refresh_token_used_concurrently_on_both_nodes_succeeds_exactly_once() {
    let (a, b) = two_nodes("");
    let (id, client_id) = provision(&a);
    let browser = Browser::new(&b, "b");
    let code = obtain_code(&b, &browser, &client_id);
    let t = redeem(&b, &id, &client_id, &code, Some(VERIFIER));
    assert_eq!(t.status, 200, "{}", t.body);
    let rt = s(&t.json(), "refresh_token").to_owned();
    let results = race([&a, &b], |node| refresh(node, &id, &client_id, &rt));
    let winner = exactly_one_success(&results);
    // The losers reused a rotated refresh token: without a reuse grace the whole grant is
    // revoked (RFC 9700 §4.14.2), the winner's new tokens included, on both nodes.
    for node in [&a, &b] {
        assert_eq!(node.introspect(s(&winner, "access_token"))["active"], false);
        assert_eq!(
            introspect_refresh(node, s(&winner, "refresh_token"))["active"],
            false
        );
    }
}

#[test]
fn with_a_reuse_grace_the_concurrent_losers_are_only_refused() {
    let (a, b) = two_nodes("[oauth]\nrefresh_token_reuse_grace = 60\n");
    let (id, client_id) = provision(&a);
    let browser = Browser::new(&a, "b");
    let code = obtain_code(&a, &browser, &client_id);
    let t = redeem(&a, &id, &client_id, &code, Some(VERIFIER)).json();
    let rt = s(&t, "refresh_token").to_owned();
    let results = race([&a, &b], |node| refresh(node, &id, &client_id, &rt));
    let winner = exactly_one_success(&results);
    for node in [&a, &b] {
        assert_eq!(node.introspect(s(&winner, "access_token"))["active"], true);
    }
    let next = refresh(&b, &id, &client_id, s(&winner, "refresh_token"));
    assert_eq!(next.status, 200, "the winner's refresh token goes on");
}

fn refresh(node: &Server, id: &Identity, client_id: &str, refresh_token: &str) -> Response {
    node.post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=refresh_token&refresh_token={refresh_token}&client_id={client_id}"
        ))
        .send()
}

fn kids(node: &Server) -> Vec<String> {
    let jwks = crate::code_flow::jwks(node);
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| s(k, "kid").to_owned())
        .collect();
    kids.sort();
    kids
}

#[test]
fn signing_keys_are_shared_and_a_rotation_reaches_every_node_in_bounded_time() {
    let (a, b) = two_nodes("[oauth]\nsigning_key_refresh_interval = 1\n");
    let (id, client_id) = provision(&a);
    assert_eq!(crate::code_flow::jwks(&a), crate::code_flow::jwks(&b));
    let before = kids(&a);
    assert_eq!(before.len(), 1, "{before:?}");
    let out = b.cli(&["keys", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Both nodes publish the new key within the refresh interval (1 s here; polled up to 10 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while kids(&a).len() < 2 || kids(&b).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the rotated key did not reach both nodes: {:?} {:?}",
            kids(&a),
            kids(&b)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(crate::code_flow::jwks(&a), crate::code_flow::jwks(&b));
    let new_kid = kids(&a).into_iter().find(|k| !before.contains(k)).unwrap();
    // Both sign with it; a token from one node verifies against the other's JWKS.
    let browser = Browser::new(&a, "b");
    for (issuing, other) in [(&a, &b), (&b, &a)] {
        let code = obtain_code(issuing, &browser.on(issuing), &client_id);
        let t = redeem(issuing, &id, &client_id, &code, Some(VERIFIER)).json();
        let (header, claims) = verify_id_token(other, s(&t, "id_token"));
        assert_eq!(header["kid"], new_kid.as_str());
        assert_eq!(claims["iss"], ISSUER);
    }
}

#[test]
fn through_a_real_nginx_upstream_both_nodes_serve_certificate_bound_tokens() {
    let config = format!(
        "[server]\nhttp_listen = \"127.0.0.1:0\"\n\n{}",
        crate::proxy::PROXY_CONFIG
    );
    // The issuer goes in front of the node's own [server] table: one table, both keys.
    let schema = PgSchema::create();
    let config = config.replace("[server]\n", &format!("[server]\nissuer = \"{ISSUER}\"\n"));
    let a = Server::launch_on(
        tempfile::tempdir().unwrap(),
        &config,
        Some("admin"),
        Some(Arc::clone(&schema)),
    );
    let b = start_like(&a, &schema, &config);
    let nginx = crate::proxy::start_nginx_to(&a, &[a.http_port.unwrap(), b.http_port.unwrap()]);
    let alice = pki::self_signed(a.path(), "alice", "alice", Validity::Current);
    let client_id = a.self_signed_client(&alice.cert, &[]);
    let via_nginx = |path: &str| a.request_to(format!("https://localhost:{}{path}", nginx.port));
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let r = via_nginx("/oauth2/token")
            .cert(&alice)
            .form(&format!(
                "grant_type=client_credentials&client_id={client_id}"
            ))
            .send();
        assert_eq!(r.status, 200, "{}", r.body);
        tokens.push(s(&r.json(), "access_token").to_owned());
    }
    // Round robin: each node issued some, every token is bound on every node.
    for node in [&a, &b] {
        assert!(
            node.log().contains(&alice.thumbprint()),
            "this node served none of the token requests:\n{}",
            node.log()
        );
        for t in &tokens {
            assert_eq!(
                node.introspect(t)["cnf"]["x5t#S256"],
                alice.thumbprint().as_str()
            );
        }
    }
}
