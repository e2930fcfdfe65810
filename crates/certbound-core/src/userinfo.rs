//! The UserInfo endpoint (OIDC Core §5.3): a protected resource that enforces the token's
//! certificate binding (RFC 8705 §3) and answers RFC 6750 errors.

use crate::secret::Secret;
use crate::{AuthServer, OAuthError};
use certbound_mtls::PeerCertificate;
use serde_json::{Map, Value};

/// RFC 6750 §3.1 outcomes other than success.
#[derive(Debug, PartialEq, Eq)]
pub enum BearerError {
    /// No token: 401 with a bare `WWW-Authenticate: Bearer` challenge.
    Missing,
    /// `invalid_token` (401): unknown, expired, revoked, or presented without its certificate.
    InvalidToken(&'static str),
    /// `insufficient_scope` (403): the token lacks `openid`.
    InsufficientScope,
    /// The request is malformed (`invalid_request`, 400).
    InvalidRequest(&'static str),
    /// A storage failure.
    Server(OAuthError),
}

impl From<OAuthError> for BearerError {
    fn from(e: OAuthError) -> Self {
        BearerError::Server(e)
    }
}

/// Returns the user's approved claims for a valid, correctly presented access token.
pub async fn userinfo(
    server: &AuthServer,
    token: Option<Secret>,
    peer: Option<&PeerCertificate>,
) -> Result<Value, BearerError> {
    let token = token.ok_or(BearerError::Missing)?;
    let now = server.clock.now();
    let record = server
        .store
        .find_access_token(&token.hash())
        .await
        .map_err(OAuthError::from)?
        .filter(|r| !r.revoked && now < r.expires_at)
        .ok_or(BearerError::InvalidToken(
            "the access token is invalid or expired",
        ))?;
    // RFC 8705 §3: a bound token is accepted only with the certificate it is bound to.
    if let Some(cnf) = &record.cnf {
        let presented = peer.map(PeerCertificate::thumbprint);
        if !presented.is_some_and(|p| p.ct_eq(cnf)) {
            tracing::info!(client_id = %record.client_id, presented = ?presented.map(|p| p.to_base64url()), "bound token presented without its certificate");
            return Err(BearerError::InvalidToken(
                "the access token is bound to a certificate that was not presented",
            ));
        }
    }
    if !record.scope.split(' ').any(|s| s == "openid") {
        return Err(BearerError::InsufficientScope);
    }
    let subject = record.subject.ok_or(BearerError::InsufficientScope)?;
    let user = server
        .store
        .find_user(&subject)
        .await
        .map_err(OAuthError::from)?
        .ok_or(BearerError::InvalidToken("the user no longer exists"))?;
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(subject));
    for claim in &record.claims {
        if let Some(v) = user.claims.get(claim) {
            out.insert(claim.clone(), claim_value(claim, v));
        }
    }
    Ok(Value::Object(out))
}

/// Booleans and numbers are typed as OIDC Core §5.1 defines them.
fn claim_value(name: &str, value: &str) -> Value {
    match name {
        "email_verified" | "phone_number_verified" => Value::Bool(value == "true"),
        "updated_at" => value
            .parse::<i64>()
            .map_or_else(|_| Value::String(value.to_owned()), Value::from),
        _ => Value::String(value.to_owned()),
    }
}
