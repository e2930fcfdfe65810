//! The playground's handlers, one per step of the reference blog's walk-through:
//! client_credentials with mTLS, the authorization code flow with PKCE (redirect and callback),
//! refresh, introspection, and calls to the protected API with the registered and with another
//! certificate. Each renders a result page from the recorded exchanges; tokens are kept in the
//! single in-memory session. Signatures are reported as checked only after a real verification.

use super::Playground;
use super::outbound::{self, Exchange, Problem, diagnose, enc};
use super::view::{self, IndexPage, JwtView, Nav, ResultPage, jwt_view};
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use certbound_core::OsRandom;
use certbound_core::secret;
use certbound_mtls::Thumbprint;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

type Pg = State<Arc<Playground>>;

/// Most authorization requests kept waiting for their callback.
const MAX_PENDING: usize = 32;

fn nav(pg: &Playground) -> Nav {
    let s = pg.session();
    Nav {
        has_access: s.access_token.is_some(),
        has_refresh: s.refresh_token.is_some(),
    }
}

/// `GET /` and `/playground2`: to the index.
pub async fn home() -> Response {
    Redirect::to("/playground2/").into_response()
}

/// Notes where the mutual-TLS endpoint aliases are, if discovery lists them.
fn remember_aliases(pg: &Playground, discovery: &outbound::Exchange) {
    let alias = discovery
        .json
        .as_ref()
        .and_then(|v| {
            v["mtls_endpoint_aliases"]["token_endpoint"]
                .as_str()
                .map(str::to_owned)
        })
        .and_then(|token| token.strip_suffix("/oauth2/token").map(str::to_owned));
    *pg.mtls_origin
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = alias;
}

/// `GET /playground2/`: configuration, server check, and the actions.
pub async fn index(State(pg): Pg) -> Response {
    let url = format!("{}/.well-known/openid-configuration", pg.issuer);
    let discovery = outbound::get(&pg.right, "Discovery", url, None).await;
    remember_aliases(&pg, &discovery);
    let mut problems = Vec::new();
    let (server_ok, server_text) = match (discovery.status, discovery.json_str("issuer")) {
        (Some(200), Some(iss)) if iss == pg.issuer => (
            true,
            format!("certbound answers at {} with this issuer.", pg.origin),
        ),
        (Some(200), Some(iss)) => {
            problems.push(Problem {
                what: format!("The server's issuer is {iss}, not {}.", pg.issuer),
                todo: format!("Restart the playground with --issuer {iss}."),
            });
            (false, "The issuer does not match.".to_owned())
        }
        _ => {
            problems.extend(diagnose(&pg, &discovery));
            (
                false,
                format!("certbound is not reachable at {}.", pg.issuer),
            )
        }
    };
    view::render(&IndexPage {
        nav: nav(&pg),
        step: "index",
        issuer: pg.issuer.clone(),
        client_id: pg.client_id.clone(),
        redirect_uri: pg.redirect_uri.clone(),
        right_x5t: pg.right.x5t.clone(),
        other_x5t: pg.other.x5t.clone(),
        api_url: pg.api_url.clone(),
        server_ok,
        server_text,
        problems,
    })
}

/// `POST /playground2/client-credentials`: RFC 6749 §4.4 authenticated with RFC 8705 §2.2.
pub async fn client_credentials(State(pg): Pg) -> Response {
    let exchange = outbound::post_form(
        &pg.right,
        "Token request (client_credentials)",
        pg.mtls_endpoint("/oauth2/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &pg.client_id),
        ],
    )
    .await;
    let mut page = ResultPage::new(
        nav(&pg),
        "client-credentials",
        "Client credentials with mutual TLS",
        "The playground authenticates with its certificate only (self_signed_tls_client_auth, no secret). certbound binds the access token to that certificate: see cnf.x5t#S256 in the decoded token.",
    );
    tokens_result(&pg, &mut page, exchange, None).await;
    finish(&pg, page)
}

/// Form of the authorization code button.
#[derive(Deserialize)]
pub struct AuthorizeForm {
    /// Requested scopes.
    #[serde(default)]
    scope: String,
}

