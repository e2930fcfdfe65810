//! CSRF protection of the server-rendered forms (sign-in, consent, console): a double-submitted
//! token, held in the `__Host-` CSRF cookie and repeated in every form, compared in constant
//! time. It does not authenticate anyone; it only proves the form came from one of our pages.

use super::{AppState, cookies};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use certbound_core::secret;

/// The CSRF token of this browser, and whether it is new (then it must be set as a cookie).
pub fn token(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    match cookies::get(headers, cookies::CSRF) {
        Some(t) if t.len() == 43 => (t, false),
        _ => (
            secret::generate(state.server.random.as_ref())
                .expose()
                .to_owned(),
            true,
        ),
    }
}

/// Double-submit check: the form's token equals the cookie's, compared in constant time.
pub fn verify(headers: &HeaderMap, form: Option<&str>) -> bool {
    match (cookies::get(headers, cookies::CSRF), form) {
        (Some(c), Some(f)) if c.len() == f.len() => {
            subtle::ConstantTimeEq::ct_eq(c.as_bytes(), f.as_bytes()).into()
        }
        _ => false,
    }
}

/// Sets the CSRF cookie on a page response when the token is new.
pub fn with_cookie(mut response: Response, token: &str, new: bool) -> Response {
    if new {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(cookies::CSRF, token, Some(86_400)),
        );
    }
    response
}
