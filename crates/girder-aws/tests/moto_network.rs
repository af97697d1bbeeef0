//! The Vpc module against moto (the AWS API emulator), through the real aws-sdk clients:
//! apply the seed network and check every resource through the AWS API; plan after apply is
//! empty; changes yield minimal plans; drift is detected and repaired; destroy leaves nothing.

mod support;

use girder_aws::dsl::vpc::{Auto, FlowLogs, Nat, Vpc};
use girder_aws::seed;
use girder_core::Stack;
use girder_engine::StepKind;
use support::{Env, build, changes, filter, of_kind, tag_map};

const AZS: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// The seed network with a variable tag, NAT layout and AZs.
fn network(s: &mut Stack, azs: &[&str], nat: Nat, owner: &str) {
    Vpc::new("main")
        .cidr("10.10.0.0/16")
        .azs(azs.to_vec())
        .public_subnets(Auto)
        .private_subnets(Auto)
        .intra_subnets(Auto)
        .nat(nat)
        .flow_logs(FlowLogs::cloudwatch().retention_days(30))
        .eks_cluster("yolo")
        .tag("owner", owner)
        .add(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_network_applies_and_matches_the_aws_api() {
    let env = Env::start().await;
    let graph = build(|s| {
        seed::network(s);
    });
    env.calls.reset();
    let (plan, elapsed) = env.apply(&graph).await;
    assert_eq!(plan.summary().create, 35);
    let apply_calls = env.calls.total();
    let state = env.harness.snapshot();
    let id = |name: &str| state.resources[name].id.clone();
    let vpc_id = id("main-vpc");

    // The VPC, with DNS support and hostnames, tagged with its identity.
    let vpc = env
        .ec2
        .describe_vpcs()
        .vpc_ids(&vpc_id)
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .clone();
    assert_eq!(vpc.cidr_block(), Some("10.10.0.0/16"));
    let tags = tag_map(vpc.tags());
    assert_eq!(tags["Name"], "main");
    assert_eq!(tags["girder:stack"], "dev");
    assert_eq!(tags["girder:resource"], "main-vpc");
    assert_eq!(tags["project"], "yolo");
    let hostnames = env
        .ec2
        .describe_vpc_attribute()
        .vpc_id(&vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|v| v.value()),
        Some(true)
    );

    // Three subnets per tier, one per AZ, with the Kubernetes tags.
    let subnets = env
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &[&vpc_id]))
        .send()
        .await
        .unwrap()
        .subnets()
        .to_vec();
    assert_eq!(subnets.len(), 9);
    for tier in ["public", "private", "intra"] {
        let mut zones: Vec<&str> = subnets
            .iter()
            .filter(|s| tag_map(s.tags())["Name"].starts_with(&format!("main-{tier}-")))
            .map(|s| s.availability_zone().unwrap())
            .collect();
        zones.sort();
        assert_eq!(zones, AZS, "{tier}");
    }
    let public_a = subnets
        .iter()
        .find(|s| s.subnet_id() == Some(&id("main-public-us-east-1a")))
        .unwrap();
    assert_eq!(public_a.cidr_block(), Some("10.10.96.0/24"));
    assert_eq!(public_a.map_public_ip_on_launch(), Some(true));
    assert_eq!(tag_map(public_a.tags())["kubernetes.io/role/elb"], "1");
    assert_eq!(
        tag_map(public_a.tags())["kubernetes.io/cluster/yolo"],
        "shared"
    );
    let private_b = subnets
        .iter()
        .find(|s| s.subnet_id() == Some(&id("main-private-us-east-1b")))
        .unwrap();
    assert_eq!(private_b.cidr_block(), Some("10.10.16.0/20"));
    assert_eq!(
        tag_map(private_b.tags())["kubernetes.io/role/internal-elb"],
        "1"
    );

    // Routes: public to the internet gateway, private to the NAT gateway, intra nowhere.
    let igw = id("main-igw");
    let nat = id("main-nat-us-east-1a");
    let tables = env
        .ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &[&vpc_id]))
        .send()
        .await
        .unwrap()
        .route_tables()
        .to_vec();
    let default_route = |table: &str| {
        tables
            .iter()
            .find(|t| t.route_table_id() == Some(table))
            .unwrap()
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .cloned()
    };
    assert_eq!(
        default_route(&id("main-public-rt")).unwrap().gateway_id(),
        Some(igw.as_str())
    );
    for az in AZS {
        let route = default_route(&id(&format!("main-private-{az}-rt"))).unwrap();
        assert_eq!(route.nat_gateway_id(), Some(nat.as_str()), "{az}");
    }
    assert!(default_route(&id("main-intra-rt")).is_none());
    let associated: Vec<&str> = tables
        .iter()
        .flat_map(|t| t.associations().iter().filter_map(|a| a.subnet_id()))
        .collect();
    assert_eq!(associated.len(), 9);

    // The NAT gateway sits in the first public subnet with the Elastic IP.
    let nats = env
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat)
        .send()
        .await
        .unwrap();
    let nat_gateway = &nats.nat_gateways()[0];
    assert_eq!(
        nat_gateway.subnet_id(),
        Some(id("main-public-us-east-1a").as_str())
    );
    assert_eq!(
        nat_gateway.nat_gateway_addresses()[0].allocation_id(),
        Some(id("main-nat-eip-us-east-1a").as_str())
    );

    // Flow logs: all traffic to the log group, delivered by the role.
    let flow = env
        .ec2
        .describe_flow_logs()
        .flow_log_ids(id("main-flow-log"))
        .send()
        .await
        .unwrap();
    let flow = &flow.flow_logs()[0];
    assert_eq!(flow.resource_id(), Some(vpc_id.as_str()));
    assert_eq!(flow.traffic_type().map(|t| t.as_str()), Some("ALL"));
    assert_eq!(flow.log_group_name(), Some("/aws/vpc-flow-log/dev/main"));
    let role_name = id("main-flow-logs-role");
    assert!(role_name.starts_with("main-flow-logs-role-"));
    let role = env
        .iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        flow.deliver_logs_permission_arn(),
        Some(role.role().unwrap().arn())
    );
    let policy = env
        .iam
        .get_role_policy()
        .role_name(&role_name)
        .policy_name("deliver")
        .send()
        .await
        .unwrap();
    assert!(
        policy.policy_document().contains("logs%3APutLogEvents")
            || policy.policy_document().contains("logs:PutLogEvents")
    );
    let groups = env
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/vpc-flow-log/dev/main")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));

    // Nothing to do afterwards, nothing reads differently than recorded; what a refresh costs.
    env.assert_converged(&graph).await;
    let (refresh, by_operation) = env.refresh_calls(&graph).await;
    println!(
        "seed network: {} resources; apply took {elapsed:?} with {apply_calls} requests; one refresh makes {refresh} requests: {by_operation:?}",
        state.resource_count()
    );
    // One describe per EC2 type, two DNS attributes, plus per-object IAM/Logs reads.
    assert!(
        refresh <= 20,
        "{refresh} requests per refresh: {by_operation:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_yield_minimal_plans() {
    let env = Env::start().await;
    let first = build(|s| network(s, &AZS, Nat::Single, "ops"));
    env.apply(&first).await;

    // A tag changes on every resource that carries it: updates only.
    let retagged = build(|s| network(s, &AZS, Nat::Single, "platform"));
    let plan = env.harness.plan(&retagged).await.unwrap();
    let summary = plan.summary();
    assert_eq!(
        (summary.create, summary.replace, summary.delete),
        (0, 0, 0),
        "{:#?}",
        changes(&plan)
    );
    for (resource, kind, fields) in changes(&plan) {
        assert_eq!(kind, StepKind::Update, "{resource}");
        assert_eq!(fields, ["tags.owner"], "{resource}");
    }
    // 1 VPC, 1 IGW, 9 subnets, 1 EIP, 1 NAT, 5 route tables, 1 log group, 1 role, 1 flow log
    assert_eq!(summary.update, 21);
    env.harness.apply(&retagged, plan).await.unwrap();
    env.assert_converged(&retagged).await;

    // One NAT gateway per AZ: two new gateways, two routes re-pointed, nothing else.
    let per_az = build(|s| network(s, &AZS, Nat::PerAz, "platform"));
    let plan = env.harness.plan(&per_az).await.unwrap();
    assert_eq!(
        of_kind(&plan, StepKind::Create),
        [
            "main-nat-eip-us-east-1b",
            "main-nat-eip-us-east-1c",
            "main-nat-us-east-1b",
            "main-nat-us-east-1c"
        ]
    );
    assert_eq!(
        of_kind(&plan, StepKind::Update),
        ["main-private-us-east-1b-nat", "main-private-us-east-1c-nat"]
    );
    assert_eq!(plan.summary().replace + plan.summary().delete, 0);
    let report = env.harness.apply(&per_az, plan).await.unwrap();
    support::assert_success(&report);
    env.assert_converged(&per_az).await;
    let state = env.harness.snapshot();
    let tables = env
        .ec2
        .describe_route_tables()
        .route_table_ids(&state.resources["main-private-us-east-1c-rt"].id)
        .send()
        .await
        .unwrap();
    let route = tables.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .unwrap()
        .clone();
    assert_eq!(
        route.nat_gateway_id(),
        Some(state.resources["main-nat-us-east-1c"].id.as_str())
    );

    // A fourth AZ: its subnets, tables, routes, NAT; no existing subnet moves.
    let four = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];
    let wider = build(|s| network(s, &four, Nat::PerAz, "platform"));
    let plan = env.harness.plan(&wider).await.unwrap();
    let summary = plan.summary();
    assert_eq!(
        (summary.update, summary.replace, summary.delete),
        (0, 0, 0),
        "{:#?}",
        changes(&plan)
    );
    assert_eq!(
        of_kind(&plan, StepKind::Create),
        [
            "main-intra-us-east-1d",
            "main-intra-us-east-1d-assoc",
            "main-nat-eip-us-east-1d",
            "main-nat-us-east-1d",
            "main-private-us-east-1d",
            "main-private-us-east-1d-assoc",
            "main-private-us-east-1d-nat",
            "main-private-us-east-1d-rt",
            "main-public-us-east-1d",
            "main-public-us-east-1d-assoc",
        ]
    );
    let report = env.harness.apply(&wider, plan).await.unwrap();
    support::assert_success(&report);
    env.assert_converged(&wider).await;
    let state = env.harness.snapshot();
    let subnet = env
        .ec2
        .describe_subnets()
        .subnet_ids(&state.resources["main-private-us-east-1d"].id)
        .send()
        .await
        .unwrap();
    assert_eq!(subnet.subnets()[0].cidr_block(), Some("10.10.48.0/20"));
    assert_eq!(subnet.subnets()[0].availability_zone(), Some("us-east-1d"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_detected_and_repaired() {
    let env = Env::start().await;
    let graph = build(|s| network(s, &AZS, Nat::Single, "ops"));
    env.apply(&graph).await;
    let state = env.harness.snapshot();
    let id = |name: &str| state.resources[name].id.clone();

    // Out of band: a tag edited, a route deleted, a subnet removed, DNS hostnames turned off.
    env.ec2
        .create_tags()
        .resources(id("main-public-us-east-1b"))
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("owner")
                .value("intruder")
                .build(),
        )
        .send()
        .await
        .unwrap();
    env.ec2
        .delete_route()
        .route_table_id(id("main-private-us-east-1b-rt"))
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    env.ec2
        .disassociate_route_table()
        .association_id(id("main-intra-us-east-1c-assoc"))
        .send()
        .await
        .unwrap();
    env.ec2
        .delete_subnet()
        .subnet_id(id("main-intra-us-east-1c"))
        .send()
        .await
        .unwrap();
    env.ec2
        .modify_vpc_attribute()
        .vpc_id(id("main-vpc"))
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let plan = env.harness.plan(&graph).await.unwrap();
    assert_eq!(
        of_kind(&plan, StepKind::Create),
        [
            "main-intra-us-east-1c",
            "main-intra-us-east-1c-assoc",
            "main-private-us-east-1b-nat"
        ],
        "{:#?}",
        changes(&plan)
    );
    assert_eq!(
        of_kind(&plan, StepKind::Update),
        ["main-public-us-east-1b", "main-vpc"]
    );
    let update = plan.step("main-public-us-east-1b").unwrap();
    assert_eq!(update.diffs[0].path.to_string(), "tags.owner");
    assert_eq!(
        plan.step("main-vpc").unwrap().diffs[0].path.to_string(),
        "enable_dns_hostnames"
    );
    let report = env.harness.apply(&graph, plan).await.unwrap();
    support::assert_success(&report);
    env.assert_converged(&graph).await;

    let state = env.harness.snapshot();
    let subnet = env
        .ec2
        .describe_subnets()
        .subnet_ids(&state.resources["main-public-us-east-1b"].id)
        .send()
        .await
        .unwrap();
    assert_eq!(tag_map(subnet.subnets()[0].tags())["owner"], "ops");
    let table = env
        .ec2
        .describe_route_tables()
        .route_table_ids(&state.resources["main-private-us-east-1b-rt"].id)
        .send()
        .await
        .unwrap();
    assert!(
        table.route_tables()[0]
            .routes()
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
                && r.nat_gateway_id() == Some(state.resources["main-nat-us-east-1a"].id.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_leaves_nothing() {
    let env = Env::start().await;
    let graph = build(|s| network(s, &AZS, Nat::PerAz, "ops"));
    env.apply(&graph).await;
    let report = env.harness.destroy(&graph).await.unwrap();
    support::assert_success(&report);
    assert_eq!(env.harness.snapshot().resource_count(), 0);

    let tagged = filter("tag:girder:stack", &["dev"]);
    let vpcs = env
        .ec2
        .describe_vpcs()
        .filters(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty(), "{:?}", vpcs.vpcs());
    let subnets = env
        .ec2
        .describe_subnets()
        .filters(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(subnets.subnets().is_empty());
    let igws = env
        .ec2
        .describe_internet_gateways()
        .filters(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(igws.internet_gateways().is_empty());
    let addresses = env
        .ec2
        .describe_addresses()
        .filters(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(addresses.addresses().is_empty());
    let nats = env
        .ec2
        .describe_nat_gateways()
        .filter(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(
        nats.nat_gateways()
            .iter()
            .all(|n| n.state().map(|s| s.as_str()) == Some("deleted"))
    );
    let tables = env
        .ec2
        .describe_route_tables()
        .filters(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(tables.route_tables().is_empty());
    let flows = env
        .ec2
        .describe_flow_logs()
        .filter(tagged)
        .send()
        .await
        .unwrap();
    assert!(flows.flow_logs().is_empty());
    let groups = env.logs.describe_log_groups().send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "{:?}", groups.log_groups());
    let roles = env.iam.list_roles().send().await.unwrap();
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with("main-")),
        "{:?}",
        roles.roles()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_errors_name_the_resource_the_problem_and_the_fix() {
    let env = Env::start().await;
    let first = build(|s| network(s, &AZS, Nat::None, "ops"));
    env.apply(&first).await;
    let vpc_id = env.harness.snapshot().resources["main-vpc"].id.clone();
    // Someone takes the address range the fourth AZ's private subnet will want.
    env.ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.10.48.0/20")
        .availability_zone("us-east-1d")
        .send()
        .await
        .unwrap();
    let four = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];
    let wider = build(|s| network(s, &four, Nat::None, "ops"));
    let plan = env.harness.plan(&wider).await.unwrap();
    let report = env.harness.apply(&wider, plan).await.unwrap();
    let failure = report
        .failed
        .iter()
        .find(|f| f.resource == "main-private-us-east-1d")
        .unwrap_or_else(|| panic!("{:#?}", report.failed));
    assert!(
        failure
            .error
            .contains("CreateSubnet of aws:ec2/subnet `main-private-us-east-1d`"),
        "{}",
        failure.error
    );
    assert!(
        failure.error.contains("InvalidSubnet.Conflict"),
        "{}",
        failure.error
    );
    assert!(
        failure.error.contains("choose another name or CIDR"),
        "{}",
        failure.error
    );
    // Everything that does not need it went ahead; its association waits.
    assert!(
        report
            .skipped
            .iter()
            .any(|(r, _, because)| r == "main-private-us-east-1d-assoc"
                && because == "main-private-us-east-1d")
    );
    assert!(
        env.harness
            .snapshot()
            .resources
            .contains_key("main-public-us-east-1d")
    );
}
