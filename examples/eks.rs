//! The seed's network and cluster (issue 5): an EKS cluster whose control plane sits in the
//! intra subnets and logs `api`, `controllerManager` and `scheduler` to CloudWatch Logs; an
//! ON_DEMAND and a SPOT nodegroup in the private subnets, tagged for cluster-autoscaler's
//! auto-discovery; the cluster's OIDC provider; and IAM roles for the service accounts of
//! cluster-autoscaler and external-dns, each trusted by exactly that service account and
//! allowed only what the add-on needs.
//!
//! ```text
//! cargo run --example eks --features girder/aws -- plan
//! cargo run --example eks --features girder/aws -- apply --yes
//! cargo run --example eks --features girder/aws -- output kubeconfig > ~/.kube/yolo
//! ```
//!
//! The Route 53 zone external-dns manages is created too (`GIRDER_DOMAIN`, default
//! `yolo.example.com`); external-dns's role may change records in exactly that zone.

use girder::prelude::*;

fn main() -> girder::Exit {
    let domain = std::env::var("GIRDER_DOMAIN").unwrap_or_else(|_| "yolo.example.com".into());
    girder::run(move |s: &mut Stack| {
        let vpc = Vpc::new("main")
            .cidr("10.10.0.0/16")
            .azs(["us-east-1a", "us-east-1b", "us-east-1c"])
            .public_subnets(Auto)
            .private_subnets(Auto)
            .intra_subnets(Auto)
            .nat(Nat::Single)
            .flow_logs(FlowLogs::cloudwatch().retention_days(30))
            .eks_cluster("yolo")
            .tag("project", "yolo")
            .add(s);

        let eks = Eks::new("yolo")
            .version("1.36")
            .vpc(&vpc)
            .control_plane_logs([Api, ControllerManager, Scheduler])
            .nodegroups([
                Eks::nodegroup(OnDemand)
                    .instance_types(["t3.medium"])
                    .size(1..=3, 2),
                Eks::nodegroup(Spot)
                    .instance_types(["t3.medium", "t3a.medium"])
                    .size(1..=10, 2),
            ])
            .tag("project", "yolo")
            .add(s);

        let zone = HostedZone::new(domain.clone())
            .tag("project", "yolo")
            .add(s);

        // IRSA: roles only `kube-system/<add-on>` can assume.
        let cluster_autoscaler = eks
            .service_account_role("kube-system", "cluster-autoscaler")
            .policy("autoscaling", policies::cluster_autoscaler("yolo"))
            .add(s);
        let external_dns = eks
            .service_account_role("kube-system", "external-dns")
            .policy("route53", policies::external_dns([zone.arn()]))
            .add(s);

        s.export("vpc_id", vpc.id());
        s.export("cluster_endpoint", eks.endpoint());
        s.export("oidc_provider_arn", eks.oidc_provider_arn());
        s.export("cluster_autoscaler_role_arn", cluster_autoscaler.arn());
        s.export("external_dns_role_arn", external_dns.arn());
        s.export("kubeconfig", eks.kubeconfig());
        s.export("zone_name_servers", zone.name_servers());
        Ok(())
    })
}
