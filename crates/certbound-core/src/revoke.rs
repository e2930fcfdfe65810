//! Token revocation (RFC 7009). The client authenticates as at the token endpoint; it can only
//! revoke its own tokens; unknown tokens and other clients' tokens are answered with success
//! and left alone (§2.2), so the endpoint reveals nothing.

use crate::client_auth;
use crate::request::{ClientCredentialsInput, Form};
use crate::secret::Secret;
use crate::{AuthServer, OAuthError};
use certbound_mtls::PeerCertificate;

/// `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1): which kind to look up first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenTypeHint {
    /// Access tokens first (also the default).
    #[default]
    AccessToken,
    /// Refresh tokens first.
    RefreshToken,
}

impl TokenTypeHint {
    /// Parses a hint; unknown values are ignored, as §2.1 allows the server to.
    pub fn parse(value: Option<&str>) -> TokenTypeHint {
        match value {
            Some("refresh_token") => TokenTypeHint::RefreshToken,
            _ => TokenTypeHint::AccessToken,
        }
    }
}

/// A revocation request (RFC 7009 §2.1).
#[derive(Debug)]
pub struct RevocationRequest {
    /// The token.
    pub token: Secret,
    /// Where to look first; never trusted beyond that.
    pub hint: TokenTypeHint,
    /// The client's credentials.
    pub credentials: ClientCredentialsInput,
}

impl RevocationRequest {
    /// Parses a revocation request.
    pub fn parse(
        mut form: Form,
        basic: Option<crate::request::BasicCredentials>,
    ) -> Result<Self, OAuthError> {
        let credentials = ClientCredentialsInput::from_form(&mut form, basic)?;
        let hint = TokenTypeHint::parse(form.get("token_type_hint"));
        let token = form
            .take("token")
            .ok_or_else(|| OAuthError::invalid_request("the token parameter is missing"))?;
        Ok(RevocationRequest {
            token: Secret::new(token),
            hint,
            credentials,
        })
    }
}

/// Revokes the token if it is the calling client's. A refresh token takes every token of its
/// grant with it (§2.1: "SHOULD also invalidate all access tokens based on the same
/// authorization grant").
pub async fn revoke(
    server: &AuthServer,
    request: RevocationRequest,
    peer: Option<&PeerCertificate>,
) -> Result<(), OAuthError> {
    let now = server.clock.now();
    let ctx = server.auth_context(now);
    let client =
        client_auth::authenticate(server.store.as_ref(), &request.credentials, peer, ctx).await?;
    let me = &client.client.client_id;
    let hash = request.token.hash();
    let order = match request.hint {
        TokenTypeHint::AccessToken => [TokenTypeHint::AccessToken, TokenTypeHint::RefreshToken],
        TokenTypeHint::RefreshToken => [TokenTypeHint::RefreshToken, TokenTypeHint::AccessToken],
    };
    for kind in order {
        match kind {
            TokenTypeHint::AccessToken => {
                if let Some(t) = server.store.find_access_token(&hash).await? {
                    if t.client_id == *me {
                        server.store.revoke_access_token(&hash).await?;
                        crate::audit::token_revoked(
                            me,
                            "access_token",
                            t.subject.as_deref(),
                            t.cnf.as_ref(),
                        );
                    }
                    return Ok(());
                }
            }
            TokenTypeHint::RefreshToken => {
                if let Some(t) = server.store.find_refresh_token(&hash).await? {
                    if t.client_id == *me
                        && let Some(family) = t.code
                    {
                        server.store.revoke_code_family(&family).await?;
                        crate::audit::token_revoked(
                            me,
                            "refresh_token",
                            Some(&t.subject),
                            t.cnf.as_ref(),
                        );
                    }
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
