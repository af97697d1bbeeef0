//! Build-time checks of the `Eks` builder, every problem reported at once.

use std::collections::BTreeSet;

use girder_core::{Diagnostic, Stack};
use ipnet::Ipv4Net;

use super::cluster::Eks;
use super::versions::{self, Support};
use super::{Capacity, Nodegroup};
use crate::checks::ScalingPart;
use crate::dsl::cidr::Tier;
use crate::util::first_duplicate;

impl Eks {
    pub(super) fn check(&self, s: &mut Stack) {
        let resource = format!("{}-cluster", self.name);
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 100
            && self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            s.report(
                Diagnostic::error("an EKS cluster name has 1 to 100 letters, digits, `-` and `_`, starting with a letter or digit")
                    .resource(&resource)
                    .field("name")
                    .value(&self.name)
                    .fix("use a name such as `prod-eu`"),
            );
        }
        if let Some(version) = &self.version {
            check_version(s, &resource, "version", version);
        }
        if !self.endpoint.public && !self.endpoint.private {
            s.report(
                Diagnostic::error("the API endpoint must be public, private or both")
                    .resource(&resource)
                    .field("endpoint")
                    .fix("use `Endpoint::public_and_private()` or `Endpoint::private()`"),
            );
        }
        for cidr in &self.endpoint.public_cidrs {
            if cidr.parse::<Ipv4Net>().is_err() {
                s.report(
                    Diagnostic::error("not an IPv4 CIDR block")
                        .resource(&resource)
                        .field("endpoint.public_cidrs")
                        .value(cidr)
                        .fix("write it like `203.0.113.0/24`"),
                );
            }
        }
        if let Some(duplicate) = first_duplicate(&self.log_types) {
            s.report(
                Diagnostic::warning("a control-plane log type is listed twice")
                    .resource(&resource)
                    .field("control_plane_logs")
                    .value(duplicate.as_str())
                    .fix("list each log type once"),
            );
        }
        match &self.vpc {
            None => s.report(
                Diagnostic::error("the cluster has no network")
                    .resource(&resource)
                    .field("vpc")
                    .fix("add `.vpc(&vpc)` with a `Vpc` that has private (and ideally intra) subnets"),
            ),
            Some(vpc) => {
                let tier = self.control_plane_tier();
                let subnets = vpc.subnets(tier);
                let zones: BTreeSet<&str> = subnets.iter().map(|s| s.az()).collect();
                if zones.len() < 2 {
                    s.report(
                        Diagnostic::error(format!(
                            "EKS needs control-plane subnets in two AZs at least; the {tier} tier has {} subnet(s) in {} AZ(s)",
                            subnets.len(),
                            zones.len()
                        ))
                        .resource(&resource)
                        .field("subnets")
                        .value(zones.iter().copied().collect::<Vec<_>>().join(", "))
                        .fix("give the VPC two or more AZs, or choose another tier with `.control_plane_subnets(..)`"),
                    );
                }
                if !vpc.eks_clusters().contains(&self.name) {
                    s.report(
                        Diagnostic::warning(format!(
                            "the VPC's subnets are not tagged for this cluster (`kubernetes.io/cluster/{}`)",
                            self.name
                        ))
                        .resource(&resource)
                        .field("vpc")
                        .value(vpc.name())
                        .fix(format!("add `.eks_cluster(\"{}\")` to the Vpc builder", self.name)),
                    );
                }
            }
        }
        let names: Vec<String> = self.nodegroups.iter().map(Nodegroup::group_name).collect();
        if let Some(duplicate) = first_duplicate(&names) {
            s.report(
                Diagnostic::error("two nodegroups have the same name")
                    .resource(format!("{}-{duplicate}", self.name))
                    .field("name")
                    .value(duplicate)
                    .fix("name them apart with `.name(..)`"),
            );
        }
        for group in &self.nodegroups {
            self.check_nodegroup(s, group);
        }
        self.check_access(s, &resource);
        let addons: Vec<&str> = self.addons.iter().map(|a| a.name.as_str()).collect();
        if let Some(duplicate) = first_duplicate(&addons) {
            s.report(
                Diagnostic::error("an add-on is listed twice")
                    .resource(format!("{}-addon-{duplicate}", self.name))
                    .field("addon")
                    .value(duplicate)
                    .fix("list each add-on once"),
            );
        }
    }

    fn check_access(&self, s: &mut Stack, resource: &str) {
        for entry in &self.access_entries {
            entry.check(s, &self.name);
        }
        let names: Vec<&str> = self
            .access_entries
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        if let Some(duplicate) = first_duplicate(&names) {
            s.report(
                Diagnostic::error("two access entries have the same name")
                    .resource(format!("{}-access-{duplicate}", self.name))
                    .field("name")
                    .value(*duplicate)
                    .fix("name each access entry apart"),
            );
        }
        let literals: Vec<&str> = self
            .access_entries
            .iter()
            .filter_map(|e| match &e.principal {
                super::Principal::Arn(arn) => Some(arn.as_str()),
                super::Principal::Role(_) => None,
            })
            .collect();
        if let Some(duplicate) = first_duplicate(&literals) {
            s.report(
                Diagnostic::error("two access entries are for the same principal")
                    .resource(resource)
                    .field("access_entries.principal_arn")
                    .value(*duplicate)
                    .fix("give the principal one entry with all its policies"),
            );
        }
        if self.creator_admin == Some(false)
            && self.authentication_mode.is_none()
            && self.access_entries.is_empty()
        {
            s.report(
                Diagnostic::error("without the creator's admin entry, a CONFIG_MAP cluster lets nobody in")
                    .resource(resource)
                    .field("creator_admin")
                    .value(false)
                    .fix("set `.authentication_mode(AuthenticationMode::Api)` and add an access entry for whoever deploys, or keep `.creator_admin(true)`"),
            );
        }
    }

    fn check_nodegroup(&self, s: &mut Stack, group: &Nodegroup) {
        let name = group.group_name();
        let resource = format!("{}-{name}", self.name);
        let name_ok = !name.is_empty()
            && name.len() <= 54
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            s.report(
                Diagnostic::error("a nodegroup name has 1 to 54 letters, digits, `-` and `_` (girder adds a 9-character suffix)")
                    .resource(&resource)
                    .field("name")
                    .value(&name)
                    .fix("use a short name such as `general`"),
            );
        }
        let (min, desired, max) = (
            i64::from(group.min),
            i64::from(group.desired),
            i64::from(group.max),
        );
        for (part, (message, fix)) in crate::checks::scaling_problems(min, desired, max) {
            let (field, value) = match part {
                ScalingPart::Range => ("size", format!("{min}..={max}")),
                ScalingPart::Desired => ("size.desired", desired.to_string()),
            };
            s.report(
                Diagnostic::error(message)
                    .resource(&resource)
                    .field(field)
                    .value(value)
                    .fix(fix),
            );
        }
        if group.instance_types.is_empty() {
            s.report(
                Diagnostic::error("the nodegroup has no instance types")
                    .resource(&resource)
                    .field("instance_types")
                    .fix("add `.instance_types([\"t3.medium\"])`"),
            );
        }
        let types: Vec<&str> = group.instance_types.iter().map(String::as_str).collect();
        for problem in crate::checks::instance_types::problems(
            &types,
            self.known_region().as_deref(),
            group.ami_type.as_deref(),
        ) {
            s.report(
                Diagnostic::error(problem.message)
                    .resource(&resource)
                    .field(problem.field)
                    .value(problem.value)
                    .fix(problem.fix),
            );
        }
        if let Some(duplicate) = first_duplicate(&group.instance_types) {
            s.report(
                Diagnostic::warning("an instance type is listed twice")
                    .resource(&resource)
                    .field("instance_types")
                    .value(duplicate)
                    .fix("list each instance type once"),
            );
        }
        if group.capacity == Capacity::Spot && group.instance_types.len() == 1 {
            s.report(
                Diagnostic::warning(
                    "a SPOT nodegroup with one instance type runs out of capacity often",
                )
                .resource(&resource)
                .field("instance_types")
                .value(&group.instance_types[0])
                .fix("diversify with similar types, such as `[\"t3.medium\", \"t3a.medium\"]`"),
            );
        }
        if let Some(size) = group.disk_size
            && !(1..=16384).contains(&size)
        {
            s.report(
                Diagnostic::error("a disk size is 1 to 16384 GiB")
                    .resource(&resource)
                    .field("disk_size")
                    .value(size)
                    .fix("use a size such as 50"),
            );
        }
        if let Some(version) = &group.version {
            check_version(s, &resource, "version", version);
        }
        if let Some(vpc) = &self.vpc {
            let tier = group.tier.unwrap_or(Tier::Private);
            if !vpc.has_tier(tier) {
                s.report(
                    Diagnostic::error(format!("the VPC has no {tier} subnets for the nodes"))
                        .resource(&resource)
                        .field("subnets")
                        .value(tier)
                        .fix(format!("add `.{tier}_subnets(Auto)` to the Vpc, or choose another tier with `.subnets(..)`")),
                );
            } else if tier == Tier::Private && vpc.nat_gateway_ids().is_empty() {
                s.report(
                    Diagnostic::warning("nodes in private subnets without NAT cannot reach ECR or the EKS API's public endpoint")
                        .resource(&resource)
                        .field("subnets")
                        .value(tier)
                        .fix("use `.nat(Nat::Single)` or `Nat::PerAz` in the Vpc, or add VPC endpoints"),
                );
            }
        }
    }
}

