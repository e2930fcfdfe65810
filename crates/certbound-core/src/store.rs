//! Storage traits. One implementation per backend lives in `certbound-store`; the protocol
//! logic only ever sees these traits (DESIGN rule 3). Tokens and secrets cross this boundary
//! only as hashes (DESIGN rule 4).

use crate::jose::SigningKey;
use crate::model::{
    AccessTokenRecord, AuthorizationCodeRecord, Client, Consent, InitialAccessToken,
    RefreshTokenRecord, Session, User,
};
use crate::secret::TokenHash;
use async_trait::async_trait;
use std::sync::Arc;

/// A storage failure. Its text is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached right now (the request may be retried).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A record with the same key exists.
    #[error("already exists")]
    Conflict,
    /// The record refers to another (a client, a user) that was deleted meanwhile.
    #[error("refers to a deleted record")]
    Dangling,
    /// A stored record could not be decoded (corruption or a newer schema).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Any other backend error.
    #[error("storage error: {0}")]
    Other(String),
}

/// Registered clients.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Inserts a new client; `Conflict` if the id exists.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Looks a client up by id. Shared, not copied: a cached registration is handed out as a
    /// reference count on every authenticated request (issue 9).
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError>;
    /// Looks a client up by id in the database itself, past any cache: for a second look
    /// when a cached registration refused a request, so that a certificate or secret changed
    /// by another process a moment ago works at once.
    async fn find_client_uncached(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        self.find_client(client_id).await
    }
    /// At most `limit` clients whose id sorts after `after` (`None`: from the first), ordered
    /// by id: every listing reads pages, since a million clients held at once took gigabytes
    /// (see [`ClientPages`]).
    async fn list_clients_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Client>, StoreError>;
    /// Replaces a client's registration (every field, and its set of certificates) in one
    /// transaction; returns false if there is no such client. `client_id` and `created_at` are
    /// the keys and are not changed.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    /// Deletes a client and every token issued to it; returns whether it existed.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
}

/// Clients read per page by [`ClientPages`]: with a million registered clients the
/// whole list held at once took gigabytes.
pub const CLIENT_PAGE: u32 = 1000;

/// Every registered client, read a page of [`CLIENT_PAGE`] at a time by id: the scans over
/// all of them (start-up checks, the daily expiry report, `client list`, the admin API's full
/// listing) hold one page at a time. Clients added or removed during a scan may or may not be
/// seen; every client present throughout is seen exactly once.
pub struct ClientPages<'a, S: ?Sized> {
    store: &'a S,
    after: Option<String>,
    done: bool,
}

impl<'a, S: ClientStore + ?Sized> ClientPages<'a, S> {
    /// A scan from the first client.
    pub fn new(store: &'a S) -> Self {
        ClientPages {
            store,
            after: None,
            done: false,
        }
    }

    /// The next page, or `None` after the last. Before every page but the first the task
    /// yields to others, so a scan of a large store does not hold up requests on its thread.
    pub async fn next(&mut self) -> Result<Option<Vec<Client>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        if self.after.is_some() {
            tokio::task::yield_now().await;
        }
        let page = self
            .store
            .list_clients_page(self.after.as_deref(), CLIENT_PAGE)
            .await?;
        self.done = page.len() < CLIENT_PAGE as usize;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = Some(last.client_id.clone());
        Ok(Some(page))
    }
}

/// Calls `f` with every registered client, page by page ([`ClientPages`]), and returns how
/// many there were.
pub async fn for_each_client_page<S, F>(store: &S, mut f: F) -> Result<u64, StoreError>
where
    S: ClientStore + ?Sized,
    F: FnMut(&[Client]),
{
    let (mut pages, mut seen) = (ClientPages::new(store), 0u64);
    while let Some(page) = pages.next().await? {
        f(&page);
        seen += page.len() as u64;
    }
    Ok(seen)
}

/// Local users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a new user; `Conflict` if the name exists.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    /// Looks a user up by name.
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Number of users (used to seed the first admin).
    async fn count_users(&self) -> Result<u64, StoreError>;
    /// All users, ordered by name.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Replaces a user's password hash, admin flag and claims; false if there is no such user.
    async fn update_user(&self, user: &User) -> Result<bool, StoreError>;
    /// Deletes a user with their sessions and consents, and revokes their grants with every
    /// token issued from them (as `revoke_tokens_of_user`); returns whether they existed.
    async fn delete_user(&self, username: &str) -> Result<bool, StoreError>;
    /// Replaces a user's profile claims; false if there is no such user.
    async fn update_user_claims(
        &self,
        username: &str,
        claims: &std::collections::BTreeMap<String, String>,
    ) -> Result<bool, StoreError>;
}

