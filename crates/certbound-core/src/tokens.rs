//! Opaque access tokens: drawn from the OS CSPRNG, stored only as SHA-256, optionally bound to
//! a certificate thumbprint (RFC 8705 §3).

use crate::client_auth::AuthenticatedClient;
use crate::model::AccessTokenRecord;
use crate::scope::Scope;
use crate::secret::{self, Secret};
use crate::store::TokenStore;
use crate::{OAuthError, Random};
use certbound_mtls::Thumbprint;
use serde::Serialize;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The access token. Serialized only here, in the response body.
    #[serde(serialize_with = "expose")]
    pub access_token: Secret,
    /// Always `Bearer` (RFC 6750; RFC 8705 §3 keeps the Bearer type for bound tokens).
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// The granted scope (RFC 6749 §5.1; always sent so clients need not guess).
    pub scope: String,
}

fn expose<S: serde::Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

/// RFC 8705 §3: which certificate, if any, the new token is bound to.
///
/// A client that authenticated with its certificate always gets a bound token. A client
/// registered with `tls_client_certificate_bound_access_tokens` (§3.4) that authenticated
/// otherwise gets one bound to the certificate it presented, and an error if it presented none.
pub fn binding(client: &AuthenticatedClient, now: i64) -> Result<Option<Thumbprint>, OAuthError> {
    if client.by_mtls {
        return Ok(client.thumbprint().copied());
    }
    if !client.client.bound_tokens {
        return Ok(None);
    }
    let Some(cert) = &client.certificate else {
        return Err(OAuthError::invalid_request(
            "this client is registered for certificate-bound access tokens: present a TLS client certificate",
        ));
    };
    cert.leaf.check_validity(now).map_err(|_| {
        OAuthError::invalid_request(
            "the presented TLS client certificate is expired or not yet valid",
        )
    })?;
    Ok(Some(*cert.thumbprint()))
}

/// What a new access token is for.
#[derive(Debug)]
pub struct NewAccessToken<'a> {
    /// The client it is issued to.
    pub client_id: &'a str,
    /// The resource owner, if any.
    pub subject: Option<&'a str>,
    /// Granted scope.
    pub scope: &'a Scope,
    /// Lifetime in seconds.
    pub lifetime: u64,
    /// Certificate binding.
    pub cnf: Option<Thumbprint>,
}

/// Issues an opaque access token and stores its hash before returning it.
pub async fn issue_access_token(
    store: &dyn TokenStore,
    random: &dyn Random,
    now: i64,
    new: NewAccessToken<'_>,
) -> Result<TokenResponse, OAuthError> {
    let token = secret::generate(random);
    let lifetime = i64::try_from(new.lifetime).unwrap_or(i64::MAX);
    let record = AccessTokenRecord {
        hash: token.hash(),
        client_id: new.client_id.to_owned(),
        subject: new.subject.map(str::to_owned),
        scope: new.scope.to_string(),
        issued_at: now,
        expires_at: now.saturating_add(lifetime),
        cnf: new.cnf,
        revoked: false,
    };
    store.insert_access_token(&record).await?;
    tracing::info!(
        client_id = %new.client_id,
        x5t = ?new.cnf.map(|t| t.to_base64url()),
        scope = %record.scope,
        "access token issued"
    );
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: new.lifetime,
        scope: record.scope,
    })
}
