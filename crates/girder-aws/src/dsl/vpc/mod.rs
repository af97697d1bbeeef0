//! The `Vpc` module: a VPC over several availability zones with public, private and intra
//! subnets, the internet gateway and public routes, NAT (none, one, or one per AZ), private
//! routes through NAT, intra subnets without a route out, Kubernetes subnet tags and flow logs
//! to CloudWatch Logs — checked when the program is built, planned without calling AWS.
//!
//! Layout decisions (and why):
//! - Every private subnet gets its own route table, even with a single NAT gateway, so that
//!   moving to one NAT per AZ only re-points routes instead of replacing tables.
//! - Automatic CIDRs reserve room for six AZs per tier ([`RESERVED_AZS`](crate::dsl::cidr::RESERVED_AZS)), so adding an
//!   AZ later adds subnets and moves none.
//! - Resources are named `<vpc>-<tier>-<az>`, so adding or removing an AZ touches only that
//!   AZ's resources.

use std::collections::BTreeMap;

use girder_core::{
    Diagnostic, HasOptions, NodeId, Output, ResourceDecl, ResourceHandle, ResourceOptions, Stack,
    WithOptions, interpolate,
};

use crate::dsl::cidr::Tier;
use crate::dsl::iam::IamRole;
use crate::dsl::logs::LogGroup;
use crate::dsl::regions;
use crate::dsl::{check_tags, with_tags};
use crate::ec2::eip::EIP;
use crate::ec2::flow_log::FLOW_LOG;
use crate::ec2::internet_gateway::INTERNET_GATEWAY;
use crate::ec2::nat_gateway::NAT_GATEWAY;
use crate::ec2::route::ROUTE;
use crate::ec2::route_table::{ROUTE_TABLE, ROUTE_TABLE_ASSOCIATION};
use crate::ec2::subnet::SUBNET;
use crate::ec2::vpc::VPC;
use crate::iam::document::{PolicyDocument, Statement};
use crate::ids::{InternetGatewayId, NatGatewayId, RouteTableId, VpcId};
use crate::tags::Tags;

mod checks;
mod handle;

pub use handle::{SubnetRef, VpcHandle};

/// Automatic subnet CIDRs of the tier's default size (`Subnets::Auto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auto;

/// How a tier's subnets get their CIDRs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subnets {
    /// Automatic, of the tier's default size (private: VPC prefix + 4, others: + 8).
    Auto,
    /// Automatic, with this prefix length (`Subnets::Size(22)` for /22 subnets).
    Size(u8),
    /// These CIDRs, one per AZ in AZ order.
    Cidrs(Vec<String>),
}

impl From<Auto> for Subnets {
    fn from(_: Auto) -> Subnets {
        Subnets::Auto
    }
}

impl<const N: usize> From<[&str; N]> for Subnets {
    fn from(cidrs: [&str; N]) -> Subnets {
        Subnets::Cidrs(cidrs.iter().map(|c| (*c).to_owned()).collect())
    }
}

impl From<Vec<&str>> for Subnets {
    fn from(cidrs: Vec<&str>) -> Subnets {
        Subnets::Cidrs(cidrs.into_iter().map(str::to_owned).collect())
    }
}

impl From<Vec<String>> for Subnets {
    fn from(cidrs: Vec<String>) -> Subnets {
        Subnets::Cidrs(cidrs)
    }
}

/// Which availability zones the VPC spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Azs {
    /// The first `n` AZs of the region (needs [`Vpc::region`]).
    Count(usize),
    /// These AZs, by name.
    Names(Vec<String>),
}

impl From<usize> for Azs {
    fn from(n: usize) -> Azs {
        Azs::Count(n)
    }
}

impl<const N: usize> From<[&str; N]> for Azs {
    fn from(names: [&str; N]) -> Azs {
        Azs::Names(names.iter().map(|n| (*n).to_owned()).collect())
    }
}

impl From<Vec<&str>> for Azs {
    fn from(names: Vec<&str>) -> Azs {
        Azs::Names(names.into_iter().map(str::to_owned).collect())
    }
}

impl From<Vec<String>> for Azs {
    fn from(names: Vec<String>) -> Azs {
        Azs::Names(names)
    }
}

