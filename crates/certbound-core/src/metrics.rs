//! Process-wide protocol counters for the `/metrics` endpoint: access tokens issued per grant
//! and binding, and client authentication failures per reason.
//!
//! Counters are fixed arrays of atomics indexed by enums, so the label sets are bounded and
//! recording is one relaxed `fetch_add` (no lock, no allocation) on the token path. This
//! module only counts; the binary renders the Prometheus text. It never records client_ids,
//! thumbprints or any other unbounded value.

use crate::model::GrantType;
use std::sync::atomic::{AtomicU64, Ordering};

/// The grants that issue access tokens, in label order.
pub const GRANTS: [GrantType; 3] = [
    GrantType::ClientCredentials,
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
];

static TOKENS_ISSUED: [[AtomicU64; 2]; 3] = [const { [const { AtomicU64::new(0) }; 2] }; 3];

fn grant_index(grant: GrantType) -> usize {
    match grant {
        GrantType::ClientCredentials => 0,
        GrantType::AuthorizationCode => 1,
        GrantType::RefreshToken => 2,
    }
}

/// Counts one access token handed out (RFC 8705 §3: `bound` when it carries `cnf`).
pub fn token_issued(grant: GrantType, bound: bool) {
    TOKENS_ISSUED[grant_index(grant)][usize::from(bound)].fetch_add(1, Ordering::Relaxed);
}

/// Access tokens issued so far with this grant and binding.
pub fn tokens_issued(grant: GrantType, bound: bool) -> u64 {
    TOKENS_ISSUED[grant_index(grant)][usize::from(bound)].load(Ordering::Relaxed)
}

/// Why client authentication failed (RFC 6749 §2.3, RFC 8705 §2), coarsely: a bounded set of
/// label values. The client still gets the precise `error_description`; these group causes
/// an operator acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No client_id, or a client_id with no credential.
    NoCredentials,
    /// Two methods at once, or a client_id in the body differing from the Basic one
    /// (RFC 6749 §2.3).
    Malformed,
    /// The client_id is not registered.
    UnknownClient,
    /// A secret sent by a client whose registered method is not that secret method (a public
    /// or certificate client sending a secret, a `client_secret_post` client using Basic…).
    WrongMethod,
    /// `client_secret_basic`/`client_secret_post`: the secret does not match.
    BadSecret,
    /// RFC 8705 §2: a certificate client presented no certificate.
    NoCertificate,
    /// The presented certificate is expired or not yet valid.
    CertificateExpired,
    /// `tls_client_auth` (RFC 8705 §2.1): chain not trusted, revoked, revocation status
    /// unknown, or the registered subject does not match.
    CertificateNotTrusted,
    /// `self_signed_tls_client_auth` (RFC 8705 §2.2): not one of the registered certificates
    /// (or the client's `jwks_uri` could not be used).
    CertificateNotRegistered,
}

impl AuthFailure {
    /// Every reason, in label order.
    pub const ALL: [AuthFailure; 9] = [
        AuthFailure::NoCredentials,
        AuthFailure::Malformed,
        AuthFailure::UnknownClient,
        AuthFailure::WrongMethod,
        AuthFailure::BadSecret,
        AuthFailure::NoCertificate,
        AuthFailure::CertificateExpired,
        AuthFailure::CertificateNotTrusted,
        AuthFailure::CertificateNotRegistered,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::NoCredentials => "no_credentials",
            AuthFailure::Malformed => "malformed",
            AuthFailure::UnknownClient => "unknown_client",
            AuthFailure::WrongMethod => "wrong_method",
            AuthFailure::BadSecret => "bad_secret",
            AuthFailure::NoCertificate => "no_certificate",
            AuthFailure::CertificateExpired => "certificate_expired",
            AuthFailure::CertificateNotTrusted => "certificate_not_trusted",
            AuthFailure::CertificateNotRegistered => "certificate_not_registered",
        }
    }
}

static AUTH_FAILURES: [AtomicU64; AuthFailure::ALL.len()] =
    [const { AtomicU64::new(0) }; AuthFailure::ALL.len()];

/// Counts one failed client authentication.
pub fn client_auth_failed(reason: AuthFailure) {
    AUTH_FAILURES[reason as usize].fetch_add(1, Ordering::Relaxed);
}

/// Client authentication failures so far for this reason.
pub fn client_auth_failures(reason: AuthFailure) -> u64 {
    AUTH_FAILURES[reason as usize].load(Ordering::Relaxed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_in_label_order_and_distinct() {
        for (i, r) in AuthFailure::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut names: Vec<_> = AuthFailure::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuthFailure::ALL.len());
    }

    #[test]
    fn counters_count_per_label() {
        // Other tests issue tokens concurrently: only growth is certain.
        let before = tokens_issued(GrantType::RefreshToken, true);
        token_issued(GrantType::RefreshToken, true);
        assert!(tokens_issued(GrantType::RefreshToken, true) > before);
        let before = client_auth_failures(AuthFailure::Malformed);
        client_auth_failed(AuthFailure::Malformed);
        assert!(client_auth_failures(AuthFailure::Malformed) > before);
    }
}
