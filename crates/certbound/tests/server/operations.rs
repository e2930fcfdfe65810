//! Running certbound: zero-config start, the first admin, persistence across restarts, the
//! CLI while the server runs, and what the database file contains.

use crate::harness::Server;
use crate::pki::{self, Validity};

#[test]
fn zero_config_start_generates_tls_and_a_random_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::launch(dir, "", None);
    assert_eq!(
        server.issuer,
        format!("https://localhost:{}/oauth2/token", server.port)
    );
    assert!(server.ca().exists(), "development CA written");
    assert!(
        server.stdout.iter().any(|l| l.contains("ca.pem")),
        "CA path printed"
    );
    let path = server.data_dir().join("admin-password");
    let password = std::fs::read_to_string(&path).unwrap();
    assert!(password.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        server.stdout.iter().any(|l| l.contains(&password)),
        "printed once at start"
    );
    let r = server
        .post("/oauth2/introspect")
        .basic("admin", &password)
        .form("token=x")
        .send();
    assert_eq!(r.body, r#"{"active":false}"#);
    server
        .post("/oauth2/introspect")
        .basic("admin", "admin")
        .form("token=x")
        .send()
        .assert_error(401, "invalid_client");
}

#[test]
fn restart_keeps_clients_tokens_and_the_development_ca() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let token = server.token_with_cert(&client_id, &id)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ca_before = std::fs::read(server.ca()).unwrap();
    let server = server.restart();
    assert_eq!(std::fs::read(server.ca()).unwrap(), ca_before, "CA kept");
    assert!(
        !server.stdout.iter().any(|l| l.contains("created user")),
        "admin is seeded only once"
    );
    assert_eq!(server.introspect(&token)["active"], true);
    server.token_with_cert(&client_id, &id);
}

#[test]
fn client_cli_list_show_delete_while_running() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let token = server.token_with_cert(&client_id, &id)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = server.cli(&["client", "show", &client_id, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["token_endpoint_auth_method"],
        "self_signed_tls_client_auth"
    );
    assert_eq!(v["certificates"][0]["x5t#S256"], id.thumbprint().as_str());
    assert!(v.get("client_secret").is_none());

    let out = server.cli(&["client", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let out = server.cli(&["client", "delete", &client_id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server.introspect(&token)["active"],
        false,
        "deleting a client revokes its tokens"
    );
    let r = server
        .post("/oauth2/token")
        .cert(&id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send();
    r.assert_error(401, "invalid_client");
    let out = server.cli(&["client", "show", &client_id]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("client list"),
        "error says what to do"
    );
}

#[test]
fn client_create_rejects_inconsistent_registrations() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    for args in [
        &["--name", "x", "--auth-method", "tls_client_auth"][..],
        &[
            "--name",
            "x",
            "--auth-method",
            "self_signed_tls_client_auth",
        ],
        &[
            "--name",
            "x",
            "--auth-method",
            "tls_client_auth",
            "--san-dns",
            "a",
            "--san-uri",
            "b",
        ],
        &[
            "--name",
            "x",
            "--auth-method",
            "client_secret_basic",
            "--cert",
            id.cert.to_str().unwrap(),
        ],
        &[
            "--name",
            "x",
            "--auth-method",
            "tls_client_auth",
            "--subject-dn",
            "CN",
        ],
        &[
            "--name",
            "x",
            "--auth-method",
            "self_signed_tls_client_auth",
            "--cert",
            id.key.to_str().unwrap(),
        ],
    ] {
        let mut all = vec!["client", "create"];
        all.extend_from_slice(args);
        let out = server.cli(&all);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn the_database_holds_no_usable_token_or_secret() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "c", "c", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    let token = server.token_with_cert(&client_id, &id)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = server.create_client(&["--name", "s", "--auth-method", "client_secret_basic"]);
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    let dump = database_dump(&server);
    assert!(!dump.is_empty());
    let contains = |needle: &str| dump.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contains(&client_id),
        "sanity: the dump does contain the client"
    );
    assert!(!contains(&token), "token stored in clear");
    assert!(!contains(&secret), "client secret stored in clear");
    assert!(
        contains("$argon2id$"),
        "the admin password is stored as an Argon2id hash"
    );
}

/// Every byte the server's database holds: the SQLite files (with WAL and journal) in its data
/// directory, or `pg_dump` of its PostgreSQL schema.
fn database_dump(server: &Server) -> Vec<u8> {
    if let Some(schema) = &server.schema {
        let out = std::process::Command::new("pg_dump")
            .arg("--dbname")
            .arg(crate::harness::postgres_base_url())
            .arg("--schema")
            .arg(&schema.name)
            .output()
            .expect("pg_dump (install postgresql-client)");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return out.stdout;
    }
    let mut dump = Vec::new();
    for entry in std::fs::read_dir(server.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("certbound.db")
        {
            dump.extend(std::fs::read(&path).unwrap());
        }
    }
    dump
}
