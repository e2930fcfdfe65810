//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): the
//! registration policy, RFC 7591 §3 initial access tokens, RFC 7592 registration access
//! tokens, and the register / read / update / delete operations.
//!
//! No HTTP types here (DESIGN rule 1): the handler passes the bearer token and the parsed JSON
//! body and gets the client information response (RFC 7591 §3.2.1, RFC 7592 §3) or an
//! [`OAuthError`] back. Metadata validation is [`ClientMetadata`]'s, shared with the admin API;
//! this module only decides who may register and what a self-registered client may not set.
//! Tokens are stored as hashes only (DESIGN rule 4).

use crate::model::{Client, ClientAuthMethod, InitialAccessToken};
use crate::registration::{self, ClientMetadata, ClientSpec, FieldError, Registrar};
use crate::secret::{self, Secret, TokenHash};
use crate::{AuthServer, ErrorCode, OAuthError, Random};
use base64::Engine as _;
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Who may register clients at the registration endpoint (RFC 7591 §3: "The client
/// registration endpoint MAY be an OAuth 2.0 protected resource ... MAY accept an initial
/// access token").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationPolicy {
    /// Registration is refused (403 `access_denied`); discovery does not advertise the endpoint.
    /// Clients registered earlier can still manage themselves with their registration access
    /// token (RFC 7592).
    Disabled,
    /// Open registration: anyone who can reach the endpoint may register a client.
    Open,
    /// Every registration carries an initial access token (`Authorization: Bearer`) created by
    /// the operator with `certbound registration token create`. With none created, nobody can
    /// register: the secure default.
    #[default]
    InitialAccessToken,
}

impl RegistrationPolicy {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationPolicy::Disabled => "disabled",
            RegistrationPolicy::Open => "open",
            RegistrationPolicy::InitialAccessToken => "initial_access_token",
        }
    }
}

impl fmt::Display for RegistrationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegistrationPolicy {
    type Err = crate::model::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            RegistrationPolicy::Disabled,
            RegistrationPolicy::Open,
            RegistrationPolicy::InitialAccessToken,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or(crate::model::UnknownValue)
    }
}

/// Longest accepted `client_id` in a client configuration URL; longer ones cannot exist.
const MAX_CLIENT_ID_LEN: usize = 128;

/// Creates an initial access token (RFC 7591 §3) valid for `expires_in` seconds and `uses`
/// registrations. Returns the record to store (hash only) and the token, to show once.
pub fn new_initial_access_token(
    random: &dyn Random,
    now: i64,
    expires_in: u64,
    uses: u32,
) -> (InitialAccessToken, Secret) {
    let token = secret::generate(random);
    let hash = token.hash();
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash.0[..9]);
    let record = InitialAccessToken {
        id,
        hash,
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX)),
        uses_left: uses,
    };
    (record, token)
}

/// RFC 7591 §3.1: registers a client from its metadata. `bearer` is the initial access token,
/// when the request carried one; `body` is the JSON body, or why it could not be read (reported
/// only to callers the policy lets register). Returns the client information response (RFC 7591 §3.2.1 with
/// the RFC 7592 §3 members), to be sent with 201 Created.
pub async fn register(
    server: &AuthServer,
    bearer: Option<&Secret>,
    body: Result<Value, OAuthError>,
) -> Result<Value, OAuthError> {
    let now = server.clock.now();
    let initial = authorize_registration(server, bearer, now).await?;
    // RFC 7591 §2: members the server does not understand, and certbound's administrator-only
    // members (introspection, lifetimes, trust store, PEM certificates), are ignored.
    let spec = ClientMetadata::from_json(body?)?.to_spec(Registrar::SelfService)?;
    let (mut client, client_secret) =
        registration::build_client(spec, server.random.as_ref(), now)?;
    let token = secret::generate(server.random.as_ref());
    client.registration_token_hash = Some(token.hash());
    if let Some(hash) = initial
        && !server.store.use_initial_access_token(&hash, now).await?
    {
        // Used up or revoked by a concurrent request since it was checked.
        return Err(invalid_token());
    }
    server.store.insert_client(&client).await?;
    tracing::info!(
        policy = server.settings.registration_policy.as_str(),
        "client registered dynamically (RFC 7591)"
    );
    crate::audit::client_created(
        registrant(&client.client_id),
        &client.client_id,
        client.auth_method,
    );
    Ok(information_response(
        server,
        &client,
        client_secret.as_ref(),
        &token,
    ))
}

