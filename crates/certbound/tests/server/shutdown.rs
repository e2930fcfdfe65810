//! Graceful shutdown on SIGTERM: the requests in flight finish with complete responses, new
//! connections are refused at once on every listener, idle keep-alive connections close, and
//! the process exits 0 within `[server] shutdown_timeout`; a request still running at the
//! deadline is cut instead of keeping the process alive.

use crate::browser::{Browser, input};
use crate::code_flow::{authorize_url, provision};
use crate::harness::Server;
use crate::pki::{self, Identity, Validity};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where curl sends requests from a worker thread (no borrow of the [`Server`], which the
/// test needs mutably to wait for its exit).
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Target {
    /// `path` on `server`, with the client certificate `id`.
    pub fn new(server: &Server, path: &str, id: &Identity) -> Target {
        Target {
            url: server.url(path),
            ca: server.ca(),
            cert: id.cert.clone(),
            key: id.key.clone(),
        }
    }

    /// curl with the CA and the client certificate, silent but for errors.
    fn curl(&self) -> Command {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "30", "--cacert"])
            .arg(&self.ca)
            .arg("--cert")
            .arg(&self.cert)
            .arg("--key")
            .arg(&self.key);
        c
    }
}

/// One request of a keep-alive worker: the HTTP status (0: none), curl's exit code for this
/// transfer (0: complete) and the body.
#[derive(Debug)]
pub struct Transfer {
    pub status: u16,
    pub exit: u32,
    pub body: String,
}

impl Transfer {
    /// A complete 200 response carrying an access token: what a client counts as received.
    pub fn token(&self) -> Option<String> {
        if self.status != 200 || self.exit != 0 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        v["access_token"].as_str().map(str::to_owned)
    }
}

/// Sends `requests` identical POSTs of `form` one after another on one HTTP/1.1 keep-alive
/// connection (one curl process, the URL repeated; curl reconnects only when the server closes
/// it); `done` counts the responses as they arrive.
pub fn keep_alive_worker(
    target: &Target,
    form: &str,
    requests: usize,
    done: &AtomicUsize,
) -> Vec<Transfer> {
    let mut curl = target.curl();
    curl.args(["--http1.1", "--data-raw", form])
        .args(["-w", "\n@@ %{http_code} %{exitcode}\n"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for _ in 0..requests {
        curl.arg(&target.url);
    }
    let mut child = curl.spawn().unwrap();
    let mut transfers = Vec::with_capacity(requests);
    let mut body = String::new();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        match line.strip_prefix("@@ ") {
            Some(end) => {
                let (status, exit) = end.split_once(' ').unwrap();
                transfers.push(Transfer {
                    status: status.parse().unwrap(),
                    exit: exit.trim().parse().unwrap(),
                    body: std::mem::take(&mut body),
                });
                done.fetch_add(1, Ordering::Release);
            }
            None => body.push_str(&line),
        }
    }
    child.wait().unwrap();
    assert_eq!(transfers.len(), requests, "curl reported every transfer");
    transfers
}

/// A POST whose body arrives in two parts (chunked): the request is on its way, and in the
/// server's hands, until [`SlowPost::finish`] sends the rest.
struct SlowPost {
    child: Child,
}

impl SlowPost {
    /// Starts the request and sends the first part of the body.
    fn start(mut curl: Command, url: &str, first: &str) -> SlowPost {
        let mut child = curl
            .args(["-X", "POST", "-T", "-", "-H", "Expect:"])
            .args(["-H", "content-type: application/x-www-form-urlencoded"])
            .args(["-w", "\n%{http_code}"])
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(first.as_bytes()).unwrap();
        stdin.flush().unwrap();
        SlowPost { child }
    }

    /// Sends the rest of the body; returns (status, body), asserting curl succeeded.
    fn finish(mut self, rest: &str) -> (u16, String) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(rest.as_bytes()).unwrap();
        drop(stdin);
        let out = self.child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the request in flight failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.trim().parse().unwrap(), body.to_owned())
    }
}

