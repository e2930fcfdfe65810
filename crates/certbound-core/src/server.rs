//! The authorization server's entry points for the HTTP layer: one call per endpoint, taking
//! typed requests and the peer certificate and returning typed responses or an [`OAuthError`].

use crate::client_auth::{self, AuthContext, ClientKeySource};
use crate::introspect::{self, Caller, IntrospectionResponse};
use crate::jose::JwsAlg;
use crate::keyring::KeyRing;
use crate::login::LoginThrottle;
use crate::password::PasswordVerifier;
use crate::request::{IntrospectionRequest, TokenRequest};
use crate::store::Store;
use crate::tokens::TokenResponse;
use crate::trust_stores::TrustStores;
use crate::{Clock, OAuthError, Random, grant};
use certbound_mtls::PeerCertificate;
use std::sync::Arc;

/// Protocol settings, validated from the configuration file.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The issuer identifier (`iss`), e.g. `https://localhost:9443/oauth2/token`.
    pub issuer: String,
    /// Default access token lifetime in seconds.
    pub access_token_lifetime: u64,
    /// Default access token format.
    pub access_token_format: crate::model::TokenFormat,
    /// `aud` of JWT access tokens.
    pub access_token_audience: String,
    /// Base URL of the mutual-TLS endpoint aliases listener (RFC 8705 §5), when enabled.
    pub mtls_alias_base: Option<String>,
    /// Named trust stores for `tls_client_auth` clients (RFC 8705 §2.1, §7.4); use
    /// `trust_stores.contains(name)` to validate a client's `trust_store`.
    pub trust_stores: Arc<TrustStores>,
    /// Registered client certificates expiring within this many seconds are reported.
    pub certificate_expiry_warning: i64,
    /// Also emit WSO2's `x5t#SHA256` in introspection responses.
    pub legacy_x5t_sha256: bool,
    /// Authorization code lifetime, seconds (RFC 6749 §4.1.2: short).
    pub code_lifetime: u64,
    /// id_token lifetime, seconds.
    pub id_token_lifetime: u64,
    /// Absolute refresh token lifetime, seconds: the end of the grant, never extended.
    pub refresh_token_lifetime: u64,
    /// Idle refresh token lifetime, seconds: unused this long, a refresh token expires.
    pub refresh_token_idle_lifetime: u64,
    /// Rotate refresh tokens on every use (RFC 9700 §4.14.2).
    pub refresh_token_rotation: bool,
    /// A rotated refresh token presented again within this many seconds is only refused (a
    /// client's concurrent retry); later, the reuse revokes the whole grant. 0 (the default):
    /// every reuse revokes.
    pub refresh_token_reuse_grace: u64,
    /// Browser session lifetime, seconds.
    pub session_lifetime: u64,
    /// Require PKCE of every client, not only public ones (RFC 9700 §2.1.1).
    pub require_pkce: bool,
    /// Who may register clients dynamically (RFC 7591 §3).
    pub registration_policy: crate::dynamic_registration::RegistrationPolicy,
}

impl OAuthSettings {
    /// Settings with the documented defaults for everything but the issuer.
    pub fn with_issuer(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        OAuthSettings {
            access_token_audience: issuer.clone(),
            issuer,
            access_token_lifetime: 3600,
            access_token_format: crate::model::TokenFormat::Opaque,
            mtls_alias_base: None,
            trust_stores: Arc::new(TrustStores::new()),
            certificate_expiry_warning: 30 * 86_400,
            legacy_x5t_sha256: false,
            code_lifetime: 60,
            id_token_lifetime: 3600,
            refresh_token_lifetime: 14 * 86_400,
            refresh_token_idle_lifetime: 2 * 86_400,
            refresh_token_rotation: true,
            refresh_token_reuse_grace: 0,
            session_lifetime: 8 * 3600,
            require_pkce: false,
            registration_policy: crate::dynamic_registration::RegistrationPolicy::default(),
        }
    }

    /// The access token lifetime for a client, in seconds.
    pub fn access_token_lifetime_for(&self, client: &crate::model::Client) -> u64 {
        client
            .access_token_lifetime
            .unwrap_or(self.access_token_lifetime)
    }

    /// The access token format for a client.
    pub fn token_format(&self, client: &crate::model::Client) -> crate::model::TokenFormat {
        client
            .access_token_format
            .unwrap_or(self.access_token_format)
    }

    /// The longest time a token signed now may be relied on (for key rotation).
    pub fn longest_signed_token_lifetime(&self) -> i64 {
        i64::try_from(self.id_token_lifetime.max(self.access_token_lifetime)).unwrap_or(i64::MAX)
    }
}

/// The server: storage, settings, time and randomness.
#[derive(Clone)]
pub struct AuthServer {
    /// Password verification (Argon2id off the async threads, with a short success cache).
    pub passwords: Arc<PasswordVerifier>,
    /// Sign-in failure throttling.
    pub throttle: Arc<LoginThrottle>,
    /// Token signing keys.
    pub keys: Arc<KeyRing>,
    /// Storage backend.
    pub store: Arc<dyn Store>,
    /// Fetches the key sets of `jwks_uri` clients (RFC 8705 §2.2); `None`: such clients fail.
    pub client_keys: Option<Arc<dyn ClientKeySource>>,
    /// Settings.
    pub settings: OAuthSettings,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Randomness source.
    pub random: Arc<dyn Random>,
}

impl AuthServer {
    /// A server with the system clock and the OS random number generator.
    pub fn new(store: Arc<dyn Store>, settings: OAuthSettings, alg: JwsAlg) -> Self {
        AuthServer {
            throttle: Arc::new(LoginThrottle::default()),
            keys: Arc::new(KeyRing::new(alg)),
            store,
            client_keys: None,
            settings,
            clock: Arc::new(crate::SystemClock),
            random: Arc::new(crate::OsRandom),
            passwords: Arc::new(PasswordVerifier::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            )),
        }
    }

    /// What client authentication needs at `now`: trust stores and the jwks_uri key source.
    pub fn auth_context(&self, now: i64) -> AuthContext<'_> {
        AuthContext {
            trust_stores: &self.settings.trust_stores,
            client_keys: self.client_keys.as_deref(),
            now,
        }
    }

    /// RFC 6749 §3.2: the token endpoint.
    pub async fn token(
        &self,
        request: TokenRequest,
        peer: Option<&PeerCertificate>,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.clock.now();
        let ctx = self.auth_context(now);
        let client =
            client_auth::authenticate(self.store.as_ref(), &request.credentials, peer, ctx).await?;
        grant::handle(self, &client, request.grant, now).await
    }

    /// RFC 7009 §2: the revocation endpoint.
    pub async fn revoke(
        &self,
        request: crate::revoke::RevocationRequest,
        peer: Option<&PeerCertificate>,
    ) -> Result<(), OAuthError> {
        crate::revoke::revoke(self, request, peer).await
    }

    /// RFC 7662 §2: the introspection endpoint.
    pub async fn introspect(
        &self,
        request: IntrospectionRequest,
        peer: Option<&PeerCertificate>,
    ) -> Result<(Caller, IntrospectionResponse), OAuthError> {
        let now = self.clock.now();
        let caller = introspect::authenticate_caller(self, &request, peer, now).await?;
        let response = introspect::introspect(self, &caller, &request, now).await?;
        Ok((caller, response))
    }
}
