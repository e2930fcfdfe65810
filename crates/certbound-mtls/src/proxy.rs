//! Which certificate a request presents: the TLS connection's, or the one a trusted
//! TLS-terminating proxy forwarded in a header — never both, and never a header from anyone
//! else (the lesson of Keycloak #35861 and Traefik #5061). Shared by the server and by
//! resource servers so both apply the same rules.

use crate::PeerCertificate;
use crate::forwarded::{ForwardedError, HeaderFormat, parse_forwarded};
use std::net::IpAddr;
use std::str::FromStr;

/// An address range in CIDR notation (`127.0.0.1/32`, `::1/128`, or a bare address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// A string that is not an address range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address range like 127.0.0.1/32 or ::1/128")]
pub struct InvalidCidr(pub String);

impl FromStr for Cidr {
    type Err = InvalidCidr;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidCidr(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    /// Whether `addr` lies in the range. IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`, as seen on
    /// dual-stack sockets) are compared as IPv4.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The proxy-header configuration (`[oauth.mutualtls]`).
#[derive(Debug, Clone)]
pub struct ProxyPolicy {
    /// Header carrying the certificate, lower-case.
    pub header: String,
    /// Optional header carrying the chain (RFC 9440 `Client-Cert-Chain`), lower-case.
    pub chain_header: Option<String>,
    /// Encoding of the header.
    pub format: HeaderFormat,
    /// Peers whose headers are believed. Never empty.
    pub trusted: Vec<Cidr>,
    /// Most certificates (leaf included) accepted from a header.
    pub max_chain: usize,
}

/// Where the certificate of a request comes from.
#[derive(Debug)]
pub enum Presented {
    /// The TLS handshake of a direct connection: use the connection's certificate, if any.
    Tls,
    /// A trusted proxy's header (`None`: the proxy forwarded no certificate). The proxy's own
    /// TLS client certificate, if any, is not the client's and is not used.
    Forwarded(Option<PeerCertificate>),
    /// A direct connection from an untrusted peer sent the header: it is ignored and the
    /// connection's own certificate (if any) is used. Callers should log a warning.
    IgnoredHeader,
}

impl ProxyPolicy {
    /// Whether the TCP peer is a trusted proxy.
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(peer))
    }

    /// [`ProxyPolicy::select`] with the header values looked up by name (`lookup` returns
    /// every value of a header, in order), so callers need not know which headers apply.
    pub fn select_with<'a>(
        &self,
        peer: IpAddr,
        lookup: impl Fn(&str) -> Vec<&'a [u8]>,
    ) -> Result<Presented, ForwardedError> {
        let cert_values = lookup(&self.header);
        let chain_values = self
            .chain_header
            .as_deref()
            .map(&lookup)
            .unwrap_or_default();
        self.select(peer, &cert_values, &chain_values)
    }

    /// Decides where the presented certificate comes from. `header_values` / `chain_values`
    /// are every value of the configured headers on the request, in order.
    pub fn select(
        &self,
        peer: IpAddr,
        header_values: &[&[u8]],
        chain_values: &[&[u8]],
    ) -> Result<Presented, ForwardedError> {
        if !self.is_trusted(peer) {
            return Ok(if header_values.is_empty() && chain_values.is_empty() {
                Presented::Tls
            } else {
                Presented::IgnoredHeader
            });
        }
        if header_values.len() > 1 || chain_values.len() > 1 {
            return Err(ForwardedError::Repeated);
        }
        let Some(value) = header_values.first() else {
            return Ok(Presented::Forwarded(None));
        };
        parse_forwarded(
            self.format,
            value,
            chain_values.first().copied(),
            self.max_chain,
        )
        .map(Presented::Forwarded)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing_and_matching() {
        let v4: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(v4.contains("10.1.200.3".parse().unwrap()));
        assert!(!v4.contains("10.2.0.1".parse().unwrap()));
        assert!(
            v4.contains("::ffff:10.1.0.9".parse().unwrap()),
            "IPv4-mapped peers count as IPv4"
        );
        let host: Cidr = "127.0.0.1".parse().unwrap();
        assert!(host.contains("127.0.0.1".parse().unwrap()));
        assert!(!host.contains("127.0.0.2".parse().unwrap()));
        let v6: Cidr = "::1/128".parse().unwrap();
        assert!(v6.contains("::1".parse().unwrap()));
        assert!(!v6.contains("127.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "localhost",
            "10.0.0.0/x",
            "10.0.0/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    fn policy() -> ProxyPolicy {
        ProxyPolicy {
            header: "x-cert".into(),
            chain_header: None,
            format: HeaderFormat::Auto,
            trusted: vec!["127.0.0.1/32".parse().unwrap()],
            max_chain: 5,
        }
    }

    #[test]
    fn headers_from_untrusted_peers_are_ignored_and_flagged() {
        let p = policy();
        let untrusted = "127.0.0.2".parse().unwrap();
        let r = p.select(untrusted, &[b"garbage".as_slice()], &[]).unwrap();
        assert!(matches!(r, Presented::IgnoredHeader));
        let r = p.select(untrusted, &[], &[]).unwrap();
        assert!(matches!(r, Presented::Tls));
    }

    #[test]
    fn trusted_peers_use_the_header_only() {
        let p = policy();
        let trusted = "127.0.0.1".parse().unwrap();
        assert!(matches!(
            p.select(trusted, &[], &[]).unwrap(),
            Presented::Forwarded(None)
        ));
        assert!(matches!(
            p.select(trusted, &[b"(null)".as_slice()], &[]).unwrap(),
            Presented::Forwarded(None)
        ));
        assert_eq!(
            p.select(trusted, &[b"a".as_slice(), b"b".as_slice()], &[])
                .unwrap_err(),
            ForwardedError::Repeated
        );
        assert_eq!(
            p.select(trusted, &[b"MIIgarbage".as_slice()], &[])
                .unwrap_err(),
            ForwardedError::Unparseable
        );
    }
}
