//! The playground's pages (askama templates `templates/playground*.html`) and JWT decoding for
//! display. Rendering goes through `pages::render`, so the pages carry the same CSP and
//! security headers as certbound's own. Decoding here never claims a signature was checked:
//! the `checked` note of a [`JwtView`] is set only by `flows` after a real verification.

use super::outbound::{Exchange, Problem};
use crate::pages;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The stylesheet of the playground pages.
const STYLESHEET: &str = include_str!("../../static/playground.css");

/// What the action panel needs to know about the session.
pub struct Nav {
    /// An access token is held.
    pub has_access: bool,
    /// A refresh token is held.
    pub has_refresh: bool,
}

/// A decoded JWT.
pub struct JwtView {
    /// "id_token" or "access_token".
    pub label: String,
    /// Pretty JSON header.
    pub header: String,
    /// Pretty JSON claims.
    pub claims: String,
    /// Set only when the signature (and claims) were really verified: by whom.
    pub checked: Option<String>,
    /// Why verification failed, when it was attempted.
    pub note: Option<String>,
}

/// One highlighted fact of a result (`id` is a stable element id).
pub struct Fact {
    /// Element id.
    pub id: &'static str,
    /// Label.
    pub label: String,
    /// Value.
    pub value: String,
}

/// The index page.
#[derive(Template)]
#[template(path = "playground_index.html")]
pub struct IndexPage {
    /// Action panel state.
    pub nav: Nav,
    /// `data-step` of the page.
    pub step: &'static str,
    /// The issuer.
    pub issuer: String,
    /// The playground's client_id.
    pub client_id: String,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// x5t#S256 of the registered certificate.
    pub right_x5t: String,
    /// x5t#S256 of the unregistered certificate.
    pub other_x5t: String,
    /// The protected API URL.
    pub api_url: String,
    /// Whether the issuer's discovery document answered with the right issuer.
    pub server_ok: bool,
    /// What the discovery check found.
    pub server_text: String,
    /// Problems with what to do.
    pub problems: Vec<Problem>,
}

/// A result page: the requests made, their responses, decoded tokens.
#[derive(Template)]
#[template(path = "playground_result.html")]
pub struct ResultPage {
    /// Action panel state.
    pub nav: Nav,
    /// `data-step` of the page (stable, for tests).
    pub step: &'static str,
    /// Page heading.
    pub title: String,
    /// What this step demonstrates.
    pub lead: String,
    /// The main response's status (shown in `#status`).
    pub status: String,
    /// Whether the outcome is the expected one.
    pub expected: bool,
    /// One sentence on the outcome.
    pub outcome: String,
    /// Problems with what to do.
    pub problems: Vec<Problem>,
    /// Highlighted facts.
    pub facts: Vec<Fact>,
    /// The HTTP exchanges, in order.
    pub exchanges: Vec<Exchange>,
    /// Decoded JWTs.
    pub jwts: Vec<JwtView>,
}

impl ResultPage {
    /// A page for `step` with no content yet.
    pub fn new(nav: Nav, step: &'static str, title: &str, lead: &str) -> ResultPage {
        ResultPage {
            nav,
            step,
            title: title.to_owned(),
            lead: lead.to_owned(),
            status: "—".to_owned(),
            expected: false,
            outcome: String::new(),
            problems: Vec::new(),
            facts: Vec::new(),
            exchanges: Vec::new(),
            jwts: Vec::new(),
        }
    }

    /// Adds a fact.
    pub fn fact(&mut self, id: &'static str, label: &str, value: impl Into<String>) {
        self.facts.push(Fact {
            id,
            label: label.to_owned(),
            value: value.into(),
        });
    }
}

/// Renders a page with certbound's security headers.
pub fn render(page: &impl Template) -> Response {
    pages::render(StatusCode::OK, page)
}

/// `GET /static/playground.css`.
pub async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    response
}

/// Unknown paths.
pub async fn not_found() -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such page. The playground is at /playground2/.",
    )
}

/// Decodes a compact JWS's header and claims without verifying anything.
pub fn decode_jwt(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header = serde_json::from_slice(&b64url_decode(h)?).ok()?;
    let claims = serde_json::from_slice(&b64url_decode(c)?).ok()?;
    Some((header, claims))
}

/// A [`JwtView`] of a token (unverified), or `None` when it is not a JWT.
pub fn jwt_view(label: &str, token: &str) -> Option<JwtView> {
    let (header, claims) = decode_jwt(token)?;
    Some(JwtView {
        label: label.to_owned(),
        header: serde_json::to_string_pretty(&header).unwrap_or_default(),
        claims: serde_json::to_string_pretty(&claims).unwrap_or_default(),
        checked: None,
        note: None,
    })
}

/// base64url without padding (RFC 4648 §5), as used by JWS.
fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_jwt_without_trusting_it() {
        // {"alg":"none"} . {"sub":"alice"} . (empty signature)
        let (h, c) = decode_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.").unwrap();
        assert_eq!(h["alg"], "none");
        assert_eq!(c["sub"], "alice");
        assert!(decode_jwt("opaque-token").is_none());
        assert!(decode_jwt("a.b.c.d").is_none());
        assert!(
            jwt_view("x", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.")
                .unwrap()
                .checked
                .is_none()
        );
    }
}
