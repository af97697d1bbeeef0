//! [`VpcHandle`]: the typed outputs of a VPC module and its subnets.

use std::collections::BTreeMap;

use girder_core::{Dependable, NodeId, Output, ResourceHandle};
use ipnet::Ipv4Net;

use crate::dsl::cidr::Tier;
use crate::ids::{InternetGatewayId, NatGatewayId, RouteTableId, SubnetId, VpcId};

/// One subnet of a [`VpcHandle`]: its tier, AZ, CIDR and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetRef {
    pub(super) tier: Tier,
    pub(super) az: String,
    pub(super) cidr: Option<Ipv4Net>,
    pub(super) handle: ResourceHandle,
}

impl SubnetRef {
    /// Its id, known after apply.
    pub fn id(&self) -> Output<SubnetId> {
        self.handle.output("id")
    }

    /// Its availability zone.
    pub fn az(&self) -> &str {
        &self.az
    }

    /// Its tier.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// Its CIDR block, as planned.
    pub fn cidr(&self) -> Option<Ipv4Net> {
        self.cidr
    }

    /// The node.
    pub fn node(&self) -> NodeId {
        self.handle.node()
    }

    pub(super) fn handle_name(&self, vpc: &str) -> String {
        format!("{vpc}-{}-{}", self.tier, self.az)
    }
}

/// A VPC in the stack, with typed outputs for its parts.
#[derive(Clone, Debug)]
pub struct VpcHandle {
    pub(super) name: String,
    pub(super) vpc: ResourceHandle,
    pub(super) cidr: Option<Ipv4Net>,
    pub(super) region: Option<String>,
    pub(super) azs: Vec<String>,
    pub(super) subnets: BTreeMap<Tier, Vec<SubnetRef>>,
    pub(super) route_tables: BTreeMap<Tier, Vec<ResourceHandle>>,
    pub(super) internet_gateway: Option<ResourceHandle>,
    pub(super) nat_gateways: Vec<ResourceHandle>,
    pub(super) routing: Vec<NodeId>,
    pub(super) flow_log: Option<ResourceHandle>,
    pub(super) eks_clusters: Vec<String>,
}

impl VpcHandle {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The VPC id, known after apply.
    pub fn id(&self) -> Output<VpcId> {
        self.vpc.output("id")
    }

    /// The VPC's CIDR block, as the program gives it (`None` if it is invalid).
    pub fn cidr(&self) -> Option<Ipv4Net> {
        self.cidr
    }

    /// The region, if given or derived from the AZ names.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The AZs, in order.
    pub fn azs(&self) -> &[String] {
        &self.azs
    }

    /// The subnets of a tier, one per AZ in AZ order.
    pub fn subnets(&self, tier: Tier) -> &[SubnetRef] {
        self.subnets
            .get(&tier)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// True if the VPC has subnets of this tier.
    pub fn has_tier(&self, tier: Tier) -> bool {
        !self.subnets(tier).is_empty()
    }

    /// The ids of a tier's subnets.
    pub fn subnet_ids(&self, tier: Tier) -> Vec<Output<SubnetId>> {
        self.subnets(tier).iter().map(SubnetRef::id).collect()
    }

    /// The public subnets' ids.
    pub fn public_subnet_ids(&self) -> Vec<Output<SubnetId>> {
        self.subnet_ids(Tier::Public)
    }

    /// The private subnets' ids.
    pub fn private_subnet_ids(&self) -> Vec<Output<SubnetId>> {
        self.subnet_ids(Tier::Private)
    }

    /// The intra subnets' ids.
    pub fn intra_subnet_ids(&self) -> Vec<Output<SubnetId>> {
        self.subnet_ids(Tier::Intra)
    }

    /// The route tables of a tier (public and intra: one; private: one per AZ).
    pub fn route_table_ids(&self, tier: Tier) -> Vec<Output<RouteTableId>> {
        self.route_tables
            .get(&tier)
            .into_iter()
            .flatten()
            .map(|t| t.output("id"))
            .collect()
    }

    /// The NAT gateways' ids.
    pub fn nat_gateway_ids(&self) -> Vec<Output<NatGatewayId>> {
        self.nat_gateways.iter().map(|n| n.output("id")).collect()
    }

    /// The NAT gateways' public addresses.
    pub fn nat_public_ips(&self) -> Vec<Output<String>> {
        self.nat_gateways
            .iter()
            .map(|n| n.output("public_ip"))
            .collect()
    }

    /// The internet gateway's id, if the VPC has public subnets.
    pub fn internet_gateway_id(&self) -> Option<Output<InternetGatewayId>> {
        self.internet_gateway.map(|g| g.output("id"))
    }

    /// The flow log's id, if flow logs are on.
    pub fn flow_log_id(&self) -> Option<Output<String>> {
        self.flow_log.map(|f| f.output("id"))
    }

    /// The EKS clusters the subnets are tagged for.
    pub fn eks_clusters(&self) -> &[String] {
        &self.eks_clusters
    }

    /// Every node of the network that traffic depends on: subnets, routes and NAT (for
    /// resources that need a working network, not only its ids).
    pub fn network_nodes(&self) -> Vec<NodeId> {
        let mut nodes = vec![self.vpc.node()];
        nodes.extend(self.subnets.values().flatten().map(SubnetRef::node));
        nodes.extend(
            self.route_tables
                .values()
                .flatten()
                .map(ResourceHandle::node),
        );
        nodes.extend(self.routing.iter().copied());
        nodes.extend(self.nat_gateways.iter().map(ResourceHandle::node));
        nodes.extend(self.internet_gateway.iter().map(ResourceHandle::node));
        nodes
    }
}

impl Dependable for VpcHandle {
    fn node_ids(&self) -> Vec<NodeId> {
        vec![self.vpc.node()]
    }
}
