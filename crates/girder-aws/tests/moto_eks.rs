//! The seed cluster against moto: EKS with control-plane logs, ON_DEMAND and SPOT nodegroups,
//! the OIDC provider and IRSA roles, checked through the AWS API; plan after apply is empty; a
//! scaling change updates in place; destroy removes nodegroups, then the cluster, then the
//! network, and leaves nothing.

mod support;

use girder_aws::seed;
use girder_engine::{ActionKind, Event, StepKind};
use support::{Env, build, changes, filter, of_kind};

fn decode(document: &str) -> serde_json::Value {
    // IAM returns policy documents URL-encoded.
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("{e}: {decoded}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_cluster_applies_and_matches_the_aws_api() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::cluster(s);
    });
    env.calls.reset();
    let (plan, elapsed) = env.apply(&graph).await;
    let apply_calls = env.calls.total();
    let state = env.harness.snapshot();
    let id = |name: &str| state.resources[name].id.clone();

    // The cluster: version, control plane in the intra subnets, the three log types.
    let cluster = env
        .eks
        .describe_cluster()
        .name("yolo")
        .send()
        .await
        .unwrap();
    let cluster = cluster.cluster().unwrap();
    assert_eq!(cluster.version(), Some("1.36"));
    let mut subnets = cluster
        .resources_vpc_config()
        .unwrap()
        .subnet_ids()
        .to_vec();
    subnets.sort();
    let mut intra: Vec<String> = ["us-east-1a", "us-east-1b", "us-east-1c"]
        .iter()
        .map(|az| id(&format!("main-intra-{az}")))
        .collect();
    intra.sort();
    assert_eq!(subnets, intra);
    let mut enabled: Vec<&str> = cluster
        .logging()
        .unwrap()
        .cluster_logging()
        .iter()
        .filter(|l| l.enabled() == Some(true))
        .flat_map(|l| l.types().iter().map(|t| t.as_str()))
        .collect();
    enabled.sort();
    assert_eq!(enabled, ["api", "controllerManager", "scheduler"]);
    assert_eq!(cluster.tags().unwrap()["girder:resource"], "yolo-cluster");
    let groups = env
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/eks/yolo/cluster")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(90));

    // Both capacity types, with the autoscaler's discovery tags.
    let names = env
        .eks
        .list_nodegroups()
        .cluster_name("yolo")
        .send()
        .await
        .unwrap();
    assert_eq!(names.nodegroups().len(), 2);
    let mut capacity = Vec::new();
    for name in names.nodegroups() {
        let group = env
            .eks
            .describe_nodegroup()
            .cluster_name("yolo")
            .nodegroup_name(name)
            .send()
            .await
            .unwrap();
        let group = group.nodegroup().unwrap().clone();
        let tags = group.tags().unwrap();
        assert_eq!(tags["k8s.io/cluster-autoscaler/enabled"], "true");
        assert_eq!(tags["k8s.io/cluster-autoscaler/yolo"], "owned");
        let mut nodes = group.subnets().to_vec();
        nodes.sort();
        let mut private: Vec<String> = ["us-east-1a", "us-east-1b", "us-east-1c"]
            .iter()
            .map(|az| id(&format!("main-private-{az}")))
            .collect();
        private.sort();
        assert_eq!(nodes, private, "nodes run in the private subnets");
        let scaling = group.scaling_config().unwrap();
        capacity.push((
            group.capacity_type().unwrap().as_str().to_owned(),
            group.instance_types().to_vec(),
            (
                scaling.min_size(),
                scaling.max_size(),
                scaling.desired_size(),
            ),
        ));
    }
    capacity.sort();
    assert_eq!(
        capacity,
        [
            (
                "ON_DEMAND".to_owned(),
                vec!["t3.medium".to_owned()],
                (Some(1), Some(3), Some(2))
            ),
            (
                "SPOT".to_owned(),
                vec!["t3.medium".to_owned(), "t3a.medium".to_owned()],
                (Some(1), Some(10), Some(2))
            ),
        ]
    );

    // The OIDC provider matches the cluster's issuer.
    let issuer = cluster
        .identity()
        .unwrap()
        .oidc()
        .unwrap()
        .issuer()
        .unwrap();
    let provider = env
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(id("yolo-oidc"))
        .send()
        .await
        .unwrap();
    assert_eq!(format!("https://{}", provider.url().unwrap()), issuer);
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);

    // IRSA: each role trusts exactly its service account, through the OIDC provider.
    for (resource, account) in [
        (
            "yolo-irsa-kube-system-cluster-autoscaler",
            "cluster-autoscaler",
        ),
        ("yolo-irsa-kube-system-external-dns", "external-dns"),
    ] {
        let role = env
            .iam
            .get_role()
            .role_name(id(resource))
            .send()
            .await
            .unwrap();
        let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
        let statement = &trust["Statement"][0];
        assert_eq!(statement["Principal"]["Federated"], id("yolo-oidc"));
        let host = issuer.trim_start_matches("https://");
        assert_eq!(
            statement["Condition"]["StringEquals"][format!("{host}:sub")],
            format!("system:serviceaccount:kube-system:{account}")
        );
        assert_eq!(
            statement["Condition"]["StringEquals"][format!("{host}:aud")],
            "sts.amazonaws.com"
        );
    }
    let dns_policy = env
        .iam
        .get_role_policy()
        .role_name(id("yolo-irsa-kube-system-external-dns"))
        .policy_name("route53")
        .send()
        .await
        .unwrap();
    let dns_policy = decode(dns_policy.policy_document());
    assert_eq!(
        dns_policy["Statement"][0]["Resource"][0],
        format!("arn:aws:route53:::hostedzone/{}", id(seed::DOMAIN))
    );

    env.assert_converged(&graph).await;
    let (refresh, by_operation) = env.refresh_calls(&graph).await;
    println!(
        "seed cluster: {} resources ({} planned); apply took {elapsed:?} with {apply_calls} requests; one refresh makes {refresh} requests: {by_operation:?}",
        state.resource_count(),
        plan.summary().create
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaling_change_updates_in_place() {
    let env = Env::start().await;
    env.apply(&build(|s| {
        seed::cluster_with(s, (1, 3, 2));
    }))
    .await;
    let bigger = build(|s| {
        seed::cluster_with(s, (2, 6, 3));
    });
    let plan = env.harness.plan(&bigger).await.unwrap();
    assert_eq!(
        of_kind(&plan, StepKind::Update),
        ["yolo-on-demand"],
        "{:#?}",
        changes(&plan)
    );
    let step = plan.step("yolo-on-demand").unwrap();
    let fields: Vec<String> = step.diffs.iter().map(|d| d.path.to_string()).collect();
    // The desired size belongs to cluster-autoscaler once the group exists.
    assert_eq!(fields, ["scaling.max_size", "scaling.min_size"]);
    assert_eq!(
        plan.summary().create + plan.summary().replace + plan.summary().delete,
        0
    );
    support::assert_success(&env.harness.apply(&bigger, plan).await.unwrap());
    env.assert_converged(&bigger).await;
    let id = env.harness.snapshot().resources["yolo-on-demand"]
        .id
        .clone();
    let (cluster, name) = id.split_once(':').unwrap();
    let group = env
        .eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
        .unwrap();
    let scaling = group.nodegroup().unwrap().scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.max_size(),
            scaling.desired_size()
        ),
        (Some(2), Some(6), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_nodegroups_then_the_cluster_then_the_network() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::cluster(s);
    });
    env.apply(&graph).await;
    let before = env.harness.events.events().len();
    let report = env.harness.destroy(&graph).await.unwrap();
    support::assert_success(&report);
    assert_eq!(env.harness.snapshot().resource_count(), 0);

    let finished: Vec<String> = env.harness.events.events()[before..]
        .iter()
        .filter_map(|e| match e {
            Event::ActionFinished {
                resource,
                action: ActionKind::Delete,
                ..
            } => Some(resource.clone()),
            _ => None,
        })
        .collect();
    let at = |name: &str| {
        finished
            .iter()
            .position(|r| r == name)
            .unwrap_or_else(|| panic!("{name} not deleted: {finished:?}"))
    };
    // Nodegroups go before the cluster and before the network their nodes use (private
    // subnets, their routes and the NAT gateway); the cluster goes before the network its
    // control plane uses (intra subnets, its security group) and before the VPC.
    for group in ["yolo-on-demand", "yolo-spot"] {
        assert!(at(group) < at("yolo-cluster"), "{finished:?}");
        for network in [
            "main-private-us-east-1a",
            "main-private-us-east-1b-nat",
            "main-nat-us-east-1a",
        ] {
            assert!(
                at(group) < at(network),
                "{group} after {network}: {finished:?}"
            );
        }
    }
    for network in [
        "main-intra-us-east-1a",
        "main-intra-us-east-1c",
        "yolo-cluster-sg",
        "main-vpc",
    ] {
        assert!(
            at("yolo-cluster") < at(network),
            "cluster after {network}: {finished:?}"
        );
    }

    let clusters = env.eks.list_clusters().send().await.unwrap();
    assert!(clusters.clusters().is_empty());
    let vpcs = env
        .ec2
        .describe_vpcs()
        .filters(filter("tag:girder:stack", &["dev"]))
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty());
    let providers = env
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    assert!(providers.open_id_connect_provider_list().is_empty());
    let roles = env.iam.list_roles().send().await.unwrap();
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with("yolo-") && !r.role_name().starts_with("main-")),
        "{:?}",
        roles
            .roles()
            .iter()
            .map(|r| r.role_name())
            .collect::<Vec<_>>()
    );
    let groups = env.logs.describe_log_groups().send().await.unwrap();
    assert!(groups.log_groups().is_empty());
}

