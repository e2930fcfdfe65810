//! `[rate_limits]`: request rates per client_id and per address, and the sign-in failure
//! backoff. Parsing and validation only; the limiters are `crate::rate_limit` and
//! `certbound_core::login::LoginThrottle`.

use crate::rate_limit::{Rate, RateLimitConfig};
use anyhow::{Result, bail};
use certbound_core::login::ThrottleSettings;
use serde::Deserialize;
use std::time::Duration;

/// The raw `[rate_limits]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimits {
    enabled: Option<bool>,
    token_per_client_per_second: Option<u32>,
    token_per_client_burst: Option<u32>,
    token_per_address_per_second: Option<u32>,
    token_per_address_burst: Option<u32>,
    registration_per_address_per_minute: Option<u32>,
    registration_per_address_burst: Option<u32>,
    sign_in_per_address_per_minute: Option<u32>,
    sign_in_per_address_burst: Option<u32>,
    sign_in_free_failures_per_user: Option<u32>,
    sign_in_free_failures_per_address: Option<u32>,
    sign_in_first_lockout_seconds: Option<u32>,
    sign_in_max_lockout_seconds: Option<u32>,
    max_tracked_keys: Option<usize>,
}

/// Defaults: generous enough that no ordinary client, NAT or test suite meets them; they stop
/// floods, not traffic.
const TOKEN_PER_CLIENT: (u32, u32) = (1000, 2000);
const TOKEN_PER_ADDRESS: (u32, u32) = (2000, 4000);
const REGISTRATION_PER_ADDRESS: (u32, u32) = (60, 20);
const SIGN_IN_PER_ADDRESS: (u32, u32) = (300, 60);
const MAX_TRACKED_KEYS: usize = 100_000;

/// Both halves of `[rate_limits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Request rates (all `None` when disabled).
    pub requests: RateLimitConfig,
    /// Sign-in failure backoff.
    pub sign_in_failures: ThrottleSettings,
}

impl RawRateLimits {
    /// Validates the table; every error names its key.
    pub(super) fn validate(&self) -> Result<RateLimitSettings> {
        let enabled = self.enabled.unwrap_or(true);
        let max_tracked_keys = self.max_tracked_keys.unwrap_or(MAX_TRACKED_KEYS);
        if !(1000..=10_000_000).contains(&max_tracked_keys) {
            bail!("rate_limits.max_tracked_keys must be between 1000 and 10000000");
        }
        let second = Duration::from_secs(1);
        let minute = Duration::from_secs(60);
        let token_per_client = rate(
            (
                "token_per_client_per_second",
                self.token_per_client_per_second,
            ),
            ("token_per_client_burst", self.token_per_client_burst),
            TOKEN_PER_CLIENT,
            second,
        )?;
        let token_per_address = rate(
            (
                "token_per_address_per_second",
                self.token_per_address_per_second,
            ),
            ("token_per_address_burst", self.token_per_address_burst),
            TOKEN_PER_ADDRESS,
            second,
        )?;
        let registration_per_address = rate(
            (
                "registration_per_address_per_minute",
                self.registration_per_address_per_minute,
            ),
            (
                "registration_per_address_burst",
                self.registration_per_address_burst,
            ),
            REGISTRATION_PER_ADDRESS,
            minute,
        )?;
        let sign_in_per_address = rate(
            (
                "sign_in_per_address_per_minute",
                self.sign_in_per_address_per_minute,
            ),
            ("sign_in_per_address_burst", self.sign_in_per_address_burst),
            SIGN_IN_PER_ADDRESS,
            minute,
        )?;
        let d = ThrottleSettings::default();
        let free_user = self
            .sign_in_free_failures_per_user
            .unwrap_or(d.free_failures_per_user);
        let free_address = self
            .sign_in_free_failures_per_address
            .unwrap_or(d.free_failures_per_address);
        if free_user == 0 || free_address == 0 {
            bail!(
                "rate_limits.sign_in_free_failures_per_user and sign_in_free_failures_per_address must be at least 1 (a typo must not lock the user out)"
            );
        }
        let first_lockout = match self.sign_in_first_lockout_seconds {
            None => d.first_lockout,
            Some(s @ 1..=3600) => i64::from(s),
            Some(_) => {
                bail!("rate_limits.sign_in_first_lockout_seconds must be between 1 and 3600")
            }
        };
        let max_lockout = match self.sign_in_max_lockout_seconds {
            None => d.max_lockout.max(first_lockout),
            Some(s @ 1..=86_400) if i64::from(s) >= first_lockout => i64::from(s),
            Some(_) => bail!(
                "rate_limits.sign_in_max_lockout_seconds must be between sign_in_first_lockout_seconds and 86400"
            ),
        };
        let on = |r: Rate| enabled.then_some(r);
        Ok(RateLimitSettings {
            requests: RateLimitConfig {
                token_per_client: on(token_per_client),
                token_per_address: on(token_per_address),
                registration_per_address: on(registration_per_address),
                sign_in_per_address: on(sign_in_per_address),
                max_tracked_keys,
            },
            sign_in_failures: ThrottleSettings {
                enabled,
                free_failures_per_user: free_user,
                free_failures_per_address: free_address,
                first_lockout,
                max_lockout,
                max_entries: max_tracked_keys,
            },
        })
    }
}

