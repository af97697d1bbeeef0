//! What the layer has learned from the traffic it saw: when each id was created, which VPC
//! each subnet or gateway belongs to, what was deleted or detached when, and the state of
//! throttling buckets, lost-response counts and idempotency tokens.
//!
//! Facts are recorded whether or not a behaviour is on, so switching one on at run time
//! acts on objects created before.

use std::collections::HashMap;
use std::time::SystemTime;

use crate::protocol::{AwsRequest, Service};
use crate::reply::Reply;
use crate::xml::Element;

/// Why a VPC drains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DrainSource {
    /// A NAT gateway was deleted: its public address stays mapped for a while.
    NatGateway(String),
    /// A load balancer was deleted: its network interfaces linger.
    LoadBalancer(String),
}

/// A NAT gateway's lifecycle times.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NatTimes {
    pub created: Option<SystemTime>,
    pub deleted: Option<SystemTime>,
}

/// A token bucket's state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BucketState {
    pub tokens: f64,
    pub at: SystemTime,
}

/// A stored answer to an idempotent call.
#[derive(Clone, Debug)]
pub(crate) struct TokenUse {
    pub fingerprint: String,
    pub reply: Reply,
}

/// Everything learned.
#[derive(Debug, Default)]
pub(crate) struct World {
    /// Creation times by key: an EC2 id (`vpc-…`), `iam-role:NAME`, `iam-policy:ARN`,
    /// `iam-profile:NAME`, `iam-oidc:ARN` or `role-arn:ARN`.
    pub created: HashMap<String, SystemTime>,
    /// The VPC of subnets, security groups, NAT gateways, route tables, internet gateways.
    pub vpc_of: HashMap<String, String>,
    /// The VPC of load balancers (v2 by ARN, classic by name).
    pub load_balancer_vpc: HashMap<String, String>,
    /// VPCs draining since a time.
    pub draining: HashMap<String, (SystemTime, DrainSource)>,
    /// Roles whose policies were detached (or that left an instance profile), with why.
    pub detached_roles: HashMap<String, (SystemTime, &'static str)>,
    /// Policies detached from something.
    pub detached_policies: HashMap<String, SystemTime>,
    /// NAT gateways seen created or deleted.
    pub nat_gateways: HashMap<String, NatTimes>,
    /// Route 53 changes (`C…` ids) by submission time.
    pub route53_changes: HashMap<String, SystemTime>,
    /// Throttling buckets by `service:Operation`.
    pub buckets: HashMap<String, BucketState>,
    /// Mutating calls per `service:Operation` (for "the first N lose their response").
    pub mutating_calls: HashMap<String, u32>,
    /// Idempotency tokens by `service:Operation:path:token`.
    pub tokens: HashMap<String, TokenUse>,
}

/// Which EC2 actions create which id prefix.
pub(crate) const EC2_CREATES: [(&str, &str); 14] = [
    ("CreateVpc", "vpc-"),
    ("CreateSubnet", "subnet-"),
    ("CreateInternetGateway", "igw-"),
    ("CreateEgressOnlyInternetGateway", "eigw-"),
    ("CreateRouteTable", "rtb-"),
    ("AssociateRouteTable", "rtbassoc-"),
    ("CreateSecurityGroup", "sg-"),
    ("CreateNatGateway", "nat-"),
    ("AllocateAddress", "eipalloc-"),
    ("CreateNetworkAcl", "acl-"),
    ("CreateLaunchTemplate", "lt-"),
    ("CreateVpcEndpoint", "vpce-"),
    ("CreateDhcpOptions", "dopt-"),
    ("CreateNetworkInterface", "eni-"),
];

/// Elements whose text is an id that a `vpcId` sibling places in a VPC.
const IN_VPC: [&str; 6] = [
    "subnetId",
    "groupId",
    "natGatewayId",
    "routeTableId",
    "networkAclId",
    "vpcEndpointId",
];

impl World {
    /// Records what a successful call tells: new ids, topology, deletions, detachments.
    pub fn learn(&mut self, request: &AwsRequest, reply: &Reply, now: SystemTime) {
        if !reply.is_success() {
            return;
        }
        match request.service {
            Service::Ec2 => self.learn_ec2(request, reply, now),
            Service::Iam => self.learn_iam(request, reply, now),
            Service::Elb => self.learn_elb(request, reply, now),
            Service::Route53 => self.learn_route53(reply, now),
            _ => {}
        }
    }

