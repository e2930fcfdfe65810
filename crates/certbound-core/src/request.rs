//! Typed token-endpoint and introspection requests, parsed from raw form bodies and headers
//! (DESIGN rule 9: parse, don't validate). Bad input becomes an RFC 6749 §5.2 error here.

use crate::OAuthError;
use crate::model::GrantType;
use crate::scope::Scope;
use crate::secret::Secret;
use base64::Engine;

/// Longest value accepted for any single parameter.
const MAX_PARAM_LEN: usize = 8 * 1024;

/// A parsed `application/x-www-form-urlencoded` body in which no parameter repeats.
///
/// The pairs are kept in a vector and looked up by a linear scan: a token or introspection
/// request has a handful of parameters, for which that is cheaper than hashing every name
/// (issue 9: the form cost about 4 % of a client_credentials request's instructions as a
/// hash map).
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

/// Up to this many parameters, repetition is checked pairwise; above it, on sorted names
/// (a large body must not cost quadratic time).
const PAIRWISE_MAX: usize = 16;

impl Form {
    /// Parses a form body. RFC 6749 §3.1/§3.2: parameters sent without a value are treated as
    /// omitted, and a parameter must not be included more than once (`invalid_request`).
    /// Values must be valid UTF-8 without control characters.
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let pairs = form_pairs(body)?;
        // Repetition is checked before empty values are dropped, so
        // `grant_type=&grant_type=x` is refused too.
        let repeated = if pairs.len() <= PAIRWISE_MAX {
            pairs
                .iter()
                .enumerate()
                .any(|(i, (k, _))| pairs[..i].iter().any(|(seen, _)| seen == k))
        } else {
            let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            names.sort_unstable();
            names.windows(2).any(|w| w[0] == w[1])
        };
        if repeated {
            return Err(OAuthError::invalid_request(
                "a request parameter is included more than once",
            ));
        }
        let mut kept = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if v.len() > MAX_PARAM_LEN {
                return Err(OAuthError::invalid_request(
                    "a request parameter is too long",
                ));
            }
            if v.chars().any(char::is_control) {
                return Err(OAuthError::invalid_request(
                    "a request parameter contains control characters",
                ));
            }
            kept.push((k, v));
        }
        Ok(Form(kept))
    }

    /// The value of a parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Removes and returns a parameter.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.swap_remove(i).1)
    }
}

/// Splits a form body into decoded pairs, rejecting invalid UTF-8 (after percent-decoding).
pub fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let mut out = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        out.push((decode_component(k)?, decode_component(v)?));
    }
    Ok(out)
}

/// Decodes one `application/x-www-form-urlencoded` component ('+' is a space).
pub fn decode_component(raw: &[u8]) -> Result<String, OAuthError> {
    if !raw.iter().any(|b| matches!(b, b'%' | b'+')) {
        return std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| OAuthError::invalid_request("request parameters must be UTF-8"));
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = raw.get(i + 1).and_then(|c| hex(*c));
                let low = raw.get(i + 2).and_then(|c| hex(*c));
                let (Some(h), Some(l)) = (high, low) else {
                    return Err(OAuthError::invalid_request("malformed percent-encoding"));
                };
                bytes.push((h << 4) | l);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes)
        .map_err(|_| OAuthError::invalid_request("request parameters must be UTF-8"))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Credentials from an `Authorization: Basic` header (RFC 7617).
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    /// The user-id part as sent.
    pub username: String,
    /// The password part as sent.
    pub password: Secret,
}

impl BasicCredentials {
    /// Parses the value of an `Authorization` header. `Ok(None)` when the scheme is not Basic.
    pub fn parse(header: &[u8]) -> Result<Option<BasicCredentials>, OAuthError> {
        let bad = || OAuthError::invalid_client("malformed HTTP Basic credentials");
        let text = std::str::from_utf8(header).map_err(|_| bad())?;
        let Some((scheme, rest)) = text.trim().split_once(' ') else {
            return Ok(None);
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(None);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
        if user.is_empty() || user.chars().any(char::is_control) {
            return Err(bad());
        }
        Ok(Some(BasicCredentials {
            username: user.to_owned(),
            password: Secret::new(pass),
        }))
    }

    /// The credentials as a client's: RFC 6749 §2.3.1 form-encodes client_id and secret
    /// before Basic encoding, so both are decoded here.
    pub fn as_client(&self) -> Result<(String, Secret), OAuthError> {
        let bad = |_| OAuthError::invalid_client("malformed HTTP Basic credentials");
        let id = decode_component(self.username.as_bytes()).map_err(bad)?;
        let secret = decode_component(self.password.expose().as_bytes()).map_err(bad)?;
        Ok((id, Secret::new(secret)))
    }
}

/// How a client presented itself on a request, before authentication (RFC 6749 §2.3).
#[derive(Debug, Default, Clone)]
pub struct ClientCredentialsInput {
    /// `client_id` from the body.
    pub client_id: Option<String>,
    /// `client_secret` from the body (`client_secret_post`).
    pub client_secret: Option<Secret>,
    /// The Basic header, if any (`client_secret_basic`).
    pub basic: Option<BasicCredentials>,
}

impl ClientCredentialsInput {
    /// The client_id the request claims, before authentication (for rate limits): the Basic
    /// user name (RFC 6749 §2.3.1, decoded), else the body's `client_id`. Borrowed unless it
    /// had to be decoded.
    pub fn claimed_client_id(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.basic {
            Some(b) => decode_component(b.username.as_bytes())
                .ok()
                .map(std::borrow::Cow::Owned),
            None => self.client_id.as_deref().map(std::borrow::Cow::Borrowed),
        }
    }

