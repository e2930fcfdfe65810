//! Named trust stores for `tls_client_auth` (RFC 8705 §2.1; §7.4 "a client may be limited to
//! one of them"): each holds CA certificates and the CRLs currently loaded for them.
//!
//! This module holds state and decides which store(s) a client's certificate is checked
//! against; it must not read files or fetch URLs. The binary loads stores at start and swaps
//! in refreshed CRLs with [`TrustStore::set_crls`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use certbound_mtls::{CertError, ClientCertificate, Revocation, RevocationList, TrustAnchors};

/// The store that `[oauth.mutualtls] trusted_ca_file` defines.
pub const DEFAULT_STORE: &str = "default";

/// One named store: CA certificates, and CRLs when it has CRL sources.
pub struct TrustStore {
    name: String,
    anchors: TrustAnchors,
    checks_revocation: bool,
    crls: RwLock<Arc<Vec<RevocationList>>>,
}

impl TrustStore {
    /// A store named `name`. With `checks_revocation` (the store has CRL sources), the
    /// end-entity certificate's revocation status must be known; until CRLs are set, every
    /// certificate of the store is refused (fail closed).
    pub fn new(name: impl Into<String>, anchors: TrustAnchors, checks_revocation: bool) -> Self {
        TrustStore {
            name: name.into(),
            anchors,
            checks_revocation,
            crls: RwLock::new(Arc::new(Vec::new())),
        }
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its CA certificates.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    /// Whether the store checks revocation (has CRL sources).
    pub fn checks_revocation(&self) -> bool {
        self.checks_revocation
    }

    /// The CRLs in use, newest first.
    pub fn crls(&self) -> Arc<Vec<RevocationList>> {
        match self.crls.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the CRLs in use. They are ordered newest (thisUpdate) first, so that of two
    /// CRLs of one issuer the fresher is used.
    pub fn set_crls(&self, mut crls: Vec<RevocationList>) {
        crls.sort_by_key(|c| std::cmp::Reverse(c.this_update()));
        let crls = Arc::new(crls);
        match self.crls.write() {
            Ok(mut g) => *g = crls,
            Err(poisoned) => *poisoned.into_inner() = crls,
        }
    }

    /// Validates `cert` (with the presented `intermediates`) against this store at `now`.
    pub fn verify(
        &self,
        cert: &ClientCertificate,
        intermediates: &[ClientCertificate],
        now: i64,
    ) -> Result<(), CertError> {
        if !self.checks_revocation {
            return cert.verify_chain(intermediates, &self.anchors, now);
        }
        let crls = self.crls();
        cert.verify_chain_with_revocation(
            intermediates,
            &self.anchors,
            Revocation::Crls(&crls),
            now,
        )
    }
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("name", &self.name)
            .field("anchors", &self.anchors.len())
            .field("checks_revocation", &self.checks_revocation)
            .field("crls", &self.crls().len())
            .finish()
    }
}

/// All configured trust stores, by name.
#[derive(Default)]
pub struct TrustStores {
    stores: BTreeMap<String, Arc<TrustStore>>,
}

/// A second store with a name already used.
#[derive(Debug, thiserror::Error)]
#[error("trust store {0:?} is defined twice")]
pub struct DuplicateStore(pub String);

impl TrustStores {
    /// No stores: `tls_client_auth` clients cannot authenticate.
    pub const fn new() -> Self {
        TrustStores {
            stores: BTreeMap::new(),
        }
    }

    /// Adds a store; its name must be new.
    pub fn insert(&mut self, store: TrustStore) -> Result<Arc<TrustStore>, DuplicateStore> {
        if self.stores.contains_key(store.name()) {
            return Err(DuplicateStore(store.name().to_owned()));
        }
        let store = Arc::new(store);
        self.stores
            .insert(store.name().to_owned(), Arc::clone(&store));
        Ok(store)
    }

    /// Whether a store of this name is configured (for validating a client's `trust_store`).
    pub fn contains(&self, name: &str) -> bool {
        self.stores.contains_key(name)
    }

    /// The store of this name.
    pub fn get(&self, name: &str) -> Option<&Arc<TrustStore>> {
        self.stores.get(name)
    }

    /// The stores, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<TrustStore>> {
        self.stores.values()
    }

    /// The configured names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.stores.keys().map(String::as_str)
    }

    /// Whether no store is configured.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }

    /// Validates a certificate of a client that names no store: it may chain to any store.
    /// A revocation in any store wins over acceptance by another (the same CA may sit in two
    /// stores, one without CRLs); otherwise the first acceptance wins; otherwise the most
    /// telling refusal is returned.
    pub fn verify_any(
        &self,
        cert: &ClientCertificate,
        intermediates: &[ClientCertificate],
        now: i64,
    ) -> Result<(), CertError> {
        let mut accepted = false;
        let mut refusal: Option<CertError> = None;
        for store in self.stores.values() {
            match store.verify(cert, intermediates, now) {
                Ok(()) => accepted = true,
                Err(CertError::Revoked) => return Err(CertError::Revoked),
                Err(e) => {
                    if refusal.as_ref().is_none_or(|r| rank(&e) > rank(r)) {
                        refusal = Some(e);
                    }
                }
            }
        }
        match (accepted, refusal) {
            (true, _) => Ok(()),
            (false, Some(e)) => Err(e),
            (false, None) => Err(CertError::Untrusted("no trust store".into())),
        }
    }
}

/// How much a refusal says about the certificate: a store it chains to beats one it does not.
fn rank(e: &CertError) -> u8 {
    match e {
        CertError::RevocationUnknown(_) => 3,
        CertError::Expired | CertError::NotYetValid => 2,
        _ => 1,
    }
}

impl fmt::Debug for TrustStores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.stores.values()).finish()
    }
}

#[cfg(test)]
#[path = "trust_stores_tests.rs"]
mod tests;
