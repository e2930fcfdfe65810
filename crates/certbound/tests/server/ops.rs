//! The operations listener (issue 10): `/healthz`, `/readyz` (503 while storage is
//! unreachable, for SQLite and PostgreSQL) and `/metrics`, whose exact counters are checked
//! after known traffic and whose every line must pass a strict Prometheus text-format check.
//! It answers only on its own (loopback by default) address.

use crate::browser::Browser;
use crate::code_flow::{VERIFIER, obtain_code, provision, redeem};
use crate::harness::{PgSchema, Server, postgres};
use crate::multi_node::outage::{Forwarder, postgres_addr};
use crate::pki::{self, Validity};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One sample: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format 0.0.4 strictly, panicking on the first bad line: every
/// line is `# HELP`, `# TYPE` or a sample; each family has one HELP and one TYPE, before its
/// samples; counters end in `_total`; histogram samples are `_bucket` (with `le`), `_sum` or
/// `_count`, buckets cumulative and ending in `+Inf` equal to `_count`.
fn parse_strict(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashMap<String, ()> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a name and text");
            assert!(valid_name(name), "bad name in {line:?}");
            assert!(!help.is_empty(), "empty HELP: {line:?}");
            assert!(
                helps.insert(name.into(), ()).is_none(),
                "second HELP: {line:?}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
            assert!(valid_name(name), "bad name in {line:?}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type: {line:?}"
            );
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter without _total: {line:?}");
            }
            assert!(
                !samples
                    .iter()
                    .any(|s: &Sample| family_of(&s.name, &types) == name),
                "TYPE after samples: {line:?}"
            );
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "second TYPE: {line:?}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line: {line:?}");
        let sample = parse_sample(line);
        let family = family_of(&sample.name, &types);
        let kind = types
            .get(family)
            .unwrap_or_else(|| panic!("sample before its TYPE: {line:?}"));
        assert!(helps.contains_key(family), "sample without HELP: {line:?}");
        if kind == "histogram" {
            let suffix = &sample.name[family.len()..];
            assert!(
                ["_bucket", "_sum", "_count"].contains(&suffix),
                "bad histogram sample: {line:?}"
            );
            assert_eq!(
                suffix == "_bucket",
                sample.labels.contains_key("le"),
                "le exactly on buckets: {line:?}"
            );
        } else {
            assert_eq!(sample.name, family, "sample name is its family's: {line:?}");
        }
        samples.push(sample);
    }
    check_histograms(&samples, &types);
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The family a sample name belongs to (a histogram's `_bucket`/`_sum`/`_count` included).
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types.get(base).is_some_and(|k| k == "histogram")
        {
            return base;
        }
    }
    name
}

/// `name{a="b",c="d"} value [timestamp]`, label values in double quotes with the escapes
/// `\\`, `\"` and `\n` only.
fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line:?}"));
    let name = &line[..name_end];
    assert!(valid_name(name), "bad metric name: {line:?}");
    let bytes = line.as_bytes();
    let mut labels = BTreeMap::new();
    let mut i = name_end;
    if bytes[i] == b'{' {
        i += 1;
        while bytes.get(i) != Some(&b'}') {
            let eq = line[i..]
                .find("=\"")
                .unwrap_or_else(|| panic!("label=\"value\" expected: {line:?}"))
                + i;
            let key = &line[i..eq];
            assert!(
                valid_name(key) && !key.contains(':'),
                "bad label name: {line:?}"
            );
            let mut value = String::new();
            i = eq + 2;
            loop {
                match bytes.get(i) {
                    Some(b'\\') => {
                        value.push(match bytes.get(i + 1) {
                            Some(b'\\') => '\\',
                            Some(b'"') => '"',
                            Some(b'n') => '\n',
                            _ => panic!("bad escape: {line:?}"),
                        });
                        i += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => {
                        let c = line[i..].chars().next().unwrap();
                        value.push(c);
                        i += c.len_utf8();
                    }
                    None => panic!("unterminated label value: {line:?}"),
                }
            }
            assert!(
                labels.insert(key.to_owned(), value).is_none(),
                "repeated label: {line:?}"
            );
            i += 1;
            match bytes.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => panic!("bad label separator: {line:?}"),
            }
        }
        i += 1;
    }
    let value_text = line[i..]
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("one space before the value: {line:?}"));
    let mut parts = value_text.split(' ');
    let value = match parts.next().unwrap() {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value: {line:?}")),
    };
    if let Some(ts) = parts.next() {
        ts.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad timestamp: {line:?}"));
    }
    assert!(parts.next().is_none(), "trailing text: {line:?}");
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// Every histogram series: buckets with increasing `le`, non-decreasing counts, a last
/// `+Inf` bucket equal to `_count`, and a `_sum`.
fn check_histograms(samples: &[Sample], types: &HashMap<String, String>) {
    for (family, _) in types.iter().filter(|(_, k)| *k == "histogram") {
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut key = s.labels.clone();
            let le = key.remove("le").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            series.entry(key).or_default().push((le, s.value));
        }
        for (labels, buckets) in &series {
            for pair in buckets.windows(2) {
                assert!(
                    pair[0].0 < pair[1].0,
                    "{family}{labels:?}: le not increasing"
                );
                assert!(pair[0].1 <= pair[1].1, "{family}{labels:?}: not cumulative");
            }
            let (last_le, last) = *buckets.last().unwrap();
            assert!(last_le.is_infinite(), "{family}{labels:?}: no +Inf bucket");
            let value = |suffix: &str| {
                samples
                    .iter()
                    .find(|s| s.name == format!("{family}{suffix}") && &s.labels == labels)
                    .unwrap_or_else(|| panic!("{family}{suffix}{labels:?} missing"))
                    .value
            };
            assert_eq!(value("_count"), last, "{family}{labels:?}: +Inf != _count");
            assert!(value("_sum") >= 0.0);
        }
    }
}

