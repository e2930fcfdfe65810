//! Overload: beyond `[server] max_in_flight_requests` a request waits its turn in a bounded
//! queue (`max_queued_requests`) for at most `request_queue_timeout_ms`; beyond the queue, or at
//! its timeout, it is answered with 503 `temporarily_unavailable` and `Retry-After` (bounded
//! work and memory), and the server serves normally again as soon as the load is gone. The
//! `/metrics` gauges of the operations listener show the requests in flight and queued.
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

/// The value of a gauge on the operations listener's `/metrics`.
fn gauge(server: &Server, name: &str) -> Option<u64> {
    let r = server.ops("/metrics");
    assert_eq!(r.status, 200);
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Waits until the gauge reads `want` (the request has reached the server's admission).
fn wait_for_gauge(server: &Server, name: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = gauge(server, name);
        if seen == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} stayed {seen:?}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn beyond_the_in_flight_limit_a_request_waits_its_turn_and_beyond_the_queue_gets_503() {
    let server = Server::start_with(
        "[server]\nmax_in_flight_requests = 1\nmax_queued_requests = 1\nrequest_queue_timeout_ms = 60000\n",
    );
    let a = SlowRequest::start(&server);
    wait_for_gauge(&server, "certbound_http_requests_in_flight", 1);
    let b = SlowRequest::start(&server);
    wait_for_gauge(&server, "certbound_http_requests_queued", 1);
    // The one slot is taken and the queue of one is full: a third request is refused at once
    // (well before the queue's minute).
    let asked = Instant::now();
    let (status, retry_after, body) = discovery_status(&server);
    assert_eq!(status, 503, "beyond the queue: {body}");
    assert!(
        asked.elapsed() < Duration::from_secs(30),
        "refused without waiting"
    );
    assert!(retry_after.is_some(), "503 carries Retry-After");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "temporarily_unavailable");
    // The request in flight ends; the queued one then gets the slot and its own answer.
    assert_eq!(a.finish(), 401, "unknown client: invalid_client");
    wait_for_gauge(&server, "certbound_http_requests_queued", 0);
    assert_eq!(
        b.finish(),
        401,
        "the queued request was served, not refused"
    );
    assert_eq!(discovery_status(&server).0, 200);
    wait_for_gauge(&server, "certbound_http_requests_in_flight", 0);
}

#[test]
fn a_queued_request_gets_503_when_its_wait_times_out() {
    let server = Server::start_with(
        "[server]\nmax_in_flight_requests = 1\nrequest_queue_timeout_ms = 300\n",
    );
    let a = SlowRequest::start(&server);
    wait_for_gauge(&server, "certbound_http_requests_in_flight", 1);
    let asked = Instant::now();
    let (status, retry_after, body) = discovery_status(&server);
    assert_eq!(status, 503, "still waiting at the timeout: {body}");
    assert!(
        asked.elapsed() >= Duration::from_millis(300),
        "refused only after waiting its turn for the timeout"
    );
    assert!(retry_after.is_some(), "503 carries Retry-After");
    assert_eq!(gauge(&server, "certbound_http_requests_queued"), Some(0));
    assert_eq!(a.finish(), 401);
    assert_eq!(discovery_status(&server).0, 200);
}

#[test]
fn without_a_queue_requests_beyond_the_in_flight_limit_get_503_at_once_then_recover() {
    let server =
        Server::start_with("[server]\nmax_in_flight_requests = 2\nmax_queued_requests = 0\n");
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
