//! Outgoing HTTPS calls of the playground, recorded as [`Exchange`]s so each page can show the
//! exact request (with secrets redacted) and response, and the advice shown when a call fails
//! for a reason the user can fix (server not running, wrong issuer, other data directory).
//! Nothing here keeps state; the handlers in `flows` decide what to remember.

use super::Playground;
use super::setup::Identity;
use serde_json::Value;

/// Form fields whose values are secrets: shown only as a short prefix.
const SECRET_FIELDS: [&str; 6] = [
    "token",
    "refresh_token",
    "code",
    "code_verifier",
    "client_secret",
    "password",
];
/// Response headers worth showing.
const INTERESTING: [&str; 6] = [
    "content-type",
    "cache-control",
    "pragma",
    "www-authenticate",
    "location",
    "retry-after",
];

/// One HTTP request and its response (or the transport error), as shown on a page.
pub struct Exchange {
    /// What this call is, e.g. "Token request".
    pub title: String,
    /// HTTP method.
    pub method: &'static str,
    /// Full URL.
    pub url: String,
    /// Request headers sent (Authorization redacted).
    pub request_headers: Vec<(String, String)>,
    /// The form body sent, secrets redacted.
    pub request_body: Option<String>,
    /// Which certificate was presented in the TLS handshake and its `x5t#S256`.
    pub certificate: String,
    /// Response status, when a response came.
    pub status: Option<u16>,
    /// Response headers of interest.
    pub response_headers: Vec<(String, String)>,
    /// Response body, pretty-printed when JSON.
    pub response_body: String,
    /// The body as JSON, when it is.
    pub json: Option<Value>,
    /// The transport error, when no response came.
    pub error: Option<String>,
}

impl Exchange {
    /// The status as shown on the page (`error` when no response came).
    pub fn status_text(&self) -> String {
        self.status
            .map_or_else(|| "error".to_owned(), |s| s.to_string())
    }

    /// A string member of the JSON body.
    pub fn json_str(&self, name: &str) -> Option<String> {
        self.json
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// A problem the user can fix, with what to do.
pub struct Problem {
    /// What went wrong.
    pub what: String,
    /// What to do about it.
    pub todo: String,
}

/// POSTs an urlencoded form over mutual TLS with `identity`.
pub async fn post_form(
    identity: &Identity,
    title: &str,
    url: String,
    fields: &[(&str, &str)],
) -> Exchange {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let shown = fields
        .iter()
        .map(|(k, v)| {
            if SECRET_FIELDS.contains(k) {
                format!("{k}={}", redact(v))
            } else {
                format!("{}={}", enc(k), enc(v))
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let request = identity
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body);
    let mut exchange = blank(identity, title, "POST", url);
    exchange.request_headers = vec![
        (
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ),
        ("Accept".into(), "application/json".into()),
    ];
    exchange.request_body = Some(shown);
    send(exchange, request).await
}

/// GETs a URL, with a bearer token when given, over mutual TLS with `identity`.
pub async fn get(identity: &Identity, title: &str, url: String, bearer: Option<&str>) -> Exchange {
    let mut request = identity.http.get(&url).header("accept", "application/json");
    let mut exchange = blank(identity, title, "GET", url);
    exchange.request_headers = vec![("Accept".into(), "application/json".into())];
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
        exchange
            .request_headers
            .push(("Authorization".into(), format!("Bearer {}", redact(token))));
    }
    send(exchange, request).await
}

fn blank(identity: &Identity, title: &str, method: &'static str, url: String) -> Exchange {
    Exchange {
        title: title.to_owned(),
        method,
        url,
        request_headers: Vec::new(),
        request_body: None,
        certificate: format!(
            "the {} certificate, x5t#S256 = {}",
            identity.label, identity.x5t
        ),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        json: None,
        error: None,
    }
}

async fn send(mut exchange: Exchange, request: reqwest::RequestBuilder) -> Exchange {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            exchange.error = Some(crate::error_text::chain(&e));
            return exchange;
        }
    };
    exchange.status = Some(response.status().as_u16());
    exchange.response_headers = response
        .headers()
        .iter()
        .filter(|(name, _)| INTERESTING.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    match response.text().await {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(json) => {
                exchange.response_body = serde_json::to_string_pretty(&json).unwrap_or(text);
                exchange.json = Some(json);
            }
            Err(_) => exchange.response_body = text,
        },
        Err(e) => exchange.error = Some(crate::error_text::chain(&e)),
    }
    exchange
}

/// What to do about a failed exchange with certbound, if anything is known.
pub fn diagnose(pg: &Playground, exchange: &Exchange) -> Option<Problem> {
    if let Some(error) = &exchange.error {
        let lower = error.to_ascii_lowercase();
        let (what, todo) = if lower.contains("certificate") || lower.contains("unknownissuer") {
            (
                format!("The TLS certificate of {} is not trusted.", exchange.url),
                format!(
                    "The playground trusts only the CA in {}. Run it with the same --data-dir as the certbound server, or fix --issuer.",
                    pg.ca_path.display()
                ),
            )
        } else if lower.contains("connect") || lower.contains("refused") || lower.contains("dns") {
            (
                format!("Nothing answers at {}.", exchange.url),
                format!(
                    "Start certbound (certbound serve --data-dir {}) or pass --issuer with the issuer it prints.",
                    pg.data_dir.display()
                ),
            )
        } else {
            (
                format!("The request to {} failed: {error}.", exchange.url),
                "Check that certbound is running and that --issuer is its issuer.".to_owned(),
            )
        };
        return Some(Problem { what, todo });
    }
    let code = exchange.json_str("error");
    match (exchange.status, code.as_deref()) {
        (Some(404), _) => Some(Problem {
            what: format!("{} does not exist (404).", exchange.url),
            todo: format!(
                "Is {} really a certbound issuer? Pass --issuer with the issuer certbound prints at start.",
                pg.issuer
            ),
        }),
        (_, Some("invalid_client")) => Some(Problem {
            what: "certbound does not accept the playground client.".into(),
            todo: format!(
                "The client is registered in the store under {}; run the playground with the same --data-dir as the server, then restart it.",
                pg.data_dir.display()
            ),
        }),
        _ => None,
    }
}

/// The first 8 characters of a secret, then a marker.
pub fn redact(secret: &str) -> String {
    let prefix: String = secret.chars().take(8).collect();
    format!("{prefix}…[redacted]")
}

/// Percent-encodes for `application/x-www-form-urlencoded` and query strings.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_redacts() {
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
        assert_eq!(redact("abcdefghijkl"), "abcdefgh…[redacted]");
        assert!(!redact("supersecretvalue").contains("value"));
    }
}