/// NAT for the private subnets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Nat {
    /// No NAT: private subnets have no route to the internet.
    #[default]
    None,
    /// One NAT gateway (in the first AZ) for every private subnet: cheaper, one AZ's outage
    /// cuts all egress.
    Single,
    /// One NAT gateway per AZ: each AZ's egress survives the others' outages.
    PerAz,
}

/// Which traffic flow logs record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Traffic {
    /// Everything.
    #[default]
    All,
    /// Accepted traffic only.
    Accept,
    /// Rejected traffic only.
    Reject,
}

/// VPC flow logs to CloudWatch Logs (with the log group and the IAM role that lets the
/// service deliver to it).
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::vpc::{FlowLogs, Traffic, Vpc};
/// let mut s = Stack::new("dev");
/// Vpc::new("main")
///     .cidr("10.0.0.0/16")
///     .azs(["eu-west-1a", "eu-west-1b"])
///     .flow_logs(FlowLogs::cloudwatch().traffic(Traffic::Reject).retention_days(90).one_minute_aggregation())
///     .add(&mut s);
/// let graph = s.finish().unwrap();
/// assert!(graph.find("main-flow-log").is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowLogs {
    retention_days: Option<i32>,
    traffic: Traffic,
    aggregation_seconds: i32,
}

impl FlowLogs {
    /// Flow logs of all traffic to CloudWatch Logs, kept 30 days, aggregated over 10 minutes.
    pub fn cloudwatch() -> FlowLogs {
        FlowLogs {
            retention_days: Some(30),
            traffic: Traffic::All,
            aggregation_seconds: 600,
        }
    }

    /// Days to keep the records.
    pub fn retention_days(mut self, days: i32) -> FlowLogs {
        self.retention_days = Some(days);
        self
    }

    /// Keeps the records forever.
    pub fn keep_forever(mut self) -> FlowLogs {
        self.retention_days = None;
        self
    }

    /// Which traffic to record.
    pub fn traffic(mut self, traffic: Traffic) -> FlowLogs {
        self.traffic = traffic;
        self
    }

    /// Aggregates records over one minute instead of ten.
    pub fn one_minute_aggregation(mut self) -> FlowLogs {
        self.aggregation_seconds = 60;
        self
    }
}

/// A VPC under construction.
///
/// ```
/// use girder_core::Stack;
/// use girder_aws::dsl::vpc::{Auto, FlowLogs, Nat, Vpc};
/// let mut s = Stack::new("dev");
/// let vpc = Vpc::new("main")
///     .cidr("10.10.0.0/16")
///     .azs(["us-east-1a", "us-east-1b", "us-east-1c"])
///     .public_subnets(Auto)
///     .private_subnets(Auto)
///     .intra_subnets(Auto)
///     .nat(Nat::Single)
///     .flow_logs(FlowLogs::cloudwatch().retention_days(30))
///     .add(&mut s);
/// assert_eq!(vpc.private_subnet_ids().len(), 3);
/// assert_eq!(vpc.subnets(girder_aws::dsl::cidr::Tier::Private)[0].cidr().unwrap().to_string(), "10.10.0.0/20");
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct Vpc {
    name: String,
    cidr: Option<String>,
    region: Option<String>,
    azs: Option<Azs>,
    tiers: BTreeMap<Tier, Subnets>,
    nat: Nat,
    flow_logs: Option<FlowLogs>,
    dns_hostnames: bool,
    eks_clusters: Vec<String>,
    tags: Tags,
    options: ResourceOptions,
}

impl Vpc {
    /// A VPC module called `name` (its resources are named `<name>-…`).
    pub fn new(name: impl Into<String>) -> Vpc {
        Vpc {
            name: name.into(),
            cidr: None,
            region: None,
            azs: None,
            tiers: BTreeMap::new(),
            nat: Nat::None,
            flow_logs: None,
            dns_hostnames: true,
            eks_clusters: Vec::new(),
            tags: Tags::new(),
            options: ResourceOptions::default(),
        }
    }

    /// The VPC's IPv4 CIDR block (`/16` to `/28`).
    pub fn cidr(mut self, cidr: impl Into<String>) -> Vpc {
        self.cidr = Some(cidr.into());
        self
    }

    /// The region: AZ names are checked against it, and [`Vpc::azs`] may be a count.
    pub fn region(mut self, region: impl Into<String>) -> Vpc {
        self.region = Some(region.into());
        self
    }

