//! The authorization endpoint's logic (RFC 6749 §4.1.1–§4.1.2, RFC 7636, OIDC Core §3.1.2):
//! validating a request, deciding whether the user must sign in or consent, and issuing the
//! code. Pages and cookies are the HTTP layer's; this module sees parsed values only.

use crate::model::{
    AuthorizationCodeRecord, Client, ClientAuthMethod, Consent, GrantType, Session, User,
};
use crate::request::Form;
use crate::scope::{self, OIDC_SCOPES, Scope};
use crate::secret::{self, Secret};
use crate::{AuthServer, OAuthError};
use std::sync::Arc;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: Arc<Client>,
    /// The redirect URI, exactly as registered.
    pub redirect_uri: String,
    /// Requested (and allowed) scope.
    pub scope: Scope,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// RFC 7636 S256 challenge.
    pub code_challenge: Option<String>,
    /// OIDC `prompt` values.
    pub prompt: Prompt,
    /// OIDC `max_age`, seconds.
    pub max_age: Option<i64>,
    /// The request's parameters, to carry it through the sign-in and consent forms.
    params: Vec<(String, String)>,
}

/// OIDC Core §3.1.2.1 `prompt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: sign in again.
    pub login: bool,
    /// `consent`: ask again even if remembered.
    pub consent: bool,
}

/// Why a request cannot proceed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// RFC 6749 §4.1.2.1: the client or redirect URI is unknown or invalid; show an error page
    /// and never redirect (no open redirector).
    Page(OAuthError),
    /// Any other error goes back to the client.
    Redirect(ErrorRedirect),
}

/// An error response to deliver at the client's redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone)]
pub struct ErrorRedirect {
    redirect_uri: String,
    error: &'static str,
    description: &'static str,
    state: Option<String>,
}

impl ErrorRedirect {
    /// The error code.
    pub fn error(&self) -> &'static str {
        self.error
    }
    /// The `Location` to redirect to.
    pub fn location(&self) -> String {
        let mut params = vec![
            ("error", self.error),
            ("error_description", self.description),
        ];
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        append_query(&self.redirect_uri, &params)
    }
}

/// What happens next for a valid request.
#[derive(Debug)]
pub enum Next {
    /// Show the sign-in page.
    Login,
    /// Show the consent page for these claims.
    Consent {
        /// Claims the client asks for that the user has.
        claims: Vec<String>,
    },
    /// Issue a code at once (remembered consent).
    Issue {
        /// Approved claims.
        claims: Vec<String>,
    },
    /// Send an error back to the client (e.g. `login_required` for `prompt=none`).
    Error(ErrorRedirect),
}

const MAX_PARAM: usize = 2048;

