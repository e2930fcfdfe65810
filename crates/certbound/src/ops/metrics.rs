//! The binary's metrics: HTTP requests per endpoint and outcome (count and latency histogram),
//! requests in flight and queued, certificate-expiry gauges and the process start time. Like
//! `certbound_core::metrics`, every series lives in a fixed array of atomics indexed by enums —
//! bounded labels, and recording a request is two relaxed `fetch_add`s, no lock and no
//! allocation.

use crate::admission::Admission;
use certbound_core::ErrorCode;
use certbound_core::model::Client;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An endpoint as a route template: raw paths never become labels (bounded cardinality).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Introspect,
    Revoke,
    Authorize,
    AuthorizeLogin,
    AuthorizeConsent,
    Userinfo,
    Register,
    RegisterClient,
    Jwks,
    Discovery,
    AdminApi,
    Console,
    Static,
    Other,
}

impl Endpoint {
    /// Every endpoint, in index order.
    pub const ALL: [Endpoint; 15] = [
        Endpoint::Token,
        Endpoint::Introspect,
        Endpoint::Revoke,
        Endpoint::Authorize,
        Endpoint::AuthorizeLogin,
        Endpoint::AuthorizeConsent,
        Endpoint::Userinfo,
        Endpoint::Register,
        Endpoint::RegisterClient,
        Endpoint::Jwks,
        Endpoint::Discovery,
        Endpoint::AdminApi,
        Endpoint::Console,
        Endpoint::Static,
        Endpoint::Other,
    ];

    /// The endpoint a request path belongs to.
    pub fn of(path: &str) -> Endpoint {
        match path {
            "/oauth2/token" => Endpoint::Token,
            "/oauth2/introspect" => Endpoint::Introspect,
            "/oauth2/revoke" => Endpoint::Revoke,
            "/oauth2/authorize" => Endpoint::Authorize,
            "/oauth2/authorize/login" => Endpoint::AuthorizeLogin,
            "/oauth2/authorize/consent" => Endpoint::AuthorizeConsent,
            "/oauth2/userinfo" => Endpoint::Userinfo,
            "/oauth2/register" => Endpoint::Register,
            "/oauth2/jwks" => Endpoint::Jwks,
            "/console" => Endpoint::Console,
            p if p.starts_with("/oauth2/register/") => Endpoint::RegisterClient,
            p if p.contains("/.well-known/") => Endpoint::Discovery,
            p if p.starts_with("/api/admin/") => Endpoint::AdminApi,
            p if p.starts_with("/console/") => Endpoint::Console,
            p if p.starts_with("/static/") => Endpoint::Static,
            _ => Endpoint::Other,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "/oauth2/token",
            Endpoint::Introspect => "/oauth2/introspect",
            Endpoint::Revoke => "/oauth2/revoke",
            Endpoint::Authorize => "/oauth2/authorize",
            Endpoint::AuthorizeLogin => "/oauth2/authorize/login",
            Endpoint::AuthorizeConsent => "/oauth2/authorize/consent",
            Endpoint::Userinfo => "/oauth2/userinfo",
            Endpoint::Register => "/oauth2/register",
            Endpoint::RegisterClient => "/oauth2/register/{client_id}",
            Endpoint::Jwks => "/oauth2/jwks",
            Endpoint::Discovery => "/.well-known/*",
            Endpoint::AdminApi => "/api/admin/*",
            Endpoint::Console => "/console/*",
            Endpoint::Static => "/static/*",
            Endpoint::Other => "other",
        }
    }
}

/// The OAuth error codes, in outcome order after the five status classes.
const ERROR_CODES: [ErrorCode; 14] = [
    ErrorCode::InvalidRequest,
    ErrorCode::InvalidClient,
    ErrorCode::InvalidGrant,
    ErrorCode::UnauthorizedClient,
    ErrorCode::UnsupportedGrantType,
    ErrorCode::InvalidScope,
    ErrorCode::ServerError,
    ErrorCode::TemporarilyUnavailable,
    ErrorCode::InvalidClientMetadata,
    ErrorCode::InvalidRedirectUri,
    ErrorCode::InvalidToken,
    ErrorCode::AccessDenied,
    ErrorCode::Unauthorized,
    ErrorCode::NotFound,
];

/// Status classes `1xx`…`5xx`, then one outcome per OAuth error code.
const OUTCOMES: usize = 5 + ERROR_CODES.len();

