//! Who may call the admin API: an administrator, by HTTP Basic (through the sign-in throttle)
//! or by the browser session the sign-in page set — then unsafe methods must also carry the
//! CSRF cookie's value in `X-CSRF-Token`. No or wrong credentials: 401 with a Basic
//! challenge; a user who is not an administrator: 403.

use crate::http::extract::{ConnectionInfo, client_addr, read_limited};
use crate::http::{ApiError, AppState, cookies};
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use certbound_core::audit::{Actor, Via};
use certbound_core::login::{self, LoginError};
use certbound_core::model::User;
use certbound_core::request::BasicCredentials;
use certbound_core::{AuthServer, ErrorCode, OAuthError};

/// The header that carries the CSRF token on session-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated admin request: who made it and its (size-limited) body.
pub struct AdminRequest {
    /// The administrator's username (for audit logs).
    pub admin: String,
    /// The request body, read in full before anything was answered.
    pub body: Vec<u8>,
}

impl AdminRequest {
    /// The administrator, for the audit trail.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            via: Via::AdminApi,
            name: &self.admin,
        }
    }
}

impl FromRequest<AppState> for AdminRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        // Read (or drain) the body first, so that HTTP/2 clients get the error response
        // rather than a reset stream.
        let body = read_limited(Body::new(body), state.max_body_bytes).await?;
        let conn = parts.extensions.get::<ConnectionInfo>().cloned();
        let admin = authenticate(state, conn.as_ref(), &parts.method, &parts.headers).await?;
        Ok(AdminRequest {
            admin: admin.username,
            body,
        })
    }
}

fn unauthorized(description: &'static str) -> ApiError {
    OAuthError::new(ErrorCode::Unauthorized, description).into()
}

fn denied(description: &'static str) -> ApiError {
    OAuthError::new(ErrorCode::AccessDenied, description).into()
}

/// Authenticates an admin API request: Basic credentials if sent, else the session cookie.
pub async fn authenticate(
    state: &AppState,
    conn: Option<&ConnectionInfo>,
    method: &Method,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let now = state.server.clock.now();
    let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
    if let Some(value) = authorization.next() {
        if authorization.next().is_some() {
            return Err(unauthorized("the Authorization header is repeated"));
        }
        let credentials = BasicCredentials::parse(value.as_bytes())
            .ok()
            .flatten()
            .ok_or_else(|| unauthorized("send an administrator's credentials with HTTP Basic"))?;
        let Some(conn) = conn else {
            return Err(OAuthError::server_error().into());
        };
        let addr = client_addr(state.proxy.as_deref(), conn, headers);
        return admin_from_basic(&state.server, &credentials, addr, now).await;
    }
    let user = admin_from_session(&state.server, headers, now)
        .await?
        .ok_or_else(|| {
            unauthorized("sign in: HTTP Basic with an administrator's credentials, or a session")
        })?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !csrf_header_ok(headers) {
        return Err(denied(
            "a request authenticated by the session cookie must carry the CSRF cookie's value in X-CSRF-Token",
        ));
    }
    Ok(user)
}

/// Checks Basic credentials through the sign-in throttle; the user must be an administrator.
async fn admin_from_basic(
    server: &AuthServer,
    credentials: &BasicCredentials,
    addr: std::net::IpAddr,
    now: i64,
) -> Result<User, ApiError> {
    match login::authenticate(
        server,
        &credentials.username,
        &credentials.password,
        addr,
        now,
    )
    .await?
    {
        Ok(user) if user.is_admin => Ok(user),
        Ok(_) => Err(denied("this user is not an administrator")),
        Err(LoginError::Invalid) => Err(unauthorized("wrong username or password")),
        Err(LoginError::Throttled(wait)) => Err(ApiError {
            error: OAuthError::new(
                ErrorCode::Unauthorized,
                "too many failed sign-in attempts; retry later",
            ),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            retry_after: Some(u64::try_from(wait).unwrap_or(1).max(1)),
        }),
    }
}

/// The signed-in user of the request's session cookie, if there is a live session.
pub async fn session_user(
    server: &AuthServer,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<User>, OAuthError> {
    let Some(cookie) = cookies::get(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let Some(session) = login::session(server, &cookie, now).await? else {
        return Ok(None);
    };
    Ok(server.store.find_user(&session.username).await?)
}

/// The administrator signed in with the request's session cookie: `Ok(None)` without a live
/// session, `access_denied` when the signed-in user is not an administrator. (The console
/// uses this too.)
pub async fn admin_from_session(
    server: &AuthServer,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<User>, OAuthError> {
    match session_user(server, headers, now).await? {
        Some(user) if user.is_admin => Ok(Some(user)),
        Some(_) => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "this user is not an administrator",
        )),
        None => Ok(None),
    }
}

/// Double-submit check: `X-CSRF-Token` equals the CSRF cookie, compared in constant time.
pub fn csrf_header_ok(headers: &HeaderMap) -> bool {
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (cookies::get(headers, cookies::CSRF), sent) {
        (Some(cookie), Some(sent)) if cookie.len() == sent.len() => {
            subtle::ConstantTimeEq::ct_eq(cookie.as_bytes(), sent.as_bytes()).into()
        }
        _ => false,
    }
}
