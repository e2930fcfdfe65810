//! The refresh token grant (RFC 6749 §6) with certificate binding (RFC 8705 §4), rotation
//! and reuse detection (RFC 9700 §4.14.2).

use super::require_grant_type;
use crate::client_auth::AuthenticatedClient;
use crate::model::GrantType;
use crate::scope::Scope;
use crate::secret::Secret;
use crate::tokens::id_token::{self, IdTokenClaims};
use crate::tokens::refresh::{self, NewRefreshToken};
use crate::tokens::{self, NewAccessToken, TokenResponse};
use crate::{AuthServer, OAuthError};

/// The grant-specific parameters (RFC 6749 §6).
#[derive(Debug)]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh_token: Secret,
    /// A narrower scope, if asked for.
    pub scope: Option<Scope>,
}

/// Exchanges a refresh token for new tokens.
pub(super) async fn handle(
    server: &AuthServer,
    client: &AuthenticatedClient,
    request: RefreshRequest,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    require_grant_type(client, GrantType::RefreshToken)?;
    let invalid = |d: &'static str| OAuthError::invalid_grant(d);
    let hash = request.refresh_token.hash();
    let record = server
        .store
        .find_refresh_token(&hash)
        .await?
        .ok_or_else(|| invalid("the refresh token is invalid"))?;
    // §6: the token is bound to the client it was issued to.
    if record.client_id != client.client.client_id {
        return Err(invalid("the refresh token was issued to another client"));
    }
    let family = record
        .code
        .ok_or_else(|| invalid("the refresh token is invalid"))?;
    if let Some(used_at) = record.used_at {
        return Err(reused(server, &record, &family, used_at, now).await?);
    }
    if !record.is_active(now) {
        return Err(invalid("the refresh token is expired or revoked"));
    }
    // RFC 8705 §4: a bound refresh token needs the same certificate.
    if let Some(cnf) = &record.cnf
        && !client.thumbprint().is_some_and(|t| t.ct_eq(cnf))
    {
        return Err(invalid(
            "the refresh token is bound to a certificate that was not presented",
        ));
    }
    // §6: the scope may narrow, never widen.
    let granted = Scope::parse(&record.scope)?;
    let granted_openid = granted.contains("openid");
    let scope = match request.scope {
        Some(s) if !s.is_empty() && !s.is_subset_of(&granted) => {
            return Err(OAuthError::invalid_scope(
                "the requested scope exceeds the original grant",
            ));
        }
        Some(s) if !s.is_empty() => s,
        _ => granted,
    };
    // A narrower scope also narrows what userinfo will release (OIDC Core §5.4).
    let claims: Vec<String> = record
        .claims
        .iter()
        .filter(|c| {
            scope
                .iter()
                .any(|s| crate::scope::claims_for_scope(s).contains(&c.as_str()))
        })
        .cloned()
        .collect();
    let cnf = tokens::binding(client, now)?;
    let lifetime = server.settings.access_token_lifetime_for(&client.client);
    let new = NewAccessToken {
        client_id: &client.client.client_id,
        subject: Some(&record.subject),
        scope: &scope,
        lifetime,
        cnf,
        claims: &claims,
        code: Some(family),
        format: server.settings.token_format(&client.client),
        grant: GrantType::RefreshToken,
    };
    let access = tokens::prepare_access_token(server, now, new).await?;
    let rotate = server.settings.refresh_token_rotation;
    let refresh = rotate.then(|| {
        let new = NewRefreshToken {
            client_id: &record.client_id,
            subject: &record.subject,
            scope: &record.scope,
            claims: &record.claims,
            cnf: record.cnf,
            family,
            sid: &record.sid,
            auth_time: record.auth_time,
            absolute_expires_at: Some(record.absolute_expires_at),
        };
        refresh::prepare(server, now, new)
    });
    // Rotation: the old token is used and the new ones stored in one step. Of concurrent uses
    // of the same token exactly one wins; the other is a reuse like any other.
    let consumes = if rotate {
        super::Consumes::RefreshToken(hash, now)
    } else {
        super::Consumes::Nothing
    };
    let Some(mut response) = super::store_tokens(server, family, consumes, access, refresh).await?
    else {
        return Err(reused(server, &record, &family, now, now).await?);
    };
    // The issue's rule: when the original grant had openid, a new id_token comes back.
    if granted_openid {
        // As in the reference: amr ["refresh_token"], and no nonce (OIDC Core §12.2).
        let amr = vec!["refresh_token".to_owned()];
        let claims = IdTokenClaims {
            client_id: &client.client.client_id,
            subject: &record.subject,
            nonce: None,
            auth_time: record.auth_time,
            sid: &record.sid,
            amr: &amr,
            access_token: &response.access_token,
            code: None,
        };
        response.id_token = Some(id_token::issue(server, claims, now).await?);
    }
    Ok(response)
}

/// RFC 9700 §4.14.2: a rotated refresh token presented again means it leaked (or the client
/// is replaying it): the whole grant is revoked, unless `refresh_token_reuse_grace` (0 by
/// default) is set and the reuse comes within it, which is then only refused.
async fn reused(
    server: &AuthServer,
    record: &crate::model::RefreshTokenRecord,
    family: &crate::secret::TokenHash,
    used_at: i64,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    let grace = i64::try_from(server.settings.refresh_token_reuse_grace).unwrap_or(i64::MAX);
    if grace == 0 || now.saturating_sub(used_at) >= grace {
        server.store.revoke_code_family(family).await?;
        tracing::warn!(client_id = %record.client_id, user = %record.subject, "refresh token reused: the grant is revoked");
    }
    Ok(OAuthError::invalid_grant(
        "the refresh token has already been used",
    ))
}
