//! Request rate limits (`[rate_limits]`): GCRA, the token-bucket algorithm kept as one
//! timestamp per key, in a bounded, sharded in-memory map. Per node: several nodes each allow
//! the configured rate. Only the arithmetic and the map live here; which key an endpoint uses
//! is the handler's business, and the key is never read from a client-controlled header (the
//! address comes from `http::extract::client_addr`). Sign-in failure backoff is
//! `certbound_core::login::LoginThrottle`.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Number of independently locked parts of each limiter's map: requests for different keys
/// rarely wait for each other, and no lock is held for more than a lookup.
const SHARDS: usize = 64;

/// A rate: `count` requests per `period`, with bursts of up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period, on average.
    pub count: u32,
    /// The period.
    pub period: Duration,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

/// A refused request: how long until the next one would be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Whole seconds to wait (at least 1), for `Retry-After` (RFC 9110 §10.2.3).
    pub retry_after: u64,
}

/// One limit over many keys (client_ids, addresses). GCRA: each key stores its "theoretical
/// arrival time" (TAT); a request at `now` conforms when `TAT - now <= tolerance`, and then
/// moves the TAT one emission interval later.
#[derive(Debug)]
pub struct Limiter {
    /// Nanoseconds between requests at the sustained rate.
    interval: u64,
    /// How far ahead of `now` the TAT may be: `(burst - 1) * interval`.
    tolerance: u64,
    shards: Box<[Mutex<HashMap<u64, u64>>]>,
    /// Keyed hash (per process), so clients cannot aim their keys at one shard.
    hasher: RandomState,
    per_shard: usize,
    epoch: Instant,
}

impl Limiter {
    /// A limiter for `rate` that tracks at most about `max_keys` keys.
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        let period = u64::try_from(rate.period.as_nanos()).unwrap_or(u64::MAX);
        let interval = (period / u64::from(rate.count.max(1))).max(1);
        Limiter {
            interval,
            tolerance: interval.saturating_mul(u64::from(rate.burst.max(1) - 1)),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            epoch: Instant::now(),
        }
    }

    /// Counts a request for `key`; refuses it when the key is over its rate.
    pub fn check<K: Hash + ?Sized>(&self, key: &K) -> Result<(), Limited> {
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.check_at(self.hasher.hash_one(key), now)
    }

    /// [`Limiter::check`] for a hashed key at `now` (nanoseconds since the limiter's epoch).
    fn check_at(&self, hash: u64, now: u64) -> Result<(), Limited> {
        // The low bits pick the shard; the map hashes the key again for its buckets.
        let shard = &self.shards[(hash as usize) % SHARDS];
        // A poisoned shard only means another request panicked mid-update of a timestamp.
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        let tat = match map.get(&hash) {
            Some(&t) => t.max(now),
            None => {
                if map.len() >= self.per_shard {
                    evict(&mut map, now);
                }
                now
            }
        };
        let ahead = tat - now;
        if ahead > self.tolerance {
            let wait = ahead - self.tolerance;
            return Err(Limited {
                retry_after: wait.div_ceil(1_000_000_000).max(1),
            });
        }
        map.insert(hash, tat.saturating_add(self.interval));
        Ok(())
    }
}

/// Makes room in a full shard. Keys whose TAT has passed are exactly as a new key would be, so
/// dropping them loses nothing; if every key is still active (a flood of distinct keys), the
/// one nearest to idle goes, so the most limited keys are the last to be forgotten.
fn evict(map: &mut HashMap<u64, u64>, now: u64) {
    let before = map.len();
    map.retain(|_, tat| *tat > now);
    if map.len() < before {
        return;
    }
    if let Some(oldest) = map.iter().min_by_key(|(_, tat)| **tat).map(|(k, _)| *k) {
        map.remove(&oldest);
    }
}

/// The key of a client address: IPv4 addresses one by one, IPv6 by /64 (the block one
/// subscriber gets, so rotating within it does not escape the limit).
pub fn address_key(addr: IpAddr) -> u128 {
    match addr.to_canonical() {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => (u128::from(a) >> 64) | (1 << 127),
    }
}

/// The validated `[rate_limits]` request rates; `None` everywhere when disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Token endpoint, per client_id.
    pub token_per_client: Option<Rate>,
    /// Token endpoint, per address.
    pub token_per_address: Option<Rate>,
    /// Dynamic registration, per address.
    pub registration_per_address: Option<Rate>,
    /// Sign-in form posts (authorization endpoint and console), per address.
    pub sign_in_per_address: Option<Rate>,
    /// Most keys each limiter tracks.
    pub max_tracked_keys: usize,
}

/// The server's limiters, built once from the configuration.
#[derive(Debug, Default)]
pub struct RateLimits {
    token_per_client: Option<Limiter>,
    token_per_address: Option<Limiter>,
    registration_per_address: Option<Limiter>,
    sign_in_per_address: Option<Limiter>,
}

impl RateLimits {
    /// Limiters for the configured rates.
    pub fn new(config: &RateLimitConfig) -> Self {
        let make = |r: Option<Rate>| r.map(|r| Limiter::new(r, config.max_tracked_keys));
        RateLimits {
            token_per_client: make(config.token_per_client),
            token_per_address: make(config.token_per_address),
            registration_per_address: make(config.registration_per_address),
            sign_in_per_address: make(config.sign_in_per_address),
        }
    }

