//! The browser cookies of the sign-in flow and the console: the session cookies and the CSRF
//! cookie, all `__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`.

use axum::http::{HeaderMap, HeaderValue, header};

/// The login session (its value is stored only as a hash). The `__Host-` prefix makes the
/// browser refuse it unless it is Secure, for this exact host, with Path=/ — so a sibling
/// subdomain cannot plant one.
pub const SESSION: &str = "__Host-certbound-session";
/// The console's admin session: its own cookie, so an OAuth sign-in (single sign-on for
/// applications) never opens the console and signing out of the console ends only that.
pub const CONSOLE_SESSION: &str = "__Host-certbound-console";
/// The CSRF token, double-submitted in every form (also `__Host-`, for the same reason).
pub const CSRF: &str = "__Host-certbound-csrf";

/// The value of a cookie sent by the browser.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A `Set-Cookie` value; `max_age` None deletes the cookie.
pub fn set(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.unwrap_or(0);
    let text = format!("{name}={value}; Path=/; Max-Age={age}; Secure; HttpOnly; SameSite=Lax");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}
