//! Test doubles for unit tests of the protocol logic: an in-memory store, a fixed clock, and
//! generated certificates. Compiled only for tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::model::{AccessTokenRecord, Client, User};
use crate::secret::TokenHash;
use crate::store::{ClientStore, StoreError, TokenStore, UserStore};
use crate::{AuthServer, Clock, OAuthSettings};
use async_trait::async_trait;
use certbound_mtls::{ClientCertificate, PeerCertificate};
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
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        self.clients
            .lock()
            .unwrap()
            .insert(c.client_id.clone(), c.clone());
        Ok(())
    }
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().get(id).cloned())
    }
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().values().cloned().collect())
    }
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
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
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_access_token(&self, t: &AccessTokenRecord) -> Result<(), StoreError> {
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
        OAuthSettings {
            issuer: "https://localhost:9443/oauth2/token".into(),
            access_token_lifetime: 3600,
            trust_anchors: None,
            legacy_x5t_sha256: false,
        },
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
