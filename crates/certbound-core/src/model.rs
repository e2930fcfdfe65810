//! The records the protocol logic works with: clients, users and issued access tokens.

use crate::secret::TokenHash;
use certbound_mtls::{ClientCertificate, SubjectMatch, Thumbprint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// `token_endpoint_auth_method` values (RFC 7591 §2, RFC 8705 §2.1.1 and §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// RFC 8705 §2.1: PKI mutual-TLS; the chain validates to a trust anchor and one registered
    /// subject value matches.
    TlsClientAuth,
    /// RFC 8705 §2.2: self-signed certificate mutual-TLS; the certificate equals a registered one.
    SelfSignedTlsClientAuth,
    /// RFC 6749 §2.3.1: client secret in the HTTP Basic header.
    ClientSecretBasic,
    /// RFC 6749 §2.3.1: client secret in the request body.
    ClientSecretPost,
    /// RFC 7591 §2: a public client with no authentication.
    None,
}

impl ClientAuthMethod {
    /// The registered metadata value.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::TlsClientAuth => "tls_client_auth",
            ClientAuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::None => "none",
        }
    }
    /// All methods, in the order they are listed in metadata.
    pub const ALL: [ClientAuthMethod; 5] = [
        ClientAuthMethod::TlsClientAuth,
        ClientAuthMethod::SelfSignedTlsClientAuth,
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::None,
    ];
    /// Whether the method authenticates with a client secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
        )
    }
    /// Whether the method authenticates with a TLS client certificate (RFC 8705 §2).
    pub fn is_mtls(self) -> bool {
        matches!(
            self,
            ClientAuthMethod::TlsClientAuth | ClientAuthMethod::SelfSignedTlsClientAuth
        )
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientAuthMethod {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(UnknownValue)
    }
}

/// A string that is not one of the known values of an enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown value")]
pub struct UnknownValue;

/// `grant_type` values (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
}

impl GrantType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
        }
    }
    /// All grant types this server knows of.
    pub const ALL: [GrantType; 3] = [
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
    ];
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or(UnknownValue)
    }
}

/// How access tokens are serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// 256 random bits; resource servers introspect them (RFC 7662).
    #[default]
    Opaque,
    /// RFC 9068 JWT, verifiable by resource servers against the JWKS.
    Jwt,
}

impl TokenFormat {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Opaque => "opaque",
            TokenFormat::Jwt => "jwt",
        }
    }
}

impl FromStr for TokenFormat {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "opaque" => Ok(TokenFormat::Opaque),
            "jwt" => Ok(TokenFormat::Jwt),
            _ => Err(UnknownValue),
        }
    }
}

/// A registered client certificate (for `self_signed_tls_client_auth`); several may be
/// registered at once so a client can rotate without downtime.
#[derive(Debug, Clone)]
pub struct RegisteredCertificate {
    /// The certificate.
    pub certificate: ClientCertificate,
    /// When it was registered, Unix seconds (rotation: the newest is listed last).
    pub added_at: i64,
}

impl RegisteredCertificate {
    /// Its SHA-256 thumbprint.
    pub fn thumbprint(&self) -> &Thumbprint {
        self.certificate.thumbprint()
    }
}

/// A registered OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    /// `client_id`, generated at registration.
    pub client_id: String,
    /// Human-readable name (`client_name`).
    pub name: String,
    /// `token_endpoint_auth_method`.
    pub auth_method: ClientAuthMethod,
    /// SHA-256 of the client secret, for secret-based methods. Secrets are 256-bit random
    /// values generated by the server, so a fast hash cannot be brute-forced.
    pub secret_hash: Option<TokenHash>,
    /// Registered certificates (`self_signed_tls_client_auth`).
    pub certificates: Vec<RegisteredCertificate>,
    /// The expected subject for `tls_client_auth` (RFC 8705 §2.1.2).
    pub subject: Option<SubjectMatch>,
    /// The named trust store a `tls_client_auth` certificate must chain to (RFC 8705 §7.4);
    /// `None`: any configured store.
    pub trust_store: Option<String>,
    /// RFC 7591 §2 `jwks_uri`: the client's certificates are the `x5c` of the key set published
    /// there (`self_signed_tls_client_auth`, RFC 8705 §2.2).
    pub jwks_uri: Option<String>,
    /// SHA-256 of the RFC 7592 registration access token, for dynamically registered clients.
    pub registration_token_hash: Option<TokenHash>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// Registered redirect URIs (RFC 6749 §3.1.2), compared by exact string match.
    pub redirect_uris: Vec<String>,
    /// Scopes the client may request; also the default when it requests none.
    pub scopes: Vec<String>,
    /// RFC 8705 §3.4 `tls_client_certificate_bound_access_tokens`.
    pub bound_tokens: bool,
    /// Access token lifetime in seconds for this client, overriding the global one.
    pub access_token_lifetime: Option<u64>,
    /// Access token format for this client, overriding the global one.
    pub access_token_format: Option<TokenFormat>,
    /// Whether the client may call the introspection endpoint (RFC 7662 §2.1).
    pub can_introspect: bool,
    /// Registration time, Unix seconds.
    pub created_at: i64,
}

