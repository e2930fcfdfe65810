//! `[ops]`: the operations listener (`/healthz`, `/readyz`, `/metrics`), plain HTTP on its
//! own address, loopback by default. `CERTBOUND_OPS_LISTEN` overrides `listen`.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::net::SocketAddr;

/// Default operations address: loopback only, on the port commonly used for metrics
/// exporters in the 94xx range (certbound's HTTPS default is 9443).
pub const DEFAULT_OPS_LISTEN: &str = "127.0.0.1:9464";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOps {
    enabled: Option<bool>,
    listen: Option<String>,
}

/// Where the operations endpoints listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpsListen {
    /// The address.
    pub addr: SocketAddr,
    /// True when nobody chose it: then a port already in use is a warning, not a failed start
    /// (two development servers on one machine must both start).
    pub is_default: bool,
}

impl RawOps {
    /// `None` when off (`enabled = false`, or `listen = ""`).
    pub(super) fn validate(self, env: Option<String>) -> Result<Option<OpsListen>> {
        if self.enabled == Some(false) {
            return Ok(None);
        }
        let chosen = env.or(self.listen);
        let is_default = chosen.is_none();
        let text = chosen.unwrap_or_else(|| DEFAULT_OPS_LISTEN.to_owned());
        if text.trim().is_empty() {
            return Ok(None);
        }
        let addr: SocketAddr = text.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "ops.listen {text:?} is not an address like 127.0.0.1:9464 (or \"\" to turn the operations endpoints off)"
            )
        })?;
        Ok(Some(OpsListen { addr, is_default }))
    }
}

impl OpsListen {
    /// Refuses an address another listener also uses (port 0 picks a free port, so it never
    /// collides).
    pub(super) fn check_distinct(&self, others: &[(&str, Option<SocketAddr>)]) -> Result<()> {
        for (key, other) in others {
            let Some(other) = other else { continue };
            let same_ip = other.ip() == self.addr.ip()
                || other.ip().is_unspecified()
                || self.addr.ip().is_unspecified();
            if self.addr.port() != 0 && other.port() == self.addr.port() && same_ip {
                bail!(
                    "ops.listen {} uses the same port as {key} {other}: the operations endpoints need an address of their own",
                    self.addr
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(enabled: Option<bool>, listen: Option<&str>) -> RawOps {
        RawOps {
            enabled,
            listen: listen.map(str::to_owned),
        }
    }

    #[test]
    fn default_is_loopback_9464_and_can_be_turned_off() {
        let d = raw(None, None).validate(None).unwrap().unwrap();
        assert_eq!(d.addr.to_string(), "127.0.0.1:9464");
        assert!(d.addr.ip().is_loopback() && d.is_default);
        assert_eq!(raw(Some(false), None).validate(None).unwrap(), None);
        assert_eq!(raw(None, Some("")).validate(None).unwrap(), None);
        let env = raw(None, Some("127.0.0.1:1"))
            .validate(Some("127.0.0.1:2".into()))
            .unwrap()
            .unwrap();
        assert_eq!(env.addr.port(), 2);
        assert!(!env.is_default);
    }

    #[test]
    fn bad_address_and_a_shared_port_are_refused_by_key() {
        let e = raw(None, Some("localhost")).validate(None).unwrap_err();
        assert!(e.to_string().contains("ops.listen"), "{e}");
        let ops = raw(None, Some("127.0.0.1:9443"))
            .validate(None)
            .unwrap()
            .unwrap();
        let main = Some("0.0.0.0:9443".parse().unwrap());
        let e = ops.check_distinct(&[("server.listen", main)]).unwrap_err();
        assert!(e.to_string().contains("same port as server.listen"), "{e}");
        let elsewhere = Some("127.0.0.1:9444".parse().unwrap());
        ops.check_distinct(&[("server.listen", elsewhere), ("server.http_listen", None)])
            .unwrap();
    }
}