/// Issued access tokens, keyed by their hash.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token record durably before the token is handed out.
    async fn insert_access_token(&self, token: &AccessTokenRecord) -> Result<(), StoreError>;
    /// Looks a token up by the hash of its value.
    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StoreError>;
}

/// The outcome of redeeming an authorization code.
#[derive(Debug)]
pub enum CodeRedemption {
    /// This call consumed the code (exactly one caller ever gets this).
    Redeemed(AuthorizationCodeRecord),
    /// The code exists but was already redeemed: a replay (RFC 6749 §4.1.2).
    AlreadyUsed(AuthorizationCodeRecord),
    /// No such code.
    Unknown,
}

/// The tokens one grant request issues, stored together.
#[derive(Debug)]
pub struct GrantTokens {
    /// The grant family: the code every token of the grant descends from.
    pub family: TokenHash,
    /// The refresh token being exchanged (rotation), marked used at `now` in the same step;
    /// a token of `family`. Only an unused, unrevoked token of a live grant rotates, so a
    /// rotation that wins stores live tokens (the SQLite store relies on this).
    pub rotate: Option<(TokenHash, i64)>,
    /// Redeem the grant's code (`family`) in the same step: it must be unredeemed and issued
    /// to `access.client_id` (RFC 6749 §4.1.2: at most once), else nothing is stored. Set by
    /// the authorization code grant; `rotate` is then `None`.
    pub redeem: bool,
    /// The new access token.
    pub access: AccessTokenRecord,
    /// The new refresh token, if any.
    pub refresh: Option<RefreshTokenRecord>,
}

impl GrantTokens {
    /// `require_grant` for both tokens.
    pub fn require_grant(&self) -> Result<(), StoreError> {
        require_grant(self.access.subject.as_deref(), self.access.code.as_ref())?;
        match &self.refresh {
            Some(r) => require_grant(Some(&r.subject), r.code.as_ref()),
            None => Ok(()),
        }
    }
}

/// A token issued for a user must belong to a grant (its code's family): a user's tokens are
/// revoked through their grants (`TokenStore::revoke_tokens_of_user`), never looked up by
/// subject. The token endpoint only issues such tokens from a code or a refresh token, which
/// both carry the grant; this refuses any other, before anything is written.
pub fn require_grant(subject: Option<&str>, grant: Option<&TokenHash>) -> Result<(), StoreError> {
    match (subject, grant) {
        (Some(_), None) => Err(StoreError::Other(
            "a token with a subject must belong to a grant (its code_hash)".into(),
        )),
        _ => Ok(()),
    }
}

/// What storing a grant's tokens found.
#[derive(Debug, PartialEq, Eq)]
pub enum GrantStored {
    /// The tokens are stored and live.
    Stored,
    /// The tokens are stored, but the grant was revoked (a replay) by the time they were, so
    /// they are revoked too: the response stands, its tokens are simply not active.
    FamilyRevoked,
    /// The refresh token in `rotate` was already used (or revoked), or the code to `redeem`
    /// was already redeemed (or is another client's): nothing was stored.
    AlreadyUsed,
}

/// An authorization code as stored, and whether it has been redeemed.
#[derive(Debug, Clone)]
pub struct StoredCode {
    /// The code's record.
    pub code: AuthorizationCodeRecord,
    /// Whether a token request has redeemed it.
    pub redeemed: bool,
}