/// Fetches and strictly parses `/metrics`, checking its content type.
fn scrape(server: &Server) -> Vec<Sample> {
    let r = server.ops("/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse_strict(&r.body)
}

/// The value of the one sample with this name and exactly these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let found: Vec<_> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == want)
        .collect();
    assert!(found.len() <= 1, "duplicate series {name}{want:?}");
    found.first().map(|s| s.value)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn token(server: &Server) -> crate::harness::Request {
    server.post("/oauth2/token")
}

#[test]
fn health_and_readiness_answer_on_the_loopback_ops_listener_only() {
    let server = Server::start();
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.starts_with("operations endpoints on http://127.0.0.1:")),
        "ops address printed, loopback: {:?}",
        server.stdout
    );
    let r = server.ops("/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    let r = server.ops("/readyz");
    assert_eq!((r.status, r.body.as_str()), (200, "ready\n"));
    // Nothing else on the ops port; no ops endpoint on the public TLS port.
    assert_eq!(server.ops("/oauth2/jwks").status, 404);
    for path in ["/metrics", "/healthz", "/readyz"] {
        let r = server.request_to(server.url(path)).send();
        assert_eq!(r.status, 404, "{path} on the public port: {}", r.body);
    }
    // Those 404s are counted, under a bounded label, not their raw paths.
    let samples = scrape(&server);
    assert_eq!(
        value(
            &samples,
            "certbound_http_requests_total",
            &[("endpoint", "other"), ("outcome", "4xx")]
        ),
        Some(3.0)
    );
    assert!(
        !samples
            .iter()
            .any(|s| s.labels.values().any(|v| v.contains("metrics"))),
        "raw paths never become labels"
    );
}

