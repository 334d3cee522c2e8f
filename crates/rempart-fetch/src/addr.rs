//! Which destination addresses a fetch may connect to.
//!
//! The rule is deny-by-default for everything that is not ordinary, globally
//! routed unicast: a seller-supplied URL must never make rempart talk to the
//! machine it runs on, the operator's private network, or a cloud metadata
//! service. The only way to reach such an address is the operator's explicit
//! CIDR allow-list.
//!
//! IPv6 forms that carry an IPv4 address (`::ffff:a.b.c.d`, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they
//! lead to, because that is where the packets end up. Forms that are
//! deprecated or never used by public web servers (IPv4-compatible `::a.b.c.d`,
//! Teredo, the rest of `2001::/23`, anything outside `2000::/3`) are refused
//! outright rather than decoded: refusing costs nothing, decoding them right
//! is a liability.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Host names that lead to cloud instance metadata services. They are refused
/// by name, whatever they resolve to, because on some platforms they resolve
/// through a local resolver to addresses an allow-list might cover.
pub const METADATA_HOSTS: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.com",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
];

/// True if `host` (a DNS name, any case, with or without a trailing dot) is a
/// well-known cloud metadata host name.
pub fn is_metadata_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    METADATA_HOSTS.iter().any(|m| m.eq_ignore_ascii_case(host))
}

/// The IPv4 address an IPv6 address stands for when it is an IPv4-mapped
/// address (`::ffff:a.b.c.d`). Other addresses are returned unchanged.
///
/// Deliberately not [`Ipv6Addr::to_ipv4`], which also maps `::1` to
/// `0.0.0.1`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Why `ip` is not a public destination, or `None` if it is one.
///
/// The reason is a short, stable, human-readable label such as `"loopback"`
/// or `"link-local"`; it ends up in [`crate::FetchError::AddressNotAllowed`].
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let reason = if ip.is_unspecified() {
        "unspecified"
    } else if in_v4(ip, [0, 0, 0, 0], 8) {
        // Linux treats 0.0.0.0/8 destinations as "this host".
        "this-network"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        // Includes 169.254.169.254, the metadata service of most clouds.
        "link-local"
    } else if in_v4(ip, [100, 64, 0, 0], 10) {
        // Carrier-grade NAT; also Alibaba Cloud's metadata at 100.100.100.200.
        "shared-cgnat"
    } else if in_v4(ip, [192, 0, 0, 0], 24) {
        "ietf-protocol-assignment"
    } else if ip.is_documentation() {
        "documentation"
    } else if in_v4(ip, [198, 18, 0, 0], 15) {
        "benchmarking"
    } else if in_v4(ip, [192, 88, 99, 0], 24) {
        "6to4-relay"
    } else if ip.is_broadcast() {
        "broadcast"
    } else if ip.is_multicast() {
        "multicast"
    } else if in_v4(ip, [240, 0, 0, 0], 4) {
        "reserved"
    } else {
        return None;
    };
    Some(reason)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

fn embedded_v4(bits: u32) -> Ipv4Addr {
    Ipv4Addr::from(bits)
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    let reason = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if in_v6(ip, [0; 8], 96) {
        "ipv4-compatible"
    } else if in_v6(ip, [0, 0, 0, 0, 0xffff, 0, 0, 0], 96) {
        "ipv4-translated"
    } else if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        // NAT64: the gateway forwards to the embedded IPv4 address.
        return blocked_v4(embedded_v4(bits as u32));
    } else if in_v6(ip, [0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48) {
        "nat64-local"
    } else if in_v6(ip, [0x100, 0, 0, 0, 0, 0, 0, 0], 64) {
        "discard"
    } else if in_v6(ip, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32) || in_v6(ip, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20) {
        "documentation"
    } else if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 32) {
        "teredo"
    } else if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23) {
        "ietf-protocol-assignment"
    } else if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        // 6to4: the relay forwards to the IPv4 address in bits 16..48.
        return blocked_v4(embedded_v4((bits >> 80) as u32));
    } else if in_v6(ip, [0xfc00, 0, 0, 0, 0, 0, 0, 0], 7) {
        "unique-local"
    } else if in_v6(ip, [0xfe80, 0, 0, 0, 0, 0, 0, 0], 10) {
        "link-local"
    } else if in_v6(ip, [0xfec0, 0, 0, 0, 0, 0, 0, 0], 10) {
        "site-local"
    } else if ip.is_multicast() {
        "multicast"
    } else if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        "not-global-unicast"
    } else {
        return None;
    };
    Some(reason)
}

/// Blocked-address rule plus the operator's allow-list, as applied to every
/// address a fetch resolves to or connects to.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressRules {
    allow: Vec<IpNet>,
}