    /// Token endpoint, per address (checked before the request is parsed further).
    pub fn token_address(&self, addr: IpAddr) -> Result<(), Limited> {
        by_address(self.token_per_address.as_ref(), addr)
    }

    /// Token endpoint, per claimed client_id (before authentication, so guessing one
    /// client's secret from many addresses is limited too).
    pub fn token_client(&self, client_id: &str) -> Result<(), Limited> {
        self.token_per_client
            .as_ref()
            .map_or(Ok(()), |l| l.check(client_id))
    }

    /// `POST /oauth2/register`, per address.
    pub fn registration(&self, addr: IpAddr) -> Result<(), Limited> {
        by_address(self.registration_per_address.as_ref(), addr)
    }

    /// Sign-in form posts, per address.
    pub fn sign_in(&self, addr: IpAddr) -> Result<(), Limited> {
        by_address(self.sign_in_per_address.as_ref(), addr)
    }
}

fn by_address(limiter: Option<&Limiter>, addr: IpAddr) -> Result<(), Limited> {
    limiter.map_or(Ok(()), |l| l.check(&address_key(addr)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn limiter(count: u32, secs: u64, burst: u32, max_keys: usize) -> Limiter {
        Limiter::new(
            Rate {
                count,
                period: Duration::from_secs(secs),
                burst,
            },
            max_keys,
        )
    }

    #[test]
    fn a_burst_is_allowed_then_the_sustained_rate() {
        // 10 per second (one per 100 ms), bursts of 3.
        let l = limiter(10, 1, 3, 100);
        for i in 0..3 {
            assert_eq!(l.check_at(7, SECOND), Ok(()), "burst request {i}");
        }
        assert_eq!(
            l.check_at(7, SECOND),
            Err(Limited { retry_after: 1 }),
            "the fourth at once is refused"
        );
        // A refused request does not use up the allowance: 100 ms later one more conforms.
        assert_eq!(l.check_at(7, SECOND + SECOND / 10), Ok(()));
        assert!(l.check_at(7, SECOND + SECOND / 10).is_err());
        // Other keys are unaffected.
        assert_eq!(l.check_at(8, SECOND), Ok(()));
        // After a quiet spell the whole burst is back.
        for _ in 0..3 {
            assert_eq!(l.check_at(7, 3 * SECOND), Ok(()));
        }
    }

    #[test]
    fn retry_after_is_the_time_until_the_next_conforming_request_rounded_up() {
        // 2 per minute (one per 30 s), burst 1.
        let l = limiter(2, 60, 1, 100);
        assert_eq!(l.check_at(1, 0), Ok(()));
        assert_eq!(l.check_at(1, 0), Err(Limited { retry_after: 30 }));
        assert_eq!(l.check_at(1, 10 * SECOND), Err(Limited { retry_after: 20 }));
        assert_eq!(
            l.check_at(1, 29 * SECOND + 1),
            Err(Limited { retry_after: 1 })
        );
        assert_eq!(l.check_at(1, 30 * SECOND), Ok(()));
    }

    #[test]
    fn memory_is_bounded_and_a_flood_of_keys_forgets_the_idlest_first() {
        let l = limiter(1, 60, 1, SHARDS);
        // One key per shard is the bound; the limited key 0 is in shard 0.
        assert_eq!(l.check_at(0, 0), Ok(()));
        for i in 1..10_000u64 {
            let _ = l.check_at(i * SHARDS as u64, i);
        }
        let total: usize = l.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS, "{total} keys tracked");
        // Keys of one shard over the bound: the idlest (smallest TAT) went, the newest stays.
        let last = 9_999 * SHARDS as u64;
        assert!(
            l.check_at(last, 10_000).is_err(),
            "the newest is still limited"
        );
    }

    #[test]
    fn expired_keys_are_dropped_before_active_ones() {
        let l = limiter(1, 1, 1, SHARDS * 2);
        assert_eq!(l.check_at(0, 0), Ok(()));
        assert_eq!(l.check_at(SHARDS as u64, 10 * SECOND), Ok(()));
        // Shard 0 is full (two keys); key 0's TAT (1 s) has passed, so it is the one dropped.
        assert_eq!(l.check_at(2 * SHARDS as u64, 10 * SECOND), Ok(()));
        assert!(l.check_at(SHARDS as u64, 10 * SECOND).is_err(), "kept");
    }

    #[test]
    fn ipv6_addresses_share_a_limit_per_64_and_mapped_ipv4_is_ipv4() {
        let a = address_key("2001:db8:1:2::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = address_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            address_key("192.0.2.1".parse().unwrap())
        );
        assert_ne!(
            address_key("192.0.2.1".parse().unwrap()),
            address_key("::c000:201".parse().unwrap())
        );
    }

    #[test]
    fn limits_apply_per_endpoint_and_absent_ones_allow_everything() {
        let rate = Rate {
            count: 1,
            period: Duration::from_secs(60),
            burst: 1,
        };
        let limits = RateLimits::new(&RateLimitConfig {
            token_per_client: Some(rate),
            registration_per_address: Some(rate),
            max_tracked_keys: 100,
            ..RateLimitConfig::default()
        });
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.token_client("a").is_ok());
        assert!(limits.token_client("a").is_err());
        assert!(limits.token_client("b").is_ok());
        assert!(limits.registration(addr).is_ok());
        assert!(limits.registration(addr).is_err());
        for _ in 0..100 {
            assert!(limits.token_address(addr).is_ok());
            assert!(limits.sign_in(addr).is_ok());
        }
    }
}