impl AuthorizationRequest {
    /// Parses and validates a query string.
    pub async fn parse(server: &AuthServer, query: &str) -> Result<Self, AuthorizeError> {
        let page = |d: &'static str| AuthorizeError::Page(OAuthError::invalid_request(d));
        let form = Form::parse(query.as_bytes()).map_err(AuthorizeError::Page)?;
        let params = form_pairs(query);
        let client_id = form
            .get("client_id")
            .ok_or_else(|| page("the client_id parameter is missing"))?;
        let client = server
            .store
            .find_client(client_id)
            .await
            .map_err(|e| AuthorizeError::Page(e.into()))?
            .ok_or_else(|| page("unknown client_id"))?;
        let redirect_uri = match form.get("redirect_uri") {
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
            Some(_) => return Err(page("the redirect_uri is not registered for this client")),
            // Required here (OIDC Core §3.1.2.1, OAuth 2.1), so the token request always has
            // one to match (RFC 6749 §4.1.3).
            None => return Err(page("the redirect_uri parameter is required")),
        };
        let state = form.get("state").map(str::to_owned);
        let fail = |error: &'static str, description: &'static str| {
            AuthorizeError::Redirect(ErrorRedirect {
                redirect_uri: redirect_uri.clone(),
                error,
                description,
                state: state.clone(),
            })
        };
        if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
            return Err(fail("invalid_request", "the state parameter is too long"));
        }
        if form.get("request").is_some() {
            return Err(fail(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        if form.get("request_uri").is_some() {
            return Err(fail(
                "request_uri_not_supported",
                "request_uri is not supported",
            ));
        }
        match form.get("response_type") {
            None => {
                return Err(fail(
                    "invalid_request",
                    "the response_type parameter is missing",
                ));
            }
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        if form.get("response_mode").is_some_and(|m| m != "query") {
            return Err(fail(
                "invalid_request",
                "only response_mode=query is supported",
            ));
        }
        if !client.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(fail(
                "unauthorized_client",
                "the client may not use the authorization code grant",
            ));
        }
        let requested = form
            .get("scope")
            .map(Scope::parse)
            .transpose()
            .map_err(|_| fail("invalid_scope", "the scope parameter is malformed"))?;
        let scope =
            scope::grant_with(requested.as_ref(), &client.scopes, &OIDC_SCOPES).map_err(|_| {
                fail(
                    "invalid_scope",
                    "the requested scope is not allowed for this client",
                )
            })?;
        let code_challenge = pkce_challenge(&form, &client, server.settings.require_pkce)
            .map_err(|d| fail("invalid_request", d))?;
        let mut prompt =
            parse_prompt(form.get("prompt")).map_err(|d| fail("invalid_request", d))?;
        let max_age = form
            .get("max_age")
            .map(|v| v.parse::<u32>().map(i64::from))
            .transpose()
            .map_err(|_| fail("invalid_request", "max_age must be a non-negative integer"))?;
        // OIDC Core §3.1.2.1: max_age=0 asks for a fresh sign-in, like prompt=login.
        if max_age == Some(0) {
            if prompt.none {
                return Err(fail(
                    "login_required",
                    "max_age=0 requires signing in again",
                ));
            }
            prompt.login = true;
        }
        let nonce = form.get("nonce").map(str::to_owned);
        if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
            return Err(fail("invalid_request", "the nonce parameter is too long"));
        }
        Ok(AuthorizationRequest {
            client,
            redirect_uri,
            scope,
            state,
            nonce,
            code_challenge,
            prompt,
            max_age,
            params,
        })
    }

    /// The request as a query string, to carry through forms.
    pub fn query(&self) -> String {
        encode_pairs(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The query to continue with after a successful sign-in: `prompt=login` and `max_age`
    /// have been satisfied by it and are dropped, so the flow does not loop.
    pub fn query_after_login(&self) -> String {
        let pairs = self
            .params
            .iter()
            .filter(|(k, _)| k != "max_age")
            .filter_map(|(k, v)| {
                if k != "prompt" {
                    return Some((k.clone(), v.clone()));
                }
                let rest: Vec<&str> = v
                    .split(' ')
                    .filter(|p| !p.is_empty() && *p != "login")
                    .collect();
                (!rest.is_empty()).then(|| (k.clone(), rest.join(" ")))
            });
        let pairs: Vec<(String, String)> = pairs.collect();
        encode_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// An error redirect for this request.
    pub fn error(&self, error: &'static str, description: &'static str) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description,
            state: self.state.clone(),
        }
    }

    /// The claims the client asks for (through its scopes) that the user has.
    pub fn requested_claims(&self, user: &User) -> Vec<String> {
        let mut claims: Vec<String> = self
            .scope
            .iter()
            .flat_map(scope::claims_for_scope)
            .filter(|c| user.claims.contains_key(**c))
            .map(|c| (*c).to_owned())
            .collect();
        claims.sort();
        claims.dedup();
        claims
    }

    /// Decides the next step for a browser with `session` (OIDC Core §3.1.2.1 prompt, max_age).
    pub async fn next(
        &self,
        server: &AuthServer,
        session: Option<&Session>,
        now: i64,
    ) -> Result<Next, OAuthError> {
        let fresh_enough = |s: &Session| self.max_age.is_none_or(|m| now - s.auth_time <= m);
        let session =
            session.filter(|s| s.expires_at > now && fresh_enough(s) && !self.prompt.login);
        let Some(session) = session else {
            return Ok(if self.prompt.none {
                Next::Error(self.error("login_required", "the user is not signed in"))
            } else {
                Next::Login
            });
        };
        // The user, and (unless prompt=consent asks again) the remembered consent: one read.
        let found = if self.prompt.consent {
            server
                .store
                .find_user(&session.username)
                .await?
                .map(|u| (u, None))
        } else {
            server
                .store
                .find_user_with_consent(&session.username, &self.client.client_id)
                .await?
        };
        let Some((user, remembered)) = found else {
            return Ok(if self.prompt.none {
                Next::Error(self.error("login_required", "the user is not signed in"))
            } else {
                Next::Login
            });
        };
        let claims = self.requested_claims(&user);
        // With prompt=consent no remembered consent was read, so the user is asked again.
        if let Some(c) = remembered.filter(|c| covers(c, &self.scope)) {
            return Ok(Next::Issue {
                claims: claims
                    .into_iter()
                    .filter(|x| c.claims.contains(x))
                    .collect(),
            });
        }
        Ok(if self.prompt.none {
            Next::Error(self.error("consent_required", "the user has not approved this client"))
        } else {
            Next::Consent { claims }
        })
    }

    /// Records the user's decision and returns where to send the browser.
    /// `approved` is narrowed to the claims actually requested.
    pub async fn decide(
        &self,
        server: &AuthServer,
        session: &Session,
        decision: Decision,
        approved: &[String],
        now: i64,
    ) -> Result<String, OAuthError> {
        let Some(user) = server.store.find_user(&session.username).await? else {
            return Ok(self
                .error("access_denied", "the user no longer exists")
                .location());
        };
        let requested = self.requested_claims(&user);
        let claims: Vec<String> = requested
            .into_iter()
            .filter(|c| approved.contains(c))
            .collect();
        match decision {
            Decision::Deny => {
                return Ok(self
                    .error("access_denied", "the user denied the request")
                    .location());
            }
            Decision::ApproveAlways => {
                let consent = Consent {
                    username: user.username.clone(),
                    client_id: self.client.client_id.clone(),
                    scopes: self.scope.iter().map(str::to_owned).collect(),
                    claims: claims.clone(),
                    created_at: now,
                };
                server.store.upsert_consent(&consent).await?;
            }
            Decision::ApproveOnce => {}
        }
        self.issue_code(server, session, claims, now).await
    }

    /// Issues a code (RFC 6749 §4.1.2) and returns the redirect `Location`.
    pub async fn issue_code(
        &self,
        server: &AuthServer,
        session: &Session,
        claims: Vec<String>,
        now: i64,
    ) -> Result<String, OAuthError> {
        let code = secret::generate_keyed(server.random.as_ref(), now);
        let lifetime = i64::try_from(server.settings.code_lifetime).unwrap_or(60);
        let record = AuthorizationCodeRecord {
            hash: code.hash(),
            client_id: self.client.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            username: session.username.clone(),
            scope: self.scope.to_string(),
            claims,
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            auth_time: session.auth_time,
            sid: session.sid.clone(),
            amr: vec!["pwd".to_owned()],
            issued_at: now,
            expires_at: now.saturating_add(lifetime),
        };
        server.store.insert_code(&record).await?;
        tracing::info!(client_id = %self.client.client_id, user = %session.username, "authorization code issued");
        Ok(location_with_code(
            &self.redirect_uri,
            &code,
            self.state.as_deref(),
        ))
    }
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve this time only.
    ApproveOnce,
    /// Approve and remember.
    ApproveAlways,
    /// Refuse.
    Deny,
}

impl std::str::FromStr for Decision {
    type Err = OAuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "approve_once" => Ok(Decision::ApproveOnce),
            "approve_always" => Ok(Decision::ApproveAlways),
            "deny" => Ok(Decision::Deny),
            _ => Err(OAuthError::invalid_request("unknown consent decision")),
        }
    }
}