impl AddressRules {
    pub(crate) fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// `Ok` if the fetcher may connect to `ip`, otherwise the reason it may not.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        let canon = canonical(ip);
        match blocked_reason(canon) {
            None => Ok(()),
            Some(_) if self.allow.iter().any(|net| net.contains(&canon) || net.contains(&ip)) => Ok(()),
            Some(reason) => Err(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn classifier_table() {
        let table: &[(&str, Option<&str>)] = &[
            // IPv4 public
            ("93.184.215.14", None),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("198.17.255.255", None),
            ("198.20.0.0", None),
            ("223.255.255.255", None),
            // IPv4 blocked
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("this-network")),
            ("127.0.0.1", Some("loopback")),
            ("127.255.255.254", Some("loopback")),
            ("10.0.0.1", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("169.254.0.1", Some("link-local")),
            ("100.64.0.1", Some("shared-cgnat")),
            ("100.100.100.200", Some("shared-cgnat")),
            ("100.127.255.255", Some("shared-cgnat")),
            ("192.0.0.192", Some("ietf-protocol-assignment")),
            ("192.0.2.1", Some("documentation")),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.9", Some("documentation")),
            ("198.18.0.1", Some("benchmarking")),
            ("198.19.255.255", Some("benchmarking")),
            ("192.88.99.1", Some("6to4-relay")),
            ("224.0.0.1", Some("multicast")),
            ("239.255.255.250", Some("multicast")),
            ("240.0.0.1", Some("reserved")),
            ("255.255.255.255", Some("broadcast")),
            // IPv6 public
            ("2606:4700::1111", None),
            ("2a00:1450:4007:80e::200e", None),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            // IPv6 blocked
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:7f00:1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:10.1.2.3", Some("private")),
            ("::ffff:0.0.0.0", Some("unspecified")),
            ("::127.0.0.1", Some("ipv4-compatible")),
            ("::8.8.8.8", Some("ipv4-compatible")),
            ("::ffff:0:127.0.0.1", Some("ipv4-translated")),
            ("64:ff9b::127.0.0.1", Some("loopback")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("64:ff9b:1::1", Some("nat64-local")),
            ("2002:7f00:1::1", Some("loopback")),
            ("2002:c0a8:101::1", Some("private")),
            ("100::1", Some("discard")),
            ("2001:db8::1", Some("documentation")),
            ("3fff::1", Some("documentation")),
            ("2001::1", Some("teredo")),
            ("2001:2::1", Some("ietf-protocol-assignment")),
            ("fc00::1", Some("unique-local")),
            ("fd00:ec2::254", Some("unique-local")),
            ("fe80::1", Some("link-local")),
            ("febf::1", Some("link-local")),
            ("fec0::1", Some("site-local")),
            ("ff02::1", Some("multicast")),
            ("4000::1", Some("not-global-unicast")),
            ("e000::1", Some("not-global-unicast")),
        ];
        for (addr, want) in table {
            assert_eq!(blocked_reason(ip(addr)), *want, "{addr}");
        }
    }

    /// Odd IPv4 spellings must be normalised by the URL parser before the
    /// classifier sees them; this pins that behaviour of the `url` crate.
    #[test]
    fn odd_literals_through_url_parser() {
        let cases = [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://0x7f.0.0.1/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://127.0.1/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://0251.0376.0251.0376/", "169.254.169.254"),
            ("http://0xa9fea9fe/", "169.254.169.254"),
            ("http://2852039166/", "169.254.169.254"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[0:0:0:0:0:ffff:7f00:0001]/", "::ffff:127.0.0.1"),
            ("http://[::1]/", "::1"),
            ("http://%31%32%37.0.0.1/", "127.0.0.1"),
            ("http://１２７.０.０.１/", "127.0.0.1"),
        ];
        for (input, want) in cases {
            let url = url::Url::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let got: IpAddr = match url.host() {
                Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
                Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
                other => panic!("{input}: parsed as {other:?}, not an IP literal"),
            };
            assert_eq!(got, ip(want), "{input}");
            assert!(blocked_reason(got).is_some(), "{input} must be blocked");
        }
    }

    #[test]
    fn canonical_only_unwraps_mapped() {
        assert_eq!(canonical(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(canonical(ip("::1")), ip("::1"));
        assert_eq!(canonical(ip("::1.2.3.4")), ip("::1.2.3.4"));
        assert_eq!(canonical(ip("1.2.3.4")), ip("1.2.3.4"));
    }

    #[test]
    fn allow_list_overrides_only_what_it_covers() {
        let rules = AddressRules::new(vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))]);
        assert_eq!(rules.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(rules.check(ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(rules.check(ip("127.0.0.2")), Err("loopback"));
        assert_eq!(rules.check(ip("::1")), Err("loopback"));
        assert_eq!(rules.check(ip("169.254.169.254")), Err("link-local"));
        assert_eq!(rules.check(ip("8.8.8.8")), Ok(()));
        let none = AddressRules::default();
        assert_eq!(none.check(ip("127.0.0.1")), Err("loopback"));
    }

    #[test]
    fn metadata_names() {
        assert!(is_metadata_host("metadata.google.internal"));
        assert!(is_metadata_host("METADATA.Google.Internal."));
        assert!(is_metadata_host("instance-data"));
        assert!(!is_metadata_host("metadata.example.com"));
        assert!(!is_metadata_host("cdn.example.com"));
    }
}
