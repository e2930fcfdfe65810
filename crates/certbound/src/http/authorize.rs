//! `GET /oauth2/authorize` and the sign-in and consent forms (RFC 6749 §4.1.1, OIDC Core
//! §3.1.2). Forms carry the original request and a CSRF token; POSTs answer 303.

use super::extract::{ConnectionInfo, FormPairs, client_addr, read_form_pairs};
use super::{AppState, cookies, csrf, rate_limited_page};
use crate::pages::{self, ClaimRow, ConsentPage, LoginPage, redirect};
use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use certbound_core::OAuthError;
use certbound_core::authorize::{AuthorizationRequest, AuthorizeError, Decision, Next};
use certbound_core::login::{self, LoginError};
use certbound_core::model::Session;
use certbound_core::secret::Secret;

/// `GET /oauth2/authorize`.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match AuthorizationRequest::parse(&state.server, &query).await {
        Ok(r) => r,
        Err(e) => return authorize_error(e, StatusCode::FOUND),
    };
    let now = state.server.clock.now();
    let session = match current_session(&state, &headers, now).await {
        Ok(s) => s,
        Err(e) => return server_error(e),
    };
    proceed(&state, &headers, &request, session.as_ref(), now).await
}

/// Shows the page the request needs next, or sends the browser back to the client.
async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
    session: Option<&Session>,
    now: i64,
) -> Response {
    let next = match request.next(&state.server, session, now).await {
        Ok(n) => n,
        Err(e) => return server_error(e),
    };
    match (next, session) {
        (Next::Error(e), _) => redirect(StatusCode::FOUND, &e.location()),
        (Next::Login, _) | (_, None) => {
            login_page(state, headers, request, "", None, StatusCode::OK)
        }
        (Next::Consent { claims }, Some(session)) => {
            consent_page(state, headers, request, session, &claims).await
        }
        (Next::Issue { claims }, Some(session)) => {
            match request
                .issue_code(&state.server, session, claims, now)
                .await
            {
                Ok(location) => redirect(StatusCode::FOUND, &location),
                Err(e) => server_error(e),
            }
        }
    }
}

/// `POST /oauth2/authorize/login`.
pub async fn login(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (form, request) = match read_page_form(&state, &headers, body, &[]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let addr = client_addr(state.proxy.as_deref(), &conn, &headers);
    if let Err(limited) = state.limits.sign_in(addr) {
        tracing::info!(%addr, "sign-in refused: rate limit");
        return rate_limited_page(limited);
    }
    let username = form.get("username").unwrap_or_default();
    let password = Secret::new(form.get("password").unwrap_or_default());
    let now = state.server.clock.now();
    match login::login(&state.server, username, &password, addr, now).await {
        Ok(Ok((cookie, _session))) => {
            // The session id changes at sign-in: any previous session is ended.
            if let Some(old) = cookies::get(&headers, cookies::SESSION) {
                let _ = login::end_session(&state.server, &old).await;
            }
            let target = format!("/oauth2/authorize?{}", request.query_after_login());
            let mut response = redirect(StatusCode::SEE_OTHER, &target);
            let age = i64::try_from(state.server.settings.session_lifetime).unwrap_or(i64::MAX);
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(cookies::SESSION, cookie.expose(), Some(age)),
            );
            response
        }
        Ok(Err(LoginError::Invalid)) => login_page(
            &state,
            &headers,
            &request,
            username,
            Some("Wrong username or password."),
            StatusCode::OK,
        ),
        Ok(Err(LoginError::Throttled(wait))) => {
            let message = format!("Too many failed attempts. Try again in {wait} seconds.");
            let mut r = login_page(
                &state,
                &headers,
                &request,
                username,
                Some(&message),
                StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => server_error(e),
    }
}

/// `POST /oauth2/authorize/consent`.
pub async fn consent(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (form, request) = match read_page_form(&state, &headers, body, &["claim"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = state.server.clock.now();
    let session = match current_session(&state, &headers, now).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return login_page(
                &state,
                &headers,
                &request,
                "",
                Some("Your session ended. Sign in again."),
                StatusCode::OK,
            );
        }
        Err(e) => return server_error(e),
    };
    let decision: Decision = match form.get("decision").unwrap_or_default().parse() {
        Ok(d) => d,
        Err(_) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Choose Approve or Deny.",
            );
        }
    };
    match request
        .decide(&state.server, &session, decision, &form.all("claim"), now)
        .await
    {
        Ok(location) => redirect(StatusCode::SEE_OTHER, &location),
        Err(e) => server_error(e),
    }
}

/// Reads a sign-in or consent form: checks its CSRF token and re-validates the authorization
/// request it carries. Errors are the page or redirect to answer with.
async fn read_page_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    repeatable: &[&str],
) -> Result<(FormPairs, AuthorizationRequest), Response> {
    let form = read_form_pairs(headers, body, state.max_body_bytes, repeatable).await?;
    if !csrf::verify(headers, form.get("csrf")) {
        return Err(expired_form());
    }
    match AuthorizationRequest::parse(&state.server, form.get("request").unwrap_or_default()).await
    {
        Ok(request) => Ok((form, request)),
        Err(e) => Err(authorize_error(e, StatusCode::SEE_OTHER)),
    }
}

async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Session>, OAuthError> {
    match cookies::get(headers, cookies::SESSION) {
        Some(cookie) => login::session(&state.server, &cookie, now).await,
        None => Ok(None),
    }
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (csrf, new) = csrf::token(state, headers);
    let query = request.query();
    let page = LoginPage {
        client_name: &request.client.name,
        csrf: &csrf,
        request: &query,
        username,
        error,
    };
    csrf::with_cookie(pages::render(status, &page), &csrf, new)
}

async fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
    session: &Session,
    claims: &[String],
) -> Response {
    let user = match state.server.store.find_user(&session.username).await {
        Ok(Some(u)) => u,
        Ok(None) => return login_page(state, headers, request, "", None, StatusCode::OK),
        Err(e) => return server_error(e.into()),
    };
    let rows = claims
        .iter()
        .map(|c| ClaimRow {
            label: pages::claim_label(c),
            value: user.claims.get(c).cloned().unwrap_or_default(),
            name: c.clone(),
        })
        .collect();
    let (csrf, new) = csrf::token(state, headers);
    let query = request.query();
    let page = ConsentPage {
        client_name: &request.client.name,
        username: &user.username,
        csrf: &csrf,
        request: &query,
        claims: rows,
        scopes: request.scope.to_string(),
    };
    csrf::with_cookie(pages::render(StatusCode::OK, &page), &csrf, new)
}

/// An invalid request: a page, or a redirect with the error (302 after GET, 303 after POST).
fn authorize_error(e: AuthorizeError, redirect_status: StatusCode) -> Response {
    match e {
        AuthorizeError::Page(e) => {
            pages::error(StatusCode::BAD_REQUEST, e.code.as_str(), &e.description)
        }
        AuthorizeError::Redirect(r) => redirect(redirect_status, &r.location()),
    }
}

fn expired_form() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "This form has expired or was not sent by this site. Go back to the application and start again.",
    )
}

fn server_error(e: OAuthError) -> Response {
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        e.code.as_str(),
        "Something went wrong on our side. Try again shortly.",
    )
}
