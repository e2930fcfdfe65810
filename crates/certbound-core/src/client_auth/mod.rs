//! Client authentication at the token and introspection endpoints (RFC 6749 §2.3, RFC 8705 §2).
//!
//! [`authenticate`] works out which client is calling, then dispatches on the client's
//! registered `token_endpoint_auth_method` to one module per method. A client must use its
//! registered method and only that one (RFC 6749 §2.3: "MUST NOT use more than one
//! authentication method in each request"; RFC 8705 §2: the method is fixed at registration).

mod client_secret_basic;
mod client_secret_post;
mod failure;
mod key_source;
mod none;
mod self_signed_tls_client_auth;
mod tls_client_auth;

use crate::OAuthError;
use crate::model::{Client, ClientAuthMethod};
use crate::request::ClientCredentialsInput;
use crate::secret::Secret;
use crate::store::ClientStore;
use crate::trust_stores::TrustStores;
use certbound_mtls::PeerCertificate;
use certbound_mtls::{ClientCertificate, Thumbprint};
use std::sync::Arc;

pub use key_source::{ClientKeySource, KeySourceError};

/// What client authentication needs besides the request.
#[derive(Clone, Copy)]
pub struct AuthContext<'a> {
    /// Trust stores for `tls_client_auth` (`[trust_stores.NAME]`, and `default` from
    /// `[oauth.mutualtls] trusted_ca_file`); empty: such clients cannot authenticate.
    pub trust_stores: &'a TrustStores,
    /// Fetches the key sets of `jwks_uri` clients.
    pub client_keys: Option<&'a dyn ClientKeySource>,
    /// Current time, Unix seconds.
    pub now: i64,
}

/// A client whose identity has been proven on this request.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The registered client.
    pub client: Arc<Client>,
    /// The certificate presented on the TLS connection (or by a trusted proxy), if any, and
    /// whether it was the means of authentication (RFC 8705 §2).
    pub certificate: Option<PeerCertificate>,
    /// True when the client authenticated with its certificate.
    pub by_mtls: bool,
}

impl AuthenticatedClient {
    /// Thumbprint of the presented certificate.
    pub fn thumbprint(&self) -> Option<&Thumbprint> {
        self.certificate.as_ref().map(PeerCertificate::thumbprint)
    }
}

/// The credentials a request carries, after the checks common to every method.
struct Presented<'a> {
    basic_secret: Option<Secret>,
    post_secret: Option<&'a Secret>,
    peer: Option<&'a PeerCertificate>,
}

impl Presented<'_> {
    fn has_secret(&self) -> bool {
        self.basic_secret.is_some() || self.post_secret.is_some()
    }
}

/// Authenticates the client of a request.
pub async fn authenticate(
    store: &dyn ClientStore,
    input: &ClientCredentialsInput,
    peer: Option<&PeerCertificate>,
    ctx: AuthContext<'_>,
) -> Result<AuthenticatedClient, OAuthError> {
    let (client_id, presented) = identify(input, peer).inspect_err(count_unidentified)?;
    let Some(client) = store.find_client(&client_id).await? else {
        crate::metrics::client_auth_failed(crate::metrics::AuthFailure::UnknownClient);
        crate::audit::client_auth_failed("unknown client_id", &client_id, None, peer);
        return Err(failed());
    };
    let mut result = by_method(&client, &presented, ctx).await;
    // The registration may come from a cache that has not yet seen a change made by another
    // process (a certificate just added with the CLI, say): before refusing, look again in
    // the database itself. Refusals cost one more query; acceptances none.
    let client = match result {
        Ok(()) => client,
        Err(_) => match store.find_client_uncached(&client_id).await? {
            Some(fresh) => {
                result = by_method(&fresh, &presented, ctx).await;
                fresh
            }
            None => {
                crate::metrics::client_auth_failed(crate::metrics::AuthFailure::UnknownClient);
                crate::audit::client_auth_failed("unknown client_id", &client_id, None, peer);
                return Err(failed());
            }
        },
    };
    match result {
        Ok(()) => {
            tracing::debug!(client_id = %client.client_id, method = %client.auth_method, x5t = peer.map(|c| tracing::field::display(c.thumbprint())), subject = peer.map(|c| tracing::field::display(c.leaf.subject_dn())), "client authenticated");
            Ok(AuthenticatedClient {
                by_mtls: client.auth_method.is_mtls(),
                certificate: peer.cloned(),
                client,
            })
        }
        Err(e) => {
            crate::metrics::client_auth_failed(failure::reason(&client, &presented, ctx.now));
            crate::audit::client_auth_failed(
                &e.description,
                &client.client_id,
                Some(client.auth_method),
                peer,
            );
            Err(e)
        }
    }
}

