//! RFC 9068 JWT access tokens: header `typ: at+jwt` and `kid`; claims `iss`, `sub`, `aud`,
//! `client_id`, `scope`, `exp`, `iat`, `jti`, and `cnf` when bound (RFC 8705 §3.1).

use super::NewAccessToken;
use crate::secret::{self, Secret};
use crate::{AuthServer, OAuthError};
use certbound_mtls::Cnf;
use serde_json::json;

/// Builds and signs the JWT for a new access token.
pub async fn encode(
    server: &AuthServer,
    new: &NewAccessToken<'_>,
    now: i64,
) -> Result<Secret, OAuthError> {
    let key = server.keys.current(server.store.as_ref(), now).await?;
    let lifetime = i64::try_from(new.lifetime).unwrap_or(i64::MAX);
    let jti = secret::generate(server.random.as_ref());
    let mut claims = json!({
        "iss": server.settings.issuer,
        // RFC 9068 §2.2: sub is the resource owner, or the client for client_credentials.
        "sub": new.subject.unwrap_or(new.client_id),
        "aud": server.settings.access_token_audience,
        "client_id": new.client_id,
        "scope": new.scope.to_string(),
        "exp": now.saturating_add(lifetime),
        "iat": now,
        "nbf": now,
        "jti": &jti.expose()[..22],
    });
    if let (Some(t), Some(obj)) = (&new.cnf, claims.as_object_mut()) {
        obj.insert("cnf".into(), json!(Cnf::from_thumbprint(t)));
    }
    // RFC 9068 §2.1: typ "at+jwt", so an access token is never taken for an id_token.
    let jwt = key.sign_jwt(Some("at+jwt"), &claims).map_err(|e| {
        tracing::error!(error = %e, "access token signing failed");
        OAuthError::server_error()
    })?;
    Ok(Secret::new(jwt))
}