impl Client {
    /// The registered certificate expiring first, if any (for expiry reports).
    pub fn first_certificate_expiry(&self) -> Option<i64> {
        self.certificates
            .iter()
            .map(|c| c.certificate.not_after())
            .min()
    }
}

/// A local user account.
#[derive(Debug, Clone)]
pub struct User {
    /// Login name; also the `sub` of tokens issued for the user.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Whether the user may administer the server (and call introspection, as in WSO2).
    pub is_admin: bool,
    /// Profile attributes (OIDC Core §5.1 standard claims: name, given_name, email, ...).
    pub claims: BTreeMap<String, String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// What the store keeps for an issued access token: its hash and its meaning, never the token.
#[derive(Debug, Clone)]
pub struct AccessTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub client_id: String,
    /// The resource owner, when the grant had one.
    pub subject: Option<String>,
    /// Granted scope, space-separated.
    pub scope: String,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Expiry time, Unix seconds.
    pub expires_at: i64,
    /// RFC 8705 §3: thumbprint of the certificate the token is bound to.
    pub cnf: Option<Thumbprint>,
    /// Set when revoked.
    pub revoked: bool,
    /// Claims the user approved for this client (returned by userinfo).
    pub claims: Vec<String>,
    /// The authorization code the token was issued from (to revoke on code replay).
    pub code: Option<TokenHash>,
}

/// An issued authorization code (RFC 6749 §4.1.2), stored by hash.
#[derive(Debug, Clone)]
pub struct AuthorizationCodeRecord {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect_uri of the authorization request (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// The user who approved.
    pub username: String,
    /// Granted scope.
    pub scope: String,
    /// Approved claims.
    pub claims: Vec<String>,
    /// OIDC nonce, echoed in the id_token.
    pub nonce: Option<String>,
    /// RFC 7636 S256 code challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated (OIDC `auth_time`).
    pub auth_time: i64,
    /// Login session id (OIDC `sid`), not the cookie value.
    pub sid: String,
    /// Authentication methods (OIDC `amr`).
    pub amr: Vec<String>,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// An issued refresh token, stored by hash.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub client_id: String,
    /// The user.
    pub subject: String,
    /// Granted scope.
    pub scope: String,
    /// Approved claims.
    pub claims: Vec<String>,
    /// Binding for public clients (RFC 8705 §4).
    pub cnf: Option<Thumbprint>,
    /// The authorization code of the grant (its family).
    pub code: Option<TokenHash>,
    /// Login session id.
    pub sid: String,
    /// When the user authenticated (for id_tokens issued on refresh).
    pub auth_time: i64,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry: the idle lifetime from issue, never past `absolute_expires_at`.
    pub expires_at: i64,
    /// The absolute end of the grant; rotation never extends it.
    pub absolute_expires_at: i64,
    /// When it was exchanged for a new one (rotation); a used token is dead.
    pub used_at: Option<i64>,
    /// Set when revoked.
    pub revoked: bool,
}

impl RefreshTokenRecord {
    /// Whether it can be redeemed at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        !self.revoked && self.used_at.is_none() && now < self.expires_at
    }
}

/// A browser login session. The cookie holds a random value; the store keeps its hash.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub hash: TokenHash,
    /// A public identifier for OIDC `sid` (not the cookie value).
    pub sid: String,
    /// The signed-in user.
    pub username: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A remembered "Approve Always" decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The user.
    pub username: String,
    /// The client.
    pub client_id: String,
    /// Scopes approved.
    pub scopes: Vec<String>,
    /// Claims approved.
    pub claims: Vec<String>,
    /// When given.
    pub created_at: i64,
}

/// An RFC 7591 §3 initial access token, created by the operator and stored by hash: it lets
/// its bearer register clients while it has uses left and has not expired.
#[derive(Debug, Clone)]
pub struct InitialAccessToken {
    /// Public handle for listing and revoking (derived from the hash, never the token).
    pub id: String,
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// Registrations it may still authorize.
    pub uses_left: u32,
}

impl InitialAccessToken {
    /// Whether it can authorize a registration at `now`.
    pub fn is_usable(&self, now: i64) -> bool {
        self.uses_left > 0 && now < self.expires_at
    }
}
