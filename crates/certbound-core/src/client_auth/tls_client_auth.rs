//! `tls_client_auth` (RFC 8705 §2.1): PKI mutual-TLS client authentication.
//!
//! The certificate chain must validate for the clientAuth usage (§2.1) to the client's trust
//! store when it names one (§7.4: a certificate from another store's CA with the same subject
//! must not authenticate it), or else to any configured store; it must not be revoked by the
//! store's CRLs; and the registered subject value must match the certificate (§2.1.2).

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
    let intermediates = presented
        .peer
        .map(|p| p.intermediates.as_slice())
        .unwrap_or_default();
    let verdict = match &client.trust_store {
        Some(name) => {
            let Some(store) = ctx.trust_stores.get(name) else {
                tracing::warn!(client_id = %client.client_id, trust_store = %name, "tls_client_auth client names a trust store that is not configured ([trust_stores.NAME])");
                return Err(failed());
            };
            store.verify(cert, intermediates, ctx.now)
        }
        None if ctx.trust_stores.is_empty() => {
            tracing::warn!(client_id = %client.client_id, "tls_client_auth client but no trust store is configured ([oauth.mutualtls] trusted_ca_file or [trust_stores.NAME])");
            return Err(failed());
        }
        None => ctx.trust_stores.verify_any(cert, intermediates, ctx.now),
    };
    verdict.map_err(|e| refusal(client, presented, e))?;
    // RFC 8705 §2.1.2: exactly one subject value is registered, and it must match.
    match &client.subject {
        Some(expected) if cert.matches(expected) => Ok(()),
        Some(_) => Err(OAuthError::invalid_client(
            "the client certificate's subject does not match the registered value",
        )),
        None => Err(failed()),
    }
}

/// The `invalid_client` for a certificate the trust store refused.
fn refusal(client: &Client, presented: &Presented<'_>, e: CertError) -> OAuthError {
    let x5t = presented.peer.map(|p| p.thumbprint().to_base64url());
    match e {
        CertError::Expired => OAuthError::invalid_client("the client certificate has expired"),
        CertError::NotYetValid => {
            OAuthError::invalid_client("the client certificate is not yet valid")
        }
        // Audited with the other client authentication failures.
        CertError::Revoked => OAuthError::invalid_client("the client certificate has been revoked"),
        CertError::RevocationUnknown(reason) => {
            tracing::warn!(client_id = %client.client_id, x5t = x5t.as_deref().unwrap_or_default(), %reason, "client certificate refused: no current CRL of its issuer in the trust store");
            OAuthError::invalid_client(
                "the revocation status of the client certificate cannot be determined",
            )
        }
        _ => OAuthError::invalid_client(
            "the client certificate is not issued by a trusted certificate authority",
        ),
    }
}