    /// The AZs: names (`["us-east-1a", "us-east-1b"]`) or a count with [`Vpc::region`].
    pub fn azs(mut self, azs: impl Into<Azs>) -> Vpc {
        self.azs = Some(azs.into());
        self
    }

    /// Public subnets (routed to the internet gateway): `Auto`, `Subnets::Size(24)` or CIDRs.
    pub fn public_subnets(mut self, subnets: impl Into<Subnets>) -> Vpc {
        self.tiers.insert(Tier::Public, subnets.into());
        self
    }

    /// Private subnets (routed through NAT, if any).
    pub fn private_subnets(mut self, subnets: impl Into<Subnets>) -> Vpc {
        self.tiers.insert(Tier::Private, subnets.into());
        self
    }

    /// Intra subnets (no route out of the VPC).
    pub fn intra_subnets(mut self, subnets: impl Into<Subnets>) -> Vpc {
        self.tiers.insert(Tier::Intra, subnets.into());
        self
    }

    /// NAT for the private subnets.
    pub fn nat(mut self, nat: Nat) -> Vpc {
        self.nat = nat;
        self
    }

    /// Flow logs to CloudWatch Logs.
    pub fn flow_logs(mut self, flow_logs: FlowLogs) -> Vpc {
        self.flow_logs = Some(flow_logs);
        self
    }

    /// Turns DNS hostnames for public addresses off (on by default; EKS needs them).
    pub fn without_dns_hostnames(mut self) -> Vpc {
        self.dns_hostnames = false;
        self
    }

    /// Tags the subnets for an EKS cluster (`kubernetes.io/cluster/<name>: shared`).
    pub fn eks_cluster(mut self, cluster: impl Into<String>) -> Vpc {
        self.eks_clusters.push(cluster.into());
        self
    }

    /// Adds a tag to every resource.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Vpc {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds tags to every resource.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Vpc {
        self.tags
            .extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    fn resource(&self) -> String {
        format!("{}-vpc", self.name)
    }

