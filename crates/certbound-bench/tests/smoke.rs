//! Smoke tests of the `certbound-bench` binary: `load` (reuse, handshake, introspect) against a
//! tiny in-process HTTPS server that requires a client certificate, and `seed` into a temporary
//! database. Benchmarks are not tests: nothing here asserts a rate or a latency, only that
//! requests were made, counted and judged, and that seeded rows are consistent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use sqlx::Connection;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tempfile::TempDir;

/// CA, server and client certificates in a temporary directory, and the server's TLS config.
struct Pki {
    dir: TempDir,
    server: Arc<ServerConfig>,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn leaf(san: &str, ca: &CertifiedIssuer<'_, KeyPair>) -> (CertificateDer<'static>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![san.to_owned()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    (cert.der().clone(), key)
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let (server_cert, server_key) = leaf("127.0.0.1", &ca);
    let (client_cert, client_key) = leaf("client.bench.invalid", &ca);
    std::fs::write(dir.path().join("client.pem"), pem_of(&client_cert)).unwrap();
    std::fs::write(dir.path().join("client.key"), client_key.serialize_pem()).unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server_cert], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Pki {
        dir,
        server: Arc::new(config),
    }
}

fn pem_of(der: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// `/token` mints "at"; `/introspect` says `active` for `token=at`; anything else is 404.
async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let (status, text) = match path.as_str() {
        "/token" => (200, r#"{"access_token":"at","token_type":"Bearer"}"#),
        "/introspect" if body.starts_with(b"token=at") => (200, r#"{"active":true}"#),
        "/introspect" => (200, r#"{"active":false}"#),
        _ => (404, "{}"),
    };
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    Ok(r)
}

/// Serves on an ephemeral port from a background thread; returns the address.
fn serve(config: Arc<ServerConfig>) -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service_fn(answer))
                            .await;
                    }
                });
            }
        });
    });
    addr
}

fn bench(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_certbound-bench"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn load(pki: &Pki, addr: SocketAddr, extra: &[&str]) -> Value {
    let ca = pki.path("ca.pem");
    let cert = pki.path("client.pem");
    let key = pki.path("client.key");
    let token = format!("https://{addr}/token");
    let mut args = vec![
        "load",
        "--cacert",
        ca.to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--token-url",
        &token,
        "-c",
        "4",
        "-d",
        "0.5",
        "--warmup",
        "0.2",
    ];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = bench(&args);
    assert!(ok, "load failed: {stderr}");
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn load_counts_ok_requests_in_reuse_and_handshake_modes_and_introspects() {
    let pki = pki();
    let addr = serve(pki.server.clone());
    let url = format!("https://{addr}/token");
    let body = "grant_type=client_credentials&client_id=x";
    for mode in ["reuse", "handshake"] {
        let r = load(
            &pki,
            addr,
            &[
                "--url",
                &url,
                "--body",
                body,
                "--expect-substring",
                "\"access_token\"",
                "--mode",
                mode,
                "--label",
                "smoke",
            ],
        );
        assert!(r["ok"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["mode"], mode);
        assert_eq!(r["label"], "smoke");
        assert_eq!(r["status_counts"]["200"], r["ok"]);
        assert!(r["p99_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap());
    }
    // A body the server does not like is counted as an error, not as ok.
    let r = load(
        &pki,
        addr,
        &["--url", &url, "--expect-substring", "\"never\""],
    );
    assert_eq!(r["ok"], 0, "{r}");
    assert!(
        r["error_kinds"]["body_mismatch"].as_u64().unwrap() > 0,
        "{r}"
    );

    let introspect = format!("https://{addr}/introspect");
    let r = load(
        &pki,
        addr,
        &[
            "--scenario",
            "introspect",
            "--introspect-url",
            &introspect,
            "--client-id",
            "x",
        ],
    );
    assert!(r["ok"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["scenario"], "introspect");
}

#[test]
fn without_a_client_certificate_the_handshake_fails_and_is_counted() {
    let pki = pki();
    let addr = serve(pki.server.clone());
    let url = format!("https://{addr}/token");
    let ca = pki.path("ca.pem");
    let (ok, stdout, stderr) = bench(&[
        "load",
        "--cacert",
        ca.to_str().unwrap(),
        "--url",
        &url,
        "-c",
        "2",
        "-d",
        "0.3",
    ]);
    assert!(ok, "{stderr}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(r["ok"], 0, "{r}");
    assert!(r["errors"].as_u64().unwrap() > 0, "{r}");
}

async fn count(db: &Path, sql: &'static str) -> i64 {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

#[test]
fn seed_fills_consistent_rows_and_refuses_foreign_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("certbound.db");
    let db_arg = db.to_str().unwrap();
    let seed = |extra: &[&str]| {
        let mut args = vec![
            "seed",
            "--db",
            db_arg,
            "--clients",
            "50",
            "--tokens",
            "500",
            "--batch",
            "64",
        ];
        args.extend_from_slice(extra);
        bench(&args)
    };
    let (ok, stdout, stderr) = seed(&[]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["tokens"], 500);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(count(&db, "SELECT count(*) FROM clients").await, 50);
        assert_eq!(
            count(&db, "SELECT count(*) FROM client_certificates").await,
            50
        );
        // Every token: a seeded client's, bound to that client's certificate, live, 32-byte hash.
        let consistent = "SELECT count(*) FROM access_tokens t JOIN client_certificates c \
             ON c.client_id = t.client_id AND c.thumbprint = t.cnf \
             WHERE length(t.token_hash) = 32 AND t.expires_at > unixepoch() AND t.revoked = 0";
        assert_eq!(count(&db, consistent).await, 500);
        // The registered certificates are real ones, their thumbprints the RFC 8705 x5t#S256.
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let rows: Vec<(Vec<u8>, String)> =
            sqlx::query_as("SELECT der, thumbprint FROM client_certificates")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for (der, thumbprint) in rows {
            let cert = certbound_mtls::ClientCertificate::from_der(der).unwrap();
            assert_eq!(cert.thumbprint().to_base64url(), thumbprint);
        }
        // Seeding again adds to the seeded rows.
        let (ok, _, stderr) = seed(&[]);
        assert!(ok, "{stderr}");
        assert_eq!(count(&db, "SELECT count(*) FROM access_tokens").await, 1000);
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO clients (client_id, name, auth_method, grant_types, scopes, bound_tokens, \
             can_introspect, created_at) VALUES ('real', 'a real client', 'none', '', '', 0, 0, 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    });
    let (ok, _, stderr) = seed(&[]);
    assert!(!ok, "seeded a database holding a real client");
    assert!(stderr.contains("refusing"), "{stderr}");
    let (ok, _, stderr) = seed(&["--force"]);
    assert!(ok, "{stderr}");
}
