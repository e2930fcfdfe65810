//! Starts the real `certbound` binary on an ephemeral port and talks to it with curl.
//!
//! Storage: SQLite in each server's data directory, or — with `CERTBOUND_TEST_STORAGE=postgres`
//! — a fresh PostgreSQL schema per server (base URL `CERTBOUND_TEST_POSTGRES_URL`, default
//! [`DEFAULT_POSTGRES_URL`]), handed to every process of that server through
//! `CERTBOUND_STORAGE_URL` and dropped when the last server using it is gone.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_certbound");

/// The test database when `CERTBOUND_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// Whether the tests run against PostgreSQL (`CERTBOUND_TEST_STORAGE=postgres`).
pub fn postgres() -> bool {
    std::env::var("CERTBOUND_TEST_STORAGE").is_ok_and(|v| v == "postgres")
}

/// The PostgreSQL server and database the tests use.
pub fn postgres_base_url() -> String {
    std::env::var("CERTBOUND_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// Runs SQL with psql against the test database, asserting success; returns standard output.
pub fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .arg(postgres_base_url())
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql (install postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One PostgreSQL schema of its own, dropped with its last user.
#[derive(Debug)]
pub struct PgSchema {
    /// The schema's name (`cbt_…`; `scripts/test` drops leftovers of killed runs).
    pub name: String,
    /// The storage URL selecting it.
    pub url: String,
    /// Whether dropping this drops the schema (false for [`PgSchema::through`]).
    owned: bool,
}

impl PgSchema {
    /// Creates an empty schema with a name no other test uses.
    pub fn create() -> Arc<PgSchema> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "cbt_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        psql(&format!("CREATE SCHEMA {name}"));
        let url = Self::url_for(&postgres_base_url(), &name);
        Arc::new(PgSchema {
            name,
            url,
            owned: true,
        })
    }

    /// The same schema reached through another server address (e.g. a forwarder in front of
    /// PostgreSQL); the original keeps owning the schema.
    pub fn through(&self, base: &str) -> Arc<PgSchema> {
        Arc::new(PgSchema {
            name: self.name.clone(),
            url: Self::url_for(base, &self.name),
            owned: false,
        })
    }

    /// `base` with the schema selected through the connection's `search_path` option.
    pub fn url_for(base: &str, schema: &str) -> String {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{schema}")
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let _ = Command::new("psql")
            .arg(postgres_base_url())
            .args([
                "-qAtc",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            ])
            .output();
    }
}

/// A running server with its own data directory.
pub struct Server {
    child: Child,
    pub dir: tempfile::TempDir,
    /// Its PostgreSQL schema, when the tests run against PostgreSQL.
    pub schema: Option<Arc<PgSchema>>,
    pub port: u16,
    pub issuer: String,
    /// The plain-HTTP listener's port, when `server.http_listen` is configured.
    pub http_port: Option<u16>,
    /// The RFC 8705 §5 alias listener's port, when `server.mtls.listen` is configured.
    pub alias_port: Option<u16>,
    /// The operations listener's port (`/healthz`, `/readyz`, `/metrics`), when it runs.
    pub ops_port: Option<u16>,
    /// What the server printed on standard output before it was ready.
    pub stdout: Vec<String>,
}

impl Server {
    /// Starts a server with no configuration file.
    pub fn start() -> Server {
        Self::start_with("")
    }

    /// Starts a server with the given TOML configuration.
    pub fn start_with(config: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, config)
    }

    /// Starts a server in an existing directory (files for the config may already be there).
    pub fn start_in(dir: tempfile::TempDir, config: &str) -> Server {
        Self::launch(dir, config, Some("admin"))
    }

    /// Stops the server (SIGKILL, if still running) and starts it again on the same data
    /// directory (and database).
    pub fn restart(mut self) -> Server {
        self.kill();
        let config = std::fs::read_to_string(self.path().join("certbound.toml")).unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::launch_on(dir, &config, Some("admin"), self.schema.take())
    }

    /// Starts the binary; `admin_password` sets CERTBOUND_ADMIN_PASSWORD when given.
    pub fn launch(dir: tempfile::TempDir, config: &str, admin_password: Option<&str>) -> Server {
        let schema = postgres().then(PgSchema::create);
        Self::launch_on(dir, config, admin_password, schema)
    }

    /// [`Server::launch`] on a given PostgreSQL schema (`None`: SQLite in the data directory).
    pub fn launch_on(
        dir: tempfile::TempDir,
        config: &str,
        admin_password: Option<&str>,
        schema: Option<Arc<PgSchema>>,
    ) -> Server {
        Self::launch_with_flags(dir, config, admin_password, schema, &[])
    }

    /// Starts a server with extra `serve` flags (e.g. `--log-format json`).
    pub fn start_with_flags(config: &str, flags: &[&str]) -> Server {
        let schema = postgres().then(PgSchema::create);
        Self::launch_with_flags(
            tempfile::tempdir().unwrap(),
            config,
            Some("admin"),
            schema,
            flags,
        )
    }

    /// [`Server::launch_on`] with extra `serve` flags.
    pub fn launch_with_flags(
        dir: tempfile::TempDir,
        config: &str,
        admin_password: Option<&str>,
        schema: Option<Arc<PgSchema>>,
        flags: &[&str],
    ) -> Server {
        std::fs::write(dir.path().join("certbound.toml"), config).unwrap();
        let mut command = storage_command(schema.as_deref());
        command.env_remove("CERTBOUND_ADMIN_PASSWORD");
        // Parallel servers must not all want the default ops port: an ephemeral one, unless
        // the test configures `[ops]` itself.
        if config.contains("[ops]") {
            command.env_remove("CERTBOUND_OPS_LISTEN");
        } else {
            command.env("CERTBOUND_OPS_LISTEN", "127.0.0.1:0");
        }
        if let Some(p) = admin_password {
            command.env("CERTBOUND_ADMIN_PASSWORD", p);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(flags)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(dir.path().join("certbound.toml"))
            .env("CERTBOUND_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("server.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut port, mut issuer, mut http_port, mut stdout_lines) =
            (None, None, None, Vec::new());
        let (mut alias_port, mut ops_port) = (None, None);
        while port.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    let log =
                        std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                    panic!("server did not start; log:\n{log}")
                });
            stdout_lines.push(line.clone());
            if let Some(rest) = line.strip_prefix("listening on https://127.0.0.1:") {
                port = Some(rest.trim().parse().unwrap());
            }
            if let Some(rest) = line.strip_prefix("listening on https://localhost:")
                && line.contains("endpoint aliases")
            {
                alias_port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            if let Some(rest) = line.strip_prefix("listening on http://127.0.0.1:") {
                http_port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            if let Some(rest) = line.strip_prefix("operations endpoints on http://127.0.0.1:") {
                ops_port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
            }
            if let Some(rest) = line.strip_prefix("issuer: ") {
                issuer = Some(rest.trim().to_owned());
            }
        }
        Server {
            child,
            dir,
            schema,
            port: port.unwrap(),
            issuer: issuer.unwrap(),
            http_port,
            alias_port,
            ops_port,
            stdout: stdout_lines,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `INT`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGKILL (`Child::kill` on Unix): no chance to flush or close anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits at most `timeout` for the process to exit; its status, or None if still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn ca(&self) -> PathBuf {
        self.data_dir().join("tls").join("ca.pem")
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("server.log")).unwrap_or_default()
    }

    /// The log once the checks over every registered client (trust store names, certificate
    /// expiry), which run beside serving, are done (at most 10 s).
    pub fn log_after_client_checks(&self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains("start-up checks of the registered clients done")
                || std::time::Instant::now() > deadline
            {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `certbound` binary, pointed at this server's database (no arguments yet).
    pub fn command(&self) -> Command {
        storage_command(self.schema.as_deref())
    }

    /// Runs a CLI command against this server's data directory and config.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.command()
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--config")
            .arg(self.path().join("certbound.toml"))
            .output()
            .unwrap()
    }

    /// `client create ... --json`, asserting success; returns the JSON.
    pub fn create_client(&self, args: &[&str]) -> Value {
        let mut all = vec!["client", "create", "--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "client create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Registers a self_signed_tls_client_auth client for a certificate; returns its client_id.
    pub fn self_signed_client(&self, cert: &Path, extra: &[&str]) -> String {
        let cert = cert.to_str().unwrap();
        let mut args = vec![
            "--name",
            "playground2",
            "--auth-method",
            "self_signed_tls_client_auth",
            "--cert",
            cert,
        ];
        args.extend_from_slice(extra);
        self.create_client(&args)["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A GET to the operations listener (plain HTTP), which must be running.
    pub fn ops(&self, path: &str) -> Response {
        let port = self.ops_port.expect("the operations listener is running");
        self.request_to(format!("http://127.0.0.1:{port}{path}"))
            .send()
    }

    /// A request builder for this server.
    pub fn post(&self, path: &str) -> Request {
        self.request_to(self.url(path))
    }

    /// A request builder for any URL (e.g. a proxy in front), trusting this server's dev CA.
    pub fn request_to(&self, url: String) -> Request {
        Request {
            url,
            ca: self.ca(),
            args: Vec::new(),
            log: self.path().join("server.log"),
        }
    }

    /// Obtains a client_credentials token with a certificate, asserting success.
    pub fn token_with_cert(&self, client_id: &str, id: &crate::pki::Identity) -> Value {
        let r = self
            .post("/oauth2/token")
            .cert(id)
            .form(&format!(
                "grant_type=client_credentials&client_id={client_id}"
            ))
            .send();
        assert_eq!(r.status, 200, "token request failed: {}", r.body);
        r.json()
    }

    /// Introspects a token as the seeded admin user.
    pub fn introspect(&self, token: &str) -> Value {
        let r = self
            .post("/oauth2/introspect")
            .basic("admin", "admin")
            .form(&format!("token={token}"))
            .send();
        assert_eq!(r.status, 200, "introspection failed: {}", r.body);
        r.json()
    }
}

/// `certbound` with `CERTBOUND_STORAGE_URL` naming `schema`, or unset (SQLite in the data dir).
fn storage_command(schema: Option<&PgSchema>) -> Command {
    let mut command = Command::new(BIN);
    match schema {
        Some(s) => command.env("CERTBOUND_STORAGE_URL", &s.url),
        None => command.env_remove("CERTBOUND_STORAGE_URL"),
    };
    command
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A curl invocation.
pub struct Request {
    url: String,
    ca: PathBuf,
    args: Vec<String>,
    /// The server's log, shown when curl cannot talk to it.
    log: PathBuf,
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts an OAuth error response with this status and code; returns the body.
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let v = self.json();
        assert_eq!(v["error"], code, "unexpected error: {}", self.body);
        assert!(v["error_description"].is_string());
        v
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

impl Request {
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }
    pub fn cert(self, id: &crate::pki::Identity) -> Self {
        self.arg("--cert")
            .arg(id.cert.to_str().unwrap())
            .arg("--key")
            .arg(id.key.to_str().unwrap())
    }
    pub fn basic(self, user: &str, pass: &str) -> Self {
        self.arg("--user").arg(format!("{user}:{pass}"))
    }
    pub fn header(self, h: &str) -> Self {
        self.arg("-H").arg(h)
    }
    /// An urlencoded body sent as is (curl -d sets the form content type).
    pub fn form(self, body: &str) -> Self {
        self.arg("--data-raw").arg(body)
    }
    /// A body from a file, byte for byte.
    pub fn body_file(self, path: &Path) -> Self {
        self.header("content-type: application/x-www-form-urlencoded")
            .arg("--data-binary")
            .arg(format!("@{}", path.display()))
    }
    pub fn send(self) -> Response {
        let headers_file = tempfile::NamedTempFile::new().unwrap();
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "30", "--cacert"])
            .arg(&self.ca)
            .arg("-D")
            .arg(headers_file.path())
            .args(["-w", "\n%{http_code}"])
            .args(&self.args)
            .arg(&self.url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        Response {
            status: status.trim().parse().unwrap(),
            headers: std::fs::read_to_string(headers_file.path()).unwrap(),
            body: body.to_owned(),
        }
    }
}