pub(super) fn check_version(s: &mut Stack, resource: &str, field: &str, version: &str) {
    check_version_on(s, resource, field, version, versions::today());
}

/// The version check on a given day (tests pin the day; support ends on fixed dates).
pub(super) fn check_version_on(
    s: &mut Stack,
    resource: &str,
    field: &str,
    version: &str,
    today: jiff::civil::Date,
) {
    let current = versions::standard_on(today).join(", ");
    let well_formed = version.split_once('.').is_some_and(|(major, minor)| {
        major == "1" && !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit())
    });
    if !well_formed {
        s.report(
            Diagnostic::error("a Kubernetes version is written `1.NN`")
                .resource(resource)
                .field(field)
                .value(version)
                .fix(format!("use a version in standard support: {current}")),
        );
        return;
    }
    match versions::support_on(version, today) {
        Support::Standard { .. } => {}
        Support::Extended { until } => s.report(
            Diagnostic::warning(format!(
                "Kubernetes {version} is in EKS extended support (charged extra per cluster hour) and cannot be used after {until}"
            ))
            .resource(resource)
            .field(field)
            .value(version)
            .fix(format!("upgrade to a version in standard support: {current}")),
        ),
        Support::Ended { on } => s.report(
            Diagnostic::error(format!(
                "EKS support for Kubernetes {version} ended on {on}; EKS refuses to create clusters or nodegroups with it"
            ))
            .resource(resource)
            .field(field)
            .value(version)
            .fix(format!("use a version in standard support: {current}")),
        ),
        Support::Newer => s.report(
            Diagnostic::warning(format!(
                "Kubernetes {version} is newer than the versions girder knows; EKS refuses it if it is not released in the region"
            ))
            .resource(resource)
            .field(field)
            .value(version)
            .fix(format!("check `aws eks describe-cluster-versions`, or use {current}")),
        ),
        Support::Unknown => s.report(
            Diagnostic::error(format!("EKS does not offer Kubernetes {version}"))
                .resource(resource)
                .field(field)
                .value(version)
                .fix(format!("use a version in standard support: {current}")),
        ),
    }
}
