//! The audit trail: one function per security-relevant event, each emitting one tracing
//! event with target [`TARGET`] and an `action` field naming the event.
//!
//! The binary writes these to the main log, or to their own file of JSON lines
//! (`[log] audit_file`). They carry identifiers, scopes and certificate thumbprints
//! (x5t#S256, RFC 8705 §3.1) — never tokens, secrets, passwords or PEM. Strings that may come
//! from an attacker (client_ids, usernames, certificate DNs) are escaped by the log
//! formatter, so they cannot forge lines. Nothing here must cost more than the tracing event:
//! token issuance is on the hot path.

use crate::model::{AccessTokenRecord, ClientAuthMethod, GrantType, TokenFormat};
use certbound_mtls::{PeerCertificate, Thumbprint};

/// The tracing target of audit events.
pub const TARGET: &str = "audit";

/// Through which door an administrative change came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The admin REST API (`/api/admin`).
    AdminApi,
    /// The web console (`/console`).
    Console,
    /// The `certbound` command line.
    Cli,
    /// Dynamic client registration (RFC 7591 / RFC 7592).
    Registration,
}

impl Via {
    /// The logged value.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::AdminApi => "admin_api",
            Via::Console => "console",
            Via::Cli => "cli",
            Via::Registration => "registration",
        }
    }
}

/// Who made a change: the administrator's username (for the CLI, the operating-system user;
/// for dynamic registration, the client itself), and how.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// How the change was made.
    pub via: Via,
    /// Who made it.
    pub name: &'a str,
}

/// An access token was issued (client_credentials or authorization_code grant), or — for the
/// refresh_token grant — see [`token_refreshed`].
pub fn token_issued(grant: GrantType, token: &AccessTokenRecord, format: TokenFormat) {
    tracing::info!(
        target: TARGET,
        action = "token.issue",
        grant = grant.as_str(),
        client_id = %token.client_id,
        subject = token.subject.as_deref(),
        scope = %token.scope,
        x5t_s256 = token.cnf.as_ref().map(tracing::field::display),
        format = format.as_str(),
        "token issued"
    );
}

/// A refresh token was exchanged for a new access token (RFC 6749 §6).
pub fn token_refreshed(token: &AccessTokenRecord, format: TokenFormat) {
    tracing::info!(
        target: TARGET,
        action = "token.refresh",
        grant = GrantType::RefreshToken.as_str(),
        client_id = %token.client_id,
        subject = token.subject.as_deref(),
        scope = %token.scope,
        x5t_s256 = token.cnf.as_ref().map(tracing::field::display),
        format = format.as_str(),
        "token refreshed"
    );
}

/// A token was revoked by its client (RFC 7009); `token` is `access_token` or
/// `refresh_token` (which takes its grant with it).
pub fn token_revoked(
    client_id: &str,
    token: &'static str,
    subject: Option<&str>,
    cnf: Option<&Thumbprint>,
) {
    tracing::info!(
        target: TARGET,
        action = "token.revoke",
        client_id = %client_id,
        token_type = token,
        subject,
        x5t_s256 = cnf.map(tracing::field::display),
        "token revoked"
    );
}

/// Client authentication failed (RFC 6749 §2.3, RFC 8705 §2): the reason, the claimed
/// client_id, and the presented certificate's thumbprint and subject DN — never a secret.
pub fn client_auth_failed(
    reason: &str,
    client_id: &str,
    method: Option<ClientAuthMethod>,
    peer: Option<&PeerCertificate>,
) {
    tracing::warn!(
        target: TARGET,
        action = "client.auth.fail",
        client_id = %client_id,
        auth_method = method.map(ClientAuthMethod::as_str),
        %reason,
        x5t_s256 = peer.map(|p| tracing::field::display(p.thumbprint())),
        cert_subject = peer.map(|p| tracing::field::display(p.leaf.subject_dn())),
        "client authentication failed"
    );
}

/// A client was registered.
pub fn client_created(actor: Actor<'_>, client_id: &str, method: ClientAuthMethod) {
    tracing::info!(
        target: TARGET,
        action = "client.create",
        via = actor.via.as_str(),
        actor = %actor.name,
        client_id = %client_id,
        auth_method = method.as_str(),
        "client created"
    );
}

/// A client's registration was changed; `new_secret` when a new secret was issued.
pub fn client_updated(actor: Actor<'_>, client_id: &str, new_secret: bool) {
    tracing::info!(
        target: TARGET,
        action = "client.update",
        via = actor.via.as_str(),
        actor = %actor.name,
        client_id = %client_id,
        new_secret,
        "client updated"
    );
}

/// A client was deleted (its tokens with it).
pub fn client_deleted(actor: Actor<'_>, client_id: &str) {
    tracing::info!(
        target: TARGET,
        action = "client.delete",
        via = actor.via.as_str(),
        actor = %actor.name,
        client_id = %client_id,
        "client deleted"
    );
}

/// A certificate was registered for a client (the start of a rotation).
pub fn certificate_added(actor: Actor<'_>, client_id: &str, x5t: &Thumbprint) {
    tracing::info!(
        target: TARGET,
        action = "client.certificate.add",
        via = actor.via.as_str(),
        actor = %actor.name,
        client_id = %client_id,
        x5t_s256 = %x5t,
        "client certificate added"
    );
}

/// A client's certificate was retired (the end of a rotation).
pub fn certificate_retired(actor: Actor<'_>, client_id: &str, x5t: &Thumbprint) {
    tracing::info!(
        target: TARGET,
        action = "client.certificate.retire",
        via = actor.via.as_str(),
        actor = %actor.name,
        client_id = %client_id,
        x5t_s256 = %x5t,
        "client certificate retired"
    );
}

/// A user was created.
pub fn user_created(actor: Actor<'_>, username: &str, is_admin: bool) {
    tracing::info!(
        target: TARGET,
        action = "user.create",
        via = actor.via.as_str(),
        actor = %actor.name,
        user = %username,
        is_admin,
        "user created"
    );
}

/// A user was changed; `password_changed` when the password was.
pub fn user_updated(actor: Actor<'_>, username: &str, is_admin: bool, password_changed: bool) {
    tracing::info!(
        target: TARGET,
        action = "user.update",
        via = actor.via.as_str(),
        actor = %actor.name,
        user = %username,
        is_admin,
        password_changed,
        "user updated"
    );
}

/// A user was deleted.
pub fn user_deleted(actor: Actor<'_>, username: &str) {
    tracing::info!(
        target: TARGET,
        action = "user.delete",
        via = actor.via.as_str(),
        actor = %actor.name,
        user = %username,
        "user deleted"
    );
}

/// An administrator signed in to the console.
pub fn console_signed_in(username: &str, addr: &dyn std::fmt::Display) {
    tracing::info!(
        target: TARGET,
        action = "console.sign_in",
        user = %username,
        %addr,
        "console sign-in"
    );
}

/// A signed-in user who is not an administrator was refused the console.
pub fn console_refused(username: &str, addr: &dyn std::fmt::Display) {
    tracing::info!(
        target: TARGET,
        action = "console.sign_in.refuse",
        user = %username,
        %addr,
        "console sign-in refused: not an administrator"
    );
}