    fn learn_ec2(&mut self, request: &AwsRequest, reply: &Reply, now: SystemTime) {
        let Some(document) = reply.body_xml() else {
            return;
        };
        let op = request.operation.as_str();
        if let Some((_, prefix)) = EC2_CREATES.iter().find(|(action, _)| *action == op) {
            let mut ids = Vec::new();
            document.root.walk(&mut |e| {
                let text = e.text();
                if e.local_name().ends_with("Id") && text.starts_with(prefix) {
                    ids.push(text);
                }
            });
            for id in ids {
                self.created.entry(id).or_insert(now);
            }
        }
        document.root.walk(&mut |e| self.learn_vpc_membership(e));
        let param = |name: &str| request.param(name).map(str::to_owned);
        match op {
            "AttachInternetGateway" => {
                if let (Some(igw), Some(vpc)) = (param("InternetGatewayId"), param("VpcId")) {
                    self.vpc_of.insert(igw, vpc);
                }
            }
            "CreateSecurityGroup" => {
                if let (Some(group), Some(vpc)) =
                    (document.root.child_text("groupId"), param("VpcId"))
                {
                    self.vpc_of.insert(group, vpc);
                }
            }
            "CreateNatGateway" => {
                let mut id = None;
                document.root.walk(&mut |e| {
                    if e.local_name() == "natGatewayId" && id.is_none() {
                        id = Some(e.text());
                    }
                });
                if let Some(id) = id {
                    if let Some(vpc) = param("SubnetId").and_then(|s| self.vpc_of.get(&s).cloned())
                    {
                        self.vpc_of.entry(id.clone()).or_insert(vpc);
                    }
                    self.nat_gateways
                        .entry(id)
                        .or_insert(NatTimes {
                            created: None,
                            deleted: None,
                        })
                        .created = Some(now);
                }
            }
            "DeleteNatGateway" => {
                if let Some(id) = param("NatGatewayId") {
                    self.nat_gateways
                        .entry(id.clone())
                        .or_insert(NatTimes {
                            created: None,
                            deleted: None,
                        })
                        .deleted = Some(now);
                    if let Some(vpc) = self.vpc_of.get(&id).cloned() {
                        self.draining
                            .insert(vpc, (now, DrainSource::NatGateway(id)));
                    }
                }
            }
            _ => {}
        }
    }

    fn learn_vpc_membership(&mut self, e: &Element) {
        if let Some(vpc) = e.child_text("vpcId").filter(|v| !v.is_empty()) {
            for name in IN_VPC {
                if let Some(id) = e.child_text(name).filter(|v| !v.is_empty()) {
                    self.vpc_of.insert(id, vpc.clone());
                }
            }
        }
        if let (Some(igw), Some(attachments)) =
            (e.child_text("internetGatewayId"), e.child("attachmentSet"))
        {
            for item in attachments.elements() {
                if let Some(vpc) = item.child_text("vpcId") {
                    self.vpc_of.insert(igw.clone(), vpc);
                }
            }
        }
    }

