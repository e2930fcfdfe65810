//! Token introspection (RFC 7662) with the RFC 8705 §3.2 `cnf` member.

use crate::client_auth;
use crate::request::IntrospectionRequest;
use crate::revoke::TokenTypeHint;
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
    /// The audience of an access token (RFC 7662 §2.2; as in JWT access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
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
/// endpoint. A Basic username that is not a user is tried as a client; an unknown user costs
/// the same Argon2 time as a wrong password, and every credential failure gets the same
/// answer, so usernames cannot be probed.
pub async fn authenticate_caller(
    server: &AuthServer,
    request: &IntrospectionRequest,
    peer: Option<&PeerCertificate>,
    now: i64,
) -> Result<Caller, OAuthError> {
    let denied = || OAuthError::invalid_client("the caller is not allowed to introspect tokens");
    // HTTP Basic names either a client (RFC 7662 §2.1, the usual resource server) or an
    // administrator (WSO2's guide). A registered client_id takes the client path, which needs
    // no Argon2: only a name that is neither pays for one, as a wrong user password does.
    if let Some(basic) = &request.credentials.basic
        && request.credentials.client_id.is_none()
        && server.store.find_client(&basic.username).await?.is_none()
    {
        match server.store.find_user(&basic.username).await? {
            Some(user) => {
                if !server
                    .passwords
                    .verify(&user.password_hash, &basic.password, now)
                    .await
                {
                    tracing::info!("introspection: user authentication failed");
                    return Err(client_auth::failed());
                }
                return if user.is_admin {
                    Ok(Caller::Admin(user.username))
                } else {
                    Err(denied())
                };
            }
            None => server.passwords.burn(&basic.password).await,
        }
    }
    let ctx = server.auth_context(now);
    let client =
        client_auth::authenticate(server.store.as_ref(), &request.credentials, peer, ctx).await?;
    if client.client.can_introspect {
        Ok(Caller::Client(client.client.client_id.clone()))
    } else {
        Err(denied())
    }
}

/// Looks the token up and describes it; anything unknown, expired, revoked or (for refresh
/// tokens) already rotated is inactive. `token_type_hint` only orders the look-ups.
pub async fn introspect(
    server: &AuthServer,
    caller: &Caller,
    request: &IntrospectionRequest,
    now: i64,
) -> Result<IntrospectionResponse, OAuthError> {
    let hash = request.token.hash();
    let order = match request.hint {
        TokenTypeHint::AccessToken => [TokenTypeHint::AccessToken, TokenTypeHint::RefreshToken],
        TokenTypeHint::RefreshToken => [TokenTypeHint::RefreshToken, TokenTypeHint::AccessToken],
    };
    for kind in order {
        let found = match kind {
            TokenTypeHint::AccessToken => server.store.find_access_token(&hash).await?.map(|r| {
                let active = !r.revoked && now < r.expires_at;
                let described = Described {
                    sub: r.subject.clone().unwrap_or_else(|| r.client_id.clone()),
                    username: r.subject,
                    client_id: r.client_id,
                    scope: r.scope,
                    token_type: Some("Bearer"),
                    exp: r.expires_at,
                    iat: r.issued_at,
                    cnf: r.cnf,
                };
                (active, described)
            }),
            TokenTypeHint::RefreshToken => server.store.find_refresh_token(&hash).await?.map(|r| {
                // A refresh token is described only to the client it belongs to, or an admin:
                // resource servers have no business with them.
                let entitled = match caller {
                    Caller::Admin(_) => true,
                    Caller::Client(id) => *id == r.client_id,
                };
                let active = entitled && r.is_active(now);
                let described = Described {
                    sub: r.subject.clone(),
                    username: Some(r.subject),
                    client_id: r.client_id,
                    scope: r.scope,
                    token_type: Some("refresh_token"),
                    exp: r.expires_at,
                    iat: r.issued_at,
                    cnf: r.cnf,
                };
                (active, described)
            }),
        };
        if let Some((active, d)) = found {
            return Ok(if active {
                d.into_response(server, kind == TokenTypeHint::AccessToken)
            } else {
                IntrospectionResponse::default()
            });
        }
    }
    Ok(IntrospectionResponse::default())
}

/// The facts of a token that introspection reports, whichever kind it is.
struct Described {
    sub: String,
    username: Option<String>,
    client_id: String,
    scope: String,
    token_type: Option<&'static str>,
    exp: i64,
    iat: i64,
    cnf: Option<certbound_mtls::Thumbprint>,
}

