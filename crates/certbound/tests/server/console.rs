//! The management console (`/console`): the reference's WSO2 flow in headless Chromium —
//! sign in, register a service provider by pasting its certificate, read its thumbprint, get a
//! certificate-bound token with it, delete it — and, with curl, the guards: admin session
//! required, non-admins refused, CSRF tokens required, the secret shown once, rotation.

use crate::browser::{Browser, input, location};
use crate::code_flow::create_user;
use crate::e2e::{artifacts, run_node};
use crate::harness::Server;
use crate::pki::{self, Validity};

const CALLBACK: &str = "http://localhost:8080/playground2/oauth2client";

/// A browser signed in to the console.
fn signed_in(server: &Server, name: &str, user: &str, password: &str) -> Browser {
    let b = Browser::new(server, name);
    let page = b.get("/console/login");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = input(&page.body, "csrf").unwrap();
    let r = b.post(
        "/console/login",
        &[("csrf", &csrf), ("username", user), ("password", password)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), "/console");
    b
}

/// The CSRF token of a console page.
fn csrf(b: &Browser, path: &str) -> String {
    let page = b.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    input(&page.body, "csrf").unwrap()
}

/// The text of the element with this id (`<code id="…">text</code>`).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\">"))? + id.len() + 6;
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_owned())
}

#[test]
fn chromium_registers_a_service_provider_by_pasting_its_certificate_and_gets_a_bound_token() {
    let server = Server::start();
    let id = pki::self_signed(
        server.path(),
        "playground2",
        "playground2",
        Validity::Current,
    );
    let pem = std::fs::read_to_string(&id.cert).unwrap();
    let artifacts = artifacts();
    let common = [
        ("CONSOLE_URL", server.url("/console")),
        ("USERNAME", "admin".to_owned()),
        ("PASSWORD", "admin".to_owned()),
        ("ARTIFACTS", artifacts.display().to_string()),
    ];
    let mut env = common.to_vec();
    env.extend([
        ("PHASE", "create".to_owned()),
        ("NAME", "playground2".to_owned()),
        ("CERT_PEM", pem),
        ("CALLBACK_URL", CALLBACK.to_owned()),
    ]);
    let out = run_node("console.mjs", &env);
    let client_id = out["client_id"].as_str().unwrap().to_owned();
    assert_eq!(client_id.len(), 24, "{out}");
    assert_eq!(out["secret_shown"], false, "no secret for an mTLS client");
    assert_eq!(
        out["x5t"],
        id.thumbprint().as_str(),
        "the detail page's x5t#S256"
    );
    let detail = out["detail_text"].as_str().unwrap();
    assert!(detail.contains("CN=playground2"), "{detail}");
    assert!(detail.contains(CALLBACK), "{detail}");
    let list = out["list_text"].as_str().unwrap();
    assert!(list.contains(&client_id) && list.contains("self_signed_tls_client_auth"));
    // The test certificate is valid for 30 days: inside the default 30-day warning window.
    assert!(list.contains("expires soon"), "{list}");
    let field_error = out["field_error"].as_str().unwrap();
    assert!(field_error.contains("PEM certificate"), "{field_error}");
    assert_eq!(
        out["kept_name"], "playground2 (bad)",
        "entered values are kept"
    );

    // The registered certificate authenticates the client, and the token is bound to it.
    let token = server.token_with_cert(&client_id, &id);
    let info = server.introspect(token["access_token"].as_str().unwrap());
    assert_eq!(info["active"], true);
    assert_eq!(info["cnf"]["x5t#S256"], id.thumbprint().as_str());

    let mut env = common.to_vec();
    env.extend([
        ("PHASE", "delete".to_owned()),
        ("CLIENT_ID", client_id.clone()),
    ]);
    let out = run_node("console.mjs", &env);
    assert_eq!(out["detail_status_after"], 404);
    assert!(out["list_text_after"].as_str().unwrap().contains("deleted"));
    server
        .post("/oauth2/token")
        .cert(&id)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
        .assert_error(401, "invalid_client");

    for shot in [
        "list",
        "create-form",
        "field-error",
        "detail",
        "created",
        "delete-confirm",
    ] {
        let png = std::fs::read(artifacts.join(format!("console-{shot}.png"))).unwrap();
        assert_eq!(
            &png[..8],
            b"\x89PNG\r\n\x1a\n",
            "console-{shot}.png is a PNG"
        );
    }
    let log = server.log();
    for action in ["client.create", "client.delete", "console sign-in"] {
        assert!(log.contains(action), "audit line {action} missing");
    }
    assert!(!log.contains("BEGIN CERTIFICATE"), "no PEM in logs");
}

