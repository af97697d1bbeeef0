//! The seed's network (issue 4): `10.10.0.0/16` over three availability zones of us-east-1
//! with public, private and intra subnets, one NAT gateway, and flow logs of all traffic to
//! CloudWatch Logs — the VPC that terraform-aws-modules/vpc made for the seed, checked when the
//! program is built.
//!
//! ```text
//! cargo run --example network --features girder/aws -- plan           # no AWS call
//! cargo run --example network --features girder/aws -- apply --yes    # AWS_PROFILE / AWS_REGION
//! ```
//!
//! Planning against an empty state needs neither credentials nor network: the AZs are named
//! here, and CIDRs are allocated when the program is built (private /20s, public and intra
//! /24s, with room left for more AZs).

use girder::prelude::*;

fn main() -> girder::Exit {
    girder::run(|s: &mut Stack| {
        let vpc = Vpc::new("main")
            .cidr("10.10.0.0/16")
            .azs(["us-east-1a", "us-east-1b", "us-east-1c"])
            .public_subnets(Auto) // load balancers, the NAT gateway
            .private_subnets(Auto) // nodes and workloads, out through NAT
            .intra_subnets(Auto) // the EKS control plane's interfaces, no route out
            .nat(Nat::Single)
            .flow_logs(FlowLogs::cloudwatch().retention_days(30))
            .eks_cluster("yolo")
            .tag("project", "yolo")
            .add(s);
        s.export("vpc_id", vpc.id());
        s.export("private_subnet_ids", all(vpc.private_subnet_ids()));
        s.export("public_subnet_ids", all(vpc.public_subnet_ids()));
        s.export("intra_subnet_ids", all(vpc.intra_subnet_ids()));
        s.export("nat_public_ips", all(vpc.nat_public_ips()));
        Ok(())
    })
}
