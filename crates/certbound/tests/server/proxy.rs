//! Behind a TLS-terminating proxy: the certificate in a header, believed only from
//! `trusted_proxies` — with the reference's request byte for byte, a real nginx in front, and
//! forged headers from untrusted peers.

use crate::harness::{Request, Server};
use crate::pki::{self, Validity};
use std::path::Path;
use std::process::{Child, Command};

use certbound_mtls::vectors::{
    WSO2_SAMPLE_CERT_PEM as BLOG_PEM, WSO2_SAMPLE_HEADER as BLOG_HEADER,
    WSO2_SAMPLE_X5T as BLOG_X5T,
};

pub const PROXY_CONFIG: &str = "[oauth.mutualtls]
client_certificate_header = \"x-wso2-mtls-cert\"
trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]
";

fn blog_client(server: &Server) -> String {
    let path = server.path().join("client-certificate.pem");
    std::fs::write(&path, BLOG_PEM).unwrap();
    server.self_signed_client(&path, &["--grant-type", "client_credentials"])
}

#[test]
fn the_reference_client_credentials_request_works_as_written() {
    let server = Server::start_with(PROXY_CONFIG);
    let client_id = blog_client(&server);
    // The reference's curl, only client_id and port differing (and --cacert for the dev CA).
    let out = Command::new("curl")
        .args(["-sS", "--cacert", server.ca().to_str().unwrap()])
        .args(["-X", "POST"])
        .arg(server.url("/oauth2/token"))
        .args(["-H", "content-type: application/x-www-form-urlencoded"])
        .args(["-H", &format!("x-wso2-mtls-cert: {BLOG_HEADER}")])
        .args([
            "-d",
            &format!("grant_type=client_credentials&client_id={client_id}"),
        ])
        .output()
        .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(token["token_type"], "Bearer", "{token}");
    assert_eq!(token["scope"], "default");
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(
        info["cnf"],
        serde_json::json!({ "x5t#S256": BLOG_X5T }),
        "exactly the correct member by default"
    );
    assert!(
        !server.log().contains(&BLOG_HEADER[30..90]),
        "the header value is never logged"
    );
    assert!(server.log().contains(BLOG_X5T), "the thumbprint is");
}

#[test]
fn legacy_x5t_sha256_is_opt_in() {
    let server = Server::start_with(&format!(
        "{PROXY_CONFIG}\n[oauth.introspection]\nlegacy_x5t_sha256 = true\n"
    ));
    let client_id = blog_client(&server);
    let r = server
        .post("/oauth2/token")
        .header(&format!("x-wso2-mtls-cert: {BLOG_HEADER}"))
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send();
    let info = server.introspect(r.json()["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], BLOG_X5T);
    assert_eq!(info["cnf"]["x5t#SHA256"], BLOG_X5T);
}

#[test]
fn bad_forwarded_headers_get_clear_errors() {
    let server = Server::start_with(PROXY_CONFIG);
    let client_id = blog_client(&server);
    let form = format!("grant_type=client_credentials&client_id={client_id}");
    let with = |h: &str| server.post("/oauth2/token").header(h).form(&form).send();
    with(&format!("x-wso2-mtls-cert: {BLOG_HEADER}")).json();
    let r = server
        .post("/oauth2/token")
        .header(&format!("x-wso2-mtls-cert: {BLOG_HEADER}"))
        .header(&format!("x-wso2-mtls-cert: {BLOG_HEADER}"))
        .form(&form)
        .send();
    r.assert_error(400, "invalid_request");
    // Over HTTP/1.1 (how proxies talk to their upstream) an oversized header reaches certbound
    // and gets a 400; over HTTP/2 the transport refuses such header blocks itself.
    server
        .post("/oauth2/token")
        .arg("--http1.1")
        .header(&format!("x-wso2-mtls-cert: {}", "A".repeat(17 * 1024)))
        .form(&form)
        .send()
        .assert_error(400, "invalid_request");
    for bad in [
        format!("{BLOG_HEADER}trailing"),
        "-----BEGIN CERTIFICATE-----bm90IGEgY2VydA==-----END CERTIFICATE-----".to_owned(),
        "MIIgarbage".to_owned(),
        ":bm90:".to_owned(),
    ] {
        let v = with(&format!("x-wso2-mtls-cert: {bad}")).assert_error(401, "invalid_client");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("could not be parsed"),
            "{v}"
        );
    }
    // "(null)" and "-" mean no certificate: a certificate client then fails to authenticate.
    for none in ["(null)", "-"] {
        let v = with(&format!("x-wso2-mtls-cert: {none}")).assert_error(401, "invalid_client");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("none was presented"),
            "{v}"
        );
    }
    assert!(!server.log().contains("panicked"));
}

