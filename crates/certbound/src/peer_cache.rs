//! Parsed client certificate chains, by the SHA-256 of their DER: a client that opens a new TLS
//! connection for every request (no session resumption) does not pay for X.509 parsing each
//! time. Bounded (started over when full); holds only public certificates. Validity is checked
//! where a certificate is used, never here, so a cached chain is as good as a fresh parse.

use certbound_mtls::PeerCertificate;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Most chains kept.
const CAPACITY: usize = 1024;

/// The cache; one per server, shared by every connection.
#[derive(Default)]
pub struct PeerCache {
    chains: Mutex<HashMap<[u8; 32], Arc<PeerCertificate>>>,
}

impl PeerCache {
    /// The parsed form of the chain a client presented, if it presented one that parses.
    pub fn get(&self, chain: Option<&[CertificateDer<'static>]>) -> Option<Arc<PeerCertificate>> {
        let chain = chain.filter(|c| !c.is_empty())?;
        let mut digest = Sha256::new();
        for c in chain {
            digest.update((c.len() as u64).to_be_bytes());
            digest.update(c.as_ref());
        }
        let key: [u8; 32] = digest.finalize().into();
        if let Some(p) = self.lock().get(&key) {
            return Some(Arc::clone(p));
        }
        let parsed = Arc::new(crate::tls::peer_certificate(Some(chain))?);
        let mut chains = self.lock();
        if chains.len() >= CAPACITY {
            chains.clear();
        }
        chains.insert(key, Arc::clone(&parsed));
        Some(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<PeerCertificate>>> {
        // Entries are whole values: a panic elsewhere cannot leave one half-written.
        self.chains.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(cn: &str) -> Vec<CertificateDer<'static>> {
        let key = rcgen::KeyPair::generate().unwrap_or_else(|_| unreachable!());
        let cert = rcgen::CertificateParams::new(vec![cn.to_owned()])
            .unwrap_or_else(|_| unreachable!())
            .self_signed(&key)
            .unwrap_or_else(|_| unreachable!());
        vec![cert.der().clone()]
    }

    #[test]
    fn the_same_chain_is_parsed_once_and_another_chain_is_not_confused_with_it() {
        let cache = PeerCache::default();
        let (a, b) = (chain("a.example"), chain("b.example"));
        let first = cache.get(Some(&a)).unwrap_or_else(|| unreachable!());
        let again = cache.get(Some(&a)).unwrap_or_else(|| unreachable!());
        assert!(Arc::ptr_eq(&first, &again), "a cached chain is shared");
        let other = cache.get(Some(&b)).unwrap_or_else(|| unreachable!());
        assert_ne!(other.thumbprint(), first.thumbprint());
        assert_eq!(
            first.thumbprint(),
            &certbound_mtls::Thumbprint::of_der(a[0].as_ref())
        );
        assert!(cache.get(None).is_none());
        assert!(cache.get(Some(&[])).is_none());
    }
}
