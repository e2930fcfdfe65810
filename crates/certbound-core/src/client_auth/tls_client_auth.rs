//! `tls_client_auth` (RFC 8705 §2.1): PKI mutual-TLS client authentication.
//!
//! The certificate chain must validate to the configured trust anchors for the clientAuth
//! usage (§2.1), and the registered subject value must match the certificate (§2.1.2).

use super::{AuthContext, Presented, failed, reject_secret, require_certificate};
use crate::OAuthError;
use crate::model::Client;
use certbound_mtls::CertError;

pub(super) fn authenticate(
    client: &Client,
    presented: &Presented<'_>,
    ctx: AuthContext<'_>,
) -> Result<(), OAuthError> {
    reject_secret(presented)?;
    let cert = require_certificate(presented, ctx.now)?;
    let Some(anchors) = ctx.trust_anchors else {
        tracing::warn!(client_id = %client.client_id, "tls_client_auth client but no [oauth.mutualtls] trusted_ca_file is configured");
        return Err(failed());
    };
    let intermediates = presented
        .peer
        .map(|p| p.intermediates.as_slice())
        .unwrap_or_default();
    cert.verify_chain(intermediates, anchors, ctx.now)
        .map_err(|e| match e {
            CertError::Expired => OAuthError::invalid_client("the client certificate has expired"),
            CertError::NotYetValid => {
                OAuthError::invalid_client("the client certificate is not yet valid")
            }
            _ => OAuthError::invalid_client(
                "the client certificate is not issued by a trusted certificate authority",
            ),
        })?;
    // RFC 8705 §2.1.2: exactly one subject value is registered, and it must match.
    match &client.subject {
        Some(expected) if cert.matches(expected) => Ok(()),
        Some(_) => Err(OAuthError::invalid_client(
            "the client certificate's subject does not match the registered value",
        )),
        None => Err(failed()),
    }
}
