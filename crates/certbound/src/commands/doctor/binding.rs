//! Doctor check: a certificate-bound access token (RFC 8705 §3) is refused with another
//! certificate at the userinfo endpoint, a protected resource that enforces the binding before
//! anything else: a client_credentials token has no `openid` scope, so with its own
//! certificate userinfo answers `insufficient_scope` (OIDC Core §5.3, RFC 6750 §3.1), with
//! another certificate `invalid_token`. When the client may introspect, `cnf.x5t#S256` must be
//! the thumbprint of the certificate the token was requested with (RFC 8705 §3.1).

use super::{Answer, Check, Doctor, form_post, send};

const NAME: &str = "certificate-binding";

pub(super) async fn run(doctor: &Doctor) -> Check {
    let Some(client) = &doctor.client else {
        return Check::skip(NAME, "needs --client-id, --cert and --key");
    };
    let Some(other) = &client.other else {
        return Check::skip(NAME, "needs --other-cert and --other-key");
    };
    match check(doctor, client, other).await {
        Ok(detail) => Check::pass(NAME, detail),
        Err(detail) => Check::fail(NAME, detail),
    }
}

async fn check(
    doctor: &Doctor,
    client: &super::TestClient,
    other: &super::Identity,
) -> Result<String, String> {
    let id = &client.identity;
    let token_url = doctor.endpoint("token_endpoint", true, "/oauth2/token");
    let answer = send(form_post(
        &id.http,
        token_url.clone(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
        ],
    ))
    .await
    .map_err(|e| format!("POST {token_url}: {e}"))?;
    let token = answer
        .json()
        .filter(|_| answer.status == 200)
        .and_then(|j| j["access_token"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            format!(
                "no token for --client-id with --cert at {token_url} ({}): register the client with this certificate and the client_credentials grant; if the server takes every address for a trusted proxy, it ignores TLS certificates",
                answer.summary()
            )
        })?;
    let userinfo = doctor.endpoint("userinfo_endpoint", true, "/oauth2/userinfo");
    let bearer = format!("Bearer {token}");
    let wrong = send(
        other
            .http
            .get(userinfo.clone())
            .header(reqwest::header::AUTHORIZATION, &bearer),
    )
    .await
    .map_err(|e| format!("GET {userinfo} with --other-cert: {e}"))?;
    if !invalid_token(&wrong) {
        return Err(format!(
            "the token was not refused with another certificate at {userinfo} (HTTP {}): it is not bound to its certificate (RFC 8705 §3); check that the client uses a mutual-TLS method",
            wrong.status
        ));
    }
    let right = send(
        id.http
            .get(userinfo.clone())
            .header(reqwest::header::AUTHORIZATION, &bearer),
    )
    .await
    .map_err(|e| format!("GET {userinfo} with --cert: {e}"))?;
    if invalid_token(&right) {
        return Err(format!(
            "the token is refused at {userinfo} even with its own certificate (invalid_token)"
        ));
    }
    let thumbprint = id.certificate.thumbprint().to_base64url();
    let introspection = introspect(doctor, client, &token, &thumbprint).await?;
    Ok(format!(
        "userinfo: invalid_token with --other-cert, HTTP {} with --cert; {introspection}",
        right.status
    ))
}

/// RFC 6750 §3.1: 401 with `error="invalid_token"` in the challenge.
fn invalid_token(answer: &Answer) -> bool {
    answer.status == 401
        && answer
            .www_authenticate
            .as_deref()
            .is_some_and(|c| c.contains("invalid_token"))
}

/// Introspects the token as the client (RFC 7662); a refusal is not a failure, only a wrong
/// or missing `cnf` on an active token is.
async fn introspect(
    doctor: &Doctor,
    client: &super::TestClient,
    token: &str,
    thumbprint: &str,
) -> Result<String, String> {
    let url = doctor.endpoint("introspection_endpoint", true, "/oauth2/introspect");
    let answer = send(form_post(
        &client.identity.http,
        url.clone(),
        &[("token", token), ("client_id", &client.client_id)],
    ))
    .await
    .map_err(|e| format!("POST {url}: {e}"))?;
    let json = answer.json().filter(|_| answer.status == 200);
    match json {
        Some(j) if j["active"] == true => {
            let cnf = j["cnf"]["x5t#S256"].as_str().unwrap_or_default();
            if cnf == thumbprint {
                Ok(format!(
                    "introspection cnf.x5t#S256 {thumbprint} matches --cert"
                ))
            } else {
                Err(format!(
                    "introspection cnf.x5t#S256 is {cnf:?}, --cert's thumbprint is {thumbprint} (RFC 8705 §3.1)"
                ))
            }
        }
        _ => Ok(format!(
            "introspection not checked ({} for this client)",
            answer.summary()
        )),
    }
}
