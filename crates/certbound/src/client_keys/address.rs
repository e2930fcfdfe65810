//! SSRF protection for `jwks_uri` fetches: which IP addresses certbound may connect to, and
//! resolving a host to addresses that are all allowed. The fetch then connects only to the
//! addresses returned here, so a DNS answer that changes between check and connect (rebinding)
//! cannot redirect it. This module does no HTTP.

use certbound_core::client_auth::KeySourceError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What an address is, for the purpose of fetching a client's key set from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Globally reachable: allowed.
    Public,
    /// Loopback, RFC 1918, CGNAT, unique-local: allowed only with `allow_private_addresses`.
    Private(&'static str),
    /// Never a jwks_uri host: unspecified, link-local, multicast, broadcast, documentation,
    /// benchmarking, reserved.
    Never(&'static str),
}

const RFC1918: Class = Class::Private("a private address (RFC 1918)");
const DOCUMENTATION: Class = Class::Never("a documentation address");

/// IPv4 ranges that are not public (RFC 6890 special-purpose registry).
const V4: [([u8; 4], u8, Class); 15] = [
    (
        [0, 0, 0, 0],
        8,
        Class::Never("unspecified or \"this network\" (0.0.0.0/8)"),
    ),
    ([10, 0, 0, 0], 8, RFC1918),
    (
        [100, 64, 0, 0],
        10,
        Class::Private("shared address space (CGNAT, 100.64.0.0/10)"),
    ),
    ([127, 0, 0, 0], 8, Class::Private("a loopback address")),
    ([169, 254, 0, 0], 16, Class::Never("a link-local address")),
    ([172, 16, 0, 0], 12, RFC1918),
    (
        [192, 0, 0, 0],
        24,
        Class::Never("an IETF protocol assignment (192.0.0.0/24)"),
    ),
    ([192, 0, 2, 0], 24, DOCUMENTATION),
    (
        [192, 88, 99, 0],
        24,
        Class::Never("the deprecated 6to4 relay anycast range"),
    ),
    ([192, 168, 0, 0], 16, RFC1918),
    (
        [198, 18, 0, 0],
        15,
        Class::Never("a benchmarking address (198.18.0.0/15)"),
    ),
    ([198, 51, 100, 0], 24, DOCUMENTATION),
    ([203, 0, 113, 0], 24, DOCUMENTATION),
    ([224, 0, 0, 0], 4, Class::Never("a multicast address")),
    (
        [240, 0, 0, 0],
        4,
        Class::Never("reserved (240.0.0.0/4, with broadcast)"),
    ),
];

/// IPv6 ranges that are not public; checked after the forms that embed an IPv4 address.
const V6: [([u16; 8], u8, Class); 11] = [
    (
        [0, 0, 0, 0, 0, 0, 0, 0],
        128,
        Class::Never("the unspecified address"),
    ),
    (
        [0, 0, 0, 0, 0, 0, 0, 1],
        128,
        Class::Private("a loopback address"),
    ),
    (
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        Class::Never("local-use NAT64 (64:ff9b:1::/48)"),
    ),
    (
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        Class::Never("discard-only (100::/64)"),
    ),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, DOCUMENTATION),
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        Class::Never("an IETF protocol assignment (2001::/23, Teredo included)"),
    ),
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, DOCUMENTATION),
    (
        [0x5f00, 0, 0, 0, 0, 0, 0, 0],
        16,
        Class::Never("an SRv6 SID (5f00::/16)"),
    ),
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        Class::Private("a unique-local address (fc00::/7)"),
    ),
    (
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        Class::Never("a link-local address"),
    ),
    (
        [0xff00, 0, 0, 0, 0, 0, 0, 0],
        8,
        Class::Never("a multicast address"),
    ),
];

fn class_v4(ip: Ipv4Addr) -> Class {
    let n = u32::from(ip);
    V4.iter()
        .find(|(net, len, _)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            n & mask == u32::from_be_bytes(*net) & mask
        })
        .map_or(Class::Public, |(_, _, class)| *class)
}