/// What a cluster's controllers made outside the program — the cloud controller's classic ELB
/// and its `k8s-elb-…` security group, the AWS Load Balancer Controller's ALB and target group,
/// a CNI interface left by a terminated node — is deleted once the cluster is gone, so the
/// network after it can go; what another cluster owns, or only shares, is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_sweeps_what_the_clusters_controllers_left_and_nothing_else() {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

    let env = Env::start().await;
    let graph = build(|s| {
        seed::cluster(s);
    });
    env.apply(&graph).await;
    let state = env.harness.snapshot();
    let id = |name: &str| state.resources[name].id.clone();
    let vpc = id("main-vpc");
    let public = [id("main-public-us-east-1a"), id("main-public-us-east-1b")];
    let config = env.settings.load().await;
    let elb = aws_sdk_elasticloadbalancing::Client::new(&config);
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let tags = |resource: ResourceType, pairs: &[(&str, &str)]| {
        let mut spec = TagSpecification::builder().resource_type(resource);
        for (key, value) in pairs {
            spec = spec.tags(Tag::builder().key(*key).value(*value).build());
        }
        spec.build()
    };
    let group =
        |name: &'static str, vpc: String, pairs: &'static [(&'static str, &'static str)]| {
            let ec2 = env.ec2.clone();
            let spec = tags(ResourceType::SecurityGroup, pairs);
            async move {
                ec2.create_security_group()
                    .group_name(name)
                    .description(name)
                    .vpc_id(vpc)
                    .tag_specifications(spec)
                    .send()
                    .await
                    .unwrap()
                    .group_id()
                    .unwrap()
                    .to_owned()
            }
        };

    // The cloud controller's, for a LoadBalancer Service.
    let elb_group = group(
        "k8s-elb-a1b2c3",
        vpc.clone(),
        &[("kubernetes.io/cluster/yolo", "owned")],
    )
    .await;
    elb.create_load_balancer()
        .load_balancer_name("a1b2c3")
        .listeners(
            aws_sdk_elasticloadbalancing::types::Listener::builder()
                .protocol("TCP")
                .load_balancer_port(80)
                .instance_port(30080)
                .build()
                .unwrap(),
        )
        .set_subnets(Some(public.to_vec()))
        .security_groups(&elb_group)
        .tags(
            aws_sdk_elasticloadbalancing::types::Tag::builder()
                .key("kubernetes.io/cluster/yolo")
                .value("owned")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The AWS Load Balancer Controller's, for an Ingress.
    let alb_group = group(
        "k8s-default-app-1234",
        vpc.clone(),
        &[("elbv2.k8s.aws/cluster", "yolo")],
    )
    .await;
    let alb_tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder()
        .key("elbv2.k8s.aws/cluster")
        .value("yolo")
        .build();
    elbv2
        .create_load_balancer()
        .name("k8s-default-app-1234")
        .set_subnets(Some(public.to_vec()))
        .security_groups(&alb_group)
        .tags(alb_tag.clone())
        .send()
        .await
        .unwrap();
    elbv2
        .create_target_group()
        .name("k8s-default-app-5678")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&vpc)
        .tags(alb_tag)
        .send()
        .await
        .unwrap();
    // A node's secondary interface, left when the node was terminated.
    env.ec2
        .create_network_interface()
        .subnet_id(id("main-private-us-east-1a"))
        .tag_specifications(tags(
            ResourceType::NetworkInterface,
            &[("cluster.k8s.amazonaws.com/name", "yolo")],
        ))
        .send()
        .await
        .unwrap();
    // Not this cluster's to sweep: another cluster's, and one only shared with it (in a VPC
    // of its own, so the program's network can still go).
    let elsewhere = env
        .ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let other = group(
        "k8s-elb-other",
        elsewhere.clone(),
        &[("kubernetes.io/cluster/other", "owned")],
    )
    .await;
    let shared = group(
        "shared-with-yolo",
        elsewhere.clone(),
        &[("kubernetes.io/cluster/yolo", "shared")],
    )
    .await;

    let report = env.harness.destroy(&graph).await.unwrap();
    support::assert_success(&report);
    assert_eq!(env.harness.snapshot().resource_count(), 0);

    let classic = elb.describe_load_balancers().send().await.unwrap();
    assert!(classic.load_balancer_descriptions().is_empty());
    let v2 = elbv2.describe_load_balancers().send().await.unwrap();
    assert!(v2.load_balancers().is_empty());
    let target_groups = elbv2.describe_target_groups().send().await.unwrap();
    assert!(target_groups.target_groups().is_empty());
    let interfaces = env
        .ec2
        .describe_network_interfaces()
        .filters(filter("tag:cluster.k8s.amazonaws.com/name", &["yolo"]))
        .send()
        .await
        .unwrap();
    assert!(interfaces.network_interfaces().is_empty());
    let vpcs = env
        .ec2
        .describe_vpcs()
        .filters(filter("tag:girder:stack", &["dev"]))
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty(), "the network went after the sweep");
    let mut left: Vec<String> = env
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &[&elsewhere]))
        .send()
        .await
        .unwrap()
        .security_groups()
        .iter()
        .filter(|g| g.group_name() != Some("default"))
        .filter_map(|g| g.group_id().map(str::to_owned))
        .collect();
    left.sort();
    let mut kept = vec![other, shared];
    kept.sort();
    assert_eq!(left, kept, "only this cluster's own leftovers are swept");
}
