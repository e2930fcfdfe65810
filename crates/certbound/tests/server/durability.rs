//! Crash safety: a token is durable before it is returned. The server is killed with SIGKILL
//! in the middle of a load of token requests and restarted on the same data directory (or
//! PostgreSQL schema); every token a client received with a 200 must introspect as active,
//! and grants obtained before the kill (codes, refresh tokens, a rotation just before it) must
//! be redeemable exactly once, never twice.

use crate::browser::Browser;
use crate::code_flow::{VERIFIER, obtain_code, provision, redeem};
use crate::harness::{Response, Server, postgres};
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

/// The WAL of the SQLite store is synced with fdatasync(2), as `.cargo/config.toml` builds it
/// (`HAVE_FDATASYNC`), and every token is synced before its response: strace, attached to the
/// running server, sees at least one fdatasync per token request answered and never an
/// fsync(2), which would also write the file's mtime on every commit.
#[test]
fn the_sqlite_store_syncs_each_commit_with_fdatasync_never_fsync() {
    if postgres() {
        // PostgreSQL syncs its own WAL (wal_sync_method); nothing of certbound's to see.
        return;
    }
    let server = Server::start();
    let id = pki::self_signed(server.path(), "sync", "sync", Validity::Current);
    let client = server.self_signed_client(&id.cert, &[]);
    server.token_with_cert(&client, &id);
    let trace = server.path().join("strace.txt");
    let mut strace = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .args(["-p", &server.pid().to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("strace (scripts/test installs it)");
    // strace says "Process N attached" on stderr for every thread once it traces them.
    let mut stderr = std::io::BufReader::new(strace.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("attached"), "strace did not attach: {line}");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    std::thread::sleep(Duration::from_millis(300));
    const REQUESTS: usize = 5;
    for _ in 0..REQUESTS {
        // One at a time: each is its own group commit, so each needs its own sync.
        server.token_with_cert(&client, &id);
    }
    interrupt(strace.id());
    let _ = strace.wait();
    let text = std::fs::read_to_string(&trace).unwrap();
    let fdatasync = text.matches("fdatasync(").count();
    let fsync = text.lines().filter(|l| l.contains(" fsync(")).count();
    assert!(
        fdatasync >= REQUESTS,
        "{REQUESTS} tokens, each committed on its own, need at least {REQUESTS} fdatasync calls; strace saw {fdatasync}:\n{text}"
    );
    assert_eq!(fsync, 0, "no fsync(2) expected:\n{text}");
}

/// Stops strace with SIGINT, so it detaches from the server cleanly (SIGKILL could leave the
/// traced threads stopped).
fn interrupt(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
