//! Grants at the token endpoint: one module per grant, dispatched by one `match`.
//! Grant logic takes the authenticated client and the parsed grant request; it never sees HTTP.

mod authorization_code;
mod client_credentials;
mod refresh_token;

pub use authorization_code::CodeRequest;
pub use refresh_token::RefreshRequest;

use crate::client_auth::AuthenticatedClient;
use crate::model::GrantType;
use crate::model::RefreshTokenRecord;
use crate::request::GrantRequest;
use crate::secret::{Secret, TokenHash};
use crate::store::{GrantStored, GrantTokens};
use crate::tokens::{PreparedAccessToken, TokenResponse};
use crate::{AuthServer, OAuthError};

/// Runs the grant of a token request for an authenticated client.
pub async fn handle(
    server: &AuthServer,
    client: &AuthenticatedClient,
    grant: GrantRequest,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    match grant {
        GrantRequest::ClientCredentials { scope } => {
            client_credentials::handle(server, client, scope.as_ref(), now).await
        }
        GrantRequest::AuthorizationCode(request) => {
            authorization_code::handle(server, client, request, now).await
        }
        GrantRequest::RefreshToken(request) => {
            refresh_token::handle(server, client, request, now).await
        }
    }
}

/// RFC 6749 §5.2 `unauthorized_client` unless the client registered the grant type.
fn require_grant_type(client: &AuthenticatedClient, grant: GrantType) -> Result<(), OAuthError> {
    if client.client.grant_types.contains(&grant) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(
            "the client is not allowed to use this grant type",
        ))
    }
}

/// What a grant request uses up, in the same step as storing the tokens it issues.
enum Consumes {
    /// The authorization code (the grant's family): redeemed, at most once (RFC 6749 §4.1.2).
    Code,
    /// The refresh token being rotated, used at the given time (RFC 9700 §4.14.2).
    RefreshToken(TokenHash, i64),
    /// Nothing: a refresh without rotation.
    Nothing,
}

/// The tokens a code redemption or a refresh issues, stored in one step together with what
/// the request consumes (`GrantStore::store_grant_tokens`); `None` when that was consumed
/// meanwhile by a concurrent request (nothing was stored). A replay detected by a concurrent
/// request may revoke the grant while this one issues: its tokens are then stored revoked.
/// This request's own redemption or rotation succeeded (exactly one does), so the response
/// stands; its tokens are simply not active.
async fn store_tokens(
    server: &AuthServer,
    family: TokenHash,
    consumes: Consumes,
    access: PreparedAccessToken,
    refresh: Option<(Secret, RefreshTokenRecord)>,
) -> Result<Option<TokenResponse>, OAuthError> {
    let (refresh_token, refresh) = refresh.unzip();
    let tokens = GrantTokens {
        family,
        rotate: match consumes {
            Consumes::RefreshToken(hash, now) => Some((hash, now)),
            Consumes::Code | Consumes::Nothing => None,
        },
        redeem: matches!(consumes, Consumes::Code),
        access: access.record,
        refresh,
    };
    let stored = server
        .store
        .store_grant_tokens(&tokens)
        .await
        .map_err(crate::tokens::stored)?;
    match stored {
        GrantStored::AlreadyUsed => return Ok(None),
        GrantStored::FamilyRevoked => {
            tracing::warn!("tokens issued concurrently with a replay of their grant were revoked");
        }
        GrantStored::Stored => {}
    }
    let access = PreparedAccessToken {
        record: tokens.access,
        ..access
    };
    let mut response = access.into_response();
    response.refresh_token = refresh_token;
    Ok(Some(response))
}
