//! Grants at the token endpoint: one module per grant, dispatched by one `match`.
//! Grant logic takes the authenticated client and the parsed grant request; it never sees HTTP.

mod authorization_code;
mod client_credentials;
mod refresh_token;

pub use authorization_code::CodeRequest;
pub use refresh_token::RefreshRequest;

use crate::client_auth::AuthenticatedClient;
use crate::model::GrantType;
use crate::request::GrantRequest;
use crate::tokens::TokenResponse;
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

/// A replay detected by a concurrent request may revoke the grant while this one is still
/// issuing its tokens. Once they are stored, check: if the grant was revoked meanwhile, revoke
/// again so the new tokens die with it. The redemption itself succeeded (exactly one does), so
/// the response stands; its tokens are simply no longer active.
async fn unless_family_revoked(
    server: &AuthServer,
    family: &crate::secret::TokenHash,
    response: TokenResponse,
) -> Result<TokenResponse, OAuthError> {
    if server.store.is_family_revoked(family).await? {
        server.store.revoke_code_family(family).await?;
        tracing::warn!("tokens issued concurrently with a replay of their grant were revoked");
    }
    Ok(response)
}
