//! Server-rendered HTML pages (askama templates under `templates/`): sign-in, consent and
//! error pages, with the security headers every page carries.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// The client's name.
    pub client_name: &'a str,
    /// CSRF token (double-submitted with the cookie).
    pub csrf: &'a str,
    /// The authorization request, carried through.
    pub request: &'a str,
    /// The username typed before, after a failure.
    pub username: &'a str,
    /// A message after a failure.
    pub error: Option<&'a str>,
}

/// One attribute on the consent page.
pub struct ClaimRow {
    /// Claim name (the checkbox value).
    pub name: String,
    /// Human label.
    pub label: &'static str,
    /// The user's value, shown so the user knows what is shared.
    pub value: String,
}

/// The consent page.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// The client's name.
    pub client_name: &'a str,
    /// The signed-in user.
    pub username: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The authorization request, carried through.
    pub request: &'a str,
    /// Requested attributes.
    pub claims: Vec<ClaimRow>,
    /// Requested scopes, for information.
    pub scopes: String,
}

/// An error page (never a redirect: RFC 6749 §4.1.2.1).
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// What went wrong.
    pub message: &'a str,
    /// The OAuth error code.
    pub code: &'a str,
}

/// The stylesheet the pages link to (CSP allows only same-origin styles).
pub const STYLESHEET: &str = include_str!("../static/certbound.css");

/// A human label for a standard claim.
pub fn claim_label(name: &str) -> &'static str {
    match name {
        "name" => "Full name",
        "given_name" => "First name",
        "family_name" => "Last name",
        "middle_name" => "Middle name",
        "nickname" => "Nickname",
        "preferred_username" => "Preferred username",
        "profile" => "Profile page",
        "picture" => "Picture",
        "website" => "Website",
        "gender" => "Gender",
        "birthdate" => "Birth date",
        "zoneinfo" => "Time zone",
        "locale" => "Language",
        "updated_at" => "Profile last updated",
        "email" => "Email address",
        "email_verified" => "Email verified",
        "phone_number" => "Phone number",
        "phone_number_verified" => "Phone verified",
        "address" => "Address",
        _ => "Attribute",
    }
}

/// Renders a page with the headers every page sends: no caching, no framing
/// (`frame-ancestors 'none'`), no inline script or style, no referrer.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (status, html).into_response();
    secure_headers(response.headers_mut());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The security headers of every HTML response.
pub fn secure_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An error page response.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    render(status, &ErrorPage { message, code })
}

/// A redirect (302 after GET, 303 after POST) with the page security headers.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(response.headers_mut());
    response
}
