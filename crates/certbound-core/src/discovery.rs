//! Authorization server metadata (RFC 8414 §2) and OpenID Provider metadata (OIDC Discovery
//! §3), including the RFC 8705 §3.3 and §5 members.

use crate::AuthServer;
use crate::dynamic_registration::RegistrationPolicy;
use crate::model::ClientAuthMethod;
use crate::scope::{OIDC_SCOPES, claims_for_scope};
use serde_json::{Value, json};

/// The metadata document. Endpoint URLs are built from `base`, the server's origin
/// (scheme, host and port, as in the issuer).
pub fn metadata(server: &AuthServer) -> Value {
    let issuer = &server.settings.issuer;
    let base = origin(issuer);
    let mut claims: Vec<&str> = vec![
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "amr",
        "sid",
    ];
    for s in OIDC_SCOPES {
        claims.extend(claims_for_scope(s));
    }
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "introspection_endpoint": format!("{base}/oauth2/introspect"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "revocation_endpoint_auth_methods_supported": ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "userinfo_endpoint": format!("{base}/oauth2/userinfo"),
        "jwks_uri": format!("{base}/oauth2/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [server.keys.alg().as_str()],
        "scopes_supported": OIDC_SCOPES.iter().copied().chain(["default"]).collect::<Vec<_>>(),
        "claims_supported": claims,
        "token_endpoint_auth_methods_supported": ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "introspection_endpoint_auth_methods_supported": ClientAuthMethod::ALL.iter().filter(|m| **m != ClientAuthMethod::None).map(|m| m.as_str()).collect::<Vec<_>>(),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "tls_client_certificate_bound_access_tokens": true,
        "authorization_response_iss_parameter_supported": false,
    });
    // RFC 8414 §2 / RFC 7591 §3: the registration endpoint, when registration is possible.
    if server.settings.registration_policy != RegistrationPolicy::Disabled
        && let Some(obj) = doc.as_object_mut()
    {
        obj.insert(
            "registration_endpoint".into(),
            json!(format!("{base}/oauth2/register")),
        );
    }
    // RFC 8705 §5: where clients that use mutual TLS should send their requests.
    if let (Some(alias), Some(obj)) = (&server.settings.mtls_alias_base, doc.as_object_mut()) {
        obj.insert(
            "mtls_endpoint_aliases".into(),
            json!({
                "token_endpoint": format!("{alias}/oauth2/token"),
                "introspection_endpoint": format!("{alias}/oauth2/introspect"),
                "revocation_endpoint": format!("{alias}/oauth2/revoke"),
                "userinfo_endpoint": format!("{alias}/oauth2/userinfo"),
            }),
        );
    }
    doc
}

/// `https://host:port` of an issuer URL.
pub(crate) fn origin(issuer: &str) -> &str {
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    match issuer[after_scheme..].find('/') {
        Some(i) => &issuer[..after_scheme + i],
        None => issuer,
    }
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origin_of_issuers() {
        assert_eq!(
            origin("https://localhost:9443/oauth2/token"),
            "https://localhost:9443"
        );
        assert_eq!(
            origin("https://auth.example.com"),
            "https://auth.example.com"
        );
    }
}
