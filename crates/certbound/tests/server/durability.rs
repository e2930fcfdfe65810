//! Crash safety: a token is durable before it is returned. The server is killed with SIGKILL
//! in the middle of a load of token requests and restarted on the same data directory (or
//! PostgreSQL schema); every token a client received with a 200 must introspect as active,
//! and grants obtained before the kill (codes, refresh tokens, a rotation just before it) must
//! be redeemable exactly once, never twice.

use crate::browser::Browser;
use crate::code_flow::{VERIFIER, obtain_code, provision, redeem};
use crate::harness::{Response, Server};
use crate::pki::{self, Identity, Validity};
use crate::shutdown::{Target, Transfer, keep_alive_worker};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Tokens the clients must have received before the kill.
const RECEIVED_BEFORE_KILL: usize = 200;

fn refresh(server: &Server, id: &Identity, client_id: &str, refresh_token: &str) -> Response {
    server
        .post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=refresh_token&refresh_token={refresh_token}&client_id={client_id}"
        ))
        .send()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing: {v}"))
}

#[test]
fn sigkill_under_load_loses_no_token_and_no_grant_is_redeemable_twice() {
    let mut server = Server::start();
    let (code_id, code_client) = provision(&server);
    let load_id = pki::self_signed(server.path(), "load", "load", Validity::Current);
    let load_client = server.self_signed_client(&load_id.cert, &[]);
    // Grants obtained before the load: an unredeemed code, an unused refresh token, and one
    // to rotate right before the kill.
    let browser = Browser::new(&server, "alice");
    let code = obtain_code(&server, &browser, &code_client);
    let unused = {
        let c = obtain_code(&server, &browser, &code_client);
        let r = redeem(&server, &code_id, &code_client, &c, Some(VERIFIER));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    let to_rotate = {
        let c = obtain_code(&server, &browser, &code_client);
        let r = redeem(&server, &code_id, &code_client, &c, Some(VERIFIER));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };

    let target = Target::new(&server, "/oauth2/token", &load_id);
    let form = format!("grant_type=client_credentials&client_id={load_client}");
    let done = AtomicUsize::new(0);
    let (transfers, rotated) = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..4)
            .map(|_| sc.spawn(|| keep_alive_worker(&target, &form, 2000, &done)))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while done.load(Ordering::Acquire) < RECEIVED_BEFORE_KILL + 50 {
            assert!(Instant::now() < deadline, "the load is too slow");
            std::thread::sleep(Duration::from_millis(10));
        }
        // A rotation answered right before the kill, while the load still runs.
        let rotated = refresh(
            &server,
            &code_id,
            &code_client,
            s(&to_rotate, "refresh_token"),
        );
        server.kill();
        let transfers: Vec<Transfer> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        (transfers, rotated)
    });
    assert_eq!(
        rotated.status, 200,
        "rotation before the kill: {}",
        rotated.body
    );
    let rotated = rotated.json();
    let received: Vec<String> = transfers.iter().filter_map(Transfer::token).collect();
    assert!(
        received.len() >= RECEIVED_BEFORE_KILL,
        "{} tokens received before the kill",
        received.len()
    );
    assert!(
        received.len() < transfers.len(),
        "the kill came in the middle of the load"
    );

    let server = server.restart();
    // Every token a client received with a 200 is active after the crash.
    std::thread::scope(|sc| {
        let chunks: Vec<_> = received
            .chunks(received.len().div_ceil(4))
            .map(|chunk| {
                let server = &server;
                sc.spawn(move || {
                    for token in chunk {
                        assert_eq!(
                            server.introspect(token)["active"],
                            true,
                            "a token received with a 200 before SIGKILL was lost"
                        );
                    }
                })
            })
            .collect();
        for c in chunks {
            c.join().unwrap();
        }
    });
    // The rotation committed before its answer: its access token is active, the new refresh
    // token works once, and neither it nor the rotated one works a second time.
    assert_eq!(
        server.introspect(s(&rotated, "access_token"))["active"],
        true
    );
    let r = refresh(
        &server,
        &code_id,
        &code_client,
        s(&rotated, "refresh_token"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    refresh(
        &server,
        &code_id,
        &code_client,
        s(&rotated, "refresh_token"),
    )
    .assert_error(400, "invalid_grant");
    refresh(
        &server,
        &code_id,
        &code_client,
        s(&to_rotate, "refresh_token"),
    )
    .assert_error(400, "invalid_grant");
    // The code and the refresh token obtained before the kill work exactly once.
    let r = redeem(&server, &code_id, &code_client, &code, Some(VERIFIER));
    assert_eq!(r.status, 200, "{}", r.body);
    redeem(&server, &code_id, &code_client, &code, Some(VERIFIER))
        .assert_error(400, "invalid_grant");
    let r = refresh(&server, &code_id, &code_client, s(&unused, "refresh_token"));
    assert_eq!(r.status, 200, "{}", r.body);
    refresh(&server, &code_id, &code_client, s(&unused, "refresh_token"))
        .assert_error(400, "invalid_grant");
    // And the server issues tokens again.
    server.token_with_cert(&load_client, &load_id);
}