/// A remembered consent covers a request when it approved every requested scope; the claims
/// the user unchecked then stay unshared (the remembered answer is reused as given).
fn covers(consent: &Consent, scope: &Scope) -> bool {
    scope.iter().all(|s| consent.scopes.iter().any(|c| c == s))
}

fn location_with_code(redirect_uri: &str, code: &Secret, state: Option<&str>) -> String {
    let mut params = vec![("code", code.expose())];
    if let Some(s) = state {
        params.push(("state", s));
    }
    append_query(redirect_uri, &params)
}

/// RFC 7636 §4.3: only S256; required for public clients and when configured for all.
fn pkce_challenge(
    form: &Form,
    client: &Client,
    required_for_all: bool,
) -> Result<Option<String>, &'static str> {
    let challenge = form.get("code_challenge");
    match (challenge, form.get("code_challenge_method")) {
        (None, Some(_)) => Err("code_challenge_method without code_challenge"),
        (Some(_), None) | (Some(_), Some("plain")) => {
            Err("only code_challenge_method=S256 is supported")
        }
        (Some(c), Some("S256")) if is_pkce_value(c) && c.len() == 43 => Ok(Some(c.to_owned())),
        (Some(_), Some("S256")) => {
            Err("code_challenge must be a base64url SHA-256 (43 characters)")
        }
        (Some(_), Some(_)) => Err("only code_challenge_method=S256 is supported"),
        (None, None) if required_for_all || client.auth_method == ClientAuthMethod::None => {
            Err("PKCE (code_challenge with S256) is required")
        }
        (None, None) => Ok(None),
    }
}

/// RFC 7636 §4.1: unreserved characters only.
pub fn is_pkce_value(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, &'static str> {
    let mut p = Prompt::default();
    for v in value
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match v {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => {}
            _ => return Err("unknown prompt value"),
        }
    }
    if p.none && (p.login || p.consent) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(p)
}

/// Query pairs in order, decoded (the form was already validated).
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = crate::request::decode_component(k.as_bytes()).ok()?;
            let v = crate::request::decode_component(v.as_bytes()).ok()?;
            (!v.is_empty()).then_some((k, v))
        })
        .collect()
}

/// Appends query parameters to a URI that may already have a query.
pub fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", encode_pairs(params.iter().copied()))
}

fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "authorize_tests.rs"]
mod tests;
