//! Validating and building clients and users, for the CLI, the admin API, dynamic registration
//! and the console alike. Errors name the offending field.

mod certificates;
mod metadata;
mod users;

pub use certificates::{
    add_certificate, certificate_from_pem, certificates_expiring, retire_certificate,
};
pub use metadata::{ClientMetadata, Registrar, certificates_of_jwks};
pub use users::leaves_no_admin;

use crate::model::{Client, ClientAuthMethod, GrantType, RegisteredCertificate, User};
use crate::scope::Scope;
use crate::secret::{self, Secret};
use crate::{Random, password};
use certbound_mtls::{ClientCertificate, SubjectMatch};
use std::collections::BTreeMap;

/// A field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The metadata/field name (RFC 7591 names where they exist).
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// At most this many certificates are registered for one client at a time.
pub const MAX_CERTIFICATES: usize = 10;

/// What an administrator asks for when registering a client.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// `client_name`.
    pub name: String,
    /// `token_endpoint_auth_method`.
    pub auth_method: ClientAuthMethod,
    /// Certificates for `self_signed_tls_client_auth`.
    pub certificates: Vec<ClientCertificate>,
    /// Subject for `tls_client_auth` (RFC 8705 §2.1.2).
    pub subject: Option<SubjectMatch>,
    /// The trust store a `tls_client_auth` certificate must chain to (RFC 8705 §7.4).
    pub trust_store: Option<String>,
    /// `jwks_uri` for `self_signed_tls_client_auth` (RFC 8705 §2.2).
    pub jwks_uri: Option<String>,
    /// `grant_types`.
    pub grant_types: Vec<GrantType>,
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `scope`: allowed and default scopes.
    pub scopes: Vec<String>,
    /// `tls_client_certificate_bound_access_tokens`.
    pub bound_tokens: bool,
    /// Access token lifetime override, seconds.
    pub access_token_lifetime: Option<u64>,
    /// Access token format override.
    pub access_token_format: Option<crate::model::TokenFormat>,
    /// May call introspection.
    pub can_introspect: bool,
}

impl ClientSpec {
    /// A spec for the client_credentials grant with every option at its default; set the
    /// other fields as needed.
    pub fn new(name: impl Into<String>, auth_method: ClientAuthMethod) -> Self {
        ClientSpec {
            name: name.into(),
            auth_method,
            certificates: vec![],
            subject: None,
            trust_store: None,
            jwks_uri: None,
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: vec![],
            scopes: vec![],
            bound_tokens: false,
            access_token_lifetime: None,
            access_token_format: None,
            can_introspect: false,
        }
    }
}

impl ClientSpec {
    /// RFC 8705 §7.4: a `trust_store` must name a configured store (`configured` says whether
    /// one exists). Checked where the configuration is known: the admin API, the console and
    /// the CLI.
    pub fn check_trust_store(&self, configured: impl Fn(&str) -> bool) -> Result<(), FieldError> {
        match &self.trust_store {
            Some(name) if !configured(name) => Err(field(
                "trust_store",
                "names no configured trust store: define [trust_stores.NAME] (the store of [oauth.mutualtls] trusted_ca_file is \"default\")",
            )),
            _ => Ok(()),
        }
    }
}

/// Validates a spec and builds the client; returns the plaintext secret once, for secret methods.
pub fn build_client(
    spec: ClientSpec,
    random: &dyn Random,
    now: i64,
) -> Result<(Client, Option<Secret>), FieldError> {
    validate(&spec)?;
    let secret = spec
        .auth_method
        .uses_secret()
        .then(|| secret::generate(random));
    let client = Client {
        client_id: client_id(random),
        name: spec.name,
        auth_method: spec.auth_method,
        secret_hash: secret.as_ref().map(Secret::hash),
        certificates: spec
            .certificates
            .into_iter()
            .map(|certificate| RegisteredCertificate {
                certificate,
                added_at: now,
            })
            .collect(),
        subject: spec.subject,
        trust_store: spec.trust_store,
        jwks_uri: spec.jwks_uri,
        registration_token_hash: None,
        grant_types: spec.grant_types,
        redirect_uris: spec.redirect_uris,
        scopes: spec.scopes,
        bound_tokens: spec.bound_tokens,
        access_token_lifetime: spec.access_token_lifetime,
        access_token_format: spec.access_token_format,
        can_introspect: spec.can_introspect,
        created_at: now,
    };
    Ok((client, secret))
}

