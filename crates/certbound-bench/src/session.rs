//! Signing in through certbound's real sign-in page and consenting with `approve_always`, as
//! a browser would, so the `code` and `refresh` scenarios can get codes with one GET. Keeps
//! the cookies; follows only the server's own redirects, never the one to the client.

use crate::form::{encode_pairs, form_action, input, inputs, query_param};
use crate::http::{Channel, Outgoing, Response};
use anyhow::{Result, anyhow, bail};
use hyper::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};

/// The cookies a browser would hold.
#[derive(Debug, Default, Clone)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    /// Takes in every `Set-Cookie` of a response (a `Max-Age=0` one deletes its cookie).
    pub fn absorb(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let Ok(text) = v.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            let deleted = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.cookies.retain(|(n, _)| *n != name);
            if !deleted {
                self.cookies.push((name, value));
            }
        }
    }

    /// The `Cookie` header value, or None when the jar is empty.
    pub fn header(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let text = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&text).ok()
    }
}

/// Sends `out` with the jar's cookies and keeps the ones the response sets.
async fn browse(browser: &mut Channel, jar: &mut Jar, mut out: Outgoing) -> Result<Response> {
    if let Some(c) = jar.header() {
        out = out.with_header(COOKIE, c);
    }
    let r = browser
        .send(&out)
        .await
        .map_err(|f| anyhow!("{} {}: {}", out.method, out.path, f.as_str()))?;
    jar.absorb(&r.headers);
    Ok(r)
}

/// Signs `username` in, starting from the authorization request `authorize` (path and query),
/// and approves the client always (every claim offered). Returns the cookies of the session.
pub async fn sign_in(
    browser: &mut Channel,
    authorize: &str,
    username: &str,
    password: &str,
) -> Result<Jar> {
    let mut jar = Jar::default();
    let mut r = browse(browser, &mut jar, Outgoing::get(authorize)).await?;
    let mut signed_in = false;
    // sign-in page, redirect back to authorize, consent page, redirect to the client: 4 steps.
    for _ in 0..6 {
        if matches!(r.status, 301 | 302 | 303 | 307) {
            let to = r
                .header("location")
                .ok_or_else(|| anyhow!("redirect {} without Location", r.status))?
                .to_owned();
            if query_param(&to, "code").is_some() {
                return Ok(jar);
            }
            if let Some(e) = query_param(&to, "error") {
                bail!("authorization failed: {e} (redirect to {to})");
            }
            if !to.starts_with('/') {
                bail!("unexpected redirect to {to}");
            }
            r = browse(browser, &mut jar, Outgoing::get(&to)).await?;
            continue;
        }
        let page = r.text();
        let action = match (r.status, form_action(&page)) {
            (200, Some(a)) => a,
            _ => bail!(
                "unexpected answer {} on the way to consent: {page:.300}",
                r.status
            ),
        };
        let csrf = input(&page, "csrf").ok_or_else(|| anyhow!("no csrf on {action} form"))?;
        let request = input(&page, "request").ok_or_else(|| anyhow!("no request on form"))?;
        let body = if action.ends_with("/login") {
            if signed_in {
                bail!("sign-in as {username} was refused (wrong password or throttled)");
            }
            signed_in = true;
            encode_pairs(&[
                ("csrf", &csrf),
                ("request", &request),
                ("username", username),
                ("password", password),
            ])
        } else if action.ends_with("/consent") {
            let claims = inputs(&page, "claim");
            let mut pairs = vec![
                ("csrf", csrf.as_str()),
                ("request", request.as_str()),
                ("decision", "approve_always"),
            ];
            pairs.extend(claims.iter().map(|c| ("claim", c.as_str())));
            encode_pairs(&pairs)
        } else {
            bail!("unexpected form posting to {action}");
        };
        r = browse(
            browser,
            &mut jar,
            Outgoing::form(&action, &HeaderMap::new(), body),
        )
        .await?;
    }
    bail!("no code after signing in and consenting")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_sets_replaces_and_deletes_cookies() {
        let mut jar = Jar::default();
        let mut h = HeaderMap::new();
        for v in [
            "__Host-certbound-csrf=abc; Path=/; Max-Age=3600; Secure; HttpOnly",
            "__Host-certbound-session=s1; Path=/; Max-Age=28800; Secure",
        ] {
            h.append(SET_COOKIE, HeaderValue::from_static(v));
        }
        jar.absorb(&h);
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("__Host-certbound-csrf=; Path=/; Max-Age=0"),
        );
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("__Host-certbound-session=s2; Path=/"),
        );
        jar.absorb(&h);
        assert_eq!(
            jar.header(),
            Some(HeaderValue::from_static("__Host-certbound-session=s2"))
        );
        assert_eq!(Jar::default().header(), None);
    }
}
