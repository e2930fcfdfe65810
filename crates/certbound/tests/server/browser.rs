//! A cookie-keeping HTTP "browser" built on curl, for driving the sign-in and consent pages at
//! the HTTP level (the real-Chromium test is in `e2e.rs`).

use crate::harness::{Response, Server};
use std::path::PathBuf;
use std::process::Command;

/// A user agent with its own cookie jar.
pub struct Browser {
    jar: PathBuf,
    ca: PathBuf,
    base: String,
}

impl Browser {
    pub fn new(server: &Server, name: &str) -> Browser {
        Browser {
            jar: server.path().join(format!("{name}.cookies")),
            ca: server.ca(),
            base: server.url(""),
        }
    }

    /// The same browser (same cookie jar) talking to another server, e.g. a second node behind
    /// one host name: cookies are scoped to `localhost`, whatever the port.
    pub fn on(&self, server: &Server) -> Browser {
        Browser {
            jar: self.jar.clone(),
            ca: server.ca(),
            base: server.url(""),
        }
    }

    fn curl(&self, args: &[&str], url: &str) -> Response {
        let headers = tempfile::NamedTempFile::new().unwrap();
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "30", "--cacert"])
            .arg(&self.ca)
            .arg("-b")
            .arg(&self.jar)
            .arg("-c")
            .arg(&self.jar)
            .arg("-D")
            .arg(headers.path())
            .args(["-w", "\n%{http_code}"])
            .args(args)
            .arg(url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        Response {
            status: status.trim().parse().unwrap(),
            headers: std::fs::read_to_string(headers.path()).unwrap(),
            body: body.to_owned(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub fn get(&self, url: &str) -> Response {
        self.curl(&[], &self.absolute(url))
    }

    pub fn post(&self, url: &str, pairs: &[(&str, &str)]) -> Response {
        self.post_with(url, pairs, &[])
    }

    /// [`Browser::post`] with more curl arguments (e.g. `--limit-rate` for a slow upload).
    pub fn post_with(&self, url: &str, pairs: &[(&str, &str)], args: &[&str]) -> Response {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut all = vec!["--data-raw", &body];
        all.extend_from_slice(args);
        self.curl(&all, &self.absolute(url))
    }

    /// The cookie jar file (for a curl command of a test's own).
    pub fn jar(&self) -> &std::path::Path {
        &self.jar
    }

    /// Whether the jar holds a cookie of this name, and its value.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let jar = std::fs::read_to_string(&self.jar).ok()?;
        jar.lines()
            .filter(|l| !l.starts_with("# ") && !l.is_empty())
            .find_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 7 && f[5] == name).then(|| f[6].to_owned())
            })
    }
}

/// Percent-encodes a form value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value attribute of the input named `name` (HTML-unescaped).
pub fn input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

/// Decodes the HTML character references a template engine emits (named and numeric).
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
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") => u32::from_str_radix(&entity[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `Location` of a redirect.
pub fn location(r: &Response) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no Location (status {}): {}", r.status, r.body))
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
