//! Automatic, non-overlapping subnet allocation inside a VPC CIDR.
//!
//! Each automatic tier gets one aligned block of `slots` subnets of its size, placed first-fit
//! from the start of the VPC around explicit CIDRs and earlier blocks (larger subnets first,
//! then public, private, intra). The block reserves room for more AZs than are used
//! ([`RESERVED_AZS`] by default), so adding an availability zone later adds a subnet at the end
//! of each block and moves none of the existing ones.

use std::collections::BTreeMap;
use std::fmt;

use ipnet::Ipv4Net;

/// Subnet slots reserved per tier, so AZs can be added later without moving subnets (no
/// region has more than six AZs).
pub const RESERVED_AZS: usize = 6;

/// The smallest subnet AWS allows.
pub const MAX_PREFIX: u8 = 28;
/// The largest VPC or subnet AWS allows.
pub const MIN_PREFIX: u8 = 16;

/// A subnet tier of a VPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Routed to the internet gateway (load balancers, NAT gateways).
    Public,
    /// Routed to the internet through NAT (nodes, workloads).
    Private,
    /// No route out of the VPC (EKS control-plane interfaces, databases).
    Intra,
}

impl Tier {
    /// The tier's name, as used in resource names.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::Private => "private",
            Tier::Intra => "intra",
        }
    }

    /// The default automatic subnet size: private subnets (nodes, pods with the VPC CNI) get
    /// sixteen times the addresses of public and intra ones.
    pub fn default_new_bits(&self) -> u8 {
        match self {
            Tier::Private => 4,
            Tier::Public | Tier::Intra => 8,
        }
    }

    /// Every tier, in allocation order for equal sizes.
    pub const ALL: [Tier; 3] = [Tier::Public, Tier::Private, Tier::Intra];
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to allocate for one tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TierSpec {
    /// One subnet per AZ with this prefix length, placed automatically.
    Auto(u8),
    /// These subnets, one per AZ in order.
    Explicit(Vec<Ipv4Net>),
}

/// Why allocation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocError {
    /// The tier that did not fit.
    pub tier: Tier,
    /// Its subnet prefix length.
    pub prefix: u8,
    /// How many subnets it needed.
    pub needed: usize,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no room for {} {} subnets of /{} next to the other subnets",
            self.needed, self.tier, self.prefix
        )
    }
}

/// The allocation result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Subnets per tier, one per AZ in AZ order.
    pub subnets: BTreeMap<Tier, Vec<Ipv4Net>>,
    /// True if the blocks reserve room for [`RESERVED_AZS`] (adding AZs moves nothing);
    /// false if only the AZs in use fit.
    pub reserved: bool,
}

/// True if the two networks share an address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Allocates `azs` subnets per tier inside `vpc`.
///
/// ```
/// use girder_aws::dsl::cidr::{allocate, Tier, TierSpec};
/// let vpc = "10.10.0.0/16".parse().unwrap();
/// let tiers = [(Tier::Public, TierSpec::Auto(24)), (Tier::Private, TierSpec::Auto(20))];
/// let allocation = allocate(vpc, 3, &tiers).unwrap();
/// assert_eq!(allocation.subnets[&Tier::Private][0].to_string(), "10.10.0.0/20");
/// assert_eq!(allocation.subnets[&Tier::Public][2].to_string(), "10.10.98.0/24");
/// ```
pub fn allocate(
    vpc: Ipv4Net,
    azs: usize,
    tiers: &[(Tier, TierSpec)],
) -> Result<Allocation, AllocError> {
    match allocate_with(vpc, azs, tiers, azs.max(RESERVED_AZS)) {
        Ok(subnets) => Ok(Allocation {
            subnets,
            reserved: true,
        }),
        Err(_) if azs < RESERVED_AZS => {
            allocate_with(vpc, azs, tiers, azs).map(|subnets| Allocation {
                subnets,
                reserved: false,
            })
        }
        Err(e) => Err(e),
    }
}

