//! Renders every metric in the Prometheus text exposition format, version 0.0.4: a `# HELP`
//! and `# TYPE` line per family, counters named `*_total`, histograms as cumulative
//! `_bucket{le=…}` series ending in `+Inf`, then `_sum` and `_count`. Label values are all
//! fixed strings chosen by certbound, so none needs escaping.

use super::metrics::{self, BUCKETS_MICROS};
use certbound_core::metrics::{AuthFailure, GRANTS, client_auth_failures, tokens_issued};
use std::fmt::Write;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole exposition.
pub fn render() -> String {
    let mut out = String::with_capacity(8 * 1024);
    requests(&mut out);
    admission(&mut out);
    tokens(&mut out);
    certificates(&mut out);
    process(&mut out);
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A gauge family without labels, and its one sample when its value is known.
fn gauge(out: &mut String, name: &str, help: &str, value: Option<impl std::fmt::Display>) {
    family(out, name, "gauge", help);
    if let Some(v) = value {
        let _ = writeln!(out, "{name} {v}");
    }
}

fn requests(out: &mut String) {
    let series = metrics::request_series();
    family(
        out,
        "certbound_http_requests_total",
        "counter",
        "HTTP requests answered, per endpoint (route template) and outcome (OAuth error code, else status class).",
    );
    for s in &series {
        let count = s.cumulative[BUCKETS_MICROS.len()];
        let _ = writeln!(
            out,
            "certbound_http_requests_total{{endpoint=\"{}\",outcome=\"{}\"}} {count}",
            s.endpoint, s.outcome
        );
    }
    let name = "certbound_http_request_duration_seconds";
    family(
        out,
        name,
        "histogram",
        "Time from receiving a request to its response, per endpoint and outcome.",
    );
    for s in &series {
        let labels = format!("endpoint=\"{}\",outcome=\"{}\"", s.endpoint, s.outcome);
        for (bound, count) in BUCKETS_MICROS.iter().zip(s.cumulative) {
            let le = seconds(*bound);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {count}");
        }
        let count = s.cumulative[BUCKETS_MICROS.len()];
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", s.sum_seconds);
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Microseconds as a decimal number of seconds (`2500` → `0.0025`).
fn seconds(micros: u64) -> String {
    (micros as f64 / 1e6).to_string()
}

fn tokens(out: &mut String) {
    family(
        out,
        "certbound_tokens_issued_total",
        "counter",
        "Access tokens issued, per grant and binding (bound: carries cnf x5t#S256, RFC 8705 §3).",
    );
    for grant in GRANTS {
        for bound in [true, false] {
            let binding = if bound { "bound" } else { "unbound" };
            let _ = writeln!(
                out,
                "certbound_tokens_issued_total{{grant=\"{}\",binding=\"{binding}\"}} {}",
                grant.as_str(),
                tokens_issued(grant, bound)
            );
        }
    }
    family(
        out,
        "certbound_client_auth_failures_total",
        "counter",
        "Failed client authentications (RFC 6749 §2.3, RFC 8705 §2), per reason.",
    );
    for reason in AuthFailure::ALL {
        let _ = writeln!(
            out,
            "certbound_client_auth_failures_total{{reason=\"{}\"}} {}",
            reason.as_str(),
            client_auth_failures(reason)
        );
    }
}

fn certificates(out: &mut String) {
    gauge(
        out,
        "certbound_server_certificate_expiry_timestamp_seconds",
        "notAfter of the server's TLS certificate, Unix seconds.",
        metrics::server_certificate_not_after(),
    );
    gauge(
        out,
        "certbound_client_certificate_earliest_expiry_timestamp_seconds",
        "Earliest notAfter among registered client certificates, Unix seconds (absent when none is registered; computed at start and daily).",
        metrics::client_certificates_earliest(),
    );
    let name = "certbound_client_certificates_expiring";
    family(
        out,
        name,
        "gauge",
        "Registered client certificates expired or expiring within within_days days (computed at start and daily).",
    );
    let (count, days) = metrics::client_certificates_expiring();
    let _ = writeln!(out, "{name}{{within_days=\"{days}\"}} {count}");
}

fn admission(out: &mut String) {
    let Some((in_flight, queued)) = metrics::requests_in_flight_and_queued() else {
        return;
    };
    gauge(
        out,
        "certbound_http_requests_in_flight",
        "Requests being handled now (at most [server] max_in_flight_requests).",
        Some(in_flight),
    );
    gauge(
        out,
        "certbound_http_requests_queued",
        "Requests waiting for a slot now (at most [server] max_queued_requests); each waits at most request_queue_timeout_ms, then gets 503.",
        Some(queued),
    );
}

fn process(out: &mut String) {
    gauge(
        out,
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, seconds.",
        metrics::start_time(),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_type_and_le_values_are_seconds() {
        assert_eq!(seconds(500), "0.0005");
        assert_eq!(seconds(10_000_000), "10");
        let text = render();
        for name in [
            "certbound_http_requests_total",
            "certbound_http_request_duration_seconds",
            "certbound_tokens_issued_total",
            "certbound_client_auth_failures_total",
            "certbound_client_certificates_expiring",
            "process_start_time_seconds",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(text.contains(
            "certbound_tokens_issued_total{grant=\"client_credentials\",binding=\"bound\"} "
        ));
    }
}
