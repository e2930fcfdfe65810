//! Signing in at the authorization endpoint: password check, per-user and per-address
//! throttling of failures, and browser sessions whose cookie value is stored only as a hash.

use crate::model::{Session, User};
use crate::secret::{self, Secret};
use crate::{AuthServer, OAuthError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures are forgotten after this long without another one.
const FORGET_AFTER: i64 = 15 * 60;

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong username or password (the two are not distinguished).
    Invalid,
    /// Too many recent failures for this user or address; retry after this many seconds.
    Throttled(i64),
}

/// How sign-in failures are throttled (`[rate_limits]` `sign_in_*` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Off: failures are not counted (`[rate_limits] enabled = false`).
    pub enabled: bool,
    /// Failures allowed per user before sign-in is refused for a while.
    pub free_failures_per_user: u32,
    /// Failures allowed per client address before sign-in is refused for a while.
    pub free_failures_per_address: u32,
    /// First lockout once the allowance is used up, seconds; each further failure doubles it.
    pub first_lockout: i64,
    /// Longest lockout, seconds.
    pub max_lockout: i64,
    /// Most users and addresses tracked at once.
    pub max_entries: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            enabled: true,
            free_failures_per_user: 5,
            free_failures_per_address: 20,
            first_lockout: 30,
            max_lockout: 15 * 60,
            max_entries: 100_000,
        }
    }
}

/// Counts failed sign-ins per user and per address; after the free allowance each further
/// failure doubles the lockout (30 s, 60 s, ... by default, up to `max_lockout`), and a success clears the
/// user's count. A locked-out attempt is answered at once (429 with `Retry-After`), never by
/// sleeping: a sleeping request would hold a connection and an in-flight slot, which is what an
/// attacker wants. In memory, per node.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl LoginThrottle {
    /// A throttle with these settings.
    pub fn new(settings: ThrottleSettings) -> Self {
        LoginThrottle {
            settings,
            failures: Mutex::default(),
        }
    }

    fn keys(&self, username: &str, addr: IpAddr) -> [(String, u32); 2] {
        [
            (
                format!("user:{username}"),
                self.settings.free_failures_per_user,
            ),
            (
                Self::addr_key(addr),
                self.settings.free_failures_per_address,
            ),
        ]
    }

    /// IPv4 addresses count one by one; IPv6 by /64, the block one subscriber gets.
    fn addr_key(addr: IpAddr) -> String {
        match addr.to_canonical() {
            IpAddr::V4(a) => format!("addr:{a}"),
            IpAddr::V6(a) => format!("addr:{:x}/64", u128::from(a) >> 64),
        }
    }

    /// Seconds to wait before another attempt is allowed, if any.
    pub fn retry_after(&self, username: &str, addr: IpAddr, now: i64) -> Option<i64> {
        if !self.settings.enabled {
            return None;
        }
        let map = self.failures.lock().ok()?;
        self.keys(username, addr)
            .iter()
            .filter_map(|(k, free)| {
                let (count, last) = *map.get(k)?;
                let over = count.checked_sub(*free)?;
                let lock = self
                    .settings
                    .first_lockout
                    .saturating_mul(1 << over.min(30))
                    .min(self.settings.max_lockout);
                let until = last + lock;
                (until > now).then_some(until - now)
            })
            .max()
    }

    /// Records an attempt as a failure (before the password is checked, so parallel guesses
    /// count too); [`LoginThrottle::succeeded`] takes it back.
    pub fn failed(&self, username: &str, addr: IpAddr, now: i64) {
        if !self.settings.enabled {
            return;
        }
        if let Ok(mut map) = self.failures.lock() {
            let forget = FORGET_AFTER.max(self.settings.max_lockout);
            if map.len() >= self.settings.max_entries {
                map.retain(|_, (_, last)| now - *last < forget);
            }
            if map.len() >= self.settings.max_entries {
                // Bounded memory under a flood of distinct names and addresses: the entries
                // with the fewest failures go first, so a locked-out user stays locked out.
                let mut counts: Vec<u32> = map.values().map(|(c, _)| *c).collect();
                let half = counts.len() / 2;
                let (_, cut, _) = counts.select_nth_unstable(half);
                let cut = *cut;
                map.retain(|_, (c, _)| *c > cut);
                if map.len() >= self.settings.max_entries {
                    map.clear();
                }
            }
            for (k, _) in self.keys(username, addr) {
                let e = map.entry(k).or_insert((0, now));
                // Failures are forgotten after a quiet period.
                let count = if now - e.1 >= forget { 0 } else { e.0 };
                *e = (count.saturating_add(1), now);
            }
        }
    }

    /// After a success: clears the user's failures and takes back the address's count for
    /// this attempt.
    pub fn succeeded(&self, username: &str, addr: IpAddr) {
        if !self.settings.enabled {
            return;
        }
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&format!("user:{username}"));
            if let Some((count, _)) = map.get_mut(&Self::addr_key(addr)) {
                *count = count.saturating_sub(1);
            }
        }
    }
}

/// Checks a username and password and opens a session. Returns the cookie value (shown to the
/// browser only) and the session.
pub async fn login(
    server: &AuthServer,
    username: &str,
    password: &Secret,
    addr: IpAddr,
    now: i64,
) -> Result<Result<(Secret, Session), LoginError>, OAuthError> {
    match authenticate(server, username, password, addr, now).await? {
        Ok(user) => open_session(server, &user, addr, now).await.map(Ok),
        Err(e) => Ok(Err(e)),
    }
}

