//! Test doubles for unit tests of the protocol logic: an in-memory store, a fixed clock, and
//! generated certificates. Compiled only for tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::jose::SigningKey;
use crate::model::{
    AccessTokenRecord, AuthorizationCodeRecord, Client, Consent, InitialAccessToken,
    RefreshTokenRecord, Session, User,
};
use crate::secret::TokenHash;
use crate::store::{
    ClientStore, CodeRedemption, GrantStore, KeyStore, RegistrationStore, SessionStore, StoreError,
    StoredCode, TokenStore, UserStore,
};
use crate::{AuthServer, Clock, OAuthSettings};
use async_trait::async_trait;
use certbound_mtls::{ClientCertificate, PeerCertificate};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// A clock that stands still until moved.
#[derive(Debug, Default)]
pub struct FixedClock(pub AtomicI64);

impl FixedClock {
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Everything in memory.
#[derive(Default)]
pub struct MemoryStore {
    clients: Mutex<HashMap<String, Client>>,
    users: Mutex<HashMap<String, User>>,
    tokens: Mutex<HashMap<[u8; 32], AccessTokenRecord>>,
    codes: Mutex<HashMap<[u8; 32], (AuthorizationCodeRecord, bool)>>,
    refresh: Mutex<HashMap<[u8; 32], RefreshTokenRecord>>,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    consents: Mutex<HashMap<(String, String), Consent>>,
    keys: Mutex<Vec<SigningKey>>,
    revoked_families: Mutex<std::collections::HashSet<[u8; 32]>>,
    initial_tokens: Mutex<Vec<InitialAccessToken>>,
}

#[async_trait]
impl RegistrationStore for MemoryStore {
    async fn insert_initial_access_token(&self, t: &InitialAccessToken) -> Result<(), StoreError> {
        let mut all = self.initial_tokens.lock().unwrap();
        if all.iter().any(|o| o.id == t.id) {
            return Err(StoreError::Conflict);
        }
        all.push(t.clone());
        Ok(())
    }
    async fn find_initial_access_token(
        &self,
        h: &TokenHash,
    ) -> Result<Option<InitialAccessToken>, StoreError> {
        let all = self.initial_tokens.lock().unwrap();
        Ok(all.iter().find(|t| t.hash == *h).cloned())
    }
    async fn use_initial_access_token(&self, h: &TokenHash, now: i64) -> Result<bool, StoreError> {
        let mut all = self.initial_tokens.lock().unwrap();
        Ok(match all.iter_mut().find(|t| t.hash == *h) {
            Some(t) if t.is_usable(now) => {
                t.uses_left -= 1;
                true
            }
            _ => false,
        })
    }
    async fn list_initial_access_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        Ok(self.initial_tokens.lock().unwrap().clone())
    }
    async fn delete_initial_access_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut all = self.initial_tokens.lock().unwrap();
        let before = all.len();
        all.retain(|t| t.id != id);
        Ok(all.len() != before)
    }
    async fn replace_registration_token(
        &self,
        client_id: &str,
        old: &TokenHash,
        new: &TokenHash,
    ) -> Result<bool, StoreError> {
        let mut clients = self.clients.lock().unwrap();
        Ok(match clients.get_mut(client_id) {
            Some(c) if c.registration_token_hash == Some(*old) => {
                c.registration_token_hash = Some(*new);
                true
            }
            _ => false,
        })
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn insert_code(&self, c: &AuthorizationCodeRecord) -> Result<(), StoreError> {
        self.codes
            .lock()
            .unwrap()
            .insert(c.hash.0, (c.clone(), false));
        Ok(())
    }
    async fn find_code(&self, h: &TokenHash) -> Result<Option<StoredCode>, StoreError> {
        Ok(self
            .codes
            .lock()
            .unwrap()
            .get(&h.0)
            .map(|(code, redeemed)| StoredCode {
                code: code.clone(),
                redeemed: *redeemed,
            }))
    }
    async fn redeem_code(
        &self,
        h: &TokenHash,
        client_id: &str,
    ) -> Result<CodeRedemption, StoreError> {
        let mut codes = self.codes.lock().unwrap();
        Ok(match codes.get_mut(&h.0) {
            None => CodeRedemption::Unknown,
            Some((c, _)) if c.client_id != client_id => CodeRedemption::Unknown,
            Some((c, used)) if *used => CodeRedemption::AlreadyUsed(c.clone()),
            Some((c, used)) => {
                *used = true;
                CodeRedemption::Redeemed(c.clone())
            }
        })
    }
    async fn is_family_revoked(&self, code: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.revoked_families.lock().unwrap().contains(&code.0))
    }
    async fn revoke_code_family(&self, code: &TokenHash) -> Result<(), StoreError> {
        self.revoked_families.lock().unwrap().insert(code.0);
        for t in self
            .tokens
            .lock()
            .unwrap()
            .values_mut()
            .filter(|t| t.code == Some(*code))
        {
            t.revoked = true;
        }
        for t in self
            .refresh
            .lock()
            .unwrap()
            .values_mut()
            .filter(|t| t.code == Some(*code))
        {
            t.revoked = true;
        }
        Ok(())
    }
    async fn insert_refresh_token(&self, t: &RefreshTokenRecord) -> Result<(), StoreError> {
        crate::store::require_grant(Some(&t.subject), t.code.as_ref())?;
        self.refresh.lock().unwrap().insert(t.hash.0, t.clone());
        Ok(())
    }
    async fn find_refresh_token(
        &self,
        h: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(self.refresh.lock().unwrap().get(&h.0).cloned())
    }
    async fn use_refresh_token(&self, h: &TokenHash, now: i64) -> Result<bool, StoreError> {
        let mut map = self.refresh.lock().unwrap();
        Ok(match map.get_mut(&h.0) {
            Some(t) if t.used_at.is_none() && !t.revoked => {
                t.used_at = Some(now);
                true
            }
            _ => false,
        })
    }
    async fn revoke_access_token(&self, h: &TokenHash) -> Result<(), StoreError> {
        if let Some(t) = self.tokens.lock().unwrap().get_mut(&h.0) {
            t.revoked = true;
        }
        Ok(())
    }
    async fn revoke_tokens_of_client(&self, client_id: &str) -> Result<u64, StoreError> {
        let mut n = 0;
        for t in self
            .tokens
            .lock()
            .unwrap()
            .values_mut()
            .filter(|t| t.client_id == client_id && !t.revoked)
        {
            t.revoked = true;
            n += 1;
        }
        for t in self
            .refresh
            .lock()
            .unwrap()
            .values_mut()
            .filter(|t| t.client_id == client_id && !t.revoked)
        {
            t.revoked = true;
            n += 1;
        }
        Ok(n)
    }
    async fn revoke_tokens_of_user(&self, username: &str) -> Result<u64, StoreError> {
        let grants: Vec<TokenHash> = self
            .codes
            .lock()
            .unwrap()
            .values()
            .filter(|(c, _)| c.username == username)
            .map(|(c, _)| c.hash)
            .collect();
        let mut n = 0;
        for grant in grants {
            if !self.is_family_revoked(&grant).await? {
                n += 1;
            }
            self.revoke_code_family(&grant).await?;
        }
        Ok(n)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        self.sessions.lock().unwrap().insert(s.hash.0, s.clone());
        Ok(())
    }
    async fn find_session(&self, h: &TokenHash) -> Result<Option<Session>, StoreError> {
        Ok(self.sessions.lock().unwrap().get(&h.0).cloned())
    }
    async fn delete_session(&self, h: &TokenHash) -> Result<(), StoreError> {
        self.sessions.lock().unwrap().remove(&h.0);
        Ok(())
    }
    async fn find_consent(&self, u: &str, c: &str) -> Result<Option<Consent>, StoreError> {
        Ok(self
            .consents
            .lock()
            .unwrap()
            .get(&(u.to_owned(), c.to_owned()))
            .cloned())
    }
    async fn upsert_consent(&self, c: &Consent) -> Result<(), StoreError> {
        self.consents
            .lock()
            .unwrap()
            .insert((c.username.clone(), c.client_id.clone()), c.clone());
        Ok(())
    }
    async fn delete_consent(&self, u: &str, c: &str) -> Result<bool, StoreError> {
        Ok(self
            .consents
            .lock()
            .unwrap()
            .remove(&(u.to_owned(), c.to_owned()))
            .is_some())
    }
}