/// The outcome of a response: its OAuth `error` code when it is an OAuth error, else its
/// status class.
fn outcome(status: u16, error: Option<ErrorCode>) -> usize {
    match error {
        // Exhaustive, so a new code cannot be forgotten here.
        Some(code) => {
            5 + match code {
                ErrorCode::InvalidRequest => 0,
                ErrorCode::InvalidClient => 1,
                ErrorCode::InvalidGrant => 2,
                ErrorCode::UnauthorizedClient => 3,
                ErrorCode::UnsupportedGrantType => 4,
                ErrorCode::InvalidScope => 5,
                ErrorCode::ServerError => 6,
                ErrorCode::TemporarilyUnavailable => 7,
                ErrorCode::InvalidClientMetadata => 8,
                ErrorCode::InvalidRedirectUri => 9,
                ErrorCode::InvalidToken => 10,
                ErrorCode::AccessDenied => 11,
                ErrorCode::Unauthorized => 12,
                ErrorCode::NotFound => 13,
            }
        }
        None => usize::from(status / 100).clamp(1, 5) - 1,
    }
}

fn outcome_label(i: usize) -> &'static str {
    match i {
        0 => "1xx",
        1 => "2xx",
        2 => "3xx",
        3 => "4xx",
        4 => "5xx",
        _ => ERROR_CODES[i - 5].as_str(),
    }
}

/// Upper bounds of the latency buckets, microseconds (0.5 ms to 10 s); `+Inf` follows.
pub const BUCKETS_MICROS: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// One histogram: per-bucket (not cumulative) counts, the last for `+Inf`, and the sum.
struct Histogram {
    buckets: [AtomicU64; BUCKETS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS_MICROS.len() + 1],
            sum_micros: AtomicU64::new(0),
        }
    }
}

static REQUESTS: [[Histogram; OUTCOMES]; Endpoint::ALL.len()] =
    [const { [const { Histogram::new() }; OUTCOMES] }; Endpoint::ALL.len()];

/// Records one answered request.
pub fn record_request(endpoint: Endpoint, status: u16, error: Option<ErrorCode>, took: Duration) {
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    let bucket = BUCKETS_MICROS
        .iter()
        .position(|&b| micros <= b)
        .unwrap_or(BUCKETS_MICROS.len());
    let h = &REQUESTS[endpoint as usize][outcome(status, error)];
    h.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    h.sum_micros.fetch_add(micros, Ordering::Relaxed);
}

/// A snapshot of one endpoint/outcome histogram, for rendering.
pub struct RequestSeries {
    pub endpoint: &'static str,
    pub outcome: &'static str,
    /// Cumulative counts per bucket of [`BUCKETS_MICROS`], then `+Inf` (= the count).
    pub cumulative: [u64; BUCKETS_MICROS.len() + 1],
    pub sum_seconds: f64,
}

/// Every endpoint/outcome pair that has seen a request.
pub fn request_series() -> Vec<RequestSeries> {
    let mut out = Vec::new();
    for endpoint in Endpoint::ALL {
        for (o, h) in REQUESTS[endpoint as usize].iter().enumerate() {
            let mut cumulative = [0u64; BUCKETS_MICROS.len() + 1];
            let mut total = 0;
            for (i, b) in h.buckets.iter().enumerate() {
                total += b.load(Ordering::Relaxed);
                cumulative[i] = total;
            }
            if total == 0 {
                continue;
            }
            // f64 holds a sum of microseconds exactly up to 2^53 µs (285 years).
            let sum_seconds = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            out.push(RequestSeries {
                endpoint: endpoint.as_str(),
                outcome: outcome_label(o),
                cumulative,
                sum_seconds,
            });
        }
    }
    out
}

/// The public listeners' admission (slots and queue), read when `/metrics` is rendered, so
/// counting costs the request path nothing more.
static ADMISSION: OnceLock<Arc<Admission>> = OnceLock::new();

/// Registers the listeners' admission (the first registration in the process counts).
pub fn set_admission(admission: Arc<Admission>) {
    let _ = ADMISSION.set(admission);
}

/// Requests being handled and requests waiting for a slot now, once the listeners run.
pub fn requests_in_flight_and_queued() -> Option<(usize, usize)> {
    ADMISSION.get().map(|a| (a.in_flight(), a.queued()))
}

/// "Not known" for the timestamp gauges.
const UNKNOWN: i64 = i64::MIN;

static START_TIME: AtomicI64 = AtomicI64::new(UNKNOWN);
static SERVER_CERT_NOT_AFTER: AtomicI64 = AtomicI64::new(UNKNOWN);
static CLIENT_CERTS_EARLIEST: AtomicI64 = AtomicI64::new(UNKNOWN);
static CLIENT_CERTS_EXPIRING: AtomicU64 = AtomicU64::new(0);
static CLIENT_CERTS_WINDOW_DAYS: AtomicU64 = AtomicU64::new(0);

fn known(v: i64) -> Option<i64> {
    (v != UNKNOWN).then_some(v)
}

/// Records the process start time (Unix seconds).
pub fn set_start_time(unix: i64) {
    START_TIME.store(unix, Ordering::Relaxed);
}

/// The process start time, once set.
pub fn start_time() -> Option<i64> {
    known(START_TIME.load(Ordering::Relaxed))
}

