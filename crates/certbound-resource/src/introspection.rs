//! RFC 7662 token introspection: the request (form and client authentication), the response
//! checks, and a cache of active results keyed by the SHA-256 of the token — never the token
//! itself — that expires after the configured TTL and never outlives the token's `exp`.
//! The certificate binding and the scope are checked by the caller on every request, cached
//! or not.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::BearerError;
use crate::http_client::{self, FetchError};
use crate::principal::{Principal, check_time, numeric_date, unix_now};

/// Most cached results; when full, expired entries are dropped, then everything.
const MAX_CACHE_ENTRIES: usize = 10_000;

/// How the resource server authenticates to the endpoint.
pub(crate) enum Auth {
    /// The TLS client certificate is in the HTTP client; `client_id` goes in the form.
    Mtls,
    /// `Authorization: Basic …`, precomputed.
    Basic(String),
}

/// The introspection client and its cache.
pub(crate) struct Introspector {
    pub(crate) endpoint: reqwest::Url,
    pub(crate) client_id: String,
    pub(crate) auth: Auth,
    pub(crate) cache_ttl: Option<Duration>,
    pub(crate) cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

/// RFC 6749 §2.3.1: client_id and secret are form-urlencoded, joined by `:`, then base64.
pub(crate) fn basic_header(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)))
    )
}

/// The cache key: SHA-256 of the token.
pub(crate) fn cache_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Introspector {
    /// RFC 7662 §2.1 request body: `token`, `token_type_hint=access_token`, and `client_id`
    /// when authenticating with a certificate (RFC 8705 §2).
    pub(crate) fn form(&self, token: &str) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token)
            .append_pair("token_type_hint", "access_token");
        if matches!(self.auth, Auth::Mtls) {
            form.append_pair("client_id", &self.client_id);
        }
        form.finish()
    }

    /// Introspects (or reuses a cached active result) and checks the response.
    pub(crate) async fn verify(
        &self,
        http: &reqwest::Client,
        issuer: &str,
        audience: &str,
        leeway: i64,
        token: &str,
    ) -> Result<Principal, BearerError> {
        let key = cache_key(token);
        if let Some(principal) = self.cached(&key) {
            return Ok(principal);
        }
        let response = self.request(http, token).await.map_err(|e| {
            tracing::warn!(error = %e, endpoint = %self.endpoint, "introspection failed");
            BearerError::Unavailable
        })?;
        let now = unix_now();
        check_response(&response, issuer, audience, leeway, now)?;
        let principal = Principal::from_claims(response)?;
        self.remember(key, &principal, now);
        Ok(principal)
    }

    async fn request(&self, http: &reqwest::Client, token: &str) -> Result<Value, FetchError> {
        let mut request = http
            .post(self.endpoint.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(self.form(token));
        if let Auth::Basic(value) = &self.auth {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        http_client::json_body(request.send().await?).await
    }

    pub(crate) fn cached(&self, key: &[u8; 32]) -> Option<Principal> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(p, _)| p.clone())
    }

    /// Caches an active result for the TTL, but never beyond the token's `exp`.
    pub(crate) fn remember(&self, key: [u8; 32], principal: &Principal, now: i64) {
        let Some(ttl) = self.cache_ttl else { return };
        let mut lifetime = ttl;
        if let Ok(Some(exp)) = numeric_date(&principal.claims, "exp") {
            let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
            lifetime = lifetime.min(Duration::from_secs(left));
        }
        if lifetime.is_zero() {
            return;
        }
        let until = Instant::now() + lifetime;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHE_ENTRIES {
            let now = Instant::now();
            cache.retain(|_, (_, u)| now < *u);
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (principal.clone(), until));
    }
}