#[test]
fn console_pages_require_an_admin_session() {
    let server = Server::start();
    let anonymous = Browser::new(&server, "anonymous");
    for path in [
        "/console",
        "/console/clients/new",
        "/console/clients/x/edit",
    ] {
        let r = anonymous.get(path);
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(location(&r), "/console/login", "{path}");
    }
    let r = anonymous.post("/console/clients", &[("name", "x")]);
    assert_eq!((r.status, location(&r).as_str()), (303, "/console/login"));
    let login = anonymous.get("/console/login");
    assert_eq!(login.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        login
            .header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    let admin = signed_in(&server, "admin", "admin", "admin");
    let list = admin.get("/console");
    assert_eq!(list.status, 200);
    assert_eq!(list.header("cache-control").as_deref(), Some("no-store"));
    assert!(list.body.contains("Service providers"));
    // Signing out ends the session.
    let token = input(&list.body, "csrf").unwrap();
    let r = admin.post("/console/logout", &[("csrf", &token)]);
    assert_eq!((r.status, location(&r).as_str()), (303, "/console/login"));
    assert_eq!(admin.get("/console").status, 303);
}

#[test]
fn a_non_admin_cannot_sign_in_to_the_console() {
    let server = Server::start();
    create_user(&server, "alice", "alice-pw", &[]);
    let b = Browser::new(&server, "alice");
    let token = csrf(&b, "/console/login");
    let r = b.post(
        "/console/login",
        &[
            ("csrf", &token),
            ("username", "alice"),
            ("password", "alice-pw"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("not an administrator"), "{}", r.body);
    assert_eq!(b.cookie("__Host-certbound-console"), None);
    assert_eq!(b.get("/console").status, 303);
    let r = b.post(
        "/console/login",
        &[
            ("csrf", &token),
            ("username", "admin"),
            ("password", "wrong"),
        ],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Wrong username or password."));
}

#[test]
fn console_posts_without_the_csrf_token_are_refused() {
    let server = Server::start();
    let b = Browser::new(&server, "no-csrf");
    let _ = b.get("/console/login");
    let r = b.post(
        "/console/login",
        &[("username", "admin"), ("password", "admin")],
    );
    assert_eq!(r.status, 403, "sign-in without the token");
    let admin = signed_in(&server, "admin", "admin", "admin");
    let form = [
        ("name", "sneaky"),
        ("auth_method", "client_secret_basic"),
        ("grant_type", "client_credentials"),
    ];
    let r = admin.post("/console/clients", &form);
    assert_eq!(r.status, 403, "{}", r.body);
    let mut wrong = form.to_vec();
    wrong.push(("csrf", "A".repeat(43).leak()));
    assert_eq!(admin.post("/console/clients", &wrong).status, 403);
    let list = admin.get("/console");
    assert!(!list.body.contains("sneaky"), "nothing was created");
}

/// Creates a client_secret_basic client through the console; returns (client_id, secret).
fn create_secret_client(admin: &Browser) -> (String, String) {
    let token = csrf(admin, "/console/clients/new");
    let r = admin.post(
        "/console/clients",
        &[
            ("csrf", &token),
            ("name", "backend job"),
            ("auth_method", "client_secret_basic"),
            ("subject_member", "subject_dn"),
            ("grant_type", "client_credentials"),
            ("token_format", ""),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    (
        element_text(&r.body, "client-id").unwrap(),
        element_text(&r.body, "client-secret").unwrap(),
    )
}

#[test]
fn the_client_secret_is_shown_once_only() {
    let server = Server::start();
    let admin = signed_in(&server, "admin", "admin", "admin");
    let (client_id, secret) = create_secret_client(&admin);
    assert_eq!(secret.len(), 43);
    for path in [
        "/console".to_owned(),
        format!("/console/clients/{client_id}"),
        format!("/console/clients/{client_id}/edit"),
    ] {
        let page = admin.get(&path);
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains(&client_id), "{path}");
        assert!(
            !page.body.contains(&secret),
            "{path} shows the secret again"
        );
    }
    let r = server
        .post("/oauth2/token")
        .basic(&client_id, &secret)
        .form("grant_type=client_credentials")
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !server.log().contains(&secret),
        "the secret is never logged"
    );
}

#[test]
fn certificates_rotate_on_the_detail_page() {
    let server = Server::start();
    let old = pki::self_signed(server.path(), "old", "rotating", Validity::Current);
    let new = pki::self_signed(server.path(), "new", "rotating", Validity::Current);
    let client_id = server.self_signed_client(&old.cert, &[]);
    let admin = signed_in(&server, "admin", "admin", "admin");
    let detail = format!("/console/clients/{client_id}");
    let token = csrf(&admin, &detail);
    let add = format!("{detail}/certificates");
    let r = admin.post(&add, &[("csrf", &token), ("certificate", "not a pem")]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("id=\"certificate-error\""), "{}", r.body);
    let pem = std::fs::read_to_string(&new.cert).unwrap();
    let r = admin.post(&add, &[("csrf", &token), ("certificate", &pem)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = admin.get(&detail);
    assert!(page.body.contains(&old.thumbprint()) && page.body.contains(&new.thumbprint()));
    server.token_with_cert(&client_id, &old);
    server.token_with_cert(&client_id, &new);
    let retire = format!("{detail}/certificates/retire");
    let r = admin.post(&retire, &[("csrf", &token), ("x5t", &old.thumbprint())]);
    assert_eq!(r.status, 303, "{}", r.body);
    server.token_with_cert(&client_id, &new);
    server
        .post("/oauth2/token")
        .cert(&old)
        .form(&format!(
            "grant_type=client_credentials&client_id={client_id}"
        ))
        .send()
        .assert_error(401, "invalid_client");
    // The last certificate cannot be retired.
    let r = admin.post(&retire, &[("csrf", &token), ("x5t", &new.thumbprint())]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("only certificate"), "{}", r.body);
    assert!(server.log().contains("client.certificate.retire"));
}

#[test]
fn an_edit_to_tls_client_auth_takes_the_subject_dn_from_the_pasted_certificate() {
    let server = Server::start();
    let admin = signed_in(&server, "admin", "admin", "admin");
    let (client_id, _) = create_secret_client(&admin);
    let id = pki::self_signed(server.path(), "pki-client", "pki-client", Validity::Current);
    let pem = std::fs::read_to_string(&id.cert).unwrap();
    let token = csrf(&admin, &format!("/console/clients/{client_id}/edit"));
    let r = admin.post(
        &format!("/console/clients/{client_id}"),
        &[
            ("csrf", &token),
            ("name", "renamed"),
            ("certificate", &pem),
            ("auth_method", "tls_client_auth"),
            ("subject_member", "subject_dn"),
            ("subject_value", ""),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = admin.get(&location(&r));
    assert!(page.body.contains("Changes saved."), "{}", page.body);
    assert!(page.body.contains("renamed"));
    assert!(
        page.body
            .contains("Subject DN: O=certbound tests,CN=pki-client"),
        "{}",
        page.body
    );
    // A value that does not parse is reported next to the DN/SAN field, values kept.
    let r = admin.post(
        &format!("/console/clients/{client_id}"),
        &[
            ("csrf", &token),
            ("name", "renamed again"),
            ("auth_method", "tls_client_auth"),
            ("subject_member", "san_ip"),
            ("subject_value", "not-an-ip"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("id=\"subject-error\""), "{}", r.body);
    assert!(
        r.body.contains("value=\"renamed again\""),
        "entered values are kept"
    );
}

/// The client_ids linked from a console list page, in page order.
fn listed_ids(html: &str) -> Vec<String> {
    html.split("<td><a href=\"/console/clients/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The `href` of the element with this id.
fn link(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[at..].find("href=\"")? + at + 6;
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

#[test]
fn the_console_and_the_cli_list_service_providers_a_page_at_a_time_by_client_id() {
    let server = Server::start();
    let none = server.cli(&["client", "list", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&none.stdout),
        "[]\n",
        "an empty store"
    );
    // One more than a console page (100).
    let mut ids: Vec<String> = (0..101)
        .map(|i| {
            let body = format!(
                r#"{{"client_name":"svc{i:03}","token_endpoint_auth_method":"client_secret_basic","grant_types":["client_credentials"]}}"#
            );
            let r = server
                .post("/api/admin/clients")
                .basic("admin", "admin")
                .header("content-type: application/json")
                .arg("--data-raw")
                .arg(body)
                .send();
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["client_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();

    let admin = signed_in(&server, "admin", "admin", "admin");
    let first = admin.get("/console");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(listed_ids(&first.body), ids[..100], "the first 100 by id");
    assert_eq!(link(&first.body, "first-page"), None);
    let next = link(&first.body, "next-page").expect("a next-page link");
    assert_eq!(next, format!("/console?after={}", ids[99]));

    let second = admin.get(&next);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(listed_ids(&second.body), ids[100..], "the last one");
    assert_eq!(link(&second.body, "next-page"), None, "no page after it");
    assert_eq!(
        link(&second.body, "first-page").as_deref(),
        Some("/console")
    );

    // Past the end: an empty page that says so, not "no service providers yet".
    let past = admin.get(&format!("/console?after={}", ids[100]));
    assert_eq!(past.status, 200);
    assert!(listed_ids(&past.body).is_empty());
    assert!(past.body.contains("No service providers after this point."));
    assert!(!past.body.contains("No service providers yet"));
    // An `after` that is no client's id starts at the next id; a query value is never echoed
    // as markup.
    let odd = admin.get("/console?after=%3Cscript%3E&notice=%3Cb%3E");
    assert_eq!(odd.status, 200);
    assert!(!odd.body.contains("<script>") && !odd.body.contains("<b>"));

    // The CLI lists every client, by id, in text and as one JSON array.
    let out = server.cli(&["client", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 101, "{text}");
    let text_ids: Vec<&str> = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(text_ids, ids);
    for line in &lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert_eq!(fields[1], "client_secret_basic", "{line}");
        assert!(fields[2].starts_with("svc"), "{line}");
    }
    let out = server.cli(&["client", "list", "--json"]);
    assert!(out.status.success());
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let json_ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(json_ids, ids);
    assert!(
        all[0].get("client_secret").is_none(),
        "no secret in a listing"
    );
}
