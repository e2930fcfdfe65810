//! Grants at the token endpoint: one module per grant, dispatched by one `match`.
//! Grant logic takes the authenticated client and the parsed grant request; it never sees HTTP.

mod authorization_code;
mod client_credentials;

pub use authorization_code::CodeRequest;

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