#[test]
fn metrics_count_tokens_per_grant_and_binding_auth_failures_and_requests_exactly() {
    let server = Server::start();
    let id = pki::self_signed(server.path(), "svc", "svc", Validity::Current);
    let mtls = server.self_signed_client(&id.cert, &[]);
    let secret = server.create_client(&["--name", "s", "--auth-method", "client_secret_basic"]);
    let (sid, ssecret) = (
        secret["client_id"].as_str().unwrap(),
        secret["client_secret"].as_str().unwrap(),
    );
    // 3 bound client_credentials tokens, 2 unbound.
    for _ in 0..3 {
        server.token_with_cert(&mtls, &id);
    }
    for _ in 0..2 {
        let r = token(&server)
            .basic(sid, ssecret)
            .form("grant_type=client_credentials")
            .send();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // 5 failed client authentications: 2 wrong secrets, 1 unknown client, 1 certificate
    // client without its certificate, 1 request with no credentials.
    for _ in 0..2 {
        token(&server)
            .basic(sid, "wrong")
            .form("grant_type=client_credentials")
            .send()
            .assert_error(401, "invalid_client");
    }
    token(&server)
        .basic("nobody", "x")
        .form("grant_type=client_credentials")
        .send()
        .assert_error(401, "invalid_client");
    token(&server)
        .form(&format!("grant_type=client_credentials&client_id={mtls}"))
        .send()
        .assert_error(401, "invalid_client");
    token(&server)
        .form("grant_type=client_credentials")
        .send()
        .assert_error(401, "invalid_client");
    // One authorization code redeemed and refreshed, both bound to the client's certificate.
    let (cid, ccid) = provision(&server);
    let browser = Browser::new(&server, "b");
    let code = obtain_code(&server, &browser, &ccid);
    let r = redeem(&server, &cid, &ccid, &code, Some(VERIFIER));
    assert_eq!(r.status, 200, "{}", r.body);
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let r = token(&server)
        .cert(&cid)
        .form(&format!(
            "grant_type=refresh_token&client_id={ccid}&refresh_token={refresh}"
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);

    let samples = scrape(&server);
    let issued = |grant: &str, binding: &str| {
        value(
            &samples,
            "certbound_tokens_issued_total",
            &[("grant", grant), ("binding", binding)],
        )
    };
    assert_eq!(issued("client_credentials", "bound"), Some(3.0));
    assert_eq!(issued("client_credentials", "unbound"), Some(2.0));
    assert_eq!(issued("authorization_code", "bound"), Some(1.0));
    assert_eq!(issued("authorization_code", "unbound"), Some(0.0));
    assert_eq!(issued("refresh_token", "bound"), Some(1.0));
    assert_eq!(issued("refresh_token", "unbound"), Some(0.0));
    let failures = |reason: &str| {
        value(
            &samples,
            "certbound_client_auth_failures_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(failures("bad_secret"), Some(2.0));
    assert_eq!(failures("unknown_client"), Some(1.0));
    assert_eq!(failures("no_certificate"), Some(1.0));
    assert_eq!(failures("no_credentials"), Some(1.0));
    for reason in [
        "malformed",
        "wrong_method",
        "certificate_expired",
        "certificate_not_trusted",
        "certificate_not_registered",
    ] {
        assert_eq!(failures(reason), Some(0.0), "{reason}");
    }
    fn token_series(outcome: &str) -> [(&'static str, &str); 2] {
        [("endpoint", "/oauth2/token"), ("outcome", outcome)]
    }
    let requests = |outcome: &str| {
        value(
            &samples,
            "certbound_http_requests_total",
            &token_series(outcome),
        )
    };
    assert_eq!(requests("2xx"), Some(7.0));
    assert_eq!(requests("invalid_client"), Some(5.0));
    let histogram = |suffix: &str, outcome: &str| {
        value(
            &samples,
            &format!("certbound_http_request_duration_seconds{suffix}"),
            &token_series(outcome),
        )
    };
    assert_eq!(histogram("_count", "2xx"), Some(7.0));
    assert_eq!(histogram("_count", "invalid_client"), Some(5.0));
    assert!(histogram("_sum", "2xx").unwrap() > 0.0);
    let inf = [
        ("endpoint", "/oauth2/token"),
        ("outcome", "2xx"),
        ("le", "+Inf"),
    ];
    assert_eq!(
        value(
            &samples,
            "certbound_http_request_duration_seconds_bucket",
            &inf
        ),
        Some(7.0)
    );
    // The authorization endpoint's pages are counted under their own templates.
    assert!(
        value(
            &samples,
            "certbound_http_requests_total",
            &[("endpoint", "/oauth2/authorize"), ("outcome", "2xx")]
        )
        .is_some()
    );
    // Gauges: the development server certificate's expiry, the start time.
    let expiry = value(
        &samples,
        "certbound_server_certificate_expiry_timestamp_seconds",
        &[],
    )
    .expect("server certificate expiry");
    assert!(expiry > now(), "{expiry}");
    let started = value(&samples, "process_start_time_seconds", &[]).unwrap();
    assert!(started <= now() && started > now() - 600.0, "{started}");
}

#[test]
fn client_certificate_gauges_are_two_numbers_not_one_series_per_client() {
    let server = Server::start();
    let soon = pki::self_signed(server.path(), "soon", "soon", Validity::ExpiresInDays(10));
    let later = pki::self_signed(
        server.path(),
        "later",
        "later",
        Validity::ExpiresInDays(365),
    );
    server.self_signed_client(&soon.cert, &[]);
    server.self_signed_client(&later.cert, &[]);
    // The gauges are computed with the start-up client checks (and daily).
    let server = server.restart();
    server.log_after_client_checks();
    let samples = scrape(&server);
    assert_eq!(
        value(
            &samples,
            "certbound_client_certificates_expiring",
            &[("within_days", "30")]
        ),
        Some(1.0)
    );
    let earliest = value(
        &samples,
        "certbound_client_certificate_earliest_expiry_timestamp_seconds",
        &[],
    )
    .unwrap();
    let ten_days = now() + 10.0 * 86_400.0;
    assert!(
        (earliest - ten_days).abs() < 3_600.0,
        "{earliest} vs {ten_days}"
    );
    assert!(
        !samples
            .iter()
            .any(|s| s.name.starts_with("certbound_client_cert") && s.labels.len() > 1),
        "no per-client series"
    );
}

/// Polls `/readyz` until it answers `status`, within 20 s; returns the body.
fn readyz_until(server: &Server, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = server.ops("/readyz");
        if r.status == status {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {} {}; log:\n{}",
            r.status,
            r.body,
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn readyz_is_503_while_the_sqlite_file_is_gone_and_200_once_it_is_back() {
    if postgres() {
        // The PostgreSQL counterpart is the next test; this one needs the SQLite file.
        return;
    }
    let server = Server::start();
    assert_eq!(server.ops("/readyz").status, 200);
    let db = server.data_dir().join("certbound.db");
    let moved = server.data_dir().join("certbound.db.moved");
    std::fs::rename(&db, &moved).unwrap();
    let body = readyz_until(&server, 503);
    assert_eq!(body, "not ready: storage unreachable\n");
    assert_eq!(server.ops("/healthz").status, 200, "alive all the same");
    std::fs::rename(&moved, &db).unwrap();
    readyz_until(&server, 200);
}

#[test]
fn readyz_is_503_while_postgresql_is_unreachable_and_200_once_it_is_back() {
    let schema = PgSchema::create();
    let forwarder = Forwarder::start(postgres_addr());
    let server = Server::launch_on(
        tempfile::tempdir().unwrap(),
        "[storage]\nconnect_timeout = 1\n",
        Some("admin"),
        Some(schema.through(&forwarder.base_url())),
    );
    assert_eq!(server.ops("/readyz").status, 200);
    forwarder.cut();
    let started = Instant::now();
    let body = readyz_until(&server, 503);
    assert_eq!(body, "not ready: storage unreachable\n");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(server.ops("/healthz").status, 200);
    forwarder.restore();
    readyz_until(&server, 200);
}

#[test]
fn ops_listener_defaults_to_loopback_9464_can_be_off_and_refuses_the_main_port() {
    // `[ops]` present: the harness leaves the default alone.
    let server = Server::start_with("[ops]\n");
    let printed = server
        .stdout
        .iter()
        .any(|l| l.starts_with("operations endpoints on http://127.0.0.1:9464 "));
    // Another process may hold 9464; then the default is a warning, not a failed start.
    assert!(
        printed
            || server
                .log()
                .contains("default [ops] listen address is in use"),
        "{:?}\n{}",
        server.stdout,
        server.log()
    );
    drop(server);
    let off = Server::start_with("[ops]\nenabled = false\n");
    assert_eq!(off.ops_port, None);
    assert!(
        !off.stdout
            .iter()
            .any(|l| l.contains("operations endpoints"))
    );
    let off = Server::start_with("[ops]\nlisten = \"\"\n");
    assert_eq!(off.ops_port, None);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("certbound.toml");
    std::fs::write(&config, "[ops]\nlisten = \"127.0.0.1:19443\"\n").unwrap();
    let out = std::process::Command::new(crate::harness::BIN)
        .env_remove("CERTBOUND_OPS_LISTEN")
        .args(["serve", "--listen", "127.0.0.1:19443", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ops.listen 127.0.0.1:19443 uses the same port as server.listen"),
        "{err}"
    );
    std::fs::write(&config, "[ops]\nlisten = \"localhost:1\"\n").unwrap();
    let out = std::process::Command::new(crate::harness::BIN)
        .env_remove("CERTBOUND_OPS_LISTEN")
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ops.listen \"localhost:1\""));
}
