//! Who may use the console: the admin-session lookup every console handler goes through
//! ([`admin_from_session`], also as the [`ConsoleAdmin`] extractor), and the console's own
//! sign-in and sign-out. Passwords, throttling and sessions are certbound-core's `login`; this
//! module only adds the admin check and the console cookie.

use super::{ConsoleNav, read_form, server_error, views};
use crate::http::extract::{ConnectionInfo, FormPairs, client_addr, read_form_pairs};
use crate::http::{AppState, cookies, csrf};
use crate::pages::{self, redirect};
use axum::Extension;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use certbound_core::login::{self, LoginError};
use certbound_core::secret::Secret;

/// Where unauthenticated console requests are sent.
pub const LOGIN_PATH: &str = "/console/login";

/// A signed-in administrator, for console handlers. Rejection: a redirect to the sign-in page
/// (no or expired session) or 403 (the user is no longer an administrator).
#[derive(Debug, Clone)]
pub struct ConsoleAdmin {
    /// The administrator's username (for audit logs and the page header).
    pub username: String,
}

impl ConsoleAdmin {
    /// The administrator, for the audit trail.
    pub fn actor(&self) -> certbound_core::audit::Actor<'_> {
        certbound_core::audit::Actor {
            via: certbound_core::audit::Via::Console,
            name: &self.username,
        }
    }
}

/// A console form posted by a signed-in administrator, its CSRF token checked. The body is read
/// before anything is answered (answering first makes HTTP/2 clients see a reset stream).
pub struct AdminForm {
    /// Who posted it.
    pub admin: ConsoleAdmin,
    /// The form.
    pub form: FormPairs,
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let form = read_form_pairs(
            &parts.headers,
            body,
            state.max_body_bytes,
            &super::forms::REPEATABLE,
        )
        .await;
        let admin = admin_from_session(state, &parts.headers).await?;
        let form = form?;
        if !csrf::verify(&parts.headers, form.get("csrf")) {
            return Err(super::forbidden_form());
        }
        Ok(AdminForm { admin, form })
    }
}

impl FromRequestParts<AppState> for ConsoleAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        admin_from_session(state, &parts.headers).await
    }
}

/// The admin behind the console session cookie, re-checked against the user store on every
/// request (an admin demoted or deleted loses access at once). The admin API has its own
/// lookup; the two are meant to be merged into one.
pub async fn admin_from_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<ConsoleAdmin, Response> {
    let now = state.server.clock.now();
    let Some(cookie) = cookies::get(headers, cookies::CONSOLE_SESSION) else {
        return Err(redirect(StatusCode::SEE_OTHER, LOGIN_PATH));
    };
    let session = match login::session(&state.server, &cookie, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(redirect(StatusCode::SEE_OTHER, LOGIN_PATH)),
        Err(e) => return Err(server_error(e)),
    };
    match state.server.store.find_user(&session.username).await {
        Ok(Some(user)) if user.is_admin => Ok(ConsoleAdmin {
            username: user.username,
        }),
        Ok(_) => Err(not_admin(state, headers)),
        Err(e) => Err(server_error(e.into())),
    }
}

fn not_admin(state: &AppState, headers: &HeaderMap) -> Response {
    login_page(
        state,
        headers,
        "",
        Some("This account is not an administrator. Sign in with an administrator account."),
        StatusCode::FORBIDDEN,
    )
}

/// `GET /console/login`.
pub async fn show_login(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_page(&state, &headers, "", None, StatusCode::OK)
}

/// `POST /console/login`: password check (throttled as the sign-in page), then the admin check,
/// then a new session (any previous console session is ended: the id changes at sign-in).
pub async fn login(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnectionInfo>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match read_form(&state, &headers, body, &[]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let addr = client_addr(state.proxy.as_deref(), &conn, &headers);
    if let Err(limited) = state.limits.sign_in(addr) {
        tracing::info!(%addr, "console sign-in refused: rate limit");
        return crate::http::rate_limited_page(limited);
    }
    let username = form.get("username").unwrap_or_default();
    let password = Secret::new(form.get("password").unwrap_or_default());
    let now = state.server.clock.now();
    let user = match login::authenticate(&state.server, username, &password, addr, now).await {
        Ok(Ok(user)) => user,
        Ok(Err(LoginError::Invalid)) => {
            let message = "Wrong username or password.";
            return login_page(&state, &headers, username, Some(message), StatusCode::OK);
        }
        Ok(Err(LoginError::Throttled(wait))) => return throttled(&state, &headers, username, wait),
        Err(e) => return server_error(e),
    };
    if !user.is_admin {
        certbound_core::audit::console_refused(&user.username, &addr);
        return not_admin(&state, &headers);
    }
    let (cookie, _) = match login::open_session(&state.server, &user, addr, now).await {
        Ok(s) => s,
        Err(e) => return server_error(e),
    };
    if let Some(old) = cookies::get(&headers, cookies::CONSOLE_SESSION) {
        let _ = login::end_session(&state.server, &old).await;
    }
    certbound_core::audit::console_signed_in(&user.username, &addr);
    let mut response = redirect(StatusCode::SEE_OTHER, "/console");
    let age = i64::try_from(state.server.settings.session_lifetime).unwrap_or(i64::MAX);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(cookies::CONSOLE_SESSION, cookie.expose(), Some(age)),
    );
    response
}

/// `POST /console/logout`: ends the console session and clears its cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminForm { admin, .. }: AdminForm,
) -> Response {
    if let Some(cookie) = cookies::get(&headers, cookies::CONSOLE_SESSION) {
        let _ = login::end_session(&state.server, &cookie).await;
    }
    tracing::info!(target: "audit", admin = %admin.username, "console sign-out");
    let mut response = redirect(StatusCode::SEE_OTHER, LOGIN_PATH);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(cookies::CONSOLE_SESSION, "", None),
    );
    response
}

fn throttled(state: &AppState, headers: &HeaderMap, username: &str, wait: i64) -> Response {
    let message = format!("Too many failed attempts. Try again in {wait} seconds.");
    let mut r = login_page(
        state,
        headers,
        username,
        Some(&message),
        StatusCode::TOO_MANY_REQUESTS,
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, new) = csrf::token(state, headers);
    let page = views::LoginPage {
        csrf: &token,
        username,
        error,
    };
    csrf::with_cookie(pages::render(status, &page), &token, new)
}

impl ConsoleNav {
    /// The page header of a signed-in admin, with the CSRF token for its forms.
    pub fn new(state: &AppState, headers: &HeaderMap, admin: &ConsoleAdmin) -> Self {
        let (csrf, new_csrf) = csrf::token(state, headers);
        ConsoleNav {
            username: admin.username.clone(),
            csrf,
            new_csrf,
        }
    }
}