/// Authorization codes and refresh tokens.
#[async_trait]
pub trait GrantStore: TokenStore + Send + Sync {
    /// Stores what a code redemption or a refresh issues: redeems the code (`redeem`) or uses
    /// the refresh token being rotated (`rotate`), of concurrent callers exactly one
    /// succeeding, inserts the new tokens, and revokes them if the grant was revoked
    /// meanwhile. A backend that can do this as one transaction should (SQLite does: one
    /// statement in a group-committed write, shared by the batch); this default does it step by
    /// step, each step atomic.
    async fn store_grant_tokens(&self, t: &GrantTokens) -> Result<GrantStored, StoreError> {
        t.require_grant()?;
        if t.redeem
            && !matches!(
                self.redeem_code(&t.family, &t.access.client_id).await?,
                CodeRedemption::Redeemed(_)
            )
        {
            return Ok(GrantStored::AlreadyUsed);
        }
        if let Some((used, now)) = &t.rotate
            && !self.use_refresh_token(used, *now).await?
        {
            return Ok(GrantStored::AlreadyUsed);
        }
        self.insert_access_token(&t.access).await?;
        if let Some(refresh) = &t.refresh {
            self.insert_refresh_token(refresh).await?;
        }
        if self.is_family_revoked(&t.family).await? {
            self.revoke_code_family(&t.family).await?;
            return Ok(GrantStored::FamilyRevoked);
        }
        Ok(GrantStored::Stored)
    }

    /// Stores a new code.
    async fn insert_code(&self, code: &AuthorizationCodeRecord) -> Result<(), StoreError>;
    /// Looks a code up by hash, without redeeming it: what a token request checks before it
    /// redeems the code together with the tokens it issues (`GrantTokens::redeem`).
    async fn find_code(&self, hash: &TokenHash) -> Result<Option<StoredCode>, StoreError>;
    /// Atomically marks a code of `client_id` used; concurrent callers get `Redeemed` at most
    /// once. Another client's code reads as `Unknown` and is left untouched, so a thief cannot
    /// burn it.
    async fn redeem_code(
        &self,
        hash: &TokenHash,
        client_id: &str,
    ) -> Result<CodeRedemption, StoreError>;
    /// Revokes every access and refresh token issued from a code, and marks the grant revoked
    /// so tokens a concurrent request is still issuing can be caught (see `is_family_revoked`).
    async fn revoke_code_family(&self, code: &TokenHash) -> Result<(), StoreError>;
    /// Whether `revoke_code_family` has been called for this code.
    async fn is_family_revoked(&self, code: &TokenHash) -> Result<bool, StoreError>;
    /// Stores a new refresh token.
    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Looks a refresh token up by hash.
    async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// Marks an unused, unrevoked refresh token used at `now` (rotation). Atomic: of concurrent
    /// callers exactly one gets `true`.
    async fn use_refresh_token(&self, hash: &TokenHash, now: i64) -> Result<bool, StoreError>;
    /// Revokes one access token.
    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError>;
    /// Revokes every access and refresh token of a client; returns how many were live.
    async fn revoke_tokens_of_client(&self, client_id: &str) -> Result<u64, StoreError>;
    /// Revokes every grant of a user, and with it every access and refresh token issued from
    /// them (every token with a subject has a grant, see `require_grant`), including tokens a
    /// concurrent request is still issuing; returns how many grants were not revoked before.
    async fn revoke_tokens_of_user(&self, username: &str) -> Result<u64, StoreError>;
}

/// Browser sessions and remembered consents.
#[async_trait]
pub trait SessionStore: UserStore + Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    /// Looks a session up by the hash of its cookie value.
    async fn find_session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError>;
    /// Deletes a session.
    async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError>;
    /// The remembered consent of a user for a client.
    async fn find_consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<Option<Consent>, StoreError>;
    /// A user and their remembered consent for a client (`None`: no such user), which the
    /// authorize request needs together. A backend that can read both in one query should (SQL
    /// backends do: one round trip instead of two); this default reads them one after the other.
    async fn find_user_with_consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<Option<(User, Option<Consent>)>, StoreError> {
        let Some(user) = self.find_user(username).await? else {
            return Ok(None);
        };
        let consent = self.find_consent(username, client_id).await?;
        Ok(Some((user, consent)))
    }
    /// Remembers (replaces) a consent.
    async fn upsert_consent(&self, consent: &Consent) -> Result<(), StoreError>;
    /// Forgets a consent; returns whether one existed.
    async fn delete_consent(&self, username: &str, client_id: &str) -> Result<bool, StoreError>;
}

/// Token signing keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key, oldest first.
    async fn list_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Adds a key.
    async fn insert_key(&self, key: &SigningKey) -> Result<(), StoreError>;
    /// Sets when a key stops being used and published.
    async fn set_key_retire_at(&self, kid: &str, retire_at: Option<i64>) -> Result<(), StoreError>;
}