/// Applies a new registration to an existing client (admin update, RFC 7592 §2.2): the
/// client_id, creation time and registration access token stay; certificates that remain keep
/// their registration time. A client that moves to a secret method without having a secret
/// gets a new one, returned once; one that moves away from secrets loses its secret.
pub fn update_client(
    existing: &Client,
    spec: ClientSpec,
    random: &dyn Random,
    now: i64,
) -> Result<(Client, Option<Secret>), FieldError> {
    let (mut client, _) = build_client(spec, random, now)?;
    client.client_id.clone_from(&existing.client_id);
    client.created_at = existing.created_at;
    client.registration_token_hash = existing.registration_token_hash;
    for cert in &mut client.certificates {
        if let Some(old) = existing
            .certificates
            .iter()
            .find(|o| o.thumbprint() == cert.thumbprint())
        {
            cert.added_at = old.added_at;
        }
    }
    let mut secret = None;
    if client.auth_method.uses_secret() {
        match existing.secret_hash {
            Some(h) => client.secret_hash = Some(h),
            None => {
                let s = secret::generate(random);
                client.secret_hash = Some(s.hash());
                secret = Some(s);
            }
        }
    }
    Ok((client, secret))
}

/// A new client_id: 24 characters of `[A-Za-z0-9]` (142 bits), so it never starts with `-`
/// (which command lines would take for an option) and needs no escaping anywhere.
fn client_id(random: &dyn Random) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(24);
    while id.len() < 24 {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        // Rejection sampling keeps the distribution uniform: 248 = 4 * 62.
        for b in bytes.into_iter().filter(|b| *b < 248) {
            if id.len() < 24 {
                id.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    id
}

fn validate(spec: &ClientSpec) -> Result<(), FieldError> {
    if spec.name.trim().is_empty()
        || spec.name.len() > 200
        || spec.name.chars().any(char::is_control)
    {
        return Err(field(
            "client_name",
            "must be 1 to 200 printable characters",
        ));
    }
    match spec.auth_method {
        ClientAuthMethod::TlsClientAuth if spec.subject.is_none() => {
            return Err(field(
                "tls_client_auth_subject_dn",
                "tls_client_auth needs exactly one of subject DN, SAN DNS, SAN URI, SAN IP or SAN email",
            ));
        }
        ClientAuthMethod::SelfSignedTlsClientAuth
            if spec.certificates.is_empty() && spec.jwks_uri.is_none() =>
        {
            return Err(field(
                "jwks",
                "self_signed_tls_client_auth needs at least one certificate (jwks with x5c, or jwks_uri)",
            ));
        }
        ClientAuthMethod::SelfSignedTlsClientAuth
            if !spec.certificates.is_empty() && spec.jwks_uri.is_some() =>
        {
            return Err(field(
                "jwks_uri",
                "jwks and jwks_uri must not both be given (RFC 7591 §2)",
            ));
        }
        ClientAuthMethod::TlsClientAuth => {}
        _ if spec.subject.is_some() => {
            return Err(field(
                "tls_client_auth_subject_dn",
                "a subject is only used with tls_client_auth",
            ));
        }
        _ => {}
    }
    if !spec.certificates.is_empty()
        && spec.auth_method != ClientAuthMethod::SelfSignedTlsClientAuth
    {
        return Err(field(
            "certificates",
            "certificates are only registered for self_signed_tls_client_auth",
        ));
    }
    if spec.certificates.len() > MAX_CERTIFICATES {
        return Err(field(
            "jwks",
            format!("at most {MAX_CERTIFICATES} certificates can be registered at once"),
        ));
    }
    validate_sources(spec)?;
    if spec.grant_types.is_empty() {
        return Err(field("grant_types", "at least one grant type is required"));
    }
    if spec.grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return Err(field(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if spec.grant_types.contains(&GrantType::RefreshToken)
        && !spec.grant_types.contains(&GrantType::AuthorizationCode)
    {
        return Err(field(
            "grant_types",
            "refresh_token is only issued with authorization_code",
        ));
    }
    if spec.redirect_uris.iter().any(|u| !valid_redirect_uri(u)) {
        return Err(field(
            "redirect_uris",
            "redirect URIs must be absolute https URIs (http only for localhost, 127.0.0.1 or [::1]) without a fragment",
        ));
    }
    if spec.auth_method == ClientAuthMethod::None && spec.can_introspect {
        return Err(field(
            "introspection",
            "a public client (auth method none) cannot be allowed to introspect tokens",
        ));
    }
    if spec.auth_method == ClientAuthMethod::None
        && spec.grant_types.contains(&GrantType::ClientCredentials)
    {
        return Err(field(
            "grant_types",
            "public clients (auth method none) cannot use client_credentials",
        ));
    }
    for s in &spec.scopes {
        if Scope::parse(s)
            .map(|p| p.iter().count() != 1)
            .unwrap_or(true)
        {
            return Err(field(
                "scope",
                "each scope must be one RFC 6749 scope token (no spaces, quotes or backslashes)",
            ));
        }
    }
    if spec.access_token_lifetime == Some(0) {
        return Err(field("access_token_lifetime", "must be at least 1 second"));
    }
    Ok(())
}

/// `jwks_uri` and `trust_store` belong to one method each and must be well formed.
fn validate_sources(spec: &ClientSpec) -> Result<(), FieldError> {
    if let Some(uri) = &spec.jwks_uri {
        if spec.auth_method != ClientAuthMethod::SelfSignedTlsClientAuth {
            return Err(field(
                "jwks_uri",
                "jwks_uri is only used with self_signed_tls_client_auth",
            ));
        }
        let host = uri.strip_prefix("https://").unwrap_or_default();
        if host.split(['/', '?']).next().unwrap_or_default().is_empty()
            || uri.len() > 2000
            || uri.contains('#')
            || uri.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(field(
                "jwks_uri",
                "must be an absolute https URI without a fragment",
            ));
        }
    }
    if let Some(name) = &spec.trust_store {
        if spec.auth_method != ClientAuthMethod::TlsClientAuth {
            return Err(field(
                "trust_store",
                "a trust store is only used with tls_client_auth",
            ));
        }
        if !valid_store_name(name) {
            return Err(field(
                "trust_store",
                "trust store names are 1 to 64 letters, digits, '-' or '_'",
            ));
        }
    }
    Ok(())
}

/// Names of trust stores: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn valid_store_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 6749 §3.1.2 and RFC 9700 §2.1: absolute, no fragment; plain http only on loopback.
fn valid_redirect_uri(uri: &str) -> bool {
    if uri.len() > 2000
        || uri.contains('#')
        || uri.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return false;
    }
    let host_of = |rest: &str| rest.split(['/', '?']).next().unwrap_or_default().to_owned();
    if let Some(rest) = uri.strip_prefix("https://") {
        return !host_of(rest).is_empty();
    }
    if let Some(rest) = uri.strip_prefix("http://") {
        let host = host_of(rest);
        let name = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or_default().to_owned()
        };
        return ["localhost", "127.0.0.1", "[::1]"].contains(&name.as_str());
    }
    false
}

/// Validates and builds a new user with an Argon2id password hash.
pub fn build_user(
    username: &str,
    password: &Secret,
    is_admin: bool,
    random: &dyn Random,
    now: i64,
) -> Result<User, FieldError> {
    build_user_with_claims(username, password, is_admin, BTreeMap::new(), random, now)
}

/// Validates profile claims: standard OIDC claim names (OIDC Core §5.1), printable values.
pub fn validate_claims(claims: &BTreeMap<String, String>) -> Result<(), FieldError> {
    for (k, v) in claims {
        if !crate::scope::known_claim(k) {
            return Err(field(
                "claim",
                "unknown claim name: use OIDC standard claims such as name, given_name, family_name, email, email_verified, locale",
            ));
        }
        if v.len() > 1000 || v.chars().any(char::is_control) {
            return Err(field(
                "claim",
                "claim values must be at most 1000 printable characters",
            ));
        }
    }
    Ok(())
}

/// [`build_user`] with profile claims.
pub fn build_user_with_claims(
    username: &str,
    password: &Secret,
    is_admin: bool,
    claims: BTreeMap<String, String>,
    random: &dyn Random,
    now: i64,
) -> Result<User, FieldError> {
    validate_claims(&claims)?;
    if username.is_empty()
        || username.len() > 128
        || username.contains(':')
        || username
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(field(
            "username",
            "must be 1 to 128 characters without spaces, colons or control characters",
        ));
    }
    if password.expose().is_empty() || password.expose().len() > 1024 {
        return Err(field("password", "must be 1 to 1024 bytes"));
    }
    let password_hash =
        password::hash(password, random).map_err(|_| field("password", "could not be hashed"))?;
    Ok(User {
        username: username.to_owned(),
        password_hash,
        is_admin,
        claims,
        created_at: now,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(method: ClientAuthMethod) -> ClientSpec {
        ClientSpec::new("c", method)
    }

    #[test]
    fn secret_clients_get_a_secret_once_and_only_its_hash_is_kept() {
        let (client, secret) = build_client(
            spec(ClientAuthMethod::ClientSecretBasic),
            &crate::OsRandom,
            0,
        )
        .unwrap();
        let secret = secret.unwrap();
        assert_eq!(client.secret_hash, Some(secret.hash()));
        assert!(!format!("{client:?}").contains(secret.expose()));
        assert_eq!(client.client_id.len(), 24);
        assert!(client.client_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn mtls_methods_need_their_credential() {
        let e =
            build_client(spec(ClientAuthMethod::TlsClientAuth), &crate::OsRandom, 0).unwrap_err();
        assert_eq!(e.field, "tls_client_auth_subject_dn");
        let e = build_client(
            spec(ClientAuthMethod::SelfSignedTlsClientAuth),
            &crate::OsRandom,
            0,
        )
        .unwrap_err();
        assert_eq!(e.field, "jwks");
        let e = build_client(spec(ClientAuthMethod::None), &crate::OsRandom, 0).unwrap_err();
        assert_eq!(e.field, "grant_types");
    }

    #[test]
    fn public_clients_cannot_introspect() {
        let mut s = spec(ClientAuthMethod::None);
        s.grant_types = vec![];
        s.can_introspect = true;
        assert!(build_client(s, &crate::OsRandom, 0).is_err());
    }

    #[test]
    fn scopes_must_be_single_tokens() {
        let mut s = spec(ClientAuthMethod::ClientSecretPost);
        s.scopes = vec!["a b".into()];
        assert_eq!(
            build_client(s, &crate::OsRandom, 0).unwrap_err().field,
            "scope"
        );
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        for ok in [
            "https://app.example/cb",
            "http://localhost:8080/playground2/oauth2client",
            "http://127.0.0.1/cb",
            "http://[::1]:9000/x",
        ] {
            assert!(valid_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "https://a/cb#frag",
            "javascript:alert(1)",
            "/relative",
            "https://",
            "http://localhost.evil.example/",
        ] {
            assert!(!valid_redirect_uri(bad), "{bad}");
        }
        let mut s = spec(ClientAuthMethod::ClientSecretBasic);
        s.grant_types = vec![GrantType::AuthorizationCode];
        assert_eq!(
            build_client(s, &crate::OsRandom, 0).unwrap_err().field,
            "redirect_uris"
        );
    }

    #[test]
    fn usernames_cannot_contain_colons() {
        let e = build_user("a:b", &Secret::new("x"), false, &crate::OsRandom, 0).unwrap_err();
        assert_eq!(e.field, "username");
    }
}
