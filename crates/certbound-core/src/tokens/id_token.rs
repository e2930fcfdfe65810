//! OpenID Connect id_tokens (OIDC Core §2, §3.1.3.6), signed with the current key.

use crate::jose::left_half_hash;
use crate::secret::Secret;
use crate::{AuthServer, OAuthError};
use serde_json::{Value, json};

/// What an id_token says.
#[derive(Debug)]
pub struct IdTokenClaims<'a> {
    /// The client (`aud`, `azp`).
    pub client_id: &'a str,
    /// The user (`sub`).
    pub subject: &'a str,
    /// The authorization request's nonce.
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Login session id.
    pub sid: &'a str,
    /// Authentication methods references.
    pub amr: &'a [String],
    /// The access token issued with it (`at_hash`).
    pub access_token: &'a Secret,
    /// The code it was issued for (`c_hash`), in the code flow.
    pub code: Option<&'a Secret>,
}

/// Builds and signs an id_token.
pub async fn issue(
    server: &AuthServer,
    c: IdTokenClaims<'_>,
    now: i64,
) -> Result<String, OAuthError> {
    let key = server.keys.current(server.store.as_ref(), now).await?;
    let lifetime = i64::try_from(server.settings.id_token_lifetime).unwrap_or(3600);
    let mut claims = json!({
        "iss": server.settings.issuer,
        "sub": c.subject,
        "aud": c.client_id,
        "azp": c.client_id,
        "exp": now.saturating_add(lifetime),
        "iat": now,
        "nbf": now,
        "auth_time": c.auth_time,
        "sid": c.sid,
        "amr": c.amr,
        // §3.1.3.6: at_hash is the left half of the hash of the access token's ASCII.
        "at_hash": left_half_hash(c.access_token.expose()),
    });
    if let Some(obj) = claims.as_object_mut() {
        if let Some(n) = c.nonce {
            obj.insert("nonce".into(), Value::String(n.to_owned()));
        }
        if let Some(code) = c.code {
            obj.insert(
                "c_hash".into(),
                Value::String(left_half_hash(code.expose())),
            );
        }
    }
    key.sign_jwt(None, &claims).map_err(|e| {
        tracing::error!(error = %e, "id_token signing failed");
        OAuthError::server_error()
    })
}
