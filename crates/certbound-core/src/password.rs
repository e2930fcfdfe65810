//! User passwords: Argon2id hashes in PHC string form.

use crate::secret::Secret;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier as _, SaltString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::Semaphore;

/// Hashes a password with Argon2id and a random salt (OWASP-recommended default parameters).
pub fn hash(
    password: &Secret,
    random: &dyn crate::Random,
) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

/// Verifies a password against a stored PHC string; false on any mismatch or malformed hash.
pub fn verify(stored: &str, password: &Secret) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &h)
            .is_ok()
    })
}

/// Burns the time of one verification, so an unknown username takes as long as a wrong password.
pub fn verify_dummy(password: &Secret) {
    let _ = verify(DUMMY, password);
}

/// A well-formed Argon2id hash of nothing anyone knows, with the default parameters.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xi0b3Qi6D7Gd2S4sGEsLw0w6Kq4JW8v5J+P2oTDJvCo";

/// How long a successful verification is remembered.
const CACHE_SECONDS: i64 = 60;
/// Most remembered verifications; the cache is emptied when it would grow past this.
const CACHE_ENTRIES: usize = 1024;

/// Verifies passwords off the async worker threads, a bounded number at a time, so a flood of
/// wrong passwords cannot stall the server; and remembers recent successes briefly, so a
/// resource server introspecting with HTTP Basic does not pay Argon2 on every call.
/// Only SHA-256 digests of (stored hash, password) are remembered, never passwords.
pub struct PasswordVerifier {
    permits: Semaphore,
    verified: Mutex<HashMap<[u8; 32], i64>>,
}

impl PasswordVerifier {
    /// A verifier running at most `concurrency` Argon2 computations at once.
    pub fn new(concurrency: usize) -> Self {
        PasswordVerifier {
            permits: Semaphore::new(concurrency.max(1)),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(&self, stored: &str, password: &Secret, now: i64) -> bool {
        let key: [u8; 32] = Sha256::new()
            .chain_update(stored.as_bytes())
            .chain_update([0u8])
            .chain_update(password.expose().as_bytes())
            .finalize()
            .into();
        if self
            .verified
            .lock()
            .is_ok_and(|m| m.get(&key).is_some_and(|exp| *exp > now))
        {
            return true;
        }
        let (stored, password) = (stored.to_owned(), password.clone());
        let ok = self.blocking(move || verify(&stored, &password)).await;
        if ok && let Ok(mut m) = self.verified.lock() {
            if m.len() >= CACHE_ENTRIES {
                m.clear();
            }
            m.insert(key, now.saturating_add(CACHE_SECONDS));
        }
        ok
    }

    /// Spends the time of one verification (for an unknown username), under the same limit.
    pub async fn burn(&self, password: &Secret) {
        let password = password.clone();
        self.blocking(move || {
            verify_dummy(&password);
            false
        })
        .await;
    }

    async fn blocking(&self, f: impl FnOnce() -> bool + Send + 'static) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(f).await.unwrap_or(false)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifier_remembers_successes_only_until_they_expire() {
        let h = hash(&Secret::new("pw"), &crate::OsRandom).unwrap();
        let v = PasswordVerifier::new(2);
        assert!(!v.verify(&h, &Secret::new("nope"), 0).await);
        assert!(v.verify(&h, &Secret::new("pw"), 0).await);
        assert_eq!(
            v.verified.lock().unwrap().len(),
            1,
            "only the success is remembered"
        );
        assert!(v.verify(&h, &Secret::new("pw"), CACHE_SECONDS - 1).await);
        assert!(
            !v.verify(&h, &Secret::new("nope"), 1).await,
            "a wrong password never hits the cache"
        );
        let other = hash(&Secret::new("pw"), &crate::OsRandom).unwrap();
        assert!(
            v.verify(&other, &Secret::new("pw"), 1).await,
            "keyed by the stored hash too"
        );
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        let parsed = PasswordHash::new(DUMMY).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let real = hash(&Secret::new("x"), &crate::OsRandom).unwrap();
        assert_eq!(
            PasswordHash::new(&real).unwrap().params,
            parsed.params,
            "same cost as real hashes"
        );
    }

    #[test]
    fn hash_then_verify() {
        let h = hash(&Secret::new("correct horse"), &crate::OsRandom).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, &Secret::new("correct horse")));
        assert!(!verify(&h, &Secret::new("correct horsE")));
        assert!(!verify("not a hash", &Secret::new("x")));
    }
}
