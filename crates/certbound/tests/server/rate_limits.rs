//! `[rate_limits]` against the real server with small limits: 429 with `Retry-After` and an
//! RFC 6749 §5.2 JSON body on the token and registration endpoints, an HTML page on sign-in,
//! per client_id and per address, keys never taken from headers an untrusted peer sends,
//! sign-in failures backing off, and everything off with `enabled = false`.

use crate::browser::Browser;
use crate::code_flow::{authorize_url, setup_with, sign_in};
use crate::harness::{Request, Response, Server};
use crate::pki::{self, Validity};
use std::process::Command;
use std::time::Duration;

/// Connects from `addr` (a loopback address other than 127.0.0.1), to the server on 127.0.0.1.
fn from(server: &Server, addr: &str, path: &str) -> Request {
    server
        .post(path)
        .arg("--interface")
        .arg(addr)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", server.port))
}

/// Asserts a rate-limit refusal of an OAuth endpoint; returns the Retry-After seconds.
fn assert_limited(r: &Response) -> u64 {
    r.assert_error(429, "temporarily_unavailable");
    let wait: u64 = r
        .header("retry-after")
        .expect("429 carries Retry-After")
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(wait >= 1, "Retry-After {wait}");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    wait
}

/// Sends requests until one is refused with 429 (at most 20); returns how many got through
/// first and the refusal. A limit of 1 per second with a burst of 2 refuses the third request
/// sent in quick succession; the loop only tolerates a slow machine.
fn until_limited(mut send: impl FnMut(usize) -> Response) -> (usize, Response) {
    for i in 0..20 {
        let r = send(i);
        if r.status == 429 {
            return (i, r);
        }
    }
    panic!("no request was refused by the rate limit");
}

fn client_credentials(server: &Server, client_id: &str, id: &pki::Identity) -> Response {
    server
        .post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
}

