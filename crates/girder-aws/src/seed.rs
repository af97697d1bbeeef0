//! The seed workload's AWS part, as programs: the network (issue 4) and the cluster with its
//! IRSA roles (issue 5). `examples/network.rs` and `examples/eks.rs` run these; tests apply
//! them against the AWS emulator.

use girder_core::Stack;

use crate::dsl::eks::{
    Api, ControllerManager, Eks, EksHandle, OnDemand, Scheduler, Spot, policies,
};
use crate::dsl::iam::IamRoleHandle;
use crate::dsl::vpc::{Auto, FlowLogs, Nat, Vpc, VpcHandle};
use crate::ids::HostedZoneArn;

/// The seed's region.
pub const REGION: &str = "us-east-1";
/// The seed's cluster name.
pub const CLUSTER: &str = "yolo";
/// The hosted zone external-dns manages (the seed's domain); change it to yours.
pub const HOSTED_ZONE_ID: &str = "Z0123456789ABCDEFGHIJ";

/// The seed's network: `10.10.0.0/16` over three AZs with public, private and intra
/// subnets, a single NAT gateway and flow logs of all traffic to CloudWatch Logs.
pub fn network(s: &mut Stack) -> VpcHandle {
    network_with(s, &["us-east-1a", "us-east-1b", "us-east-1c"], Nat::Single)
}

/// The seed's network over other AZs or with another NAT layout (for tests of changes).
pub fn network_with(s: &mut Stack, azs: &[&str], nat: Nat) -> VpcHandle {
    let vpc = Vpc::new("main")
        .cidr("10.10.0.0/16")
        .azs(azs.to_vec())
        .public_subnets(Auto)
        .private_subnets(Auto)
        .intra_subnets(Auto)
        .nat(nat)
        .flow_logs(FlowLogs::cloudwatch().retention_days(30))
        .eks_cluster(CLUSTER)
        .tag("project", "yolo")
        .add(s);
    s.export("vpc_id", vpc.id());
    vpc
}

/// What [`cluster`] adds besides the network.
#[derive(Clone, Debug)]
pub struct SeedCluster {
    /// The network.
    pub vpc: VpcHandle,
    /// The cluster.
    pub eks: EksHandle,
    /// cluster-autoscaler's role (`kube-system/cluster-autoscaler`).
    pub cluster_autoscaler: IamRoleHandle,
    /// external-dns's role (`kube-system/external-dns`).
    pub external_dns: IamRoleHandle,
}

/// The seed's network plus the cluster: control-plane logs `api`, `controllerManager` and
/// `scheduler`; an ON_DEMAND and a SPOT nodegroup; OIDC; IRSA roles for cluster-autoscaler
/// and external-dns with only the permissions those add-ons need.
pub fn cluster(s: &mut Stack) -> SeedCluster {
    cluster_with(s, (1, 3, 2))
}

/// The seed cluster with another ON_DEMAND scaling (min, max, desired), for tests of changes.
pub fn cluster_with(s: &mut Stack, on_demand: (u32, u32, u32)) -> SeedCluster {
    let vpc = network(s);
    let (min, max, desired) = on_demand;
    let eks = Eks::new(CLUSTER)
        .version("1.31")
        .vpc(&vpc)
        .control_plane_logs([Api, ControllerManager, Scheduler])
        .nodegroups([
            Eks::nodegroup(OnDemand)
                .instance_types(["t3.medium"])
                .size(min..=max, desired),
            Eks::nodegroup(Spot)
                .instance_types(["t3.medium", "t3a.medium"])
                .size(1..=10, 2),
        ])
        .tag("project", "yolo")
        .add(s);
    let cluster_autoscaler = eks
        .service_account_role("kube-system", "cluster-autoscaler")
        .policy("autoscaling", policies::cluster_autoscaler(CLUSTER))
        .add(s);
    let external_dns = eks
        .service_account_role("kube-system", "external-dns")
        .policy(
            "route53",
            policies::external_dns([HostedZoneArn::from_zone_id(HOSTED_ZONE_ID)]),
        )
        .add(s);
    s.export("cluster_endpoint", eks.endpoint());
    s.export("cluster_autoscaler_role_arn", cluster_autoscaler.arn());
    s.export("external_dns_role_arn", external_dns.arn());
    SeedCluster {
        vpc,
        eks,
        cluster_autoscaler,
        external_dns,
    }
}
