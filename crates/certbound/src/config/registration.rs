//! `[registration]`: who may register clients dynamically (RFC 7591 §3). Parsing only; the
//! policy itself is enforced in `certbound_core::dynamic_registration`.

use anyhow::{Result, anyhow};
use certbound_core::dynamic_registration::RegistrationPolicy;
use serde::Deserialize;

/// The raw `[registration]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistration {
    policy: Option<String>,
}

impl RawRegistration {
    /// `policy`: `disabled`, `open` or `initial_access_token` (the default: registration needs
    /// an initial access token from `certbound registration token create`, so nobody can
    /// register until the operator decides who may).
    pub(super) fn policy(&self) -> Result<RegistrationPolicy> {
        match &self.policy {
            None => Ok(RegistrationPolicy::default()),
            Some(p) => p.parse().map_err(|_| {
                anyhow!(
                    "registration.policy must be \"disabled\", \"open\" or \"initial_access_token\""
                )
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RegistrationPolicy> {
        #[derive(Deserialize)]
        struct Doc {
            registration: RawRegistration,
        }
        toml::from_str::<Doc>(text)?.registration.policy()
    }

    #[test]
    fn policy_defaults_to_initial_access_token_and_names_the_key_on_error() {
        assert_eq!(
            parse("[registration]\n").unwrap(),
            RegistrationPolicy::InitialAccessToken
        );
        assert_eq!(
            parse("[registration]\npolicy = \"open\"\n").unwrap(),
            RegistrationPolicy::Open
        );
        assert_eq!(
            parse("[registration]\npolicy = \"disabled\"\n").unwrap(),
            RegistrationPolicy::Disabled
        );
        let e = parse("[registration]\npolicy = \"anyone\"\n").unwrap_err();
        assert!(e.to_string().contains("registration.policy"), "{e}");
        assert!(parse("[registration]\npolicey = \"open\"\n").is_err());
    }
}