/// Checks a username and password, throttled per user and address; opens no session (the
/// console checks the admin flag first; the admin API checks HTTP Basic with it). Returns the user.
pub async fn authenticate(
    server: &AuthServer,
    username: &str,
    password: &Secret,
    addr: IpAddr,
    now: i64,
) -> Result<Result<User, LoginError>, OAuthError> {
    if let Some(wait) = server.throttle.retry_after(username, addr, now) {
        tracing::warn!(user = %username, %addr, "sign-in throttled after repeated failures");
        return Ok(Err(LoginError::Throttled(wait)));
    }
    server.throttle.failed(username, addr, now);
    let user = server.store.find_user(username).await?;
    let ok = match &user {
        Some(u) => {
            server
                .passwords
                .verify(&u.password_hash, password, now)
                .await
        }
        None => {
            server.passwords.burn(password).await;
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(user = %username, %addr, "sign-in failed");
        return Ok(Err(LoginError::Invalid));
    };
    server.throttle.succeeded(username, addr);
    Ok(Ok(user))
}

/// Opens a session for an authenticated user. Returns the cookie value (shown to the browser
/// only) and the session.
pub async fn open_session(
    server: &AuthServer,
    user: &User,
    addr: IpAddr,
    now: i64,
) -> Result<(Secret, Session), OAuthError> {
    let cookie = secret::generate(server.random.as_ref());
    let sid = secret::generate(server.random.as_ref());
    let lifetime = i64::try_from(server.settings.session_lifetime).unwrap_or(i64::MAX);
    let session = Session {
        hash: cookie.hash(),
        sid: sid.expose()[..22].to_owned(),
        username: user.username.clone(),
        auth_time: now,
        expires_at: now.saturating_add(lifetime),
    };
    server.store.insert_session(&session).await?;
    tracing::info!(user = %session.username, %addr, "signed in");
    Ok((cookie, session))
}

/// The live session for a cookie value, if any.
pub async fn session(
    server: &AuthServer,
    cookie: &str,
    now: i64,
) -> Result<Option<Session>, OAuthError> {
    let hash = Secret::new(cookie).hash();
    Ok(server
        .store
        .find_session(&hash)
        .await?
        .filter(|s| s.expires_at > now))
}

/// Ends a session (at a new sign-in, the old one is dropped so the id changes).
pub async fn end_session(server: &AuthServer, cookie: &str) -> Result<(), OAuthError> {
    Ok(server
        .store
        .delete_session(&Secret::new(cookie).hash())
        .await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn throttle_locks_out_after_the_allowance_and_backs_off() {
        let t = LoginThrottle::default();
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..ThrottleSettings::default().free_failures_per_user {
            assert_eq!(t.retry_after("alice", addr, 100), None, "attempt {i}");
            t.failed("alice", addr, 100);
        }
        assert_eq!(t.retry_after("alice", addr, 100), Some(30));
        t.failed("alice", addr, 100);
        assert_eq!(t.retry_after("alice", addr, 100), Some(60), "doubles");
        assert_eq!(
            t.retry_after("bob", addr, 100),
            None,
            "other users from the address are still allowed"
        );
        assert_eq!(t.retry_after("alice", addr, 100 + 61), None, "expires");
        t.succeeded("alice", addr);
        assert_eq!(t.retry_after("alice", addr, 100), None);
    }

    #[test]
    fn throttle_counts_per_address_across_usernames() {
        let t = LoginThrottle::default();
        let addr: IpAddr = "192.0.2.9".parse().unwrap();
        for i in 0..ThrottleSettings::default().free_failures_per_address {
            t.failed(&format!("user{i}"), addr, 100);
        }
        assert!(t.retry_after("fresh-name", addr, 100).is_some());
        assert!(
            t.retry_after("fresh-name", "192.0.2.10".parse().unwrap(), 100)
                .is_none()
        );
    }

    #[test]
    fn throttle_lockout_is_capped_forgotten_after_a_quiet_period_and_can_be_off() {
        let addr: IpAddr = "192.0.2.3".parse().unwrap();
        let t = LoginThrottle::new(ThrottleSettings {
            free_failures_per_user: 2,
            max_lockout: 100,
            ..ThrottleSettings::default()
        });
        for _ in 0..30 {
            t.failed("carol", addr, 1000);
        }
        assert_eq!(t.retry_after("carol", addr, 1000), Some(100), "capped");
        // Long after, the count starts again from one: no lockout beyond the allowance.
        t.failed("carol", addr, 1000 + FORGET_AFTER);
        assert_eq!(t.retry_after("carol", addr, 1000 + FORGET_AFTER), None);
        let off = LoginThrottle::new(ThrottleSettings {
            enabled: false,
            ..ThrottleSettings::default()
        });
        for _ in 0..100 {
            off.failed("carol", addr, 1000);
        }
        assert_eq!(off.retry_after("carol", addr, 1000), None);
    }

    #[test]
    fn throttle_memory_is_bounded_and_a_flood_keeps_the_locked_out_user() {
        let addr: IpAddr = "192.0.2.4".parse().unwrap();
        let t = LoginThrottle::new(ThrottleSettings {
            max_entries: 64,
            free_failures_per_address: u32::MAX,
            ..ThrottleSettings::default()
        });
        for _ in 0..10 {
            t.failed("victim", addr, 100);
        }
        for i in 0..1000 {
            t.failed(
                &format!("flood{i}"),
                format!("198.51.100.{}", i % 250).parse().unwrap(),
                100,
            );
        }
        assert!(t.failures.lock().unwrap().len() <= 64);
        assert!(t.retry_after("victim", addr, 100).is_some());
    }
}
