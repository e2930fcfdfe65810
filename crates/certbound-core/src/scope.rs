//! Scope values (RFC 6749 §3.3): parsing and the client's scope policy.

use crate::OAuthError;
use std::collections::BTreeSet;
use std::fmt;

/// The scope granted when a client asks for none and has no registered scopes, as in the
/// reference (WSO2 answers `"scope":"default"`).
pub const DEFAULT_SCOPE: &str = "default";

/// A validated, de-duplicated set of scope tokens (RFC 6749 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a `scope` parameter. RFC 6749 §3.3: space-delimited tokens of
    /// `NQCHAR = %x21 / %x23-5B / %x5D-7E`. Repeated spaces are tolerated.
    pub fn parse(value: &str) -> Result<Scope, OAuthError> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_nqchar) {
                return Err(OAuthError::invalid_scope(
                    "scope contains characters not allowed by RFC 6749 section 3.3",
                ));
            }
            set.insert(token.to_owned());
        }
        Ok(Scope(set))
    }

    /// Builds a scope from registered values (already validated at registration).
    pub fn from_tokens<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Scope {
        Scope(tokens.into_iter().map(Into::into).collect())
    }

    /// Whether no token is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether a token is present.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            first = false;
        }
        Ok(())
    }
}

fn is_nqchar(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// The OpenID Connect scopes (OIDC Core §3.1.2.1, §5.4) a client with no registered scopes may
/// request in the authorization code flow.
pub const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "address"];

/// Decides the granted scope for a client (RFC 6749 §3.3).
///
/// The client's registered scopes are both what it may ask for and what it gets when it asks
/// for nothing. A client with no registered scopes may only have [`DEFAULT_SCOPE`] (and, in
/// flows with a user, the `implicit` ones, i.e. [`OIDC_SCOPES`]). Asking for anything outside
/// the allowed set is `invalid_scope` rather than a silent narrowing, so a misconfigured client
/// learns about it at once.
pub fn grant(requested: Option<&Scope>, registered: &[String]) -> Result<Scope, OAuthError> {
    grant_with(requested, registered, &[])
}

/// [`grant`], where a client with no registered scopes may also request `implicit` ones.
pub fn grant_with(
    requested: Option<&Scope>,
    registered: &[String],
    implicit: &[&str],
) -> Result<Scope, OAuthError> {
    let allowed = if registered.is_empty() {
        Scope::from_tokens(implicit.iter().copied().chain([DEFAULT_SCOPE]))
    } else {
        Scope::from_tokens(registered.iter().cloned())
    };
    let default = if registered.is_empty() {
        Scope::from_tokens([DEFAULT_SCOPE])
    } else {
        allowed.clone()
    };
    match requested {
        None => Ok(default),
        Some(r) if r.is_empty() => Ok(default),
        Some(r) if r.is_subset_of(&allowed) => Ok(r.clone()),
        Some(_) => Err(OAuthError::invalid_scope(
            "the requested scope is not allowed for this client",
        )),
    }
}

/// The claims each OIDC scope requests (OIDC Core §5.4).
pub fn claims_for_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "phone" => &["phone_number", "phone_number_verified"],
        "address" => &["address"],
        _ => &[],
    }
}

/// Every standard claim a user profile may hold.
pub fn known_claim(name: &str) -> bool {
    ["profile", "email", "phone", "address"]
        .iter()
        .any(|s| claims_for_scope(s).contains(&name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_rfc_syntax_and_rejects_quotes_backslash_and_controls() {
        assert_eq!(Scope::parse("b a  a").unwrap().to_string(), "a b");
        for bad in ["a\"b", "a\\b", "a\u{0}b", "é", "a\tb"] {
            assert!(Scope::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn grant_defaults_and_rejects_widening() {
        assert_eq!(grant(None, &[]).unwrap().to_string(), "default");
        let reg = vec!["read".to_owned(), "write".to_owned()];
        assert_eq!(grant(None, &reg).unwrap().to_string(), "read write");
        let read = Scope::parse("read").unwrap();
        assert_eq!(grant(Some(&read), &reg).unwrap().to_string(), "read");
        let admin = Scope::parse("read admin").unwrap();
        assert_eq!(
            grant(Some(&admin), &reg).unwrap_err().code,
            crate::ErrorCode::InvalidScope
        );
        assert!(grant(Some(&read), &[]).is_err());
        let oidc = Scope::parse("openid email").unwrap();
        assert_eq!(
            grant_with(Some(&oidc), &[], &OIDC_SCOPES)
                .unwrap()
                .to_string(),
            "email openid"
        );
        assert_eq!(
            grant_with(None, &[], &OIDC_SCOPES).unwrap().to_string(),
            "default"
        );
        assert!(grant_with(Some(&read), &[], &OIDC_SCOPES).is_err());
    }
}
