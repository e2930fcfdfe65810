//! Injected time and randomness, so expiry can be tested without sleeping (DESIGN rule 12).

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> i64;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// A CSPRNG seeded by the operating system: AWS-LC's `RAND_bytes` (the crypto library rustls
/// already runs on here), a per-thread DRBG that reseeds from `getrandom` and on fork. A
/// token costs no system call, where `getrandom` per token was one on every issuance.
///
/// Small draws (tokens, codes, secrets: 32 bytes) are served from a per-thread pool that one
/// `RAND_bytes` call fills with `POOL` bytes: each call costs about 2,400 instructions
/// whatever its size (the DRBG's re-keying after every draw; callgrind, issue 9), a tenth of
/// a client_credentials request's own work outside TLS and HTTP. Bytes handed out are zeroed
/// in the pool, so it never holds a value already in use. certbound never forks to run code
/// of its own (a child process `exec`s at once), which is what a pool must not survive.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

/// Bytes drawn from the DRBG at a time for the per-thread pool.
const POOL: usize = 1024;

/// A thread's unused random bytes: `bytes[used..]`.
struct Pool {
    bytes: [u8; POOL],
    used: usize,
}

thread_local! {
    static POOLS: std::cell::RefCell<Pool> = const {
        std::cell::RefCell::new(Pool { bytes: [0; POOL], used: POOL })
    };
}

/// Fills `buf` straight from the DRBG. Its failing is unrecoverable and must never yield a
/// weak token: abort.
fn draw(buf: &mut [u8]) {
    if aws_lc_rs::rand::fill(buf).is_err() {
        std::process::abort();
    }
}

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        if buf.len() > POOL / 8 {
            return draw(buf);
        }
        POOLS.with_borrow_mut(|pool| {
            if POOL - pool.used < buf.len() {
                draw(&mut pool.bytes);
                pool.used = 0;
            }
            let taken = &mut pool.bytes[pool.used..pool.used + buf.len()];
            buf.copy_from_slice(taken);
            taken.fill(0);
            pool.used += buf.len();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{OsRandom, Random};

    #[test]
    fn draws_across_pool_refills_differ_and_are_not_all_zero() {
        // More 32-byte draws than one pool holds, then sizes that straddle its end, and one
        // larger than a pooled draw may be: all distinct, none zero.
        let mut seen = std::collections::HashSet::new();
        for len in std::iter::repeat_n(32, 3 * super::POOL / 32).chain([7, 100, 128, 129, 4096]) {
            let mut b = vec![0u8; len];
            OsRandom.fill(&mut b);
            assert!(b.iter().any(|&x| x != 0), "{len} bytes all zero");
            assert!(seen.insert(b), "a draw of {len} bytes repeated");
        }
    }

    #[test]
    fn each_thread_draws_its_own_bytes() {
        let draw = || {
            let mut b = [0u8; 32];
            OsRandom.fill(&mut b);
            b
        };
        let here = draw();
        let there = std::thread::spawn(draw).join().unwrap_or_default();
        assert_ne!(there, [0u8; 32]);
        assert_ne!(here, there);
    }

    #[test]
    fn two_draws_differ_and_are_not_all_zero() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        OsRandom.fill(&mut a);
        OsRandom.fill(&mut b);
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }
}
