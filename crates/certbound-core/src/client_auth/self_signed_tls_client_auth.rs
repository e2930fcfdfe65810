//! `self_signed_tls_client_auth` (RFC 8705 §2.2): the presented certificate must be one of
//! the client's registered certificates — registered directly (`jwks` with `x5c`, several at
//! once so the client can rotate) or published at its `jwks_uri`. No chain building is done.

use super::{AuthContext, KeySourceError, Presented, reject_secret, require_certificate};
use crate::OAuthError;
use crate::model::Client;
use certbound_mtls::Thumbprint;

pub(super) async fn authenticate(
    client: &Client,
    presented: &Presented<'_>,
    ctx: AuthContext<'_>,
) -> Result<(), OAuthError> {
    reject_secret(presented)?;
    let cert = require_certificate(presented, ctx.now)?;
    let matched = match &client.jwks_uri {
        None => any_matches(
            client.certificates.iter().map(|r| r.thumbprint()),
            cert.thumbprint(),
        ),
        Some(uri) => {
            let Some(source) = ctx.client_keys else {
                tracing::warn!(client_id = %client.client_id, "jwks_uri client but no key source is configured");
                return Err(super::failed());
            };
            let published = source
                .thumbprints(uri, cert.thumbprint())
                .await
                .map_err(|e| unavailable(client, &e))?;
            any_matches(published.iter(), cert.thumbprint())
        }
    };
    if matched {
        Ok(())
    } else {
        Err(OAuthError::invalid_client(
            "the client certificate is not one of the certificates registered for this client",
        ))
    }
}

/// Logs why (never sent) and tells the client, without internals, whether its `jwks_uri` is
/// refused by policy or could not be fetched.
fn unavailable(client: &Client, e: &KeySourceError) -> OAuthError {
    tracing::warn!(client_id = %client.client_id, error = %e, "jwks_uri of client unavailable");
    OAuthError::invalid_client(match e {
        KeySourceError::Forbidden(_) => {
            "the client's registered jwks_uri resolves to an address this server does not connect to (private, loopback or reserved), so its certificate cannot be checked"
        }
        KeySourceError::Fetch(_) => {
            "the client's registered jwks_uri could not be fetched or is not a JWK set with x5c certificates, so its certificate cannot be checked"
        }
    })
}

/// Compares every registered thumbprint in constant time, without early exit.
fn any_matches<'a>(
    registered: impl Iterator<Item = &'a Thumbprint>,
    presented: &Thumbprint,
) -> bool {
    registered.fold(false, |acc, t| t.ct_eq(presented) | acc)
}
