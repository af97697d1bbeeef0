//! Build-time checks of the `Vpc` builder: AZs, CIDRs and subnets, every problem reported.

use std::collections::BTreeMap;

use girder_core::{Diagnostic, Stack};
use ipnet::Ipv4Net;

use super::{Azs, Subnets, Vpc};
use crate::dsl::cidr::{self, Tier, TierSpec};
use crate::dsl::regions;

impl Vpc {
    /// The AZ names, reporting problems.
    pub(super) fn check_azs(&self, s: &mut Stack) -> Vec<String> {
        let resource = self.resource();
        let region = self.region.as_deref();
        if let Some(region) = region
            && regions::az_letters(region).is_none()
        {
            let diagnostic = if regions::looks_like_region(region) {
                Diagnostic::warning(
                    "girder does not know this region; its AZ names are not checked",
                )
            } else {
                Diagnostic::error("not a region name")
            };
            s.report(
                diagnostic
                    .resource(&resource)
                    .field("region")
                    .value(region)
                    .fix("use a region code such as `us-east-1` or `eu-west-1`"),
            );
        }
        let names = match &self.azs {
            None => {
                s.report(
                    Diagnostic::error("the VPC names no availability zones")
                        .resource(&resource)
                        .field("azs")
                        .fix("add `.azs([\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"])`, or `.region(\"us-east-1\").azs(3)`"),
                );
                return Vec::new();
            }
            Some(Azs::Count(n)) => {
                let Some(region) = region else {
                    s.report(
                        Diagnostic::error(
                            "an AZ count needs the region, to name the AZs without calling AWS",
                        )
                        .resource(&resource)
                        .field("azs")
                        .value(n)
                        .fix("add `.region(\"us-east-1\")`, or name the AZs"),
                    );
                    return Vec::new();
                };
                match regions::first_azs(region, *n) {
                    Some(names) if *n > 0 => names,
                    _ => {
                        let available = regions::az_letters(region).map(str::len);
                        s.report(
                            Diagnostic::error(match available {
                                Some(max) => format!("{region} has {max} availability zones"),
                                None => format!("the AZs of {region} are not known to girder"),
                            })
                            .resource(&resource)
                            .field("azs")
                            .value(n)
                            .fix("use 1 to the region's AZ count, or name the AZs"),
                        );
                        return Vec::new();
                    }
                }
            }
            Some(Azs::Names(names)) => names.clone(),
        };
        if names.is_empty() {
            s.report(
                Diagnostic::error("the VPC names no availability zones")
                    .resource(&resource)
                    .field("azs")
                    .fix("name at least one AZ, two or more for high availability"),
            );
        }
        let mut first_region: Option<&str> = None;
        for (i, az) in names.iter().enumerate() {
            if names[..i].contains(az) {
                s.report(
                    Diagnostic::error("this AZ is listed twice; a tier has one subnet per AZ")
                        .resource(&resource)
                        .field(format!("azs[{i}]"))
                        .value(az)
                        .fix("list each AZ once"),
                );
            }
            match regions::region_of_az(az) {
                None => s.report(
                    Diagnostic::error("not an availability zone name")
                        .resource(&resource)
                        .field(format!("azs[{i}]"))
                        .value(az)
                        .fix("AZ names are a region and a letter, such as `us-east-1a`"),
                ),
                Some(az_region) => {
                    let expected = region.or(first_region).unwrap_or(az_region);
                    first_region.get_or_insert(az_region);
                    if az_region != expected {
                        s.report(
                            Diagnostic::error(format!(
                                "this AZ is in {az_region}, not in {expected}"
                            ))
                            .resource(&resource)
                            .field(format!("azs[{i}]"))
                            .value(az)
                            .fix(format!("a VPC lives in one region: use AZs of {expected}")),
                        );
                    } else if let Some(letters) = regions::az_letters(az_region) {
                        let letter = az.chars().last().unwrap_or_default();
                        if az.len() == az_region.len() + 1 && !letters.contains(letter) {
                            s.report(
                                Diagnostic::error(format!("{az_region} has no AZ `{letter}`"))
                                    .resource(&resource)
                                    .field(format!("azs[{i}]"))
                                    .value(az)
                                    .fix(format!(
                                        "use one of {}",
                                        letters
                                            .chars()
                                            .map(|l| format!("{az_region}{l}"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )),
                            );
                        }
                    }
                }
            }
        }
        names
    }

    /// The VPC network, reporting problems.
    pub(super) fn check_cidr(&self, s: &mut Stack) -> Option<Ipv4Net> {
        let resource = self.resource();
        let Some(text) = &self.cidr else {
            s.report(
                Diagnostic::error("the VPC has no CIDR block")
                    .resource(&resource)
                    .field("cidr")
                    .fix("add `.cidr(\"10.0.0.0/16\")`"),
            );
            return None;
        };
        let (net, problems) = crate::checks::cidr_block(text, "10.0.0.0/16");
        let ok = problems.is_empty();
        for (message, fix) in problems {
            s.report(
                Diagnostic::error(message)
                    .resource(&resource)
                    .field("cidr")
                    .value(text)
                    .fix(fix),
            );
        }
        let net = net?;
        ok.then_some(net)
    }

    /// The subnets per tier, reporting problems.
    pub(super) fn check_subnets(
        &self,
        s: &mut Stack,
        vpc: Option<Ipv4Net>,
        azs: usize,
    ) -> BTreeMap<Tier, Vec<Ipv4Net>> {
        let resource = self.resource();
        let mut specs = Vec::new();
        let mut valid = true;
        let mut explicit: Vec<(Tier, usize, Ipv4Net)> = Vec::new();
        for (tier, subnets) in &self.tiers {
            let field = format!("{tier}_subnets");
            match subnets {
                Subnets::Auto | Subnets::Size(_) => {
                    // Sizes relative to the VPC need its CIDR; an invalid one is reported already.
                    let Some(vpc) = vpc else { continue };
                    let prefix = match subnets {
                        Subnets::Size(p) => *p,
                        _ => (vpc.prefix_len() + tier.default_new_bits()).min(cidr::MAX_PREFIX),
                    };
                    if prefix <= vpc.prefix_len() || prefix > cidr::MAX_PREFIX {
                        s.report(
                            Diagnostic::error(format!(
                                "{tier} subnets of /{prefix} do not fit several to a /{} VPC",
                                vpc.prefix_len()
                            ))
                            .resource(&resource)
                            .field(&field)
                            .value(format!("/{prefix}"))
                            .fix(format!(
                                "use a prefix length from {} to {}",
                                vpc.prefix_len() + 1,
                                cidr::MAX_PREFIX
                            )),
                        );
                        valid = false;
                    }
                    specs.push((*tier, TierSpec::Auto(prefix)));
                }
                Subnets::Cidrs(cidrs) => {
                    if cidrs.len() != azs {
                        s.report(
                            Diagnostic::error(format!(
                                "{} {tier} subnets for {azs} AZs; a tier has one subnet per AZ",
                                cidrs.len()
                            ))
                            .resource(&resource)
                            .field(&field)
                            .value(cidrs.join(", "))
                            .fix("give one CIDR per AZ, in the order of `.azs(..)`, or use `Auto`"),
                        );
                        valid = false;
                    }
                    let mut nets = Vec::new();
                    for (i, text) in cidrs.iter().enumerate() {
                        let item = format!("{field}[{i}]");
                        let (net, problems) = crate::checks::cidr_block(text, "10.0.1.0/24");
                        valid &= problems.is_empty();
                        for (message, fix) in problems {
                            s.report(
                                Diagnostic::error(message)
                                    .resource(&resource)
                                    .field(&item)
                                    .value(text)
                                    .fix(fix),
                            );
                        }
                        let Some(net) = net else { continue };
                        if let Some(vpc) = vpc.filter(|v| !v.contains(&net)) {
                            s.report(
                                Diagnostic::error(format!(
                                    "the subnet is not inside the VPC's {vpc}"
                                ))
                                .resource(&resource)
                                .field(&item)
                                .value(text)
                                .fix(format!("choose a block inside {vpc}")),
                            );
                            valid = false;
                        }
                        explicit.push((*tier, i, net));
                        nets.push(net);
                    }
                    specs.push((*tier, TierSpec::Explicit(nets)));
                }
            }
        }
        for (i, (tier_a, index_a, a)) in explicit.iter().enumerate() {
            for (tier_b, index_b, b) in &explicit[i + 1..] {
                if cidr::overlaps(a, b) {
                    s.report(
                        Diagnostic::error(format!(
                            "the subnet overlaps {tier_a}_subnets[{index_a}] ({a})"
                        ))
                        .resource(&resource)
                        .field(format!("{tier_b}_subnets[{index_b}]"))
                        .value(b)
                        .fix("give every subnet its own address range"),
                    );
                    valid = false;
                }
            }
        }
        let Some(vpc) = vpc.filter(|_| valid && azs > 0) else {
            return BTreeMap::new();
        };
        match cidr::allocate(vpc, azs, &specs) {
            Ok(allocation) => {
                if !allocation.reserved
                    && specs
                        .iter()
                        .any(|(_, spec)| matches!(spec, TierSpec::Auto(_)))
                {
                    s.report(
                        Diagnostic::warning(format!(
                            "the automatic subnets fit only for the {azs} AZs in use: adding an AZ later will move subnets"
                        ))
                        .resource(&resource)
                        .field("cidr")
                        .value(vpc)
                        .fix("use a larger VPC CIDR or smaller subnets (`Subnets::Size(..)`) to leave room"),
                    );
                }
                allocation.subnets
            }
            Err(error) => {
                s.report(
                    Diagnostic::error(format!("not enough address space for automatic allocation: {error}"))
                        .resource(&resource)
                        .field(format!("{}_subnets", error.tier))
                        .value(format!("/{}", error.prefix))
                        .fix(format!(
                            "use a larger VPC than {vpc}, smaller subnets (`Subnets::Size({})`), or fewer AZs",
                            error.prefix + 1
                        )),
                );
                BTreeMap::new()
            }
        }
    }
}
