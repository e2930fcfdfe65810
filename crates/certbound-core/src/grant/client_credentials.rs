//! The client credentials grant (RFC 6749 §4.4) with certificate-bound tokens (RFC 8705 §3).

use super::require_grant_type;
use crate::client_auth::AuthenticatedClient;
use crate::model::{ClientAuthMethod, GrantType};
use crate::scope::{self, Scope};
use crate::tokens::{self, NewAccessToken, TokenResponse};
use crate::{AuthServer, OAuthError};

/// RFC 6749 §4.4.2–§4.4.3: a confidential client obtains a token for itself; no refresh token.
pub(super) async fn handle(
    server: &AuthServer,
    client: &AuthenticatedClient,
    requested: Option<&Scope>,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    // §4.4: "The client credentials grant type MUST only be used by confidential clients."
    if client.client.auth_method == ClientAuthMethod::None {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use the client_credentials grant",
        ));
    }
    require_grant_type(client, GrantType::ClientCredentials)?;
    let scope = scope::grant(requested, &client.client.scopes)?;
    let cnf = tokens::binding(client, now)?;
    let lifetime = server.settings.access_token_lifetime_for(&client.client);
    let new = NewAccessToken {
        client_id: &client.client.client_id,
        subject: None,
        scope: &scope,
        lifetime,
        cnf,
        claims: &[],
        code: None,
        format: server.settings.token_format(&client.client),
        grant: GrantType::ClientCredentials,
    };
    tokens::issue_access_token(server, now, new).await
}