/// curl's exit code for one GET of `url` on a new connection (7: connection refused).
fn connect_exit_code(url: &str, ca: &std::path::Path) -> i32 {
    Command::new("curl")
        .args(["-sS", "--max-time", "5", "-o", "/dev/null", "--cacert"])
        .arg(ca)
        .arg(url)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
        .unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_finishes_every_request_in_flight_and_refuses_new_connections() {
    // Without rate limits: the load is many times a client's default burst, so that it is
    // still running at the signal on a fast machine too; the limits are tested elsewhere.
    let mut server =
        Server::start_with("[server]\nshutdown_timeout = 10\n[rate_limits]\nenabled = false\n");
    let (_, code_client) = provision(&server);
    let id = pki::self_signed(server.path(), "load", "load", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let target = Target::new(&server, "/oauth2/token", &id);
    let form = format!("grant_type=client_credentials&client_id={client_id}");
    // The sign-in page of a browser, for a sign-in (which pays Argon2) in flight.
    let browser = Browser::new(&server, "slow");
    let page = browser.get(&authorize_url(&code_client, ""));
    let (csrf, request) = (
        input(&page.body, "csrf").unwrap(),
        input(&page.body, "request").unwrap(),
    );
    let (main_url, ca) = (server.url("/oauth2/jwks"), server.ca());
    let done = AtomicUsize::new(0);

    let (transfers, slow_token, slow_sign_in, refused, status, took) = std::thread::scope(|sc| {
        // Enough requests that the workers are still busy at the signal, a second or more
        // after the load starts, on a fast machine too (600 each ran out on one); those left
        // after the signal are refused at connect, at once.
        let workers: Vec<_> = (0..4)
            .map(|_| sc.spawn(|| keep_alive_worker(&target, &form, 3000, &done)))
            .collect();
        wait_until("the load to start", Duration::from_secs(60), || {
            done.load(Ordering::Acquire) >= 40
        });
        // Two requests whose bodies are still arriving when the signal comes.
        let token = SlowPost::start(target.curl(), &target.url, "grant_type=client_cre");
        let mut sign_in = Command::new("curl");
        sign_in
            .args(["-sS", "--max-time", "30", "--cacert"])
            .arg(&ca)
            .arg("-b")
            .arg(browser.jar())
            .arg("-c")
            .arg(browser.jar());
        let sign_in = SlowPost::start(
            sign_in,
            &format!("https://localhost:{}/oauth2/authorize/login", server.port),
            &format!("csrf={}&request=", crate::browser::enc(&csrf)),
        );
        std::thread::sleep(Duration::from_millis(800));
        let signalled = Instant::now();
        server.signal("TERM");
        std::thread::sleep(Duration::from_millis(300));
        let refused = connect_exit_code(&main_url, &ca);
        std::thread::sleep(Duration::from_millis(500));
        let slow_token = token.finish(&format!("dentials&client_id={client_id}"));
        let slow_sign_in = sign_in.finish(&format!(
            "{}&username=alice&password=alice-pw",
            crate::browser::enc(&request)
        ));
        let transfers: Vec<Vec<Transfer>> =
            workers.into_iter().map(|w| w.join().unwrap()).collect();
        let status = server.wait_exit(Duration::from_secs(15));
        (
            transfers,
            slow_token,
            slow_sign_in,
            refused,
            status,
            signalled.elapsed(),
        )
    });
    let log = server.log();
    assert_eq!(refused, 7, "a new connection after SIGTERM is refused");
    let status = status.unwrap_or_else(|| panic!("still running 15 s after SIGTERM; log:\n{log}"));
    assert!(status.success(), "exit status {status:?}; log:\n{log}");
    assert!(
        took < Duration::from_secs(8),
        "took {took:?} to exit; the deadline is 10 s"
    );
    // Every request the server read got a complete 200 with a token. On each worker's
    // keep-alive connection the successes come first; then at most one request may meet the
    // connection as the server closes it idle (RFC 9112 §9.6: it was never read, so curl gets
    // no byte of a response: exit 52 empty reply, 55/56 send/receive failure), or on the new
    // connection curl opens then, which the kernel may complete into the listener's backlog
    // just before the listener closes (reset in the TLS handshake, before any request byte:
    // exit 35); every later one is refused at connect (exit 7) as the listener is closed.
    let mut received = 0;
    for worker in &transfers {
        let answered = worker.iter().take_while(|t| t.token().is_some()).count();
        received += answered;
        for (i, t) in worker[answered..].iter().enumerate() {
            let unread = i == 0 && t.status == 0 && [35, 52, 55, 56].contains(&t.exit);
            assert!(
                unread || (t.status, t.exit) == (0, 7),
                "a request was cut or reset: {t:?}; log:\n{log}"
            );
        }
    }
    let transfers: Vec<&Transfer> = transfers.iter().flatten().collect();
    assert!(received >= 40, "load ran: {received} tokens");
    assert!(
        received < transfers.len(),
        "the workers were still busy at the signal"
    );
    assert_eq!(
        slow_token.0, 200,
        "the token request in flight: {}",
        slow_token.1
    );
    let token: serde_json::Value = serde_json::from_str(&slow_token.1).unwrap();
    assert_eq!(
        slow_sign_in.0, 303,
        "the sign-in in flight: {}",
        slow_sign_in.1
    );
    assert!(
        log.contains("no request was cut"),
        "shutdown reported as clean; log:\n{log}"
    );
    assert!(
        log.contains("storage closed"),
        "storage closed; log:\n{log}"
    );
    // What was answered during the shutdown was committed before the answer.
    let server = server.restart();
    assert_eq!(
        server.introspect(token["access_token"].as_str().unwrap())["active"],
        true
    );
}

#[test]
fn a_request_still_running_at_the_deadline_does_not_keep_the_server_alive() {
    let config = "[server]\nshutdown_timeout = 1\nhttp_listen = \"127.0.0.1:0\"\n\n\
                  [server.mtls]\nlisten = \"127.0.0.1:0\"\n";
    let mut server = Server::start_with(config);
    let http = format!("127.0.0.1:{}", server.http_port.unwrap());
    // A request whose body never finishes.
    let mut held = TcpStream::connect(&http).unwrap();
    held.write_all(
        b"POST /oauth2/token HTTP/1.1\r\nhost: localhost\r\n\
          content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\n\
          grant_type=client_",
    )
    .unwrap();
    // An idle keep-alive connection, after one complete exchange.
    let mut idle = TcpStream::connect(&http).unwrap();
    idle.write_all(b"GET /oauth2/jwks HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16 * 1024];
    let n = idle.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    server.signal("TERM");
    // The idle connection is closed by the server at once.
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(
        signalled.elapsed() < Duration::from_millis(900),
        "idle keep-alive connection closed before the deadline"
    );
    // Every listener refuses new connections.
    let ca = server.ca();
    for url in [
        server.url("/oauth2/jwks"),
        format!(
            "https://localhost:{}/oauth2/jwks",
            server.alias_port.unwrap()
        ),
        format!("http://{http}/oauth2/jwks"),
    ] {
        assert_eq!(
            connect_exit_code(&url, &ca),
            7,
            "{url} refuses after SIGTERM"
        );
    }
    let status = server
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running 5 s after SIGTERM; log:\n{}", server.log()));
    let took = signalled.elapsed();
    let log = server.log();
    assert!(status.success(), "exit status {status:?}; log:\n{log}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "waited for the 1 s deadline, not longer: {took:?}"
    );
    assert!(
        log.contains("shutdown deadline reached") && log.contains("requests_cut=1"),
        "the cut request is reported; log:\n{log}"
    );
    // The held request got no response, only the end of its connection.
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    let _ = held.read_to_end(&mut answer);
    assert!(answer.is_empty(), "no response to the cut request");
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut server = Server::start_with("[server]\nshutdown_timeout = 30\n");
    let mut held = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // A connection that never completes its TLS handshake keeps the shutdown waiting.
    held.write_all(b"\x16\x03\x01").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.wait_exit(Duration::ZERO).is_none(),
        "waits for the connection"
    );
    let signalled = Instant::now();
    server.signal("INT");
    let status = server
        .wait_exit(Duration::from_secs(3))
        .expect("exits at the second signal");
    assert!(signalled.elapsed() < Duration::from_secs(2));
    assert_eq!(status.code(), Some(1), "a forced exit is not a clean one");
    assert!(server.log().contains("second signal"));
}

#[test]
fn a_shutdown_timeout_out_of_range_stops_the_start_with_a_clear_message() {
    for bad in ["0", "3601", "\"ten\""] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("certbound.toml");
        std::fs::write(&config, format!("[server]\nshutdown_timeout = {bad}\n")).unwrap();
        let out = Command::new(crate::harness::BIN)
            .env_remove("CERTBOUND_STORAGE_URL")
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("shutdown_timeout"), "{bad}: {err}");
        if bad != "\"ten\"" {
            assert!(
                err.contains("server.shutdown_timeout must be between 1 and 3600"),
                "{err}"
            );
        }
    }
}
