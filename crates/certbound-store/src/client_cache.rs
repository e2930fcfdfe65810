//! A per-process cache of clients for the token endpoint's hot path, kept coherent with the
//! database through a change counter.
//!
//! Every change to `clients` or `client_certificates`, by this process, a CLI command or
//! another node, bumps `client_generation.n` (database triggers). A background task reads the
//! counter every [`POLL`]; a new value empties the cache. Changes made through this process
//! empty it at once. A change made elsewhere is therefore seen within one poll interval, and
//! when the counter cannot be read for [`TRUST_FOR`] the cache is bypassed entirely, so a
//! database that is down never makes stale entries live longer.
//!
//! Unknown client_ids are never cached (no memory for an attacker to fill), and the cache is
//! bounded: when full it starts over.

use certbound_core::model::Client;
use certbound_core::store::StoreError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often the change counter is read.
pub(crate) const POLL: Duration = Duration::from_millis(100);
/// How long a counter reading is trusted; after that the cache is bypassed.
const TRUST_FOR: Duration = Duration::from_secs(1);
/// Most clients kept.
const CAPACITY: usize = 10_000;

/// The SQL both backends poll.
pub(crate) const GENERATION_SQL: &str = "SELECT n FROM client_generation";

/// The cache; shared between a store's clones and its poller.
#[derive(Default)]
pub(crate) struct ClientCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The counter as last read, and when.
    generation: Option<(i64, Instant)>,
    /// Bumped by local changes, so that a load that raced with one is not kept.
    epoch: u64,
    entries: HashMap<String, Arc<Client>>,
}

/// What a lookup that missed must hand back to [`ClientCache::put`].
#[derive(Clone, Copy)]
pub(crate) struct Ticket {
    generation: i64,
    epoch: u64,
}

impl Inner {
    fn live(&self) -> Option<i64> {
        self.generation
            .filter(|(_, at)| at.elapsed() < TRUST_FOR)
            .map(|(n, _)| n)
    }
}

impl ClientCache {
    /// Creates a cache and starts its poller, which calls `read` every [`POLL`] until the
    /// cache is dropped.
    pub(crate) fn start<F, Fut>(read: F) -> Arc<ClientCache>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<i64, StoreError>> + Send + 'static,
    {
        let cache = Arc::new(ClientCache::default());
        tokio::spawn(poll(Arc::downgrade(&cache), read));
        cache
    }

    /// The cached client, or a ticket to store what the database returns.
    fn get(&self, client_id: &str) -> Result<Arc<Client>, Option<Ticket>> {
        let inner = self.lock();
        let Some(generation) = inner.live() else {
            return Err(None);
        };
        match inner.entries.get(client_id) {
            Some(c) => Ok(Arc::clone(c)),
            None => Err(Some(Ticket {
                generation,
                epoch: inner.epoch,
            })),
        }
    }

    /// The client from the cache, or from `load` (kept when found and nothing changed
    /// meanwhile).
    pub(crate) async fn find<Fut>(
        &self,
        client_id: &str,
        load: Fut,
    ) -> Result<Option<Arc<Client>>, StoreError>
    where
        Fut: Future<Output = Result<Option<Arc<Client>>, StoreError>>,
    {
        let ticket = match self.get(client_id) {
            Ok(c) => return Ok(Some(c)),
            Err(ticket) => ticket,
        };
        let found = load.await?;
        if let (Some(ticket), Some(c)) = (ticket, &found) {
            self.put(ticket, c);
        }
        Ok(found)
    }

    /// Keeps `client` unless anything changed since the ticket was issued.
    fn put(&self, ticket: Ticket, client: &Arc<Client>) {
        let mut inner = self.lock();
        if inner.live() != Some(ticket.generation) || inner.epoch != ticket.epoch {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner
            .entries
            .insert(client.client_id.clone(), Arc::clone(client));
    }

    /// Forgets everything: this process changed a client.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.clear();
    }

    fn observe(&self, n: i64) {
        let mut inner = self.lock();
        if inner.generation.map(|(g, _)| g) != Some(n) {
            inner.entries.clear();
        }
        inner.generation = Some((n, Instant::now()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (entries are whole values), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn poll<F, Fut>(cache: Weak<ClientCache>, read: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<i64, StoreError>>,
{
    loop {
        let result = read().await;
        let Some(cache) = cache.upgrade() else { return };
        match result {
            Ok(n) => cache.observe(n),
            Err(e) => {
                tracing::debug!(error = %e, "client change counter unreadable; client cache bypassed")
            }
        }
        drop(cache);
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certbound_core::model::ClientAuthMethod;

    fn sample_client(id: &str) -> Client {
        Client {
            client_id: id.into(),
            name: String::new(),
            auth_method: ClientAuthMethod::None,
            secret_hash: None,
            certificates: vec![],
            subject: None,
            trust_store: None,
            jwks_uri: None,
            registration_token_hash: None,
            grant_types: vec![],
            redirect_uris: vec![],
            scopes: vec![],
            bound_tokens: false,
            access_token_lifetime: None,
            access_token_format: None,
            can_introspect: false,
            created_at: 1,
        }
    }

    fn cache_at(n: i64) -> ClientCache {
        let c = ClientCache::default();
        c.observe(n);
        c
    }

    #[test]
    fn a_counter_change_empties_the_cache() {
        let cache = cache_at(1);
        let Err(Some(ticket)) = cache.get("a") else {
            unreachable!("a miss with a live counter gives a ticket")
        };
        cache.put(ticket, &Arc::new(sample_client("a")));
        assert!(cache.get("a").is_ok());
        cache.observe(1);
        assert!(cache.get("a").is_ok(), "the same counter keeps entries");
        cache.observe(2);
        assert!(cache.get("a").is_err(), "a new counter drops them");
    }

    #[test]
    fn a_local_change_voids_tickets_issued_before_it() {
        let cache = cache_at(1);
        let Err(Some(ticket)) = cache.get("a") else {
            unreachable!("a miss with a live counter gives a ticket")
        };
        cache.invalidate();
        cache.put(ticket, &Arc::new(sample_client("a")));
        assert!(
            cache.get("a").is_err(),
            "a load that raced a change is not kept"
        );
    }

    #[test]
    fn without_a_counter_reading_nothing_is_cached() {
        let cache = ClientCache::default();
        assert!(matches!(cache.get("a"), Err(None)));
    }
}