/// Counts a request refused before its client is known: no credentials at all, or a
/// malformed combination of them.
fn count_unidentified(e: &OAuthError) {
    use crate::metrics::{AuthFailure, client_auth_failed};
    client_auth_failed(match e.code {
        crate::ErrorCode::InvalidClient => AuthFailure::NoCredentials,
        _ => AuthFailure::Malformed,
    });
}

/// Runs the client's registered authentication method.
async fn by_method(
    client: &Client,
    presented: &Presented<'_>,
    ctx: AuthContext<'_>,
) -> Result<(), OAuthError> {
    match client.auth_method {
        ClientAuthMethod::TlsClientAuth => tls_client_auth::authenticate(client, presented, ctx),
        ClientAuthMethod::SelfSignedTlsClientAuth => {
            self_signed_tls_client_auth::authenticate(client, presented, ctx).await
        }
        ClientAuthMethod::ClientSecretBasic => client_secret_basic::authenticate(client, presented),
        ClientAuthMethod::ClientSecretPost => client_secret_post::authenticate(client, presented),
        ClientAuthMethod::None => none::authenticate(client, presented),
    }
}

/// Finds the claimed client_id and rejects requests that use two methods at once.
fn identify<'a>(
    input: &'a ClientCredentialsInput,
    peer: Option<&'a PeerCertificate>,
) -> Result<(String, Presented<'a>), OAuthError> {
    let basic = input.basic.as_ref().map(|b| b.as_client()).transpose()?;
    if basic.is_some() && input.client_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "the request uses more than one client authentication method",
        ));
    }
    let client_id = match (&basic, &input.client_id) {
        (Some((id, _)), Some(form_id)) if id != form_id => {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the one in the Authorization header",
            ));
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required: send client_id and a credential",
            ));
        }
    };
    let presented = Presented {
        basic_secret: basic.map(|(_, s)| s),
        post_secret: input.client_secret.as_ref(),
        peer,
    };
    Ok((client_id, presented))
}

/// The message for a failed credential check: an unknown client_id, a wrong secret or password
/// all read the same, so callers cannot probe which clients or users exist. (Problems with the
/// client's own certificate — expired, untrusted, not registered — are described precisely:
/// they reveal nothing a certificate holder does not already know, and they save operators
/// hours.)
pub(crate) fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// RFC 6749 §2.3: a certificate-authenticated client must not also send a secret.
fn reject_secret(presented: &Presented<'_>) -> Result<(), OAuthError> {
    if presented.has_secret() {
        return Err(OAuthError::invalid_request(
            "the request uses more than one client authentication method: this client authenticates with its TLS certificate, do not send a secret",
        ));
    }
    Ok(())
}

/// RFC 8705 §2: the mTLS methods need a certificate on the connection, currently valid.
fn require_certificate<'a>(
    presented: &Presented<'a>,
    now: i64,
) -> Result<&'a ClientCertificate, OAuthError> {
    let peer = presented.peer.ok_or_else(|| {
        OAuthError::invalid_client(
            "this client authenticates with a TLS client certificate, and none was presented",
        )
    })?;
    peer.leaf.check_validity(now).map_err(|e| match e {
        certbound_mtls::CertError::Expired => {
            OAuthError::invalid_client("the client certificate has expired")
        }
        certbound_mtls::CertError::NotYetValid => {
            OAuthError::invalid_client("the client certificate is not yet valid")
        }
        _ => failed(),
    })?;
    Ok(&peer.leaf)
}

/// Compares a presented secret with the stored hash, in constant time.
fn check_secret(client: &Client, secret: &Secret) -> Result<(), OAuthError> {
    match &client.secret_hash {
        Some(stored) if stored.ct_eq(&secret.hash()) => Ok(()),
        _ => Err(failed()),
    }
}

#[cfg(test)]
mod tests;
