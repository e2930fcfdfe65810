//! Tokens: opaque access and refresh tokens (drawn from the OS CSPRNG, stored only as
//! SHA-256, optionally bound to a certificate thumbprint, RFC 8705 §3) and id_tokens.

pub mod id_token;
pub mod jwt;
pub mod refresh;

use crate::client_auth::AuthenticatedClient;
use crate::model::AccessTokenRecord;
use crate::scope::Scope;
use crate::secret::{self, Secret};
use crate::{AuthServer, OAuthError};
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
    /// RFC 6749 §1.5, when the client may use the refresh_token grant.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_opt")]
    pub refresh_token: Option<Secret>,
    /// OIDC Core §3.1.3.3, when the scope has `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

fn expose_opt<S: serde::Serializer>(s: &Option<Secret>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_str(s.expose()),
        None => ser.serialize_none(),
    }
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
    // RFC 8705 §4: a public client that presents a certificate gets tokens bound to it.
    let public = client.client.auth_method == crate::model::ClientAuthMethod::None;
    if !(client.client.bound_tokens || (public && client.certificate.is_some())) {
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
    /// Approved claims (for userinfo).
    pub claims: &'a [String],
    /// The code the token comes from.
    pub code: Option<crate::secret::TokenHash>,
    /// Opaque or RFC 9068 JWT.
    pub format: crate::model::TokenFormat,
    /// The grant issuing it (for the tokens-issued metric and the audit trail).
    pub grant: crate::model::GrantType,
}

/// A new access token, made but not yet stored.
#[derive(Debug)]
pub struct PreparedAccessToken {
    /// The value handed to the client.
    pub token: Secret,
    /// What is stored (by hash).
    pub record: AccessTokenRecord,
    pub(crate) lifetime: u64,
    pub(crate) format: crate::model::TokenFormat,
    pub(crate) grant: crate::model::GrantType,
}

impl PreparedAccessToken {
    /// The token response for it, once it is stored; audits the issue (thumbprint, never the
    /// token).
    pub fn into_response(self) -> TokenResponse {
        crate::metrics::token_issued(self.grant, self.record.cnf.is_some());
        match self.grant {
            crate::model::GrantType::RefreshToken => {
                crate::audit::token_refreshed(&self.record, self.format)
            }
            grant => crate::audit::token_issued(grant, &self.record, self.format),
        }
        TokenResponse {
            access_token: self.token,
            token_type: "Bearer",
            expires_in: self.lifetime,
            scope: self.record.scope,
            refresh_token: None,
            id_token: None,
        }
    }
}

/// Makes an access token — opaque, or an RFC 9068 JWT signed with the current key — and the
/// record of its hash (and meaning), so introspection and revocation work for both formats.
pub async fn prepare_access_token(
    server: &AuthServer,
    now: i64,
    new: NewAccessToken<'_>,
) -> Result<PreparedAccessToken, OAuthError> {
    let lifetime = i64::try_from(new.lifetime).unwrap_or(i64::MAX);
    let token = match new.format {
        crate::model::TokenFormat::Opaque => secret::generate_keyed(server.random.as_ref(), now),
        crate::model::TokenFormat::Jwt => jwt::encode(server, &new, now).await?,
    };
    let record = AccessTokenRecord {
        hash: token.hash(),
        client_id: new.client_id.to_owned(),
        subject: new.subject.map(str::to_owned),
        scope: new.scope.to_string(),
        issued_at: now,
        expires_at: now.saturating_add(lifetime),
        cnf: new.cnf,
        revoked: false,
        claims: new.claims.to_vec(),
        code: new.code,
    };
    Ok(PreparedAccessToken {
        token,
        record,
        lifetime: new.lifetime,
        format: new.format,
        grant: new.grant,
    })
}

/// Issues an access token on its own (client_credentials): made, then stored durably before
/// it is returned.
pub async fn issue_access_token(
    server: &AuthServer,
    now: i64,
    new: NewAccessToken<'_>,
) -> Result<TokenResponse, OAuthError> {
    let prepared = prepare_access_token(server, now, new).await?;
    server
        .store
        .insert_access_token(&prepared.record)
        .await
        .map_err(stored)?;
    Ok(prepared.into_response())
}

/// The error for a failed token write. A client deleted (in another process, say) after it
/// authenticated gets no token, and the answer is the one it gets from now on.
pub fn stored(e: crate::store::StoreError) -> OAuthError {
    match e {
        crate::store::StoreError::Dangling => crate::client_auth::failed(),
        e => e.into(),
    }
}