/// `POST /playground2/authorize`: sends the browser to certbound with state, nonce and PKCE.
pub async fn authorize(State(pg): Pg, Form(form): Form<AuthorizeForm>) -> Response {
    let scope = if form.scope.trim().is_empty() {
        "openid profile email".to_owned()
    } else {
        form.scope.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let state = secret::generate(&OsRandom).expose().to_owned();
    let nonce = secret::generate(&OsRandom).expose().to_owned();
    let verifier = secret::generate(&OsRandom).expose().to_owned();
    // RFC 7636 §4.2: S256 = BASE64URL(SHA256(ASCII(code_verifier))).
    let challenge = Thumbprint::of_der(verifier.as_bytes()).to_base64url();
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        pg.endpoint("/oauth2/authorize"),
        enc(&pg.client_id),
        enc(&pg.redirect_uri),
        enc(&scope),
        enc(&state),
        enc(&nonce),
        challenge
    );
    {
        let mut session = pg.session();
        if session.pending.len() >= MAX_PENDING {
            session.pending.clear();
        }
        session.pending.insert(
            state,
            super::Pending {
                verifier,
                nonce,
                authorize_url: url.clone(),
            },
        );
    }
    Redirect::to(&url).into_response()
}

/// Query of the OAuth callback (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /playground2/oauth2client`: redeems the code with mTLS and the PKCE verifier.
pub async fn callback(State(pg): Pg, Query(q): Query<Callback>) -> Response {
    let mut page = ResultPage::new(
        nav(&pg),
        "authorization-code",
        "Authorization code with PKCE",
        "You signed in at certbound and approved; certbound redirected back here with a code. The playground redeems it at the token endpoint over mutual TLS with its PKCE code_verifier, and receives an id_token and certificate-bound access and refresh tokens.",
    );
    let pending = q
        .state
        .as_deref()
        .and_then(|s| pg.session().pending.remove(s));
    let Some(pending) = pending else {
        page.status = "error".into();
        page.problems.push(Problem {
            what: "This callback's state is unknown (or was already used).".into(),
            todo: "Start the authorization code flow again from the playground.".into(),
        });
        return finish(&pg, page);
    };
    page.fact(
        "authorize-url",
        "Authorization request",
        &pending.authorize_url,
    );
    if let Some(error) = q.error {
        page.status = error.clone();
        page.problems.push(Problem {
            what: format!(
                "certbound answered error={error}{}",
                q.error_description
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
            todo: "Start again and approve the request (access_denied means it was denied).".into(),
        });
        return finish(&pg, page);
    }
    let code = q.code.unwrap_or_default();
    let exchange = outbound::post_form(
        &pg.right,
        "Token request (authorization_code)",
        pg.mtls_endpoint("/oauth2/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &pg.redirect_uri),
            ("client_id", &pg.client_id),
            ("code_verifier", &pending.verifier),
        ],
    )
    .await;
    pg.session().nonce = Some(pending.nonce.clone());
    tokens_result(&pg, &mut page, exchange, Some(&pending.nonce)).await;
    finish(&pg, page)
}

/// `POST /playground2/refresh`: RFC 6749 §6 with the last refresh token, over mTLS.
pub async fn refresh(State(pg): Pg) -> Response {
    let mut page = ResultPage::new(
        nav(&pg),
        "refresh",
        "Refresh the access token",
        "The refresh token is bound to the client's certificate too: only a request over mutual TLS with the playground certificate can redeem it.",
    );
    let Some(token) = pg.session().refresh_token.clone() else {
        return missing(
            &pg,
            page,
            "There is no refresh token yet.",
            "Run the authorization code flow first: refresh tokens come with it.",
        );
    };
    let exchange = outbound::post_form(
        &pg.right,
        "Token request (refresh_token)",
        pg.mtls_endpoint("/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", &pg.client_id),
        ],
    )
    .await;
    tokens_result(&pg, &mut page, exchange, None).await;
    finish(&pg, page)
}