#[test]
fn from_a_trusted_proxy_the_connections_own_certificate_is_not_the_clients() {
    let server = Server::start_with(PROXY_CONFIG);
    let id = pki::self_signed(server.path(), "direct", "direct", Validity::Current);
    let client_id = server.self_signed_client(&id.cert, &[]);
    // 127.0.0.1 is a trusted proxy: without the header, the TLS certificate is not used.
    let r = server
        .post("/oauth2/token")
        .cert(&id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send();
    r.assert_error(401, "invalid_client");
}

/// Connects from 127.0.0.2 (resolving localhost to 127.0.0.1 so the source address exists).
fn from_untrusted(server: &Server, path: &str) -> Request {
    server
        .post(path)
        .arg("--interface")
        .arg("127.0.0.2")
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", server.port))
}

#[test]
fn a_forged_header_from_an_untrusted_peer_is_ignored() {
    let config = "[oauth.mutualtls]\nclient_certificate_header = \"x-wso2-mtls-cert\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n";
    let server = Server::start_with(config);
    let client_id = blog_client(&server);
    let form = format!("grant_type=client_credentials&client_id={client_id}");
    let r = from_untrusted(&server, "/oauth2/token")
        .header(&format!("x-wso2-mtls-cert: {BLOG_HEADER}"))
        .form(&form)
        .send();
    r.assert_error(401, "invalid_client");
    let log = server.log();
    assert!(
        log.contains("not in trusted_proxies") && log.contains("127.0.0.2"),
        "a warning names the peer"
    );
    // The same request from the trusted address is accepted, so the refusal was the trust rule.
    let r = server
        .post("/oauth2/token")
        .header(&format!("x-wso2-mtls-cert: {BLOG_HEADER}"))
        .form(&form)
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    // An untrusted peer still authenticates with its own TLS certificate.
    let own = pki::self_signed(server.path(), "own", "own", Validity::Current);
    let own_id = server.self_signed_client(&own.cert, &[]);
    let r = from_untrusted(&server, "/oauth2/token")
        .cert(&own)
        .header(&format!("x-wso2-mtls-cert: {BLOG_HEADER}"))
        .form(&format!("grant_type=client_credentials&client_id={own_id}"))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        server.introspect(r.json()["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        own.thumbprint().as_str()
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx_binary() -> &'static str {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate;
        }
    }
    panic!("nginx is not installed: run ./scripts/test, which installs it (apt-get install nginx)");
}

/// A real nginx terminating mutual TLS and forwarding `$ssl_client_escaped_cert`.
pub struct Nginx {
    child: Child,
    pub port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(server: &Server) -> Nginx {
    start_nginx_to(
        server,
        &[server.http_port.expect("server.http_listen configured")],
    )
}

/// nginx with `server`'s TLS files, balancing over the plain-HTTP listeners on `upstreams`.
pub fn start_nginx_to(server: &Server, upstreams: &[u16]) -> Nginx {
    let dir = server.path().join("nginx");
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let port = free_port();
    let tls = server.data_dir().join("tls");
    let conf = format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  upstream certbound {{
{upstreams}  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {tls}/server.pem;
    ssl_certificate_key {tls}/server-key.pem;
    ssl_verify_client optional_no_ca;
    location / {{
      proxy_pass http://certbound;
      proxy_set_header x-wso2-mtls-cert $ssl_client_escaped_cert;
    }}
  }}
}}
",
        dir = dir.display(),
        tls = tls.display(),
        upstreams = upstreams
            .iter()
            .map(|p| format!("    server 127.0.0.1:{p};\n"))
            .collect::<String>(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .spawn()
        .unwrap();
    let nginx = Nginx { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return nginx;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "nginx did not start: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
}

#[test]
fn through_a_real_nginx_the_client_gets_the_certificate_it_presented() {
    let config = format!("[server]\nhttp_listen = \"127.0.0.1:0\"\n\n{PROXY_CONFIG}");
    let server = Server::start_with(&config);
    let nginx = start_nginx(&server);
    let via_nginx =
        |path: &str| server.request_to(format!("https://localhost:{}{path}", nginx.port));

    let alice = pki::self_signed(server.path(), "alice", "alice", Validity::Current);
    let mallory = pki::self_signed(server.path(), "mallory", "mallory", Validity::Current);
    let alice_id = server.self_signed_client(&alice.cert, &[]);
    let mallory_pem = std::fs::read_to_string(&mallory.cert)
        .unwrap()
        .replace('\n', "");
    let alice_pem = std::fs::read_to_string(&alice.cert)
        .unwrap()
        .replace('\n', "");

    // The round trip through nginx: token and introspection carry alice's thumbprint.
    let r = via_nginx("/oauth2/token")
        .cert(&alice)
        .form(&format!(
            "grant_type=client_credentials&client_id={alice_id}"
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let r = via_nginx("/oauth2/introspect")
        .basic("admin", "admin")
        .form(&format!("token={token}"))
        .send();
    assert_eq!(r.json()["cnf"]["x5t#S256"], alice.thumbprint().as_str());

    // alice adds her own copy of the header naming mallory's certificate: she still gets hers.
    let r = via_nginx("/oauth2/token")
        .cert(&alice)
        .header(&format!("x-wso2-mtls-cert: {mallory_pem}"))
        .form(&format!(
            "grant_type=client_credentials&client_id={alice_id}"
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    let info = server.introspect(r.json()["access_token"].as_str().unwrap());
    assert_eq!(info["cnf"]["x5t#S256"], alice.thumbprint().as_str());
    assert_ne!(info["cnf"]["x5t#S256"], mallory.thumbprint().as_str());

    // Without a certificate, a forged header naming alice's certificate gets nothing.
    let r = via_nginx("/oauth2/token")
        .header(&format!("x-wso2-mtls-cert: {alice_pem}"))
        .form(&format!(
            "grant_type=client_credentials&client_id={alice_id}"
        ))
        .send();
    r.assert_error(401, "invalid_client");
}