    /// Takes the client authentication parameters out of a form. JWT client assertions
    /// (RFC 7523) are not supported and are refused rather than ignored.
    pub fn from_form(form: &mut Form, basic: Option<BasicCredentials>) -> Result<Self, OAuthError> {
        if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
            return Err(OAuthError::invalid_client(
                "client assertions are not supported by this server",
            ));
        }
        Ok(ClientCredentialsInput {
            client_id: form.take("client_id"),
            client_secret: form.take("client_secret").map(Secret::new),
            basic,
        })
    }
}

/// A token request (RFC 6749 §4.4.2 and, later, §4.1.3 and §6).
#[derive(Debug)]
pub struct TokenRequest {
    /// The grant being exercised.
    pub grant: GrantRequest,
    /// How the client presented itself.
    pub credentials: ClientCredentialsInput,
}

/// The grant-specific part of a token request.
#[derive(Debug)]
pub enum GrantRequest {
    /// RFC 6749 §4.4.2.
    ClientCredentials {
        /// Requested scope, if any.
        scope: Option<Scope>,
    },
    /// RFC 6749 §4.1.3.
    AuthorizationCode(crate::grant::CodeRequest),
    /// RFC 6749 §6.
    RefreshToken(crate::grant::RefreshRequest),
}

impl TokenRequest {
    /// Parses a token request from its form body and Basic header.
    pub fn parse(
        mut form: Form,
        basic: Option<BasicCredentials>,
    ) -> Result<TokenRequest, OAuthError> {
        let credentials = ClientCredentialsInput::from_form(&mut form, basic)?;
        let grant_type = form
            .take("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("the grant_type parameter is missing"))?;
        let grant_type: GrantType = grant_type.parse().map_err(|_| unsupported())?;
        let scope = form.get("scope").map(Scope::parse).transpose()?;
        let grant = match grant_type {
            GrantType::ClientCredentials => GrantRequest::ClientCredentials { scope },
            GrantType::AuthorizationCode => {
                GrantRequest::AuthorizationCode(crate::grant::CodeRequest {
                    code: form.take("code").map(Secret::new).ok_or_else(|| {
                        OAuthError::invalid_request("the code parameter is missing")
                    })?,
                    redirect_uri: form.take("redirect_uri"),
                    code_verifier: form.take("code_verifier").map(Secret::new),
                })
            }
            GrantType::RefreshToken => GrantRequest::RefreshToken(crate::grant::RefreshRequest {
                refresh_token: form.take("refresh_token").map(Secret::new).ok_or_else(|| {
                    OAuthError::invalid_request("the refresh_token parameter is missing")
                })?,
                scope,
            }),
        };
        Ok(TokenRequest { grant, credentials })
    }
}

fn unsupported() -> OAuthError {
    OAuthError::new(
        crate::ErrorCode::UnsupportedGrantType,
        "the grant_type is not supported by this server",
    )
}

/// An introspection request (RFC 7662 §2.1).
#[derive(Debug)]
pub struct IntrospectionRequest {
    /// The token to introspect.
    pub token: Secret,
    /// `token_type_hint`: which kind to look up first.
    pub hint: crate::revoke::TokenTypeHint,
    /// How the caller presented itself.
    pub credentials: ClientCredentialsInput,
}

impl IntrospectionRequest {
    /// Parses an introspection request. `token_type_hint` only chooses which kind of token is
    /// looked up first (RFC 7662 §2.1).
    pub fn parse(mut form: Form, basic: Option<BasicCredentials>) -> Result<Self, OAuthError> {
        let credentials = ClientCredentialsInput::from_form(&mut form, basic)?;
        let token = form
            .take("token")
            .ok_or_else(|| OAuthError::invalid_request("the token parameter is missing"))?;
        let hint = crate::revoke::TokenTypeHint::parse(form.get("token_type_hint"));
        Ok(IntrospectionRequest {
            token: Secret::new(token),
            hint,
            credentials,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn form_rejects_repeated_parameters() {
        let e = Form::parse(b"grant_type=&grant_type=client_credentials").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "an empty repeat counts");
        let e = Form::parse(b"grant_type=client_credentials&grant_type=client_credentials")
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn form_checks_repetition_in_large_bodies_too() {
        // Above PAIRWISE_MAX parameters the names are compared sorted.
        let distinct: Vec<String> = (0..5_000).map(|i| format!("p{i}=v")).collect();
        let body = distinct.join("&");
        let f = Form::parse(body.as_bytes()).unwrap();
        assert_eq!(f.get("p0"), Some("v"));
        assert_eq!(f.get("p4999"), Some("v"));
        let repeated = format!("{body}&p1234=again");
        let e = Form::parse(repeated.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        // At the boundary (n parameters in all: pairwise up to PAIRWISE_MAX, sorted above),
        // both ways of checking agree.
        for n in [PAIRWISE_MAX, PAIRWISE_MAX + 1] {
            let distinct: Vec<String> = (0..n).map(|i| format!("q{i}=x")).collect();
            assert!(Form::parse(distinct.join("&").as_bytes()).is_ok(), "{n}");
            let mut repeated: Vec<String> = (0..n - 1).map(|i| format!("q{i}=x")).collect();
            repeated.push(format!("q{}=", n - 2));
            assert!(Form::parse(repeated.join("&").as_bytes()).is_err(), "{n}");
        }
    }

    #[test]
    fn form_take_removes_the_parameter() {
        let mut f = Form::parse(b"a=1&b=2&c=3").unwrap();
        assert_eq!(f.take("a").as_deref(), Some("1"));
        assert_eq!(f.take("a"), None);
        assert_eq!(f.get("b"), Some("2"));
        assert_eq!(f.get("c"), Some("3"));
    }

    #[test]
    fn form_treats_empty_values_as_omitted_and_decodes() {
        let f = Form::parse(b"a=&b=x+y%2Bz&c").unwrap();
        assert_eq!(f.get("a"), None);
        assert_eq!(f.get("b"), Some("x y+z"));
        assert_eq!(f.get("c"), None);
    }

    #[test]
    fn form_rejects_nul_non_utf8_and_bad_percent() {
        for body in [
            &b"client_id=a%00b"[..],
            b"client_id=\xff\xfe",
            b"client_id=%ZZ",
            b"client_id=%4",
        ] {
            assert_eq!(
                Form::parse(body).unwrap_err().code,
                ErrorCode::InvalidRequest,
                "{body:?}"
            );
        }
    }

    #[test]
    fn error_descriptions_never_echo_input() {
        let body = b"grant_type=<script>alert(1)</script>";
        let e = TokenRequest::parse(Form::parse(body).unwrap(), None).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        assert!(!e.description.contains("script"));
    }

    #[test]
    fn basic_credentials_are_form_decoded_for_clients_only() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my%20id:p%2Bw+d")
        );
        let b = BasicCredentials::parse(header.as_bytes()).unwrap().unwrap();
        assert_eq!(b.username, "my%20id");
        let (id, secret) = b.as_client().unwrap();
        assert_eq!(id, "my id");
        assert_eq!(secret.expose(), "p+w d");
        assert!(BasicCredentials::parse(b"Bearer abc").unwrap().is_none());
        assert!(BasicCredentials::parse(b"Basic !!!").is_err());
        assert!(
            BasicCredentials::parse(b"Basic bm9jb2xvbg==").is_err(),
            "no colon"
        );
    }

    #[test]
    fn client_credentials_request_parses_scope_and_credentials() {
        let f =
            Form::parse(b"grant_type=client_credentials&client_id=abc&scope=read%20write").unwrap();
        let r = TokenRequest::parse(f, None).unwrap();
        assert_eq!(r.credentials.client_id.as_deref(), Some("abc"));
        let GrantRequest::ClientCredentials { scope } = r.grant else {
            panic!("wrong grant")
        };
        assert_eq!(scope.unwrap().to_string(), "read write");
    }

    #[test]
    fn missing_and_unknown_grant_types() {
        let e = TokenRequest::parse(Form::parse(b"client_id=x").unwrap(), None).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e =
            TokenRequest::parse(Form::parse(b"grant_type=password").unwrap(), None).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
    }
}