/// `POST /playground2/introspect`: RFC 7662 as the playground client (mTLS).
pub async fn introspect(State(pg): Pg) -> Response {
    let mut page = ResultPage::new(
        nav(&pg),
        "introspect",
        "Introspect the access token",
        "Resource servers ask certbound what a token means. The answer carries cnf.x5t#S256, the thumbprint of the certificate the token is bound to (RFC 8705 §3.2).",
    );
    let Some(token) = pg.session().access_token.clone() else {
        return missing(
            &pg,
            page,
            "There is no access token yet.",
            "Get one with client credentials or the authorization code flow first.",
        );
    };
    let exchange = outbound::post_form(
        &pg.right,
        "Introspection request",
        pg.mtls_endpoint("/oauth2/introspect"),
        &[
            ("token", &token),
            ("token_type_hint", "access_token"),
            ("client_id", &pg.client_id),
        ],
    )
    .await;
    page.status = exchange.status_text();
    if let Some(json) = &exchange.json {
        let active = json.get("active").and_then(Value::as_bool).unwrap_or(false);
        page.fact("active", "active", active.to_string());
        if let Some(x5t) = json.pointer("/cnf/x5t#S256").and_then(Value::as_str) {
            page.fact("cnf", "cnf.x5t#S256", x5t);
            let whose = if x5t == pg.right.x5t {
                "the playground certificate"
            } else {
                "another certificate"
            };
            page.fact("cnf-match", "Bound to", whose);
        }
        page.expected = exchange.status == Some(200) && active;
        page.outcome = if active {
            "The token is active and bound to a certificate.".into()
        } else {
            "The token is not active (expired, revoked, or unknown).".into()
        };
    }
    page.problems.extend(diagnose(&pg, &exchange));
    page.exchanges.push(exchange);
    finish(&pg, page)
}

/// Which certificate the API call presents.
#[derive(Deserialize)]
pub struct ApiForm {
    /// `right` or `other`.
    cert: String,
}

/// `POST /playground2/api`: the protected API with the registered or the other certificate.
pub async fn call_api(State(pg): Pg, Form(form): Form<ApiForm>) -> Response {
    let right = form.cert != "other";
    let (step, title, lead) = if right {
        (
            "api-right",
            "Protected API with the right certificate",
            "The token is sent with the certificate it is bound to: certbound-resource verifies the JWT against the JWKS and compares cnf.x5t#S256 with the TLS certificate. Expected: 200.",
        )
    } else {
        (
            "api-other",
            "Protected API with another certificate",
            "The same token, but the TLS connection presents a certificate certbound never saw, as a thief of the token would. The binding check fails. Expected: 401 invalid_token.",
        )
    };
    let mut page = ResultPage::new(nav(&pg), step, title, lead);
    let Some(token) = pg.session().access_token.clone() else {
        return missing(
            &pg,
            page,
            "There is no access token yet.",
            "Get one with client credentials or the authorization code flow first.",
        );
    };
    let identity = if right { &pg.right } else { &pg.other };
    let exchange = outbound::get(
        identity,
        "Protected API request",
        pg.api_url.clone(),
        Some(&token),
    )
    .await;
    page.status = exchange.status_text();
    page.fact("presented", "Certificate presented", &identity.x5t);
    let challenge = exchange
        .response_headers
        .iter()
        .find(|(k, _)| k == "www-authenticate")
        .map(|(_, v)| v.clone());
    if let Some(c) = &challenge {
        page.fact("www-authenticate", "WWW-Authenticate", c);
    }
    page.expected = if right {
        exchange.status == Some(200)
    } else {
        exchange.status == Some(401) && challenge.is_some_and(|c| c.contains("invalid_token"))
    };
    page.outcome = match (right, page.expected) {
        (true, true) => "Accepted: the token is bound to this certificate.".into(),
        (false, true) => {
            "Refused with invalid_token: a stolen bound token is useless without the key.".into()
        }
        (_, false) => "Not the expected answer: see the response below.".into(),
    };
    if exchange.error.is_some() {
        page.problems.push(Problem {
            what: format!("The protected API at {} did not answer.", pg.api_url),
            todo: "It runs inside this playground process: check its log.".into(),
        });
    }
    page.exchanges.push(exchange);
    finish(&pg, page)
}