fn allocate_with(
    vpc: Ipv4Net,
    azs: usize,
    tiers: &[(Tier, TierSpec)],
    slots: usize,
) -> Result<BTreeMap<Tier, Vec<Ipv4Net>>, AllocError> {
    let vpc = vpc.trunc();
    let mut taken: Vec<Ipv4Net> = Vec::new();
    let mut result = BTreeMap::new();
    for (tier, spec) in tiers {
        if let TierSpec::Explicit(cidrs) = spec {
            taken.extend(cidrs.iter().map(Ipv4Net::trunc));
            result.insert(*tier, cidrs.clone());
        }
    }
    let mut automatic: Vec<(Tier, u8)> = tiers
        .iter()
        .filter_map(|(tier, spec)| match spec {
            TierSpec::Auto(prefix) => Some((*tier, *prefix)),
            TierSpec::Explicit(_) => None,
        })
        .collect();
    automatic.sort_by_key(|(tier, prefix)| (*prefix, *tier));
    for (tier, prefix) in automatic {
        let fail = AllocError {
            tier,
            prefix,
            needed: slots,
        };
        if prefix < vpc.prefix_len() || prefix > 32 {
            return Err(fail);
        }
        let size: u64 = 1 << (32 - prefix);
        let block_size = size * slots as u64;
        let start = u64::from(u32::from(vpc.network()));
        let end = start + (1u64 << (32 - vpc.prefix_len()));
        let mut placed = None;
        let mut at = start;
        while at + block_size <= end {
            let block: Vec<Ipv4Net> = (0..slots as u64)
                .map(|i| {
                    Ipv4Net::new(std::net::Ipv4Addr::from((at + i * size) as u32), prefix)
                        .unwrap_or(vpc)
                })
                .collect();
            match block
                .iter()
                .flat_map(|s| taken.iter().filter(move |t| overlaps(s, t)))
                .next()
            {
                None => {
                    placed = Some(block);
                    break;
                }
                Some(conflict) => {
                    // Skip past the conflicting range, staying aligned to the subnet size.
                    let conflict_end = u64::from(u32::from(conflict.broadcast())) + 1;
                    at = at.max(conflict_end.div_ceil(size) * size).max(at + size);
                }
            }
        }
        let block = placed.ok_or(fail)?;
        taken.extend(block.iter().copied());
        result.insert(tier, block.into_iter().take(azs).collect());
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn seed_layout() {
        let tiers = [
            (Tier::Public, TierSpec::Auto(24)),
            (Tier::Private, TierSpec::Auto(20)),
            (Tier::Intra, TierSpec::Auto(24)),
        ];
        let allocation = allocate(net("10.10.0.0/16"), 3, &tiers).unwrap();
        assert!(allocation.reserved);
        let show = |t: Tier| {
            allocation.subnets[&t]
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            show(Tier::Private),
            ["10.10.0.0/20", "10.10.16.0/20", "10.10.32.0/20"]
        );
        assert_eq!(
            show(Tier::Public),
            ["10.10.96.0/24", "10.10.97.0/24", "10.10.98.0/24"]
        );
        assert_eq!(
            show(Tier::Intra),
            ["10.10.102.0/24", "10.10.103.0/24", "10.10.104.0/24"]
        );
    }

    #[test]
    fn automatic_tiers_avoid_explicit_subnets() {
        let tiers = [
            (
                Tier::Public,
                TierSpec::Explicit(vec![net("10.0.0.0/24"), net("10.0.1.0/24")]),
            ),
            (Tier::Private, TierSpec::Auto(20)),
        ];
        let allocation = allocate(net("10.0.0.0/16"), 2, &tiers).unwrap();
        assert_eq!(allocation.subnets[&Tier::Private][0], net("10.0.16.0/20"));
    }

    #[test]
    fn falls_back_to_the_azs_in_use_then_fails() {
        let tiers = [(Tier::Private, TierSpec::Auto(18))];
        let allocation = allocate(net("10.0.0.0/16"), 3, &tiers).unwrap();
        assert!(!allocation.reserved);
        let error = allocate(net("10.0.0.0/16"), 5, &tiers).unwrap_err();
        assert_eq!(error.tier, Tier::Private);
        assert!(error.to_string().contains("/18"));
    }

    fn tier_specs(vpc_prefix: u8) -> impl Strategy<Value = Vec<(Tier, TierSpec)>> {
        let size = (vpc_prefix + 1)..=MAX_PREFIX;
        (
            proptest::option::of(size.clone()),
            proptest::option::of(size.clone()),
            proptest::option::of(size),
        )
            .prop_map(|(public, private, intra)| {
                [
                    (Tier::Public, public),
                    (Tier::Private, private),
                    (Tier::Intra, intra),
                ]
                .into_iter()
                .filter_map(|(tier, prefix)| prefix.map(|p| (tier, TierSpec::Auto(p))))
                .collect()
            })
    }

    fn case() -> impl Strategy<Value = (Ipv4Net, usize, Vec<(Tier, TierSpec)>)> {
        (MIN_PREFIX..=24u8, any::<u32>(), 1usize..=6).prop_flat_map(|(prefix, base, azs)| {
            let vpc = Ipv4Net::new(std::net::Ipv4Addr::from(base), prefix)
                .unwrap()
                .trunc();
            (Just(vpc), Just(azs), tier_specs(prefix))
        })
    }

    proptest! {
        #[test]
        fn subnets_fit_do_not_overlap_and_are_deterministic((vpc, azs, tiers) in case()) {
            if let Ok(allocation) = allocate(vpc, azs, &tiers) {
                let all: Vec<Ipv4Net> = allocation.subnets.values().flatten().copied().collect();
                for (tier, _) in &tiers {
                    prop_assert_eq!(allocation.subnets[tier].len(), azs);
                }
                for (i, a) in all.iter().enumerate() {
                    prop_assert!(vpc.contains(a), "{} outside {}", a, vpc);
                    for b in &all[i + 1..] {
                        prop_assert!(!overlaps(a, b), "{} overlaps {}", a, b);
                    }
                }
                prop_assert_eq!(allocate(vpc, azs, &tiers), Ok(allocation));
            }
        }

        #[test]
        fn adding_an_az_moves_no_subnet((vpc, azs, tiers) in case()) {
            prop_assume!(azs < RESERVED_AZS);
            if let (Ok(before), Ok(after)) = (allocate(vpc, azs, &tiers), allocate(vpc, azs + 1, &tiers))
                && before.reserved && after.reserved {
                    for (tier, subnets) in &before.subnets {
                        prop_assert_eq!(&after.subnets[tier][..azs], &subnets[..]);
                    }
                }
        }

        #[test]
        fn small_enough_layouts_always_fit(prefix in MIN_PREFIX..=20u8, azs in 1usize..=6) {
            let vpc = Ipv4Net::new(std::net::Ipv4Addr::new(10, 0, 0, 0), prefix).unwrap();
            let tiers: Vec<(Tier, TierSpec)> = Tier::ALL
                .iter()
                .map(|t| (*t, TierSpec::Auto(prefix + t.default_new_bits())))
                .collect();
            let allocation = allocate(vpc, azs, &tiers);
            prop_assert!(allocation.as_ref().is_ok_and(|a| a.reserved), "{:?}", allocation);
        }
    }
}
