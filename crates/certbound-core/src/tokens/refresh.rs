//! Refresh tokens (RFC 6749 §1.5, §6): opaque, stored by hash, with an idle and an absolute
//! lifetime; a public client's are bound to its certificate (RFC 8705 §4).

use crate::AuthServer;
use crate::model::RefreshTokenRecord;
use crate::secret::{self, Secret, TokenHash};
use certbound_mtls::Thumbprint;

/// What a new refresh token is for.
#[derive(Debug)]
pub struct NewRefreshToken<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The user.
    pub subject: &'a str,
    /// The grant's scope (a rotated token keeps the original scope, RFC 6749 §6).
    pub scope: &'a str,
    /// Approved claims.
    pub claims: &'a [String],
    /// Certificate binding (public clients).
    pub cnf: Option<Thumbprint>,
    /// The grant family (the code it descends from).
    pub family: TokenHash,
    /// Login session id.
    pub sid: &'a str,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The grant's absolute end, when rotating; `None` starts a new grant.
    pub absolute_expires_at: Option<i64>,
}

/// Makes a refresh token and the record of its hash; the grant stores it with its access token.
pub fn prepare(
    server: &AuthServer,
    now: i64,
    new: NewRefreshToken<'_>,
) -> (Secret, RefreshTokenRecord) {
    let settings = &server.settings;
    let absolute = new.absolute_expires_at.unwrap_or_else(|| {
        now.saturating_add(i64::try_from(settings.refresh_token_lifetime).unwrap_or(i64::MAX))
    });
    let idle =
        now.saturating_add(i64::try_from(settings.refresh_token_idle_lifetime).unwrap_or(i64::MAX));
    let token = secret::generate_keyed(server.random.as_ref(), now);
    let record = RefreshTokenRecord {
        hash: token.hash(),
        client_id: new.client_id.to_owned(),
        subject: new.subject.to_owned(),
        scope: new.scope.to_owned(),
        claims: new.claims.to_vec(),
        cnf: new.cnf,
        code: Some(new.family),
        sid: new.sid.to_owned(),
        auth_time: new.auth_time,
        issued_at: now,
        expires_at: idle.min(absolute),
        absolute_expires_at: absolute,
        used_at: None,
        revoked: false,
    };
    (token, record)
}
