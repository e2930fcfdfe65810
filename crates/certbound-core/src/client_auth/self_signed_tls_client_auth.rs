//! `self_signed_tls_client_auth` (RFC 8705 §2.2): the presented certificate must be one of
//! the client's registered certificates. No chain building is done (§2.2); several
//! certificates may be registered so the client can rotate.

use super::{AuthContext, Presented, reject_secret, require_certificate};
use crate::OAuthError;
use crate::model::Client;

pub(super) fn authenticate(
    client: &Client,
    presented: &Presented<'_>,
    ctx: AuthContext<'_>,
) -> Result<(), OAuthError> {
    reject_secret(presented)?;
    let cert = require_certificate(presented, ctx.now)?;
    // Compare every registered thumbprint in constant time, without early exit.
    let matched = client.certificates.iter().fold(false, |acc, reg| {
        reg.thumbprint().ct_eq(cert.thumbprint()) | acc
    });
    if matched {
        Ok(())
    } else {
        Err(OAuthError::invalid_client(
            "the client certificate is not one of the certificates registered for this client",
        ))
    }
}
