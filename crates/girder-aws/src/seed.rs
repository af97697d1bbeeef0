//! The seed workload's AWS part, as programs: the remote-state bootstrap (an S3 bucket and a
//! DynamoDB lock table), the network (issue 4) and the cluster with its hosted zone and IRSA
//! roles (issue 5). `examples/state_backend.rs`, `examples/network.rs` and
//! `examples/eks.rs` run these; tests apply them against the AWS emulator.

use girder_core::{Stack, interpolate};

use crate::dsl::dynamodb::{AttributeType, Table, TableHandle};
use crate::dsl::eks::{
    Api, ControllerManager, Eks, EksHandle, OnDemand, Scheduler, Spot, policies,
};
use crate::dsl::iam::IamRoleHandle;
use crate::dsl::route53::{HostedZone, HostedZoneHandle};
use crate::dsl::s3::{Bucket, BucketHandle, Encryption, PublicAccessBlock};
use crate::dsl::vpc::{Auto, FlowLogs, Nat, Vpc, VpcHandle};

/// The seed's region.
pub const REGION: &str = "us-east-1";
/// The seed's cluster name.
pub const CLUSTER: &str = "yolo";
/// The domain of the hosted zone external-dns manages; change it to yours.
pub const DOMAIN: &str = "yolo.example.com";

/// What [`state_backend`] adds.
#[derive(Clone, Debug)]
pub struct StateBackend {
    /// The state bucket: versioned, encrypted (SSE-S3), all public access blocked.
    pub bucket: BucketHandle,
    /// The lock table: hash key `LockID` (a string), billed per request.
    pub table: TableHandle,
}

/// The seed's remote-state bootstrap, as Terraform's S3 backend wants it and girder's S3
/// state backend uses it: a bucket with versioning (every earlier state stays
/// recoverable), default encryption and every public access setting blocked, and a
/// DynamoDB table with the string hash key `LockID` for locking. Exports `bucket`, `table`
/// and `state_url` (`s3://<bucket>/girder?lock=dynamodb:<table>`, what `--state` takes).
pub fn state_backend(s: &mut Stack) -> StateBackend {
    state_backend_with(s, "platform", false)
}

/// The bootstrap with another `owner` tag and point-in-time recovery of the lock table on
/// or off (for tests of changes).
pub fn state_backend_with(
    s: &mut Stack,
    owner: &str,
    point_in_time_recovery: bool,
) -> StateBackend {
    let bucket = Bucket::new("girder-state")
        .versioning(true)
        .encryption(Encryption::S3Managed)
        .public_access_block(PublicAccessBlock::all())
        .tag("purpose", "girder state")
        .tag("owner", owner)
        .add(s);
    let table = Table::new("girder-locks")
        .hash_key("LockID", AttributeType::String)
        .point_in_time_recovery(point_in_time_recovery)
        .tag("purpose", "girder state locks")
        .tag("owner", owner)
        .add(s);
    s.export("bucket", bucket.name());
    s.export("table", table.name());
    s.export(
        "state_url",
        interpolate!(
            "s3://{}/girder?lock=dynamodb:{}",
            bucket.name(),
            table.name()
        ),
    );
    StateBackend { bucket, table }
}

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
    /// The public hosted zone of [`DOMAIN`], where external-dns publishes the app.
    pub zone: HostedZoneHandle,
    /// cluster-autoscaler's role (`kube-system/cluster-autoscaler`).
    pub cluster_autoscaler: IamRoleHandle,
    /// external-dns's role (`kube-system/external-dns`).
    pub external_dns: IamRoleHandle,
}

/// The seed's network plus the cluster: control-plane logs `api`, `controllerManager` and
/// `scheduler`; an ON_DEMAND and a SPOT nodegroup; OIDC; the hosted zone of [`DOMAIN`]; IRSA
/// roles for cluster-autoscaler and external-dns with only the permissions those add-ons
/// need (external-dns: the records of that zone only).
pub fn cluster(s: &mut Stack) -> SeedCluster {
    cluster_with(s, (1, 3, 2))
}

/// The seed cluster with another ON_DEMAND scaling (min, max, desired), for tests of changes.
pub fn cluster_with(s: &mut Stack, on_demand: (u32, u32, u32)) -> SeedCluster {
    let vpc = network(s);
    let (min, max, desired) = on_demand;
    let eks = Eks::new(CLUSTER)
        .version("1.36")
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
    // The records in the zone are external-dns's, derived from the cluster's Services: a
    // destroy of the whole program may delete them with the zone.
    let zone = HostedZone::new(DOMAIN)
        .comment("the yolo app's public names, managed by external-dns")
        .force_destroy()
        .tag("project", "yolo")
        .add(s);
    let external_dns = eks
        .service_account_role("kube-system", "external-dns")
        .policy("route53", policies::external_dns([zone.arn()]))
        .add(s);
    s.export("cluster_endpoint", eks.endpoint());
    s.export("cluster_autoscaler_role_arn", cluster_autoscaler.arn());
    s.export("external_dns_role_arn", external_dns.arn());
    s.export("hosted_zone_id", zone.zone_id());
    s.export("name_servers", zone.name_servers());
    SeedCluster {
        vpc,
        eks,
        zone,
        cluster_autoscaler,
        external_dns,
    }
}
