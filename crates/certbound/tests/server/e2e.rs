//! End to end with real third-party software: Debian's headless Chromium signing in and
//! approving (driven by playwright-core), and panva's openid-client as the relying party using
//! RFC 8705 client authentication. Both run from `tests/node` (`npm ci` by ./scripts/test).

use crate::browser::query_param;
use crate::code_flow::{REDIRECT, authorize_url, challenge, redeem, setup, verify_id_token};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

pub fn node_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/node");
    assert!(
        dir.join("node_modules").exists(),
        "tests/node/node_modules is missing: run ./scripts/test (it runs npm ci there)"
    );
    dir
}

/// Screenshots go to target/test-artifacts/, kept after the run.
pub fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn run_node(script: &str, env: &[(&str, String)]) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(script).current_dir(node_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("node is installed");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn chromium_signs_in_approves_and_the_code_redeems_with_mtls() {
    let (server, id, client_id) = setup();
    let artifacts = artifacts();
    let out = run_node(
        "browser.mjs",
        &[
            ("AUTHORIZE_URL", server.url(&authorize_url(&client_id, ""))),
            ("REDIRECT_URI", REDIRECT.to_owned()),
            ("USERNAME", "alice".to_owned()),
            ("PASSWORD", "alice-pw".to_owned()),
            ("ARTIFACTS", artifacts.display().to_string()),
        ],
    );
    let final_url = out["final_url"].as_str().unwrap();
    assert!(final_url.starts_with(REDIRECT), "{final_url}");
    assert_eq!(query_param(final_url, "state").as_deref(), Some("xyz"));
    let consent = out["consent_page_text"].as_str().unwrap();
    assert!(
        consent.contains("Email address") && consent.contains("alice@example.com"),
        "{consent}"
    );
    for shot in ["sign-in.png", "consent.png"] {
        let png = std::fs::read(artifacts.join(shot)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{shot} is a PNG");
    }
    let code = query_param(final_url, "code").unwrap();
    let r = redeem(
        &server,
        &id,
        &client_id,
        &code,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, claims) = verify_id_token(&server, r.json()["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "alice");
    let _ = challenge;
}

#[test]
fn openid_client_is_a_working_relying_party_with_tls_client_auth() {
    let (server, id, client_id) = setup();
    let out = run_node(
        "rp.mjs",
        &[
            ("ISSUER", server.issuer.clone()),
            ("CLIENT_ID", client_id.clone()),
            ("CLIENT_CERT", id.cert.display().to_string()),
            ("CLIENT_KEY", id.key.display().to_string()),
            ("CA_CERT", server.ca().display().to_string()),
            ("REDIRECT_URI", REDIRECT.to_owned()),
            ("USERNAME", "alice".to_owned()),
            ("PASSWORD", "alice-pw".to_owned()),
        ],
    );
    assert_eq!(out["metadata_issuer"], server.issuer.as_str());
    assert_eq!(out["id_token_claims"]["sub"], "alice");
    assert_eq!(out["id_token_claims"]["aud"], client_id.as_str());
    assert_eq!(out["userinfo"]["email"], "alice@example.com");
    assert_eq!(out["token_response"]["has_refresh_token"], true);
    assert!(
        out["token_response"]["scope"]
            .as_str()
            .unwrap()
            .contains("openid")
    );
}
