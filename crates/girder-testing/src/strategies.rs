//! `proptest` strategies for the values users feed infrastructure modules: CIDR blocks and
//! prefix lengths, availability-zone lists, Kubernetes names and labels, ports, replica and
//! scaling ranges.
//!
//! ```
//! use proptest::prelude::*;
//! use girder_testing::strategies::{private_cidr, scaling_range};
//! proptest!(|(vpc in private_cidr(16..=24), (min, max) in scaling_range(1..=10))| {
//!     prop_assert!(vpc.prefix_len() >= 16 && vpc.prefix_len() <= 24);
//!     prop_assert!(min <= max);
//! });
//! ```

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use ipnet::Ipv4Net;
use proptest::prelude::*;

/// A prefix length in `range`.
pub fn prefix_len(range: RangeInclusive<u8>) -> impl Strategy<Value = u8> {
    range
}

/// Any IPv4 network (address truncated to its prefix) with a prefix length in `prefix`.
pub fn cidr_block(prefix: RangeInclusive<u8>) -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), prefix).prop_map(|(address, len)| {
        Ipv4Net::new(Ipv4Addr::from(address), len.min(32))
            .map(|n| n.trunc())
            .unwrap_or_default()
    })
}

/// A network inside one of the RFC 1918 private ranges (10/8, 172.16/12, 192.168/16), with a
/// prefix length in `prefix` (clamped to lie within the chosen range).
pub fn private_cidr(prefix: RangeInclusive<u8>) -> impl Strategy<Value = Ipv4Net> {
    let ranges = [
        Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8),
        Ipv4Net::new(Ipv4Addr::new(172, 16, 0, 0), 12),
        Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16),
    ];
    let ranges: Vec<Ipv4Net> = ranges.into_iter().filter_map(Result::ok).collect();
    (0..ranges.len(), any::<u32>(), prefix).prop_map(move |(which, bits, len)| {
        let parent = ranges[which];
        let len = len.clamp(parent.prefix_len(), 32);
        let host_bits = u32::from(parent.network()) | (bits & !u32::from(parent.netmask()));
        Ipv4Net::new(Ipv4Addr::from(host_bits), len)
            .map(|n| n.trunc())
            .unwrap_or(parent)
    })
}

/// `count` availability zones of `region`: `us-east-1a`, `us-east-1b`, … (at most 6).
pub fn azs(
    region: &'static str,
    count: RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<String>> {
    let count = *count.start().max(&1)..=*count.end().min(&6);
    count.prop_map(move |n| {
        (0..n)
            .map(|i| format!("{region}{}", (b'a' + i as u8) as char))
            .collect()
    })
}

/// A Kubernetes object name that is a DNS-1123 label (1–40 characters here), and also a valid
/// host name label: names beginning `xn--` (punycode) are left out, since URL parsers reject
/// them as host names and girder refuses them for Services and Namespaces.
pub fn k8s_name() -> impl Strategy<Value = String> {
    "[a-z]([-a-z0-9]{0,38}[a-z0-9])?"
        .prop_filter("a punycode prefix is not a plain host label", |name| {
            !name.starts_with("xn--")
        })
}

/// A label key without a prefix (name part of a qualified name).
pub fn label_key() -> impl Strategy<Value = String> {
    "[a-z]([-a-z0-9_.]{0,30}[a-z0-9])?"
}

/// A label value (possibly empty).
pub fn label_value() -> impl Strategy<Value = String> {
    "([A-Za-z0-9]([-A-Za-z0-9_.]{0,30}[A-Za-z0-9])?)?"
}

/// Any valid port.
pub fn port() -> impl Strategy<Value = u16> {
    1u16..=65535
}

/// An unprivileged container port (a non-root container can bind it).
pub fn container_port() -> impl Strategy<Value = u16> {
    1024u16..=65535
}

/// A replica count in `range`.
pub fn replicas(range: RangeInclusive<u32>) -> impl Strategy<Value = u32> {
    range
}

/// A (min, max) scaling range with `min <= max`, both in `range`.
pub fn scaling_range(range: RangeInclusive<u32>) -> impl Strategy<Value = (u32, u32)> {
    let (low, high) = (*range.start(), *range.end());
    (low..=high).prop_flat_map(move |min| (Just(min), min..=high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    proptest! {
        #[test]
        fn private_cidrs_are_private_and_truncated(net in private_cidr(8..=28)) {
            prop_assert!(net.network().is_private());
            prop_assert_eq!(net, net.trunc());
        }

        /// Checked against an independent parser (the WHATWG URL host parser of the `url`
        /// crate, with IDNA processing) rather than the pattern that generates the names: a
        /// name is a host label that parses to itself, unchanged.
        #[test]
        fn names_are_host_labels_a_url_parser_keeps(name in k8s_name()) {
            prop_assert!((1..=40).contains(&name.len()), "{name}");
            let url = url::Url::parse(&format!("http://{name}.svc.cluster.local:8080/"))
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            let host = format!("{name}.svc.cluster.local");
            prop_assert_eq!(url.host_str(), Some(host.as_str()));
            let dns = url::Host::parse(&name).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            prop_assert_eq!(dns, url::Host::Domain(name.clone()));
        }

        #[test]
        fn azs_belong_to_the_region(zones in azs("eu-west-1", 1..=6)) {
            prop_assert!(zones.iter().all(|z| z.starts_with("eu-west-1")));
            let mut unique = zones.clone();
            unique.dedup();
            prop_assert_eq!(unique.len(), zones.len());
        }
    }

    /// The names are not a degenerate subset: over many draws the generator reaches both
    /// length bounds, digits and hyphens, which the invariants above say nothing about.
    #[test]
    fn names_cover_their_range() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = k8s_name();
        let names: Vec<String> = (0..2000)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect();
        assert!(names.iter().any(|n| n.len() == 1), "no 1-character name");
        assert!(names.iter().any(|n| n.len() == 40), "no 40-character name");
        assert!(names.iter().any(|n| n.contains('-')), "no hyphen");
        assert!(
            names
                .iter()
                .any(|n| n.contains(|c: char| c.is_ascii_digit())),
            "no digit"
        );
        assert!(names.iter().all(|n| !n.starts_with("xn--")));
    }
}
