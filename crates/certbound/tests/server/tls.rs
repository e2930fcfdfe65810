//! The TLS listener: TLS 1.2 and 1.3 only, the `fapi` profile's TLS 1.2 suites, and the
//! server certificate reloaded on SIGHUP and on a change of its files without dropping the
//! connections already open. openssl's command-line client is the peer.

use crate::harness::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh self-signed server certificate for localhost, written to `cert`/`key` (replacing
/// what is there, as an operator renewing it would): `rsa` or `ec`.
fn server_certificate(dir: &Path, kind: &str, cert: &Path, key: &Path) {
    let new_key = match kind {
        "rsa" => vec!["-newkey", "rsa:2048"],
        _ => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    };
    // Written beside the live files, then renamed over them: a reload never sees half a file.
    let (tmp_cert, tmp_key) = (dir.join("new-cert.pem"), dir.join("new-key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(new_key)
        .arg("-keyout")
        .arg(&tmp_key)
        .arg("-out")
        .arg(&tmp_cert)
        .output()
        .expect("openssl (install the openssl package)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp_key, key).unwrap();
    std::fs::rename(&tmp_cert, cert).unwrap();
}

/// The SHA-256 fingerprint of a PEM certificate file.
fn fingerprint_of_file(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// One TLS handshake with openssl: Ok(fingerprint of the server certificate), or Err(openssl's
/// output) when the handshake fails.
fn handshake(port: u16, extra: &[&str]) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pem: String = {
        let start = text.find("-----BEGIN CERTIFICATE-----");
        let end = text.find("-----END CERTIFICATE-----");
        match (start, end) {
            (Some(s), Some(e)) => text[s..e + "-----END CERTIFICATE-----".len()].to_owned(),
            _ => {
                return Err(format!("{text}\n{}", String::from_utf8_lossy(&out.stderr)));
            }
        }
    };
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    x509.stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    let out = x509.wait_with_output().unwrap();
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Waits (at most 10 s) until new handshakes present `want`.
fn wait_for_certificate(port: u16, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = handshake(port, &[]).unwrap();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still serving {got} instead of {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An open TLS connection (openssl s_client) on which HTTP/1.1 requests can be sent later.
struct Connection {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Connection {
    fn open(port: u16) -> Connection {
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-connect",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["-servername", "localhost"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Connection { child, out }
    }

    /// Sends a GET on this same connection and returns the status line and body.
    fn get(&mut self, path: &str) -> (String, String) {
        let stdin = self.child.stdin.as_mut().unwrap();
        write!(stdin, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        stdin.flush().unwrap();
        let mut status = String::new();
        self.out.read_line(&mut status).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.out.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.out.read_exact(&mut body).unwrap();
        (status.trim().to_owned(), String::from_utf8(body).unwrap())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_with_files(kind: &str, extra: &str) -> (Server, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (
        dir.path().join("server.pem"),
        dir.path().join("server-key.pem"),
    );
    server_certificate(dir.path(), kind, &cert, &key);
    let config = format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n{extra}",
        cert.display().to_string(),
        key.display().to_string()
    );
    (Server::start_in(dir, &config), cert, key)
}

#[test]
fn a_renewed_certificate_is_served_after_a_file_change_and_open_connections_stay() {
    let (server, cert, key) = start_with_files("ec", "reload_check_interval = 1\n");
    let first = fingerprint_of_file(&cert);
    assert_eq!(handshake(server.port, &[]).unwrap(), first);
    let mut open = Connection::open(server.port);
    let (status, body) = open.get("/.well-known/openid-configuration");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");

    server_certificate(server.path(), "ec", &cert, &key);
    let second = fingerprint_of_file(&cert);
    assert_ne!(first, second);
    wait_for_certificate(server.port, &second);
    assert!(server.log().contains("TLS server certificate reloaded"));

    // The connection opened before the reload still serves requests.
    let (status, body) = open.get("/.well-known/openid-configuration");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert!(body.contains("tls_client_certificate_bound_access_tokens"));
}

#[test]
fn sighup_reloads_at_once_and_a_broken_file_keeps_the_certificate_in_use() {
    // 0: no polling, so only the signal can reload.
    let (server, cert, key) = start_with_files("ec", "reload_check_interval = 0\n");
    let first = fingerprint_of_file(&cert);
    server_certificate(server.path(), "ec", &cert, &key);
    let second = fingerprint_of_file(&cert);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        handshake(server.port, &[]).unwrap(),
        first,
        "no reload without the signal"
    );
    let hup = |server: &Server| {
        let status = Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    hup(&server);
    wait_for_certificate(server.port, &second);

    // A key that does not belong to the certificate: refused, the certificate in use stays.
    let other = tempfile::tempdir().unwrap();
    let (other_cert, other_key) = (other.path().join("c.pem"), other.path().join("k.pem"));
    server_certificate(other.path(), "ec", &other_cert, &other_key);
    std::fs::copy(&other_key, &key).unwrap();
    hup(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("TLS server certificate not reloaded") {
        assert!(
            Instant::now() < deadline,
            "no error logged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.log().contains("do not match"), "{}", server.log());
    assert_eq!(handshake(server.port, &[]).unwrap(), second);
    let (status, _) = Connection::open(server.port).get("/.well-known/openid-configuration");
    assert_eq!(status, "HTTP/1.1 200 OK", "still serving");
}

#[test]
fn only_tls_1_2_and_1_3_are_offered() {
    let server = Server::start();
    assert!(handshake(server.port, &["-tls1_3"]).is_ok());
    assert!(handshake(server.port, &["-tls1_2"]).is_ok());
    // The client is allowed the old versions (security level 0); the server refuses them.
    for old in ["-tls1_1", "-tls1"] {
        let refused = handshake(server.port, &[old, "-cipher", "DEFAULT@SECLEVEL=0"]).unwrap_err();
        // The server itself refuses: it answers the ClientHello with an alert, no certificate.
        assert!(
            refused.contains("SSL alert number") && refused.contains("no peer certificate"),
            "{old}: {refused}"
        );
    }
}

#[test]
fn the_fapi_profile_limits_tls_1_2_to_the_fapi_suites() {
    let tls12 = |port: u16, cipher: &str| handshake(port, &["-tls1_2", "-cipher", cipher]);
    // Without the profile, an RSA server offers ChaCha20 on TLS 1.2 too.
    let (default, _, _) = start_with_files("rsa", "");
    assert!(tls12(default.port, "ECDHE-RSA-CHACHA20-POLY1305").is_ok());

    let (fapi, _, _) = start_with_files("rsa", "profile = \"fapi\"\n");
    for allowed in ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"] {
        assert!(tls12(fapi.port, allowed).is_ok(), "{allowed}");
    }
    let refused = tls12(fapi.port, "ECDHE-RSA-CHACHA20-POLY1305").unwrap_err();
    assert!(refused.contains("handshake failure"), "{refused}");
    assert!(handshake(fapi.port, &["-tls1_3"]).is_ok());
    let (status, _) = Connection::open(fapi.port).get("/.well-known/openid-configuration");
    assert_eq!(
        status, "HTTP/1.1 200 OK",
        "the profile serves requests as usual"
    );
}

/// The cipher suite openssl's client negotiated, as its session summary names it.
fn negotiated_suite(port: u16, extra: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains(", Cipher is "));
    let line = line.unwrap_or_else(|| panic!("no handshake: {text}"));
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn the_server_prefers_aes_128_gcm_over_the_clients_order() {
    let server = Server::start();
    let tls13 = |suites: &str| negotiated_suite(server.port, &["-tls1_3", "-ciphersuites", suites]);
    // The client lists AES-256 first (as curl and rustls do); the server's order wins.
    let both = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
    assert_eq!(tls13(both), "TLS_AES_128_GCM_SHA256");
    // A client without AES-128 still connects with what it has.
    assert_eq!(tls13("TLS_AES_256_GCM_SHA384"), "TLS_AES_256_GCM_SHA384");
    assert_eq!(
        tls13("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"),
        "TLS_AES_256_GCM_SHA384",
        "then the server's own order: AES-256 before ChaCha20"
    );
    // TLS 1.2 too (the development certificate is ECDSA).
    let tls12 = [
        "-tls1_2",
        "-cipher",
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
    ];
    assert_eq!(
        negotiated_suite(server.port, &tls12),
        "ECDHE-ECDSA-AES128-GCM-SHA256"
    );
}

#[test]
fn a_bad_tls_profile_or_interval_is_a_clear_start_error() {
    for (config, says) in [
        ("[tls]\nprofile = \"weak\"\n", "profile"),
        (
            "[tls]\nreload_check_interval = 100000\n",
            "reload_check_interval",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("certbound.toml"), config).unwrap();
        let out = Command::new(crate::harness::BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(dir.path().join("certbound.toml"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{config}: {err}");
    }
}
