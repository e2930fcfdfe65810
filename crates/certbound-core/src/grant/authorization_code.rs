//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3–§4.1.4, RFC 7636 §4.6,
//! OIDC Core §3.1.3), with certificate-bound tokens (RFC 8705 §3).

use super::require_grant_type;
use crate::authorize::is_pkce_value;
use crate::client_auth::AuthenticatedClient;
use crate::model::AuthorizationCodeRecord;
use crate::model::GrantType;
use crate::scope::Scope;
use crate::secret::Secret;
use crate::store::StoredCode;
use crate::tokens::id_token::{self, IdTokenClaims};
use crate::tokens::refresh::{self, NewRefreshToken};
use crate::tokens::{self, NewAccessToken, TokenResponse};
use crate::{AuthServer, OAuthError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The grant-specific parameters (RFC 6749 §4.1.3).
#[derive(Debug)]
pub struct CodeRequest {
    /// The code.
    pub code: Secret,
    /// Must equal the authorization request's.
    pub redirect_uri: Option<String>,
    /// RFC 7636 §4.5.
    pub code_verifier: Option<Secret>,
}

/// Redeems a code: single use, bound to client, redirect_uri and PKCE challenge. The code is
/// read and checked first, then redeemed in the same store step that stores the tokens it
/// issues (`GrantTokens::redeem`): one write instead of two, and of concurrent redemptions
/// still exactly one wins.
pub(super) async fn handle(
    server: &AuthServer,
    client: &AuthenticatedClient,
    request: CodeRequest,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    require_grant_type(client, GrantType::AuthorizationCode)?;
    let hash = request.code.hash();
    let client_id = &client.client.client_id;
    // Another client's code reads as unknown, and is left untouched so a thief cannot burn it.
    let Some(StoredCode { code, redeemed }) = server
        .store
        .find_code(&hash)
        .await?
        .filter(|c| c.code.client_id == *client_id)
    else {
        return Err(OAuthError::invalid_grant(
            "the authorization code is invalid",
        ));
    };
    if redeemed {
        return Err(replayed(server, &hash, &code).await?);
    }
    if let Err(e) = check(client, &code, &request, now) {
        // A failed attempt uses the code up all the same: it is never tried twice.
        server.store.redeem_code(&hash, client_id).await?;
        return Err(e);
    }
    let scope = Scope::parse(&code.scope)?;
    let cnf = tokens::binding(client, now)?;
    let lifetime = server.settings.access_token_lifetime_for(&client.client);
    let new = NewAccessToken {
        client_id: &client.client.client_id,
        subject: Some(&code.username),
        scope: &scope,
        lifetime,
        cnf,
        claims: &code.claims,
        code: Some(hash),
        format: server.settings.token_format(&client.client),
        grant: GrantType::AuthorizationCode,
    };
    let access = tokens::prepare_access_token(server, now, new).await?;
    let refresh = client
        .client
        .grant_types
        .contains(&GrantType::RefreshToken)
        .then(|| {
            let public = client.client.auth_method == crate::model::ClientAuthMethod::None;
            let new = NewRefreshToken {
                client_id: &client.client.client_id,
                subject: &code.username,
                scope: &code.scope,
                claims: &code.claims,
                // RFC 8705 §4: a public client's refresh token is bound to its certificate.
                cnf: if public {
                    client.thumbprint().copied()
                } else {
                    None
                },
                family: hash,
                sid: &code.sid,
                auth_time: code.auth_time,
                absolute_expires_at: None,
            };
            refresh::prepare(server, now, new)
        });
    let Some(mut response) =
        super::store_tokens(server, hash, super::Consumes::Code, access, refresh).await?
    else {
        // A concurrent request redeemed the code first: this one is the replay.
        return Err(replayed(server, &hash, &code).await?);
    };
    if scope.contains("openid") {
        let claims = IdTokenClaims {
            client_id: &client.client.client_id,
            subject: &code.username,
            nonce: code.nonce.as_deref(),
            auth_time: code.auth_time,
            sid: &code.sid,
            amr: &code.amr,
            access_token: &response.access_token,
            code: Some(&request.code),
        };
        response.id_token = Some(id_token::issue(server, claims, now).await?);
    }
    Ok(response)
}

/// RFC 6749 §4.1.2: a replayed code revokes what was issued from it.
async fn replayed(
    server: &AuthServer,
    hash: &crate::secret::TokenHash,
    code: &AuthorizationCodeRecord,
) -> Result<OAuthError, OAuthError> {
    server.store.revoke_code_family(hash).await?;
    tracing::warn!(client_id = %code.client_id, "authorization code replayed: its tokens are revoked");
    Ok(OAuthError::invalid_grant(
        "the authorization code has already been used",
    ))
}

/// What a code redemption must match besides the code itself: its lifetime, the
/// redirect_uri of the authorization request (RFC 6749 §4.1.3), and its PKCE challenge.
fn check(
    client: &AuthenticatedClient,
    code: &AuthorizationCodeRecord,
    request: &CodeRequest,
    now: i64,
) -> Result<(), OAuthError> {
    if now >= code.expires_at {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    match &request.redirect_uri {
        Some(uri) if *uri == code.redirect_uri => {}
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        None if client.client.redirect_uris.len() == 1 => {}
        None => {
            return Err(OAuthError::invalid_request(
                "the redirect_uri parameter is missing",
            ));
        }
    }
    check_pkce(
        code.code_challenge.as_deref(),
        request.code_verifier.as_ref(),
    )
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) must equal the stored S256 challenge; a
/// verifier without a challenge, or a challenge without a verifier, is `invalid_grant`.
fn check_pkce(challenge: Option<&str>, verifier: Option<&Secret>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "a code_verifier was sent but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("the code_verifier is missing")),
        (Some(c), Some(v)) => {
            let v = v.expose();
            let well_formed = (43..=128).contains(&v.len()) && is_pkce_value(v);
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
            let equal: bool =
                subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), c.as_bytes()).into();
            if well_formed && equal {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "the code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_appendix_b_vector() {
        let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(challenge), Some(&verifier)).is_ok());
        let wrong = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK");
        assert!(check_pkce(Some(challenge), Some(&wrong)).is_err());
        assert!(check_pkce(Some(challenge), None).is_err());
        assert!(check_pkce(None, Some(&verifier)).is_err());
        assert!(check_pkce(None, None).is_ok());
        assert!(check_pkce(Some(challenge), Some(&Secret::new("short"))).is_err());
    }
}