    fn learn_iam(&mut self, request: &AwsRequest, reply: &Reply, now: SystemTime) {
        let document = reply.body_xml();
        let first = |name: &str| -> Option<String> {
            let mut found = None;
            if let Some(document) = &document {
                document.root.walk(&mut |e| {
                    if found.is_none() && e.local_name() == name {
                        found = Some(e.text());
                    }
                });
            }
            found
        };
        let param = |name: &str| request.param(name).map(str::to_owned);
        match request.operation.as_str() {
            "CreateRole" => {
                if let Some(name) = first("RoleName") {
                    self.created.insert(format!("iam-role:{name}"), now);
                }
                if let Some(arn) = first("Arn") {
                    self.created.insert(format!("role-arn:{arn}"), now);
                }
            }
            "CreatePolicy" => {
                if let Some(arn) = first("Arn") {
                    self.created.insert(format!("iam-policy:{arn}"), now);
                }
            }
            "CreateInstanceProfile" => {
                if let Some(name) = first("InstanceProfileName") {
                    self.created.insert(format!("iam-profile:{name}"), now);
                }
            }
            "CreateOpenIDConnectProvider" => {
                if let Some(arn) = first("OpenIDConnectProviderArn") {
                    self.created.insert(format!("iam-oidc:{arn}"), now);
                }
            }
            "DetachRolePolicy" => {
                if let Some(role) = param("RoleName") {
                    self.detached_roles.insert(role, (now, "policies"));
                }
                if let Some(policy) = param("PolicyArn") {
                    self.detached_policies.insert(policy, now);
                }
            }
            "DetachUserPolicy" | "DetachGroupPolicy" => {
                if let Some(policy) = param("PolicyArn") {
                    self.detached_policies.insert(policy, now);
                }
            }
            "RemoveRoleFromInstanceProfile" => {
                if let Some(role) = param("RoleName") {
                    self.detached_roles.insert(role, (now, "instance profile"));
                }
            }
            _ => {}
        }
    }

    fn learn_elb(&mut self, request: &AwsRequest, reply: &Reply, now: SystemTime) {
        // Load balancers v2 are known by ARN, classic ones (API version 2012-06-01, what the
        // Kubernetes cloud provider makes) by name; ARNs and names never collide.
        if let Some(document) = reply.body_xml() {
            document.root.walk(&mut |e| {
                if let (Some(arn), Some(vpc)) =
                    (e.child_text("LoadBalancerArn"), e.child_text("VpcId"))
                {
                    self.load_balancer_vpc.insert(arn, vpc);
                }
                if let (Some(name), Some(vpc)) =
                    (e.child_text("LoadBalancerName"), e.child_text("VPCId"))
                    && !vpc.is_empty()
                {
                    self.load_balancer_vpc.insert(name, vpc);
                }
            });
        }
        let classic = request.param("Version") == Some("2012-06-01");
        match request.operation.as_str() {
            "CreateLoadBalancer" if classic => {
                if let (Some(name), Some(vpc)) = (
                    request.param("LoadBalancerName"),
                    request
                        .param("Subnets.member.1")
                        .and_then(|subnet| self.vpc_of.get(subnet)),
                ) {
                    self.load_balancer_vpc.insert(name.to_owned(), vpc.clone());
                }
            }
            "DeleteLoadBalancer" => {
                let id = if classic {
                    request.param("LoadBalancerName")
                } else {
                    request.param("LoadBalancerArn")
                };
                // Forgotten once deleted: deleting a load balancer that is already gone
                // succeeds without starting another drain, as nothing is left to linger.
                if let Some(id) = id
                    && let Some(vpc) = self.load_balancer_vpc.remove(id)
                {
                    self.draining
                        .insert(vpc, (now, DrainSource::LoadBalancer(id.to_owned())));
                }
            }
            _ => {}
        }
    }

    fn learn_route53(&mut self, reply: &Reply, now: SystemTime) {
        if let Some(document) = reply.body_xml() {
            document.root.walk(&mut |e| {
                if e.local_name() == "ChangeInfo"
                    && let Some(id) = e.child_text("Id")
                {
                    self.route53_changes
                        .entry(change_id(&id).to_owned())
                        .or_insert(now);
                }
            });
        }
    }

    /// When `key` was created, if the layer saw it.
    pub fn created_at(&self, key: &str) -> Option<SystemTime> {
        self.created.get(key).copied()
    }
}

/// `C123` from `/change/C123` (Route 53 writes both forms).
pub(crate) fn change_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}