/// Fills a page from a token response: remembers the tokens, decodes and verifies them.
async fn tokens_result(
    pg: &Playground,
    page: &mut ResultPage,
    exchange: Exchange,
    nonce: Option<&str>,
) {
    page.status = exchange.status_text();
    page.problems.extend(diagnose(pg, &exchange));
    let access = exchange.json_str("access_token");
    let refresh = exchange.json_str("refresh_token");
    let id_token = exchange.json_str("id_token");
    page.expected = exchange.status == Some(200) && access.is_some();
    page.outcome = if page.expected {
        "Tokens issued.".into()
    } else {
        format!(
            "No token: {}",
            exchange
                .json_str("error_description")
                .or(exchange.error.clone())
                .unwrap_or_else(|| "see the response below.".into())
        )
    };
    if let Some(t) = exchange.json_str("token_type") {
        page.fact("token-type", "token_type", t);
    }
    page.exchanges.push(exchange);
    {
        let mut s = pg.session();
        if access.is_some() {
            s.access_token.clone_from(&access);
        }
        if refresh.is_some() {
            s.refresh_token.clone_from(&refresh);
        }
        if id_token.is_some() {
            s.id_token.clone_from(&id_token);
        }
    }
    page.nav = nav(pg);
    if let Some(token) = &id_token
        && let Some(view) = check_id_token(pg, page, token, nonce).await
    {
        page.jwts.push(view);
    }
    if let Some(token) = &access {
        match jwt_view("access_token", token) {
            Some(mut view) => {
                match pg.verifier.verify(token, Some(&pg.right.peer)).await {
                    Ok(p) => {
                        view.checked = Some("signature, typ at+jwt, iss, aud, exp and the certificate binding checked by certbound-resource".into());
                        if let Some(cnf) = p.cnf {
                            page.fact("cnf", "cnf.x5t#S256", cnf.to_base64url());
                        }
                    }
                    Err(e) => view.note = Some(format!("certbound-resource refused it: {e}")),
                }
                page.jwts.push(view);
            }
            None => page.fact(
                "opaque",
                "access_token",
                "opaque (not a JWT): introspect it to see what it means",
            ),
        }
    }
}

/// Decodes an id_token and verifies it against the issuer's JWKS (OpenID Connect Core §3.1.3.7).
async fn check_id_token(
    pg: &Playground,
    page: &mut ResultPage,
    token: &str,
    nonce: Option<&str>,
) -> Option<JwtView> {
    let mut view = jwt_view("id_token", token)?;
    let kid = view::decode_jwt(token)
        .and_then(|(h, _)| h.get("kid").and_then(Value::as_str).map(str::to_owned));
    let jwks = outbound::get(
        &pg.right,
        "JWKS request (to verify the id_token)",
        pg.endpoint("/oauth2/jwks"),
        None,
    )
    .await;
    let key = jwks
        .json
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .and_then(|keys| {
            keys.iter()
                .find(|k| k.get("kid").and_then(Value::as_str) == kid.as_deref())
                .cloned()
        });
    page.exchanges.push(jwks);
    let Some(key) = key else {
        view.note = Some("no key with this kid in the JWKS: not verified".into());
        return Some(view);
    };
    let result = certbound_core::jose::verify_jwt(token, &key)
        .map_err(|e| format!("signature check failed: {e}"))
        .and_then(|(_, claims)| id_token_claims(pg, &claims, nonce));
    match result {
        Ok(()) => {
            view.checked = Some(
                "signature checked against the JWKS (openid: certbound-core jose); iss, aud and nonce match"
                    .into(),
            );
        }
        Err(e) => view.note = Some(e),
    }
    Some(view)
}

fn id_token_claims(pg: &Playground, claims: &Value, nonce: Option<&str>) -> Result<(), String> {
    if claims.get("iss").and_then(Value::as_str) != Some(pg.issuer.as_str()) {
        return Err(format!(
            "iss is not {}: is --issuer the server's issuer?",
            pg.issuer
        ));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == pg.client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(pg.client_id.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err("aud is not the playground's client_id".into());
    }
    if let Some(n) = nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(n)
    {
        return Err("nonce does not match the one sent".into());
    }
    Ok(())
}

/// A page for a step that needs a token the session does not have.
fn missing(pg: &Playground, mut page: ResultPage, what: &str, todo: &str) -> Response {
    page.status = "none".into();
    page.outcome = what.into();
    page.problems.push(Problem {
        what: what.into(),
        todo: todo.into(),
    });
    finish(pg, page)
}

fn finish(pg: &Playground, mut page: ResultPage) -> Response {
    page.nav = nav(pg);
    view::render(&page)
}
