//! Small text helpers for driving HTML forms and OAuth redirects: form encoding, reading
//! hidden inputs out of a page, query parameters out of a `Location`. No HTTP here.

/// Percent-encodes a form or query value (everything but unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An `application/x-www-form-urlencoded` body of these pairs.
pub fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value attribute of the first input named `name` (HTML-unescaped).
pub fn input(html: &str, name: &str) -> Option<String> {
    inputs(html, name).into_iter().next()
}

/// The value attributes of every input named `name` (HTML-unescaped), in page order.
pub fn inputs(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&marker) {
        let tail = &rest[i + marker.len()..];
        let Some(end) = tail.find('"') else { break };
        out.push(unescape(&tail[..end]));
        rest = &tail[end..];
    }
    out
}

/// The `action` of the first form on a page (HTML-unescaped).
pub fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    let tail = &form[form.find("action=\"")? + "action=\"".len()..];
    Some(unescape(&tail[..tail.find('"')?]))
}

/// Decodes the character references a template engine emits (named and numeric).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        match entity(&tail[1..end]) {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// A query parameter of a URL (percent-decoded), e.g. `code` of a redirect `Location`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The string value of a top-level member of a JSON object body, if the body is JSON.
pub fn json_string(body: &[u8], member: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get(member)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(enc("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_pairs(&[("x", "1 2"), ("y", "z")]), "x=1%202&y=z");
    }

    #[test]
    fn reads_hidden_inputs_and_the_form_action() {
        let page = r#"<form method="post" action="/oauth2/authorize/login?a=1&amp;b=2">
            <input type="hidden" name="csrf" value="abc">
            <input type="hidden" name="request" value="x=1&amp;y=&#x27;2&#39;">
            <input type="checkbox" name="claim" value="email" checked>
            <input type="checkbox" name="claim" value="given_name" checked>"#;
        assert_eq!(input(page, "csrf").as_deref(), Some("abc"));
        assert_eq!(input(page, "request").as_deref(), Some("x=1&y='2'"));
        assert_eq!(inputs(page, "claim"), vec!["email", "given_name"]);
        assert_eq!(
            form_action(page).as_deref(),
            Some("/oauth2/authorize/login?a=1&b=2")
        );
        assert_eq!(input(page, "missing"), None);
    }

    #[test]
    fn reads_query_parameters_of_a_redirect() {
        let loc = "https://127.0.0.1/cb?code=a%2Bb+c&state=xyz#frag";
        assert_eq!(query_param(loc, "code").as_deref(), Some("a+b c"));
        assert_eq!(query_param(loc, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(loc, "error"), None);
        assert_eq!(query_param("https://x/cb", "code"), None);
    }

    #[test]
    fn reads_a_json_member() {
        let body = br#"{"access_token":"at","refresh_token":"rt","expires_in":3600}"#;
        assert_eq!(json_string(body, "refresh_token").as_deref(), Some("rt"));
        assert_eq!(json_string(body, "expires_in"), None);
        assert_eq!(json_string(b"not json", "x"), None);
    }
}
