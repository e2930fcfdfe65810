//! Overload: beyond `[server] max_in_flight_requests` a request is answered at once with 503
//! `temporarily_unavailable` and `Retry-After` (bounded work, no unbounded queue), and the
//! server serves normally again as soon as the load is gone.

use crate::harness::Server;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A token request whose body is still being sent: curl streams its standard input as a
/// chunked body, so the request stays in flight until `finish` closes it.
struct SlowRequest {
    child: std::process::Child,
}

impl SlowRequest {
    fn start(server: &Server) -> SlowRequest {
        let mut child = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .arg("--cacert")
            .arg(server.ca())
            .args(["-X", "POST", "-T", "-"])
            .args(["-H", "content-type: application/x-www-form-urlencoded"])
            .arg(server.url("/oauth2/token"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"grant_type=client_cre").unwrap();
        stdin.flush().unwrap();
        SlowRequest { child }
    }

    /// Sends the rest of the body and returns the status the server answered.
    fn finish(mut self) -> u16 {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(b"dentials&client_id=nobody").unwrap();
        drop(stdin);
        let out = self.child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

fn discovery_status(server: &Server) -> (u16, Option<String>, String) {
    let r = server
        .request_to(server.url("/.well-known/openid-configuration"))
        .send();
    (r.status, r.header("retry-after"), r.body)
}

#[test]
fn beyond_the_in_flight_limit_requests_get_503_with_retry_after_then_recover() {
    let server = Server::start_with("[server]\nmax_in_flight_requests = 2\n");
    let a = SlowRequest::start(&server);
    let b = SlowRequest::start(&server);
    // Wait until both stalled requests occupy the two slots: a third request is refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, retry_after, body) = loop {
        let seen = discovery_status(&server);
        if seen.0 == 503 || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status, 503, "a third request beyond the limit: {body}");
    assert!(retry_after.is_some(), "503 carries Retry-After");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "temporarily_unavailable");

    // The requests in flight are not harmed: they complete with their own answer.
    assert_eq!(a.finish(), 401, "unknown client: invalid_client");
    assert_eq!(b.finish(), 401);
    // And the server serves again.
    assert_eq!(discovery_status(&server).0, 200);
}

#[test]
fn limits_out_of_range_stop_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("certbound.toml"),
        "[server]\nmax_connections = 0\n",
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
        err.contains("server.max_connections must be between 1 and 1000000"),
        "{err}"
    );
}