/// RFC 7592 §2.1: the client's current registration. The response carries a new registration
/// access token and the presented one stops working (only hashes are stored, so the old value
/// cannot be sent back; RFC 7592 §3 requires the member).
pub async fn read(
    server: &AuthServer,
    client_id: &str,
    bearer: Option<&Secret>,
) -> Result<Value, OAuthError> {
    let mut client = authenticate(server, client_id, bearer).await?;
    let token = rotate(server, &client).await?;
    client.registration_token_hash = Some(token.hash());
    Ok(information_response(server, &client, None, &token))
}

/// RFC 7592 §2.2: replaces the client's metadata. `client_id` must be sent and match; a
/// `client_secret`, if sent, must be the current one (a client never chooses its secret).
/// Members left out are removed or take their RFC 7591 §2 defaults. Administrator-only
/// settings of the client are kept, never taken from the request. The registration access
/// token is rotated as for [`read`].
pub async fn update(
    server: &AuthServer,
    client_id: &str,
    bearer: Option<&Secret>,
    body: Result<Value, OAuthError>,
) -> Result<Value, OAuthError> {
    let existing = authenticate(server, client_id, bearer).await?;
    let metadata = ClientMetadata::from_json(body?)?;
    check_identity(&metadata, &existing)?;
    let mut spec = metadata.to_spec(Registrar::SelfService)?;
    keep_admin_settings(&existing, &mut spec);
    let now = server.clock.now();
    let (mut client, new_secret) =
        registration::update_client(&existing, spec, server.random.as_ref(), now)?;
    let token = rotate(server, &existing).await?;
    client.registration_token_hash = Some(token.hash());
    if !server.store.update_client(&client).await? {
        return Err(invalid_token());
    }
    crate::audit::client_updated(
        registrant(&client.client_id),
        &client.client_id,
        new_secret.is_some(),
    );
    Ok(information_response(
        server,
        &client,
        new_secret.as_ref(),
        &token,
    ))
}

/// RFC 7592 §2.3: deletes the client; its tokens are revoked and deleted with it.
pub async fn delete(
    server: &AuthServer,
    client_id: &str,
    bearer: Option<&Secret>,
) -> Result<(), OAuthError> {
    let client = authenticate(server, client_id, bearer).await?;
    server
        .store
        .revoke_tokens_of_client(&client.client_id)
        .await?;
    server.store.delete_client(&client.client_id).await?;
    crate::audit::client_deleted(registrant(&client.client_id), &client.client_id);
    Ok(())
}

/// A self-service change is made by the client itself (RFC 7591 §3, RFC 7592 §2).
fn registrant(client_id: &str) -> crate::audit::Actor<'_> {
    crate::audit::Actor {
        via: crate::audit::Via::Registration,
        name: client_id,
    }
}

/// RFC 7591 §3: whether the policy lets this request register; the hash of the initial access
/// token to spend once the metadata is valid.
async fn authorize_registration(
    server: &AuthServer,
    bearer: Option<&Secret>,
    now: i64,
) -> Result<Option<TokenHash>, OAuthError> {
    match server.settings.registration_policy {
        RegistrationPolicy::Disabled => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "dynamic client registration is disabled on this server",
        )),
        RegistrationPolicy::Open => Ok(None),
        RegistrationPolicy::InitialAccessToken => {
            let Some(hash) = bearer.map(Secret::hash) else {
                return Err(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "registration requires an initial access token (RFC 7591 §3) as a Bearer token",
                ));
            };
            match server.store.find_initial_access_token(&hash).await? {
                Some(t) if t.is_usable(now) => Ok(Some(hash)),
                _ => Err(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "the initial access token is unknown, expired, revoked or used up",
                )),
            }
        }
    }
}