impl Described {
    fn into_response(self, server: &AuthServer, access: bool) -> IntrospectionResponse {
        IntrospectionResponse {
            active: true,
            scope: Some(self.scope),
            sub: Some(self.sub),
            username: self.username,
            client_id: Some(self.client_id),
            token_type: self.token_type,
            exp: Some(self.exp),
            iat: Some(self.iat),
            nbf: Some(self.iat),
            iss: Some(server.settings.issuer.clone()),
            aud: access.then(|| server.settings.access_token_audience.clone()),
            cnf: self.cnf.as_ref().map(|t| IntrospectionCnf {
                cnf: Cnf::from_thumbprint(t),
                legacy_x5t_sha256: server.settings.legacy_x5t_sha256.then(|| t.to_base64url()),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{AccessTokenRecord, ClientAuthMethod};
    use crate::registration::{ClientSpec, build_client, build_user};
    use crate::request::{BasicCredentials, ClientCredentialsInput};
    use crate::secret::Secret;
    use crate::testing;

    const NOW: i64 = 1_800_000_000;

    fn request(token: &str, user: &str, password: &str) -> IntrospectionRequest {
        IntrospectionRequest {
            token: Secret::new(token),
            hint: TokenTypeHint::AccessToken,
            credentials: ClientCredentialsInput {
                basic: Some(BasicCredentials {
                    username: user.into(),
                    password: Secret::new(password),
                }),
                ..Default::default()
            },
        }
    }

    async fn seeded() -> (AuthServer, std::sync::Arc<testing::FixedClock>) {
        let (server, clock) = testing::server(NOW);
        let admin =
            build_user("admin", &Secret::new("admin"), true, &crate::OsRandom, NOW).unwrap();
        server.store.insert_user(&admin).await.unwrap();
        let alice =
            build_user("alice", &Secret::new("alice"), false, &crate::OsRandom, NOW).unwrap();
        server.store.insert_user(&alice).await.unwrap();
        let spec = ClientSpec::new("c", ClientAuthMethod::ClientSecretBasic);
        let (client, _) = build_client(spec, &crate::OsRandom, NOW).unwrap();
        server.store.insert_client(&client).await.unwrap();
        let record = AccessTokenRecord {
            hash: Secret::new("tok").hash(),
            client_id: client.client_id,
            subject: None,
            scope: "default".into(),
            issued_at: NOW,
            expires_at: NOW + 60,
            cnf: None,
            revoked: false,
            claims: vec![],
            code: None,
        };
        server.store.insert_access_token(&record).await.unwrap();
        (server, clock)
    }

    #[tokio::test]
    async fn tokens_expire_exactly_at_exp_without_sleeping() {
        let (server, clock) = seeded().await;
        let (_, r) = server
            .introspect(request("tok", "admin", "admin"), None)
            .await
            .unwrap();
        assert!(r.active);
        assert_eq!(
            (r.iat, r.exp, r.nbf),
            (Some(NOW), Some(NOW + 60), Some(NOW))
        );
        clock.set(NOW + 59);
        assert!(
            server
                .introspect(request("tok", "admin", "admin"), None)
                .await
                .unwrap()
                .1
                .active
        );
        clock.set(NOW + 60);
        let (_, r) = server
            .introspect(request("tok", "admin", "admin"), None)
            .await
            .unwrap();
        assert_eq!(r, IntrospectionResponse::default());
        let (_, r) = server
            .introspect(request("other", "admin", "admin"), None)
            .await
            .unwrap();
        assert_eq!(r, IntrospectionResponse::default());
    }

    #[tokio::test]
    async fn unknown_users_and_wrong_passwords_are_indistinguishable() {
        let (server, _) = seeded().await;
        let wrong = server
            .introspect(request("tok", "admin", "nope"), None)
            .await
            .unwrap_err();
        let unknown = server
            .introspect(request("tok", "nobody", "nope"), None)
            .await
            .unwrap_err();
        assert_eq!(wrong, unknown);
        assert_eq!(wrong.code, crate::ErrorCode::InvalidClient);
        // A correct non-admin user is told it may not introspect.
        let plain = server
            .introspect(request("tok", "alice", "alice"), None)
            .await
            .unwrap_err();
        assert!(plain.description.contains("not allowed"));
    }

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