/// Records the notAfter of the server's TLS certificate (the leaf of `cert_file`).
pub fn set_server_certificate(cert_file: &std::path::Path) {
    let leaf = std::fs::read_to_string(cert_file)
        .ok()
        .and_then(|pem| certbound_mtls::ClientCertificate::from_pem(&pem).ok())
        .and_then(|chain| chain.into_iter().next());
    match leaf {
        Some(leaf) => SERVER_CERT_NOT_AFTER.store(leaf.not_after(), Ordering::Relaxed),
        None => {
            tracing::warn!(path = %cert_file.display(), "cannot read the server certificate's expiry for /metrics")
        }
    }
}

/// The server TLS certificate's notAfter, once read.
pub fn server_certificate_not_after() -> Option<i64> {
    known(SERVER_CERT_NOT_AFTER.load(Ordering::Relaxed))
}

/// Over every registered client certificate, the earliest notAfter and how many expire (or
/// have expired) before `now + window_days`: two numbers whatever the number of clients, never
/// one series per client. Fed a page of clients at a time ([`add`](Self::add)), then
/// published at once ([`publish`](Self::publish)).
#[derive(Debug)]
pub struct ClientCertificates {
    now: i64,
    window_days: u32,
    earliest: i64,
    expiring: u64,
}

impl ClientCertificates {
    /// Nothing counted yet.
    pub fn new(now: i64, window_days: u32) -> Self {
        ClientCertificates {
            now,
            window_days,
            earliest: UNKNOWN,
            expiring: 0,
        }
    }

    /// Counts the certificates of `clients`.
    pub fn add(&mut self, clients: &[Client]) {
        let until = self
            .now
            .saturating_add(i64::from(self.window_days) * 86_400);
        for cert in clients.iter().flat_map(|c| &c.certificates) {
            let not_after = cert.certificate.not_after();
            if self.earliest == UNKNOWN || not_after < self.earliest {
                self.earliest = not_after;
            }
            if not_after < until {
                self.expiring += 1;
            }
        }
    }

    /// Makes the counts what `/metrics` shows.
    pub fn publish(&self) {
        CLIENT_CERTS_EARLIEST.store(self.earliest, Ordering::Relaxed);
        CLIENT_CERTS_EXPIRING.store(self.expiring, Ordering::Relaxed);
        CLIENT_CERTS_WINDOW_DAYS.store(u64::from(self.window_days), Ordering::Relaxed);
    }
}

/// Earliest registered client certificate notAfter (none registered: `None`).
pub fn client_certificates_earliest() -> Option<i64> {
    known(CLIENT_CERTS_EARLIEST.load(Ordering::Relaxed))
}

/// `(count, window in days)` of registered client certificates expiring within the window.
pub fn client_certificates_expiring() -> (u64, u64) {
    (
        CLIENT_CERTS_EXPIRING.load(Ordering::Relaxed),
        CLIENT_CERTS_WINDOW_DAYS.load(Ordering::Relaxed),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_route_templates_in_index_order() {
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i);
        }
        assert_eq!(Endpoint::of("/oauth2/token"), Endpoint::Token);
        assert_eq!(
            Endpoint::of("/oauth2/register/abc").as_str(),
            "/oauth2/register/{client_id}"
        );
        assert_eq!(
            Endpoint::of("/oauth2/token/.well-known/openid-configuration"),
            Endpoint::Discovery
        );
        assert_eq!(Endpoint::of("/api/admin/clients/x"), Endpoint::AdminApi);
        assert_eq!(Endpoint::of("/oauth2/tokenx"), Endpoint::Other);
        assert_eq!(Endpoint::of("/metrics"), Endpoint::Other);
    }

    #[test]
    fn outcomes_are_error_codes_else_status_classes() {
        for (i, code) in ERROR_CODES.iter().enumerate() {
            assert_eq!(outcome(400, Some(*code)), 5 + i);
            assert_eq!(outcome_label(5 + i), code.as_str());
        }
        assert_eq!(outcome_label(outcome(200, None)), "2xx");
        assert_eq!(outcome_label(outcome(404, None)), "4xx");
        assert_eq!(outcome_label(outcome(503, None)), "5xx");
    }

    #[test]
    fn a_request_lands_in_one_bucket_and_the_sum() {
        record_request(Endpoint::Static, 304, None, Duration::from_micros(3_000));
        let s = request_series()
            .into_iter()
            .find(|s| s.endpoint == "/static/*" && s.outcome == "3xx")
            .unwrap();
        // 3 ms: not in the buckets up to 2.5 ms, in every one from 5 ms.
        assert_eq!(s.cumulative[2], 0);
        assert_eq!(s.cumulative[3], 1);
        assert_eq!(s.cumulative[BUCKETS_MICROS.len()], 1);
        assert!((s.sum_seconds - 0.003).abs() < 1e-9);
    }
}