/// RFC 7592 §2: the registration access token must be the one of this client. An unknown
/// client reads exactly like a wrong token (RFC 7592 §2.1: do not reveal which).
async fn authenticate(
    server: &AuthServer,
    client_id: &str,
    bearer: Option<&Secret>,
) -> Result<Client, OAuthError> {
    let Some(presented) = bearer.map(Secret::hash) else {
        return Err(invalid_token());
    };
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(invalid_token());
    }
    let client = server.store.find_client(client_id).await?;
    // Compared in constant time, and against a dummy when there is nothing to compare with.
    let stored = client
        .as_ref()
        .and_then(|c| c.registration_token_hash)
        .unwrap_or(TokenHash([0; 32]));
    let matches = stored.ct_eq(&presented);
    match client {
        Some(c) if matches && c.registration_token_hash.is_some() => Ok(Arc::unwrap_or_clone(c)),
        _ => Err(invalid_token()),
    }
}

/// Issues a new registration access token in place of the client's current one.
async fn rotate(server: &AuthServer, client: &Client) -> Result<Secret, OAuthError> {
    let old = client.registration_token_hash.ok_or_else(invalid_token)?;
    let token = secret::generate(server.random.as_ref());
    if !server
        .store
        .replace_registration_token(&client.client_id, &old, &token.hash())
        .await?
    {
        // A concurrent request used the same token first.
        return Err(invalid_token());
    }
    Ok(token)
}

/// RFC 7592 §2.2: `client_id` is required and must match the URL; `client_secret`, if sent,
/// must equal the current secret.
fn check_identity(metadata: &ClientMetadata, existing: &Client) -> Result<(), FieldError> {
    if metadata.member("client_id").and_then(Value::as_str) != Some(existing.client_id.as_str()) {
        return Err(FieldError {
            field: "client_id".into(),
            message: "must be sent and equal the client_id of the registration being updated (RFC 7592 §2.2)".into(),
        });
    }
    if let Some(sent) = metadata.member("client_secret") {
        let matches = match (sent.as_str(), existing.secret_hash) {
            (Some(s), Some(h)) => h.ct_eq(&Secret::new(s).hash()),
            _ => false,
        };
        if !matches {
            return Err(FieldError {
                field: "client_secret".into(),
                message: "does not match the current client secret; a client cannot choose its secret (RFC 7592 §2.2)".into(),
            });
        }
    }
    Ok(())
}

/// Settings only an administrator can grant survive a self-service update, as far as they
/// still fit the client's (possibly new) authentication method.
fn keep_admin_settings(existing: &Client, spec: &mut ClientSpec) {
    spec.access_token_lifetime = existing.access_token_lifetime;
    spec.access_token_format = existing.access_token_format;
    spec.can_introspect = existing.can_introspect && spec.auth_method != ClientAuthMethod::None;
    if spec.auth_method == ClientAuthMethod::TlsClientAuth {
        spec.trust_store.clone_from(&existing.trust_store);
    }
}

/// RFC 7591 §3.2.1 and RFC 7592 §3: the registered metadata with the credentials and the
/// client configuration endpoint. `client_secret` is present only when one was just issued.
fn information_response(
    server: &AuthServer,
    client: &Client,
    client_secret: Option<&Secret>,
    token: &Secret,
) -> Value {
    let mut v = ClientMetadata::of(client);
    if let Some(obj) = v.as_object_mut() {
        if let Some(s) = client_secret {
            obj.insert("client_secret".into(), json!(s.expose()));
        }
        if client.auth_method.uses_secret() {
            // RFC 7591 §3.2.1: 0 means the secret does not expire.
            obj.insert("client_secret_expires_at".into(), json!(0));
        }
        obj.insert("registration_access_token".into(), json!(token.expose()));
        obj.insert(
            "registration_client_uri".into(),
            json!(client_uri(server, &client.client_id)),
        );
    }
    v
}

/// The client configuration endpoint of a client (RFC 7592 §2).
pub fn client_uri(server: &AuthServer, client_id: &str) -> String {
    format!(
        "{}/oauth2/register/{client_id}",
        crate::discovery::origin(&server.settings.issuer)
    )
}

fn invalid_token() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidToken,
        "the registration access token is missing or not valid for this client",
    )
}

#[cfg(test)]
mod tests;
