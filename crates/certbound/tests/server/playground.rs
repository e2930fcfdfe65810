//! `certbound playground` against a real certbound: the HTTP level with curl (client
//! credentials page, the protected API with the registered and with the other certificate),
//! then headless Chromium clicking through every flow (tests/node/playground.mjs), with
//! screenshots kept in target/test-artifacts/playground/.

use crate::code_flow::create_user;
use crate::harness::Server;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running playground (killed on drop).
struct Playground {
    child: Child,
    ui_port: u16,
    log: PathBuf,
}

impl Playground {
    fn start(server: &Server) -> Playground {
        let log = server.path().join("playground.log");
        let mut child = server
            .command()
            .args([
                "playground",
                "--listen",
                "127.0.0.1:0",
                "--api-listen",
                "127.0.0.1:0",
                "--issuer",
                &server.issuer,
                "--data-dir",
            ])
            .arg(server.data_dir())
            .env("CERTBOUND_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut ui_port, mut api_port) = (None, None);
        while ui_port.is_none() || api_port.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "playground did not start; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )
                });
            if let Some(rest) = line.strip_prefix("playground listening on http://127.0.0.1:") {
                ui_port = Some(rest.trim().parse::<u16>().unwrap());
            }
            if let Some(rest) = line.strip_prefix("protected API listening on https://127.0.0.1:") {
                api_port = Some(rest.trim().parse::<u16>().unwrap());
            }
        }
        assert_ne!(api_port, Some(0), "the real API port is printed");
        Playground {
            child,
            ui_port: ui_port.unwrap(),
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.ui_port)
    }

    /// POSTs a form to the playground with curl; returns (HTTP status, body).
    fn post(&self, path: &str, form: &str) -> (u16, String) {
        self.curl(&["-X", "POST", "--data-raw", form], path)
    }

    /// GETs a playground page; returns (HTTP status, body).
    fn get(&self, path: &str) -> (u16, String) {
        self.curl(&[], path)
    }

    fn curl(&self, args: &[&str], path: &str) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
            .args(args)
            .arg(self.url(path))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}\nplayground log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.trim().parse().unwrap(), body.to_owned())
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of the element with this id (first occurrence, tags not nested).
fn element(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_owned())
}

fn setup() -> (Server, Playground) {
    let server = Server::start();
    create_user(&server, "alice", "alice-pw", &["email=alice@example.com"]);
    let playground = Playground::start(&server);
    (server, playground)
}

#[test]
fn playground_shows_bound_tokens_and_the_api_refuses_another_certificate() {
    let (server, pg) = setup();
    let (status, index) = pg.post("/playground2/client-credentials", "");
    assert_eq!(status, 200);
    assert_eq!(element(&index, "status").as_deref(), Some("200"), "{index}");
    let cnf = element(&index, "cnf").expect("the bound token's cnf is shown");
    assert!(index.contains("checked by certbound-resource"), "{index}");
    assert!(index.contains("grant_type=client_credentials"));

    // The token is bound to the playground's registered certificate, as certbound says too.
    let intro = pg.post("/playground2/introspect", "").1;
    assert_eq!(element(&intro, "cnf").as_deref(), Some(cnf.as_str()));
    assert_eq!(element(&intro, "active").as_deref(), Some("true"));

    let right = pg.post("/playground2/api", "cert=right").1;
    assert_eq!(element(&right, "status").as_deref(), Some("200"), "{right}");
    assert_eq!(element(&right, "presented").as_deref(), Some(cnf.as_str()));
    let other = pg.post("/playground2/api", "cert=other").1;
    assert_eq!(element(&other, "status").as_deref(), Some("401"), "{other}");
    assert!(
        element(&other, "www-authenticate")
            .unwrap()
            .contains("error=&#34;invalid_token&#34;"),
        "{other}"
    );
    assert_ne!(element(&other, "presented").as_deref(), Some(cnf.as_str()));
    // The request shown never carries the whole token.
    assert!(other.contains("[redacted]"));
    drop(server);
}

#[test]
fn playground_tells_what_to_do_when_certbound_is_not_running() {
    let (server, pg) = setup();
    let port = server.port;
    drop(server);
    let (status, page) = pg.post("/playground2/client-credentials", "");
    assert_eq!(status, 200);
    assert_eq!(element(&page, "status").as_deref(), Some("error"));
    assert!(
        page.contains(&format!(
            "Nothing answers at https://localhost:{port}/oauth2/token"
        )),
        "{page}"
    );
    assert!(page.contains("Start certbound"), "{page}");
}

#[test]
fn chromium_clicks_through_every_playground_flow() {
    let (server, pg) = setup();
    let node = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/node");
    assert!(
        node.join("node_modules").exists(),
        "tests/node/node_modules is missing: run ./scripts/test (it runs npm ci there)"
    );
    let artifacts =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts/playground");
    let _ = std::fs::remove_dir_all(&artifacts);
    let out = Command::new("node")
        .arg("playground.mjs")
        .current_dir(&node)
        .env("PLAYGROUND_URL", pg.url("/playground2/"))
        .env("USERNAME", "alice")
        .env("PASSWORD", "alice-pw")
        .env("ARTIFACTS", &artifacts)
        .output()
        .expect("node is installed");
    assert!(
        out.status.success(),
        "playground.mjs failed:\n{}\n{}\nplayground log:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&pg.log).unwrap_or_default(),
        server.log()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(seen["index_server_ok"], true, "{seen}");
    for step in [
        "client_credentials",
        "authorization_code",
        "refresh",
        "introspect",
        "api_right",
    ] {
        assert_eq!(seen[step], "200", "{step}: {seen}");
    }
    assert_eq!(seen["api_other"], "401", "{seen}");
    assert!(
        seen["api_other_challenge"]
            .as_str()
            .unwrap()
            .contains("invalid_token"),
        "{seen}"
    );
    assert_eq!(seen["id_token_verified"], true, "{seen}");
    assert_eq!(seen["access_token_verified"], true, "{seen}");
    assert_eq!(seen["introspect_cnf"], seen["right_x5t"], "{seen}");
    for name in [
        "index",
        "client-credentials",
        "sign-in",
        "consent",
        "authorization-code",
        "refresh",
        "introspect",
        "api-right",
        "api-other",
    ] {
        let png = artifacts.join(format!("{name}.png"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", png.display());
    }
}

#[test]
fn playground_uses_the_mutual_tls_aliases_when_certbound_publishes_them() {
    let server = Server::start_with(
        "[server]\nrequest_client_certificate = false\n\n[server.mtls]\nlisten = \"127.0.0.1:0\"\n",
    );
    let pg = Playground::start(&server);
    // The overview reads discovery and learns the alias origin.
    let (status, _) = pg.get("/playground2/");
    assert_eq!(status, 200);
    let (_, page) = pg.post("/playground2/client-credentials", "");
    assert_eq!(element(&page, "status").as_deref(), Some("200"), "{page}");
    let alias = format!(
        "https://localhost:{}/oauth2/token",
        server.alias_port.unwrap()
    );
    assert!(
        page.contains(&alias),
        "the token request went to the alias: {page}"
    );
}