/// Dynamic client registration: RFC 7591 §3 initial access tokens and the RFC 7592
/// registration access token of a client (both by hash only).
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Stores a new initial access token; `Conflict` if its id exists.
    async fn insert_initial_access_token(
        &self,
        token: &InitialAccessToken,
    ) -> Result<(), StoreError>;
    /// Looks an initial access token up by the hash of its value.
    async fn find_initial_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<InitialAccessToken>, StoreError>;
    /// Takes one use of a token that is unexpired at `now` and has uses left. Atomic: of
    /// concurrent callers for its last use exactly one gets `true`.
    async fn use_initial_access_token(
        &self,
        hash: &TokenHash,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Every initial access token, oldest first.
    async fn list_initial_access_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError>;
    /// Deletes (revokes) an initial access token by id; returns whether it existed.
    async fn delete_initial_access_token(&self, id: &str) -> Result<bool, StoreError>;
    /// Replaces a client's registration access token hash with `new` if it is still `old`
    /// (compare-and-swap: a token is good for one rotation only); false otherwise.
    async fn replace_registration_token(
        &self,
        client_id: &str,
        old: &TokenHash,
        new: &TokenHash,
    ) -> Result<bool, StoreError>;
}

/// An orderly end of a store, at server shutdown.
#[async_trait]
pub trait StoreLifecycle: Send + Sync {
    /// Finishes the writes already accepted (each answered as usual, so a token whose write
    /// was queued is committed), then closes every connection. Calls after it fail as
    /// [`StoreError::Unavailable`]. The default does nothing (nothing to flush or close).
    async fn close(&self) {}
}

/// Whether the database can be used right now (`/readyz`).
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// A cheap read of the schema version, through the same path new work takes: `Err`
    /// ([`StoreError::Unavailable`]) when the database cannot be reached or read.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Everything the server needs from storage.
pub trait Store:
    ClientStore
    + UserStore
    + TokenStore
    + GrantStore
    + SessionStore
    + KeyStore
    + RegistrationStore
    + StoreLifecycle
    + HealthStore
{
}
impl<
    T: ClientStore
        + UserStore
        + TokenStore
        + GrantStore
        + SessionStore
        + KeyStore
        + RegistrationStore
        + StoreLifecycle
        + HealthStore,
> Store for T
{
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::ClientAuthMethod;
    use crate::registration::{ClientSpec, build_client};
    use crate::testing::MemoryStore;

    /// A store of `n` clients, `c00000` onwards, inserted in reverse id order.
    async fn store_of(n: usize) -> MemoryStore {
        let spec = ClientSpec::new("paged", ClientAuthMethod::ClientSecretBasic);
        let template = build_client(spec, &crate::OsRandom, 10).unwrap().0;
        let store = MemoryStore::default();
        for i in (0..n).rev() {
            let mut c = template.clone();
            c.client_id = format!("c{i:05}");
            store.insert_client(&c).await.unwrap();
        }
        store
    }

    /// The page sizes `for_each_client_page` handed over, and the ids in the order seen.
    async fn scan(store: &MemoryStore) -> (u64, Vec<usize>, Vec<String>) {
        let (mut pages, mut ids) = (Vec::new(), Vec::new());
        let n = for_each_client_page(store, |page| {
            pages.push(page.len());
            ids.extend(page.iter().map(|c| c.client_id.clone()));
        })
        .await
        .unwrap();
        (n, pages, ids)
    }

    #[tokio::test]
    async fn every_client_is_visited_once_a_page_at_a_time() {
        let n = 2 * CLIENT_PAGE as usize + 500;
        let (seen, pages, ids) = scan(&store_of(n).await).await;
        assert_eq!(seen, n as u64);
        assert_eq!(pages, [1000, 1000, 500]);
        let expected: Vec<String> = (0..n).map(|i| format!("c{i:05}")).collect();
        assert_eq!(ids, expected, "each once, in id order");
    }

    #[tokio::test]
    async fn a_full_last_page_and_an_empty_store() {
        let (seen, pages, _) = scan(&store_of(CLIENT_PAGE as usize).await).await;
        assert_eq!((seen, pages), (u64::from(CLIENT_PAGE), vec![1000]));
        let (seen, pages, _) = scan(&MemoryStore::default()).await;
        assert_eq!((seen, pages), (0, vec![]));
    }
}