    /// Adds the VPC and everything in it to the stack, reporting every problem at once.
    pub fn add(self, s: &mut Stack) -> VpcHandle {
        let vpc_resource = self.resource();
        let azs = self.check_azs(s);
        let net = self.check_cidr(s);
        let layout = self.check_subnets(s, net, azs.len());
        check_tags(s, &vpc_resource, &self.tags);
        if self.nat != Nat::None && !self.tiers.contains_key(&Tier::Public) {
            s.report(
                Diagnostic::error("NAT gateways live in public subnets, and the VPC has none")
                    .resource(&vpc_resource)
                    .field("nat")
                    .value(format!("{:?}", self.nat))
                    .fix("add `.public_subnets(Auto)`, or use `Nat::None`"),
            );
        }
        if self.nat != Nat::None && !self.tiers.contains_key(&Tier::Private) {
            s.report(
                Diagnostic::warning("NAT gateways without private subnets route nothing")
                    .resource(&vpc_resource)
                    .field("nat")
                    .fix("add `.private_subnets(Auto)`, or use `Nat::None`"),
            );
        }
        for cluster in &self.eks_clusters {
            if cluster.is_empty() || cluster.len() > 100 {
                s.report(
                    Diagnostic::error("not an EKS cluster name")
                        .resource(&vpc_resource)
                        .field("eks_cluster")
                        .value(cluster)
                        .fix("use the name given to `Eks::new(..)`"),
                );
            }
        }
        let name = self.name.clone();
        let tagged = |extra: &str| {
            let mut tags = self.tags.clone();
            tags.insert("Name".into(), extra.to_owned());
            tags
        };

        let vpc = with_tags(
            ResourceDecl::new(VPC, &vpc_resource)
                .input("cidr_block", self.cidr.clone().unwrap_or_default())
                .input("enable_dns_support", true)
                .input("enable_dns_hostnames", self.dns_hostnames),
            &tagged(&name),
        )
        .options(self.options.clone())
        .add(s);
        let vpc_id: Output<VpcId> = vpc.output("id");

        let internet_gateway = self.tiers.contains_key(&Tier::Public).then(|| {
            with_tags(
                ResourceDecl::new(INTERNET_GATEWAY, format!("{name}-igw")).input("vpc_id", &vpc_id),
                &tagged(&format!("{name}-igw")),
            )
            .add(s)
        });

        let mut subnets: BTreeMap<Tier, Vec<SubnetRef>> = BTreeMap::new();
        for tier in Tier::ALL {
            let Some(cidrs) = layout.get(&tier) else {
                continue;
            };
            let refs = azs
                .iter()
                .zip(cidrs)
                .map(|(az, cidr)| {
                    let resource = format!("{name}-{tier}-{az}");
                    let mut tags = tagged(&resource);
                    match tier {
                        Tier::Public => {
                            tags.insert("kubernetes.io/role/elb".into(), "1".into());
                        }
                        Tier::Private => {
                            tags.insert("kubernetes.io/role/internal-elb".into(), "1".into());
                        }
                        Tier::Intra => {}
                    }
                    if tier != Tier::Intra {
                        for cluster in &self.eks_clusters {
                            tags.insert(
                                format!("kubernetes.io/cluster/{cluster}"),
                                "shared".into(),
                            );
                        }
                    }
                    let handle = with_tags(
                        ResourceDecl::new(SUBNET, &resource)
                            .input("vpc_id", &vpc_id)
                            .input("cidr_block", cidr.to_string())
                            .input("availability_zone", az.as_str())
                            .input("map_public_ip_on_launch", tier == Tier::Public),
                        &tags,
                    )
                    .add(s);
                    SubnetRef {
                        tier,
                        az: az.clone(),
                        cidr: Some(*cidr),
                        handle,
                    }
                })
                .collect();
            subnets.insert(tier, refs);
        }

        let mut route_tables: BTreeMap<Tier, Vec<ResourceHandle>> = BTreeMap::new();
        // Routes and associations: what traffic needs besides ids.
        let mut routing: Vec<NodeId> = Vec::new();
        let route_table = |s: &mut Stack, resource: String| {
            with_tags(
                ResourceDecl::new(ROUTE_TABLE, &resource).input("vpc_id", &vpc_id),
                &tagged(&resource),
            )
            .add(s)
        };
        let associate = |s: &mut Stack, subnet: &SubnetRef, table: &ResourceHandle| {
            ResourceDecl::new(
                ROUTE_TABLE_ASSOCIATION,
                format!("{}-assoc", subnet.handle_name(&name)),
            )
            .input("route_table_id", table.output::<RouteTableId>("id"))
            .input("subnet_id", subnet.id())
            .add(s)
            .node()
        };

        // Public: one table, default route to the internet gateway.
        if let (Some(public), Some(igw)) = (subnets.get(&Tier::Public), &internet_gateway) {
            let table = route_table(s, format!("{name}-public-rt"));
            let route = ResourceDecl::new(ROUTE, format!("{name}-public-internet"))
                .input("route_table_id", table.output::<RouteTableId>("id"))
                .input("destination_cidr_block", "0.0.0.0/0")
                .input("gateway_id", igw.output::<InternetGatewayId>("id"))
                .add(s);
            routing.push(route.node());
            for subnet in public {
                routing.push(associate(s, subnet, &table));
            }
            route_tables.insert(Tier::Public, vec![table]);
        }

        // NAT gateways in the public subnets: the first AZ's, or every AZ's.
        let mut nat_gateways: Vec<(String, ResourceHandle)> = Vec::new();
        if let Some(public) = subnets.get(&Tier::Public) {
            let hosts: &[SubnetRef] = match self.nat {
                Nat::None => &[],
                Nat::Single => &public[..public.len().min(1)],
                Nat::PerAz => public,
            };
            for subnet in hosts {
                let eip = with_tags(
                    ResourceDecl::new(EIP, format!("{name}-nat-eip-{}", subnet.az)),
                    &tagged(&format!("{name}-nat-{}", subnet.az)),
                )
                .add(s);
                let mut nat = with_tags(
                    ResourceDecl::new(NAT_GATEWAY, format!("{name}-nat-{}", subnet.az))
                        .input("subnet_id", subnet.id())
                        .input("allocation_id", eip.output::<String>("id"))
                        .input("connectivity_type", "public"),
                    &tagged(&format!("{name}-nat-{}", subnet.az)),
                );
                // A public NAT gateway needs the internet gateway attached to work.
                if let Some(igw) = &internet_gateway {
                    nat = nat.depends_on(igw.node());
                }
                nat_gateways.push((subnet.az.clone(), nat.add(s)));
            }
        }

        // Private: a table per AZ, default route through that AZ's NAT (or the single one).
        if let Some(private) = subnets.get(&Tier::Private) {
            let mut tables = Vec::new();
            for (i, subnet) in private.iter().enumerate() {
                let table = route_table(s, format!("{name}-private-{}-rt", subnet.az));
                let nat = match self.nat {
                    Nat::None => None,
                    Nat::Single => nat_gateways.first(),
                    Nat::PerAz => nat_gateways
                        .iter()
                        .find(|(az, _)| *az == subnet.az)
                        .or(nat_gateways.get(i)),
                };
                if let Some((_, nat)) = nat {
                    let route =
                        ResourceDecl::new(ROUTE, format!("{name}-private-{}-nat", subnet.az))
                            .input("route_table_id", table.output::<RouteTableId>("id"))
                            .input("destination_cidr_block", "0.0.0.0/0")
                            .input("nat_gateway_id", nat.output::<NatGatewayId>("id"))
                            .add(s);
                    routing.push(route.node());
                }
                routing.push(associate(s, subnet, &table));
                tables.push(table);
            }
            route_tables.insert(Tier::Private, tables);
        }

        // Intra: one table with only the VPC's local route.
        if let Some(intra) = subnets.get(&Tier::Intra) {
            let table = route_table(s, format!("{name}-intra-rt"));
            for subnet in intra {
                routing.push(associate(s, subnet, &table));
            }
            route_tables.insert(Tier::Intra, vec![table]);
        }

        let flow_log = self.flow_logs.as_ref().map(|flow| {
            let group = LogGroup::new(format!("{name}-flow-logs"))
                .name(format!("/aws/vpc-flow-log/{}/{name}", s.name()))
                .tags(tagged(&format!("{name}-flow-logs")))
                .retention_days_opt(flow.retention_days)
                .add(s);
            let role = IamRole::new(format!("{name}-flow-logs-role"))
                .description(format!(
                    "Lets VPC flow logs of {name} deliver to CloudWatch Logs"
                ))
                .trust(PolicyDocument::service_trust([
                    "vpc-flow-logs.amazonaws.com",
                ]))
                .policy(
                    "deliver",
                    PolicyDocument::new().statement(
                        Statement::allow([
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogGroups",
                            "logs:DescribeLogStreams",
                        ])
                        .resource(group.arn())
                        .resource(interpolate!("{}:*", group.arn())),
                    ),
                )
                .tags(self.tags.clone())
                .add(s);
            let traffic = match flow.traffic {
                Traffic::All => "ALL",
                Traffic::Accept => "ACCEPT",
                Traffic::Reject => "REJECT",
            };
            with_tags(
                ResourceDecl::new(FLOW_LOG, format!("{name}-flow-log"))
                    .input("resource_id", &vpc_id)
                    .input("resource_type", "VPC")
                    .input("traffic_type", traffic)
                    .input("log_destination_type", "cloud-watch-logs")
                    .input("log_group_name", group.name())
                    .input("deliver_logs_permission_arn", role.arn())
                    .input("max_aggregation_interval", flow.aggregation_seconds)
                    // Delivery needs the role's policy, not only the role.
                    .depends_on(&role),
                &tagged(&format!("{name}-flow-log")),
            )
            .add(s)
        });

        VpcHandle {
            name,
            vpc,
            cidr: net,
            region: self.region.clone().or_else(|| {
                azs.first()
                    .and_then(|a| regions::region_of_az(a))
                    .map(str::to_owned)
            }),
            azs,
            subnets,
            route_tables,
            internet_gateway,
            nat_gateways: nat_gateways.into_iter().map(|(_, h)| h).collect(),
            routing,
            flow_log,
            eks_clusters: self.eks_clusters,
        }
    }
}

impl HasOptions for Vpc {
    /// Options of the VPC resource itself (`.protect()` keeps the VPC from being deleted).
    fn options_mut(&mut self) -> &mut ResourceOptions {
        &mut self.options
    }
}

impl LogGroup {
    fn retention_days_opt(self, days: Option<i32>) -> LogGroup {
        match days {
            Some(days) => self.retention_days(days),
            None => self,
        }
    }
}
