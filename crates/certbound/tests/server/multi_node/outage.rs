//! The database going away under a running node, and a node started while it is away: a TCP
//! forwarder between certbound and PostgreSQL is cut (open connections shut down; new ones
//! closed at once, or accepted and never answered, as behind a dead network) and restored,
//! without touching the node.

use crate::harness::{PgSchema, Server, postgres_base_url};
use crate::pki::{self, Validity};
use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The node's storage settings: give up on the database quickly.
const CONFIG: &str = "[storage]\nconnect_timeout = 1\n";

/// A TCP forwarder to PostgreSQL that can be cut and restored.
pub struct Forwarder {
    port: u16,
    up: Arc<AtomicBool>,
    /// While cut: hold new connections silently instead of closing them.
    silent: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Forwarder {
    pub fn start(upstream: SocketAddr) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let silent = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, silent2, stop2, open2) = (up.clone(), silent.clone(), stop.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    if silent2.load(Ordering::SeqCst) {
                        open2.lock().unwrap().push(client);
                    } else {
                        let _ = client.shutdown(Shutdown::Both);
                    }
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let mut open = open2.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Forwarder {
            port,
            up,
            silent,
            stop,
            open,
        }
    }

    /// Stops forwarding: open connections are shut down, new ones closed at once.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Like [`Forwarder::cut`], but new connections are accepted and never answered.
    fn cut_silently(&self) {
        self.silent.store(true, Ordering::SeqCst);
        self.cut();
    }

    pub fn restore(&self) {
        self.cut();
        self.silent.store(false, Ordering::SeqCst);
        self.up.store(true, Ordering::SeqCst);
    }

    /// The test database's URL with the forwarder as host and port.
    pub fn base_url(&self) -> String {
        let base = postgres_base_url();
        let (scheme, rest) = base.split_once("://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
        format!(
            "{scheme}://{}127.0.0.1:{}{path}",
            user.unwrap_or_default(),
            self.port
        )
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `to` on a thread until either side closes, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// The address of the test PostgreSQL server (from `CERTBOUND_TEST_POSTGRES_URL`).
pub fn postgres_addr() -> SocketAddr {
    let base = postgres_base_url();
    let rest = base.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    host.to_socket_addrs().unwrap().next().unwrap()
}

fn token_request(node: &Server, client_id: &str, id: &pki::Identity) -> crate::harness::Response {
    node.post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
}

/// Polls token requests until one succeeds, within `limit`.
fn until_served(node: &Server, client_id: &str, id: &pki::Identity, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let r = token_request(node, client_id, id);
        if r.status == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not served again within {limit:?}: {} {}\n{}",
            r.status,
            r.body,
            node.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_database_that_goes_away_gives_503_and_the_node_recovers_by_itself() {
    let schema = PgSchema::create();
    let forwarder = Forwarder::start(postgres_addr());
    let via = schema.through(&forwarder.base_url());
    let node = Server::launch_on(
        tempfile::tempdir().unwrap(),
        CONFIG,
        Some("admin"),
        Some(via),
    );
    let id = pki::self_signed(node.path(), "c", "c", Validity::Current);
    let client_id = node.self_signed_client(&id.cert, &[]);
    assert_eq!(token_request(&node, &client_id, &id).status, 200);

    for silently in [false, true] {
        if silently {
            forwarder.cut_silently();
        } else {
            forwarder.cut();
        }
        for _ in 0..2 {
            let started = Instant::now();
            let r = token_request(&node, &client_id, &id);
            let took = started.elapsed();
            r.assert_error(503, "temporarily_unavailable");
            let retry = r.header("retry-after").expect("Retry-After");
            assert!(retry.parse::<u32>().is_ok(), "{retry}");
            assert!(took < Duration::from_secs(8), "503 took {took:?}");
        }
        forwarder.restore();
        until_served(&node, &client_id, &id, Duration::from_secs(20));
        assert_eq!(token_request(&node, &client_id, &id).status, 200);
    }
}

#[test]
fn a_node_started_while_the_database_is_away_retries_then_serves() {
    let schema = PgSchema::create();
    let forwarder = Forwarder::start(postgres_addr());
    let via = schema.through(&forwarder.base_url());
    // Provision through the forwarder first, then cut it and start the node.
    let first = Server::launch_on(
        tempfile::tempdir().unwrap(),
        CONFIG,
        Some("admin"),
        Some(via.clone()),
    );
    let keys = tempfile::tempdir().unwrap();
    let id = pki::self_signed(keys.path(), "c", "c", Validity::Current);
    let client_id = first.self_signed_client(&id.cert, &[]);
    drop(first);
    forwarder.cut();

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let starting =
        std::thread::spawn(move || Server::launch_on(dir, CONFIG, Some("admin"), Some(via)));
    let deadline = Instant::now() + Duration::from_secs(20);
    let said = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("retry") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no message about the database:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        said.contains("127.0.0.1"),
        "the message names the database:\n{said}"
    );
    assert!(!starting.is_finished(), "not serving without its database");
    forwarder.restore();
    let node = starting.join().unwrap();
    until_served(&node, &client_id, &id, Duration::from_secs(20));
}
