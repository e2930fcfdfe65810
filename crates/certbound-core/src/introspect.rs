//! Token introspection (RFC 7662) with the RFC 8705 §3.2 `cnf` member.

use crate::client_auth::{self, AuthContext};
use crate::password;
use crate::request::IntrospectionRequest;
use crate::{AuthServer, OAuthError};
use certbound_mtls::Cnf;
use certbound_mtls::PeerCertificate;
use serde::Serialize;

/// Who called the introspection endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A user with the admin role, by HTTP Basic (as in the reference).
    Admin(String),
    /// A client registered as allowed to introspect (a resource server).
    Client(String),
}

/// RFC 7662 §2.2 response. An inactive token serializes to exactly `{"active":false}`.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct IntrospectionResponse {
    /// Whether the token is currently active.
    pub active: bool,
    /// Granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The resource owner's username, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not-before, Unix seconds (equal to `iat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject: the resource owner, or the client itself for client_credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// RFC 8705 §3.2: the certificate thumbprint the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<IntrospectionCnf>,
}

/// The `cnf` member of an introspection response (RFC 8705 §3.2), with WSO2's misnamed
/// `x5t#SHA256` beside the correct member only when `[oauth.introspection] legacy_x5t_sha256`
/// asks for it (for resource servers migrating from WSO2).
#[derive(Debug, Serialize, PartialEq)]
pub struct IntrospectionCnf {
    /// RFC 8705 §3.1 confirmation.
    #[serde(flatten)]
    pub cnf: Cnf,
    /// The same thumbprint under WSO2's member name.
    #[serde(rename = "x5t#SHA256", skip_serializing_if = "Option::is_none")]
    pub legacy_x5t_sha256: Option<String>,
}

/// RFC 7662 §2.1: the caller must be authorized. An admin user by HTTP Basic (as in the
/// reference), or a client flagged as allowed to introspect, authenticated like at the token
/// endpoint.
pub async fn authenticate_caller(
    server: &AuthServer,
    request: &IntrospectionRequest,
    peer: Option<&PeerCertificate>,
    now: i64,
) -> Result<Caller, OAuthError> {
    let denied = || OAuthError::invalid_client("the caller is not allowed to introspect tokens");
    if let Some(basic) = &request.credentials.basic
        && request.credentials.client_id.is_none()
        && let Some(user) = server.store.find_user(&basic.username).await?
    {
        return if password::verify(&user.password_hash, &basic.password) && user.is_admin {
            Ok(Caller::Admin(user.username))
        } else {
            tracing::info!("introspection: user authentication failed");
            Err(denied())
        };
    }
    let ctx = AuthContext {
        trust_anchors: server.settings.trust_anchors.as_deref(),
        now,
    };
    let client =
        client_auth::authenticate(server.store.as_ref(), &request.credentials, peer, ctx).await?;
    if client.client.can_introspect {
        Ok(Caller::Client(client.client.client_id))
    } else {
        Err(denied())
    }
}

/// Looks the token up and describes it; anything unknown, expired or revoked is inactive.
pub async fn introspect(
    server: &AuthServer,
    request: &IntrospectionRequest,
    now: i64,
) -> Result<IntrospectionResponse, OAuthError> {
    let Some(record) = server
        .store
        .find_access_token(&request.token.hash())
        .await?
    else {
        return Ok(IntrospectionResponse::default());
    };
    if record.revoked || now >= record.expires_at {
        return Ok(IntrospectionResponse::default());
    }
    Ok(IntrospectionResponse {
        active: true,
        scope: Some(record.scope),
        sub: Some(
            record
                .subject
                .clone()
                .unwrap_or_else(|| record.client_id.clone()),
        ),
        username: record.subject,
        client_id: Some(record.client_id),
        token_type: Some("Bearer"),
        exp: Some(record.expires_at),
        iat: Some(record.issued_at),
        nbf: Some(record.issued_at),
        iss: Some(server.settings.issuer.clone()),
        cnf: record.cnf.as_ref().map(|t| IntrospectionCnf {
            cnf: Cnf::from_thumbprint(t),
            legacy_x5t_sha256: server.settings.legacy_x5t_sha256.then(|| t.to_base64url()),
        }),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn legacy_member_appears_only_when_asked() {
        let t = certbound_mtls::Thumbprint::of_der(b"x");
        let plain = IntrospectionCnf {
            cnf: Cnf::from_thumbprint(&t),
            legacy_x5t_sha256: None,
        };
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(json, serde_json::json!({ "x5t#S256": t.to_base64url() }));
        let legacy = IntrospectionCnf {
            cnf: Cnf::from_thumbprint(&t),
            legacy_x5t_sha256: Some(t.to_base64url()),
        };
        let json = serde_json::to_value(&legacy).unwrap();
        assert_eq!(json["x5t#SHA256"], json["x5t#S256"]);
    }

    #[test]
    fn inactive_response_is_exactly_active_false() {
        let json = serde_json::to_string(&IntrospectionResponse::default()).unwrap();
        assert_eq!(json, r#"{"active":false}"#);
    }
}
