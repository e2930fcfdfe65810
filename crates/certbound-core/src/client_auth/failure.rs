//! The metrics reason of a failed client authentication, worked out from the facts of the
//! request (method, what was presented, the certificate's validity) in the order the method
//! modules check them — never from error text, and never with a second verification.

use super::Presented;
use crate::metrics::AuthFailure;
use crate::model::{Client, ClientAuthMethod};

/// Why `client` failed to authenticate with what it `presented` at `now`.
pub(super) fn reason(client: &Client, presented: &Presented<'_>, now: i64) -> AuthFailure {
    match client.auth_method {
        ClientAuthMethod::TlsClientAuth | ClientAuthMethod::SelfSignedTlsClientAuth => {
            if presented.has_secret() {
                return AuthFailure::WrongMethod;
            }
            let Some(peer) = presented.peer else {
                return AuthFailure::NoCertificate;
            };
            if peer.leaf.check_validity(now).is_err() {
                AuthFailure::CertificateExpired
            } else if client.auth_method == ClientAuthMethod::TlsClientAuth {
                AuthFailure::CertificateNotTrusted
            } else {
                AuthFailure::CertificateNotRegistered
            }
        }
        ClientAuthMethod::ClientSecretBasic => secret(
            presented.basic_secret.is_some(),
            presented.post_secret.is_some(),
        ),
        ClientAuthMethod::ClientSecretPost => secret(
            presented.post_secret.is_some(),
            presented.basic_secret.is_some(),
        ),
        ClientAuthMethod::None => AuthFailure::WrongMethod,
    }
}

/// A secret method: the registered place has the secret and the other none, so it was wrong.
fn secret(registered_place: bool, other_place: bool) -> AuthFailure {
    match (registered_place, other_place) {
        (true, false) => AuthFailure::BadSecret,
        (false, false) => AuthFailure::NoCredentials,
        _ => AuthFailure::WrongMethod,
    }
}