#[async_trait]
impl crate::store::HealthStore for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn list_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        Ok(self.keys.lock().unwrap().clone())
    }
    async fn insert_key(&self, k: &SigningKey) -> Result<(), StoreError> {
        self.keys.lock().unwrap().push(k.clone());
        Ok(())
    }
    async fn set_key_retire_at(&self, kid: &str, t: Option<i64>) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        for k in keys.iter_mut().filter(|k| k.kid() == kid) {
            *k = k.clone().with_retire_at(t);
        }
        Ok(())
    }
}

impl crate::store::StoreLifecycle for MemoryStore {}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        self.clients
            .lock()
            .unwrap()
            .insert(c.client_id.clone(), c.clone());
        Ok(())
    }
    async fn find_client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.clients.lock().unwrap().get(id).cloned().map(Arc::new))
    }
    async fn list_clients_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Client>, StoreError> {
        let mut all: Vec<Client> = self
            .clients
            .lock()
            .unwrap()
            .values()
            .filter(|c| after.is_none_or(|a| c.client_id.as_str() > a))
            .cloned()
            .collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        all.truncate(limit as usize);
        Ok(all)
    }
    async fn update_client(&self, c: &Client) -> Result<bool, StoreError> {
        Ok(self
            .clients
            .lock()
            .unwrap()
            .get_mut(&c.client_id)
            .map(|old| *old = c.clone())
            .is_some())
    }
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        self.tokens.lock().unwrap().retain(|_, t| t.client_id != id);
        self.refresh
            .lock()
            .unwrap()
            .retain(|_, t| t.client_id != id);
        Ok(self.clients.lock().unwrap().remove(id).is_some())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        self.users
            .lock()
            .unwrap()
            .insert(u.username.clone(), u.clone());
        Ok(())
    }
    async fn find_user(&self, name: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.lock().unwrap().get(name).cloned())
    }
    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.users.lock().unwrap().len() as u64)
    }
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut all: Vec<User> = self.users.lock().unwrap().values().cloned().collect();
        all.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(all)
    }
    async fn update_user(&self, u: &User) -> Result<bool, StoreError> {
        Ok(self
            .users
            .lock()
            .unwrap()
            .get_mut(&u.username)
            .map(|old| *old = u.clone())
            .is_some())
    }
    async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        self.revoke_tokens_of_user(name).await?;
        self.sessions
            .lock()
            .unwrap()
            .retain(|_, s| s.username != name);
        self.consents.lock().unwrap().retain(|(u, _), _| u != name);
        Ok(self.users.lock().unwrap().remove(name).is_some())
    }
    async fn update_user_claims(
        &self,
        name: &str,
        claims: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .users
            .lock()
            .unwrap()
            .get_mut(name)
            .map(|u| u.claims = claims.clone())
            .is_some())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_access_token(&self, t: &AccessTokenRecord) -> Result<(), StoreError> {
        crate::store::require_grant(t.subject.as_deref(), t.code.as_ref())?;
        self.tokens.lock().unwrap().insert(t.hash.0, t.clone());
        Ok(())
    }
    async fn find_access_token(
        &self,
        h: &TokenHash,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        Ok(self.tokens.lock().unwrap().get(&h.0).cloned())
    }
}

/// A server over a memory store and a fixed clock at `now`.
pub fn server(now: i64) -> (AuthServer, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::default());
    clock.set(now);
    let mut server = AuthServer::new(
        Arc::new(MemoryStore::default()),
        OAuthSettings::with_issuer("https://localhost:9443/oauth2/token"),
        crate::jose::JwsAlg::ES256,
    );
    server.clock = clock.clone();
    (server, clock)
}

/// The current time as rcgen wants it.
fn at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// A self-signed certificate valid from `not_before` to `not_after` (Unix seconds).
pub fn certificate(cn: &str, not_before: i64, not_after: i64) -> PeerCertificate {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.not_before = at(not_before);
    p.not_after = at(not_after);
    let der = p.self_signed(&key).unwrap().der().to_vec();
    PeerCertificate {
        leaf: ClientCertificate::from_der(der).unwrap(),
        intermediates: vec![],
    }
}