/// A rate key and its burst key: each between 1 and 1,000,000.
fn rate(
    (count_key, count): (&str, Option<u32>),
    (burst_key, burst): (&str, Option<u32>),
    (default_count, default_burst): (u32, u32),
    period: Duration,
) -> Result<Rate> {
    let check = |key: &str, v: u32| -> Result<u32> {
        if !(1..=1_000_000).contains(&v) {
            bail!(
                "rate_limits.{key} must be between 1 and 1000000 (to turn rate limits off, set rate_limits.enabled = false)"
            );
        }
        Ok(v)
    };
    Ok(Rate {
        count: check(count_key, count.unwrap_or(default_count))?,
        period,
        burst: check(burst_key, burst.unwrap_or(default_burst))?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RateLimitSettings> {
        #[derive(Deserialize)]
        struct Doc {
            rate_limits: RawRateLimits,
        }
        toml::from_str::<Doc>(text)?.rate_limits.validate()
    }

    #[test]
    fn on_by_default_with_generous_limits() {
        let s = parse("[rate_limits]\n").unwrap();
        let client = s.requests.token_per_client.unwrap();
        assert_eq!((client.count, client.burst), TOKEN_PER_CLIENT);
        assert_eq!(client.period, Duration::from_secs(1));
        let reg = s.requests.registration_per_address.unwrap();
        assert_eq!(reg.period, Duration::from_secs(60));
        assert!(s.sign_in_failures.enabled);
    }

    #[test]
    fn keys_are_read_and_disabling_turns_every_limit_off() {
        let s = parse(
            "[rate_limits]\ntoken_per_client_per_second = 5\ntoken_per_client_burst = 2\nsign_in_max_lockout_seconds = 60\n",
        )
        .unwrap();
        let client = s.requests.token_per_client.unwrap();
        assert_eq!((client.count, client.burst), (5, 2));
        assert_eq!(s.sign_in_failures.max_lockout, 60);
        let off = parse("[rate_limits]\nenabled = false\n").unwrap();
        assert_eq!(off.requests.token_per_client, None);
        assert_eq!(off.requests.token_per_address, None);
        assert_eq!(off.requests.registration_per_address, None);
        assert_eq!(off.requests.sign_in_per_address, None);
        assert!(!off.sign_in_failures.enabled);
    }

    #[test]
    fn bad_values_are_errors_that_name_the_key() {
        for (text, key) in [
            (
                "token_per_client_per_second = 0",
                "token_per_client_per_second",
            ),
            (
                "token_per_address_burst = 2000000",
                "token_per_address_burst",
            ),
            (
                "registration_per_address_per_minute = 0",
                "registration_per_address_per_minute",
            ),
            ("sign_in_per_address_burst = 0", "sign_in_per_address_burst"),
            (
                "sign_in_free_failures_per_user = 0",
                "sign_in_free_failures_per_user",
            ),
            (
                "sign_in_max_lockout_seconds = 0",
                "sign_in_max_lockout_seconds",
            ),
            (
                "sign_in_first_lockout_seconds = 0",
                "sign_in_first_lockout_seconds",
            ),
            (
                "sign_in_first_lockout_seconds = 60\nsign_in_max_lockout_seconds = 30",
                "sign_in_max_lockout_seconds",
            ),
            ("max_tracked_keys = 10", "max_tracked_keys"),
        ] {
            let e = parse(&format!("[rate_limits]\n{text}\n")).unwrap_err();
            assert!(e.to_string().contains(key), "{text}: {e}");
        }
        assert!(parse("[rate_limits]\ntoken_per_client = 5\n").is_err());
        assert!(parse("[rate_limits]\ntoken_per_client_per_second = -1\n").is_err());
    }
}