/// RFC 7662 §2.2: `active` must be `true`; `iss`, when present, must be the issuer; `aud`,
/// when present, must name this API; the time window is checked as for JWTs (`exp` optional
/// here); a `token_type` other than Bearer (e.g. a refresh token) is refused.
fn check_response(
    response: &Value,
    issuer: &str,
    audience: &str,
    leeway: i64,
    now: i64,
) -> Result<(), BearerError> {
    let aud_ok = match response.get("aud") {
        None => true,
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => false,
    };
    if !aud_ok {
        return Err(BearerError::InvalidToken(
            "the access token is meant for another audience",
        ));
    }
    if response.get("active") != Some(&Value::Bool(true)) {
        return Err(BearerError::InvalidToken("the access token is not active"));
    }
    if response
        .get("iss")
        .is_some_and(|iss| iss.as_str() != Some(issuer))
    {
        return Err(BearerError::InvalidToken(
            "the access token is from another issuer",
        ));
    }
    if response
        .get("token_type")
        .is_some_and(|t| !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("bearer")))
    {
        return Err(BearerError::InvalidToken(
            "the token is not a bearer access token",
        ));
    }
    check_time(response, now, leeway, false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn introspector(auth: Auth, ttl: Option<Duration>) -> Introspector {
        Introspector {
            endpoint: reqwest::Url::parse("https://as.example/oauth2/introspect").unwrap(),
            client_id: "rs 1".into(),
            auth,
            cache_ttl: ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn form_carries_token_hint_and_client_id_for_mtls_only() {
        let mtls = introspector(Auth::Mtls, None);
        assert_eq!(
            mtls.form("a+b/c="),
            "token=a%2Bb%2Fc%3D&token_type_hint=access_token&client_id=rs+1"
        );
        let basic = introspector(Auth::Basic(basic_header("rs 1", "s:é")), None);
        assert_eq!(basic.form("t"), "token=t&token_type_hint=access_token");
    }

    #[test]
    fn basic_header_form_encodes_before_base64() {
        let value = basic_header("rs 1", "p:w");
        let decoded = STANDARD
            .decode(value.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "rs+1:p%3Aw");
    }

    #[test]
    fn cache_is_keyed_by_token_hash_and_bounded_by_exp() {
        let i = introspector(Auth::Mtls, Some(Duration::from_secs(300)));
        let now = unix_now();
        let token = "secret-token-value";
        let p = Principal::from_claims(json!({"active": true, "exp": now + 600})).unwrap();
        i.remember(cache_key(token), &p, now);
        {
            let cache = i.cache.lock().unwrap();
            let expected: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            assert!(cache.contains_key(&expected));
            assert!(cache.keys().all(|k| k.as_slice() != token.as_bytes()));
            let (_, until) = cache[&expected];
            assert!(until <= Instant::now() + Duration::from_secs(300));
        }
        assert!(i.cached(&cache_key(token)).is_some());
        assert!(i.cached(&cache_key("other")).is_none());

        // exp sooner than the TTL bounds the entry; an expired token is not cached.
        let short = Principal::from_claims(json!({"active": true, "exp": now + 5})).unwrap();
        i.remember(cache_key("short"), &short, now);
        let until = i.cache.lock().unwrap()[&cache_key("short")].1;
        assert!(until <= Instant::now() + Duration::from_secs(5));
        let gone = Principal::from_claims(json!({"active": true, "exp": now - 1})).unwrap();
        i.remember(cache_key("gone"), &gone, now);
        assert!(i.cached(&cache_key("gone")).is_none());

        // No TTL: nothing is cached.
        let none = introspector(Auth::Mtls, None);
        none.remember(cache_key(token), &p, now);
        assert!(none.cached(&cache_key(token)).is_none());
    }

    #[test]
    fn inactive_foreign_or_refresh_responses_are_invalid() {
        let ok = |r: Value| check_response(&r, "https://as", "https://api", 60, 1_000).is_ok();
        assert!(ok(
            json!({"active": true, "token_type": "Bearer", "iss": "https://as"})
        ));
        assert!(ok(json!({"active": true})));
        assert!(!ok(json!({"active": false})));
        assert!(!ok(json!({"active": "true"})));
        assert!(!ok(json!({"active": true, "iss": "https://evil"})));
        assert!(!ok(json!({"active": true, "token_type": "refresh_token"})));
        assert!(!ok(json!({"active": true, "exp": 100})));
        assert!(ok(json!({"active": true, "aud": "https://api"})));
        assert!(ok(json!({"active": true, "aud": ["x", "https://api"]})));
        assert!(!ok(json!({"active": true, "aud": "https://other-api"})));
    }
}