fn class_v6(ip: Ipv6Addr) -> Class {
    let n = u128::from(ip);
    let s = ip.segments();
    let embedded = |bits: u128| Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach the embedded IPv4 address;
    // 2002:aabb:ccdd::/48 (6to4) routes to a.b.c.d.
    if n >> 32 == 0xffff || n >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return class_v4(embedded(n));
    }
    if s[0] == 0x2002 {
        return class_v4(embedded(n >> 80));
    }
    let listed = V6.iter().find(|(net, len, _)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
        n & mask == u128::from(Ipv6Addr::from(*net)) & mask
    });
    match listed {
        Some((_, _, class)) => *class,
        // Global unicast is 2000::/3; the rest (::/8 with the deprecated IPv4-compatible
        // ::a.b.c.d, and the unassigned ranges) is reserved.
        None if s[0] & 0xe000 != 0x2000 => Class::Never("reserved (outside 2000::/3)"),
        None => Class::Public,
    }
}

/// Why a `jwks_uri` fetch may not connect to `ip`, or `None` when it may.
pub(crate) fn refusal(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    let class = match ip {
        IpAddr::V4(v4) => class_v4(v4),
        IpAddr::V6(v6) => class_v6(v6),
    };
    match class {
        Class::Public => None,
        Class::Private(_) if allow_private => None,
        Class::Private(why) | Class::Never(why) => Some(why),
    }
}

/// The addresses of `host` (an IP literal, bracketed for IPv6, or a DNS name), every one of
/// them allowed; a single refused address refuses the host.
pub(crate) async fn resolve_checked(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, KeySourceError> {
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ips: Vec<IpAddr> = match literal.unwrap_or(host).parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| KeySourceError::Fetch(format!("cannot resolve {host}: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    if ips.is_empty() {
        return Err(KeySourceError::Fetch(format!("{host} has no address")));
    }
    for ip in &ips {
        if let Some(why) = refusal(*ip, allow_private) {
            return Err(KeySourceError::Forbidden(format!(
                "{host} resolves to {ip}, {why}"
            )));
        }
    }
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refused(ip: &str, allow_private: bool) -> bool {
        refusal(ip.parse().unwrap(), allow_private).is_some()
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "198.17.255.255",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!refused(ip, false), "{ip} should be allowed");
        }
    }

    #[test]
    fn private_addresses_are_refused_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:192.168.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
        ] {
            assert!(refused(ip, false), "{ip} should be refused");
            assert!(
                !refused(ip, true),
                "{ip} is allowed with allow_private_addresses"
            );
        }
    }

    #[test]
    fn reserved_link_local_and_multicast_are_always_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "169.254.169.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "192.88.99.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::127.0.0.1",
            "::8.8.8.8",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "100::1",
            "64:ff9b:1::1",
            "5f00::1",
            "4000::1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:255.255.255.255",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::",
        ] {
            assert!(refused(ip, false), "{ip} should be refused");
            assert!(
                refused(ip, true),
                "{ip} is refused even with allow_private_addresses"
            );
        }
    }

    #[tokio::test]
    async fn literals_are_checked_without_dns_and_one_bad_address_refuses_the_host() {
        let e = resolve_checked("127.0.0.1", 443, false).await.unwrap_err();
        assert!(matches!(e, KeySourceError::Forbidden(_)), "{e}");
        let e = resolve_checked("[::1]", 443, false).await.unwrap_err();
        assert!(matches!(e, KeySourceError::Forbidden(_)), "{e}");
        let ok = resolve_checked("[::1]", 8443, true).await.unwrap();
        assert_eq!(ok, vec!["[::1]:8443".parse().unwrap()]);
        // localhost resolves (from /etc/hosts) to loopback only: refused by default.
        let e = resolve_checked("localhost", 443, false).await.unwrap_err();
        assert!(matches!(e, KeySourceError::Forbidden(_)), "{e}");
    }
}