fn mtls_client(server: &Server, name: &str) -> (String, pki::Identity) {
    let id = pki::self_signed(server.path(), name, name, Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    (client_id, id)
}

#[test]
fn the_token_endpoint_limits_each_client_id_with_429_retry_after_and_json_others_unaffected() {
    let server = Server::start_with(
        "[rate_limits]\ntoken_per_client_per_second = 1\ntoken_per_client_burst = 2\n",
    );
    let (a, a_id) = mtls_client(&server, "client-a");
    let (b, b_id) = mtls_client(&server, "client-b");
    let (passed, refused) = until_limited(|_| {
        let r = client_credentials(&server, &a, &a_id);
        assert!(r.status == 200 || r.status == 429, "{}", r.body);
        r
    });
    assert!(passed >= 2, "the burst of 2 is allowed first");
    let wait = assert_limited(&refused);
    assert!(wait <= 2, "Retry-After {wait} for a rate of 1/s");
    // Another client from the same address is not held back.
    assert_eq!(client_credentials(&server, &b, &b_id).status, 200);
    // After Retry-After, the limited client is served again.
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(client_credentials(&server, &a, &a_id).status, 200);
    assert!(server.log().contains("token request rejected"));
}

#[test]
fn the_token_endpoint_limits_each_address_whatever_client_id_it_claims() {
    let server = Server::start_with(
        "[rate_limits]\ntoken_per_address_per_second = 1\ntoken_per_address_burst = 2\n",
    );
    let (passed, refused) = until_limited(|i| {
        server
            .post("/oauth2/token")
            .form(&format!(
                "grant_type=client_credentials&client_id=nobody-{i}"
            ))
            .send()
    });
    assert!(passed >= 2);
    assert_limited(&refused);
    // Another address still reaches client authentication (and fails it: no such client).
    from(&server, "127.0.0.2", "/oauth2/token")
        .form("grant_type=client_credentials&client_id=nobody")
        .send()
        .assert_error(401, "invalid_client");
}

#[test]
fn a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_address_key() {
    let server = Server::start_with(
        "[rate_limits]\ntoken_per_address_per_second = 1\ntoken_per_address_burst = 2\n\n\
         [oauth.mutualtls]\nclient_certificate_header = \"x-wso2-mtls-cert\"\n\
         trusted_proxies = [\"127.0.0.1/32\"]\n",
    );
    // From 127.0.0.2, which is not a trusted proxy: every request claims another origin in
    // X-Forwarded-For and Forwarded, and all are still counted as 127.0.0.2.
    let (passed, refused) = until_limited(|i| {
        from(&server, "127.0.0.2", "/oauth2/token")
            .header(&format!("x-forwarded-for: 203.0.113.{i}"))
            .header(&format!("forwarded: for=203.0.113.{i}"))
            .form("grant_type=client_credentials&client_id=nobody")
            .send()
    });
    assert!(passed >= 2);
    assert_limited(&refused);
    // From the trusted proxy (127.0.0.1), the address it appends is the key: ten requests for
    // ten different clients behind it are not limited together. This proves the header is read
    // at all, so the refusal above was the trust rule.
    for i in 0..10 {
        let r = server
            .post("/oauth2/token")
            .header(&format!("x-forwarded-for: 198.51.100.{i}"))
            .form("grant_type=client_credentials&client_id=nobody")
            .send();
        r.assert_error(401, "invalid_client");
    }
    // ...and one forwarded address is limited like any other.
    let (_, refused) = until_limited(|_| {
        server
            .post("/oauth2/token")
            .header("x-forwarded-for: 192.0.2.77")
            .form("grant_type=client_credentials&client_id=nobody")
            .send()
    });
    assert_limited(&refused);
}

#[test]
fn registration_is_limited_per_address() {
    let server = Server::start_with(
        "[registration]\npolicy = \"open\"\n\n[rate_limits]\n\
         registration_per_address_per_minute = 1\nregistration_per_address_burst = 2\n",
    );
    let body = r#"{"client_name":"x","token_endpoint_auth_method":"client_secret_basic","grant_types":["client_credentials"]}"#;
    let register = |r: Request| {
        r.header("content-type: application/json")
            .arg("--data-raw")
            .arg(body)
            .send()
    };
    for _ in 0..2 {
        let r = register(server.post("/oauth2/register"));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = register(server.post("/oauth2/register"));
    let wait = assert_limited(&r);
    assert!((50..=60).contains(&wait), "Retry-After {wait} for 1/minute");
    let r = register(from(&server, "127.0.0.2", "/oauth2/register"));
    assert_eq!(r.status, 201, "another address may register: {}", r.body);
}

#[test]
fn sign_in_failures_back_off_increasingly_up_to_the_cap_and_success_resets() {
    let (server, _id, client_id) = setup_with(
        "[rate_limits]\nsign_in_free_failures_per_user = 2\n\
         sign_in_first_lockout_seconds = 2\nsign_in_max_lockout_seconds = 4\n",
    );
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    let attempt = |password: &str| sign_in(&b, &page, "alice", password);
    let wrong = |r: &Response| r.status == 200 && r.body.contains("Wrong username or password");
    let locked = |r: &Response| -> u64 {
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r.body.contains("Too many failed attempts"), "{}", r.body);
        r.header("retry-after").unwrap().parse().unwrap()
    };
    // Waits out a lockout, then fails once more (that failure counts).
    let fail_after_lockout = || loop {
        let r = attempt("wrong");
        if wrong(&r) {
            return;
        }
        locked(&r);
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(wrong(&attempt("wrong")));
    assert!(wrong(&attempt("wrong")));
    let first = locked(&attempt("alice-pw"));
    assert!((1..=2).contains(&first), "first lockout {first}");
    fail_after_lockout();
    let second = locked(&attempt("alice-pw"));
    assert!((3..=4).contains(&second), "doubled: {second}");
    fail_after_lockout();
    let third = locked(&attempt("alice-pw"));
    assert!((3..=4).contains(&third), "capped at 4: {third}");
    // Once the lockout is over, the right password signs in and clears the count.
    let signed_in = loop {
        let r = attempt("alice-pw");
        if r.status != 429 {
            break r;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let b2 = Browser::new(&server, "b2");
    let page2 = b2.get(&authorize_url(&client_id, ""));
    assert!(wrong(&sign_in(&b2, &page2, "alice", "wrong")));
    assert!(
        wrong(&sign_in(&b2, &page2, "alice", "wrong")),
        "after a success the allowance is whole again"
    );
}

#[test]
fn sign_in_posts_are_limited_per_address_with_a_readable_page() {
    let (server, _id, client_id) = setup_with(
        "[rate_limits]\nsign_in_per_address_per_minute = 1\nsign_in_per_address_burst = 2\n",
    );
    let b = Browser::new(&server, "b");
    let page = b.get(&authorize_url(&client_id, ""));
    for user in ["nobody", "someone"] {
        assert_eq!(sign_in(&b, &page, user, "x").status, 200);
    }
    let r = sign_in(&b, &page, "alice", "alice-pw");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("Too many sign-in attempts"), "{}", r.body);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&wait), "Retry-After {wait}");
    // The console's sign-in form shares the per-address limit.
    let console = b.get("/console/login");
    let csrf = crate::browser::input(&console.body, "csrf").unwrap();
    let r = b.post(
        "/console/login",
        &[
            ("csrf", &csrf),
            ("username", "admin"),
            ("password", "admin"),
        ],
    );
    assert_eq!(r.status, 429, "{}", r.body);
}

#[test]
fn disabled_rate_limits_refuse_nothing() {
    let server = Server::start_with(
        "[rate_limits]\nenabled = false\ntoken_per_client_per_second = 1\n\
         token_per_client_burst = 1\ntoken_per_address_per_second = 1\ntoken_per_address_burst = 1\n",
    );
    let (a, a_id) = mtls_client(&server, "client-a");
    for _ in 0..8 {
        assert_eq!(client_credentials(&server, &a, &a_id).status, 200);
    }
}

#[test]
fn defaults_let_a_busy_client_through() {
    let server = Server::start();
    let (a, a_id) = mtls_client(&server, "client-a");
    for _ in 0..50 {
        assert_eq!(client_credentials(&server, &a, &a_id).status, 200);
    }
}

#[test]
fn invalid_rate_limits_stop_the_start_with_a_message_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("certbound.toml"),
        "[rate_limits]\ntoken_per_client_burst = 0\n",
    )
    .unwrap();
    let out = Command::new(crate::harness::BIN)
        .env_remove("CERTBOUND_STORAGE_URL")
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(dir.path().join("certbound.toml"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rate_limits.token_per_client_burst must be between 1 and 1000000"),
        "{err}"
    );
}
