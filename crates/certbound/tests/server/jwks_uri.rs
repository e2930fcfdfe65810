//! `self_signed_tls_client_auth` clients that publish their certificates at a `jwks_uri`
//! (RFC 8705 §2.2): a real HTTPS JWKS server runs inside the test (its own CA, given to the
//! server as `oauth.jwks_uri.ca_file`) and counts the requests it gets, so rotation, the
//! refetch rate limit, the SSRF refusal, the size cap, the timeout and bad content are
//! observed from outside.

use crate::harness::{Response, Server};
use crate::pki::{self, Identity, Validity};
use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The rate-limit window the tests configure (the default is 10 s).
const REFETCH_INTERVAL: u64 = 5;

/// What the JWKS server serves and has been asked.
#[derive(Default)]
struct State {
    /// DER of the certificates published at `/jwks`.
    keys: Mutex<Vec<Vec<u8>>>,
    /// Requests per path.
    hits: Mutex<HashMap<String, u64>>,
}

/// An HTTPS server on 127.0.0.1 with `/jwks` (the current key set), `/big` (over 64 KiB, no
/// Content-Length), `/slow` (answers after 3 s), `/notjson` and `/redirect` (to `/jwks`).
struct JwksServer {
    _runtime: tokio::runtime::Runtime,
    port: u16,
    ca_file: PathBuf,
    state: Arc<State>,
}

impl JwksServer {
    fn start(dir: &Path) -> JwksServer {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "jwks test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca_file = dir.join("jwks-ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = params
            .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
            .unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let shared = state.clone();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, state) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        serve(stream, &state).await;
                    }
                });
            }
        });
        JwksServer {
            _runtime: runtime,
            port,
            ca_file,
            state,
        }
    }

    fn uri(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn publish(&self, ids: &[&Identity]) {
        *self.state.keys.lock().unwrap() = ids.iter().map(|id| id.der.clone()).collect();
    }

    fn hits(&self, path: &str) -> u64 {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The server configuration that lets certbound reach this server.
    fn config(&self) -> String {
        format!(
            "[oauth.jwks_uri]\nallow_private_addresses = true\nca_file = {:?}\ntimeout = 1\nrefetch_interval = {REFETCH_INTERVAL}\n",
            self.ca_file.to_str().unwrap()
        )
    }
}

/// Answers one HTTP/1.1 request and closes the connection.
async fn serve(mut stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, state: &State) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let (content_type, body) = match path.as_str() {
        "/jwks" => ("application/json", jwks(&state.keys.lock().unwrap())),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            ("application/json", jwks(&state.keys.lock().unwrap()))
        }
        "/big" => (
            "application/json",
            format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(70 * 1024)),
        ),
        _ => ("text/html", "<html><body>hello</body></html>".to_owned()),
    };
    // No Content-Length: the body ends when the connection closes, so the size cap has to be
    // enforced while reading.
    let head = if path == "/redirect" {
        "HTTP/1.1 302 Found\r\nlocation: /jwks\r\nconnection: close\r\n\r\n".to_owned()
    } else {
        format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n")
    };
    let _ = stream.write_all(head.as_bytes()).await;
    for chunk in body.as_bytes().chunks(8 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

fn jwks(ders: &[Vec<u8>]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let keys: Vec<_> = ders
        .iter()
        .map(|der| json!({"kty": "EC", "x5c": [b64.encode(der)]}))
        .collect();
    json!({ "keys": keys }).to_string()
}

fn jwks_uri_client(server: &Server, uri: &str) -> String {
    server.create_client(&[
        "--name",
        "jwks-uri-client",
        "--auth-method",
        "self_signed_tls_client_auth",
        "--jwks-uri",
        uri,
    ])["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn token_request(server: &Server, client_id: &str, id: &Identity) -> Response {
    server
        .post("/oauth2/token")
        .cert(id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
}

fn refused_with(r: &Response, words: &str) {
    let body = r.assert_error(401, "invalid_client");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(words), "{description}");
    assert!(
        !description.contains("127.0.0.1"),
        "no internals in the response: {description}"
    );
}

#[test]
fn rotation_at_the_jwks_uri_is_picked_up_and_refetches_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = JwksServer::start(dir.path());
    let a = pki::self_signed(dir.path(), "a", "svc", Validity::Current);
    let b = pki::self_signed(dir.path(), "b", "svc", Validity::Current);
    let c = pki::self_signed(dir.path(), "c", "svc", Validity::Current);
    jwks.publish(&[&a]);
    let server = Server::start_in(dir, &jwks.config());
    let client_id = jwks_uri_client(&server, &jwks.uri("/jwks"));

    let token = server.token_with_cert(&client_id, &a);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], a.thumbprint().as_str());
    server.token_with_cert(&client_id, &a);
    assert_eq!(jwks.hits("/jwks"), 1, "the second request uses the cache");

    // The client rotates: its set now holds B only. Once the rate-limit window since the
    // first fetch has passed, B is accepted at once (the unknown certificate refetches)...
    std::thread::sleep(Duration::from_millis(REFETCH_INTERVAL * 1000 + 300));
    jwks.publish(&[&b]);
    let token = server.token_with_cert(&client_id, &b);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], b.thumbprint().as_str());
    assert_eq!(jwks.hits("/jwks"), 2);
    // ...A is refused, and neither A nor another unknown C fetches again within the window.
    refused_with(
        &token_request(&server, &client_id, &a),
        "not one of the certificates",
    );
    refused_with(
        &token_request(&server, &client_id, &c),
        "not one of the certificates",
    );
    assert_eq!(
        jwks.hits("/jwks"),
        2,
        "at most one fetch per refetch_interval"
    );
    assert!(server.log().contains("fetched a client's jwks_uri"));
}

#[test]
fn a_jwks_uri_at_a_forbidden_address_is_refused_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = JwksServer::start(dir.path());
    let id = pki::self_signed(dir.path(), "id", "svc", Validity::Current);
    jwks.publish(&[&id]);
    // The default configuration: private addresses are not allowed.
    let server = Server::start_in(dir, "");
    for uri in [
        jwks.uri("/jwks"),
        format!("https://localhost:{}/jwks", jwks.port),
    ] {
        let client_id = jwks_uri_client(&server, &uri);
        refused_with(
            &token_request(&server, &client_id, &id),
            "does not connect to",
        );
    }
    assert_eq!(jwks.hits("/jwks"), 0, "no request reached the JWKS server");
    assert!(server.log().contains("could not fetch a client's jwks_uri"));
}

#[test]
fn oversize_slow_non_json_and_redirected_key_sets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = JwksServer::start(dir.path());
    let id = pki::self_signed(dir.path(), "id", "svc", Validity::Current);
    jwks.publish(&[&id]);
    let server = Server::start_in(dir, &jwks.config());
    for (path, cause) in [
        ("/big", "larger than 65536 bytes"),
        ("/slow", "no complete answer within 1 s"),
        ("/notjson", "not JSON"),
        ("/redirect", "HTTP status 302"),
    ] {
        let client_id = jwks_uri_client(&server, &jwks.uri(path));
        let started = std::time::Instant::now();
        refused_with(
            &token_request(&server, &client_id, &id),
            "could not be fetched",
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path}: timeout"
        );
        assert_eq!(jwks.hits(path), 1, "{path}");
        assert!(server.log().contains(cause), "{path}: log names {cause:?}");
    }
    assert_eq!(jwks.hits("/jwks"), 0, "the redirect was not followed");
    // The same server does accept the certificate from a good key set.
    let good = jwks_uri_client(&server, &jwks.uri("/jwks"));
    server.token_with_cert(&good, &id);
}
