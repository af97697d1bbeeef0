//! Build-time checks of the DSL: every problem reported at once, naming resource, field, value
//! and fix; and the shape of the graphs the modules build. No AWS call is made.

use girder_aws::prelude::*;
use girder_aws::seed;
use girder_core::{Diagnostic, Diagnostics, Stack};

fn diagnostics_of(build: impl FnOnce(&mut Stack)) -> Diagnostics {
    let mut s = Stack::new("dev");
    build(&mut s);
    match s.finish() {
        Ok(graph) => graph.warnings().clone(),
        Err(diagnostics) => diagnostics,
    }
}

fn find<'a>(diagnostics: &'a Diagnostics, field: &str) -> &'a Diagnostic {
    diagnostics
        .iter()
        .find(|d| d.field.as_deref() == Some(field))
        .unwrap_or_else(|| panic!("no diagnostic for `{field}` in:\n{diagnostics}"))
}

fn complete(d: &Diagnostic) {
    assert!(d.resource.is_some(), "no resource: {d}");
    assert!(d.field.is_some(), "no field: {d}");
    assert!(d.fix.is_some(), "no fix: {d}");
}

#[test]
fn the_seed_builds_without_problems() {
    let mut s = Stack::new("dev");
    seed::cluster(&mut s);
    match s.finish() {
        Ok(graph) => assert!(graph.warnings().is_empty(), "{}", graph.warnings()),
        Err(d) => panic!("{d}"),
    }
}

#[test]
fn the_seed_network_has_the_expected_resources() {
    let mut s = Stack::new("dev");
    let vpc = seed::network(&mut s);
    let graph = s.finish().unwrap();
    let count = |type_name: &str| {
        graph
            .nodes()
            .iter()
            .filter(|n| n.spec.type_name == type_name)
            .count()
    };
    assert_eq!(count("aws:ec2/vpc"), 1);
    assert_eq!(count("aws:ec2/subnet"), 9);
    assert_eq!(count("aws:ec2/internetGateway"), 1);
    assert_eq!(count("aws:ec2/natGateway"), 1);
    assert_eq!(count("aws:ec2/eip"), 1);
    // public, one private per AZ, intra
    assert_eq!(count("aws:ec2/routeTable"), 5);
    // 0.0.0.0/0 to the internet gateway, and to the NAT from each private table
    assert_eq!(count("aws:ec2/route"), 4);
    assert_eq!(count("aws:ec2/routeTableAssociation"), 9);
    assert_eq!(count("aws:ec2/flowLog"), 1);
    assert_eq!(count("aws:logs/logGroup"), 1);
    assert_eq!(count("aws:iam/role"), 1);
    assert_eq!(count("aws:iam/rolePolicy"), 1);
    assert_eq!(graph.len(), 35);
    assert_eq!(vpc.azs(), ["us-east-1a", "us-east-1b", "us-east-1c"]);
    let cidrs = |tier| {
        vpc.subnets(tier)
            .iter()
            .map(|s| s.cidr().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cidrs(Tier::Private),
        ["10.10.0.0/20", "10.10.16.0/20", "10.10.32.0/20"]
    );
    assert_eq!(
        cidrs(Tier::Public),
        ["10.10.96.0/24", "10.10.97.0/24", "10.10.98.0/24"]
    );
    assert_eq!(
        cidrs(Tier::Intra),
        ["10.10.102.0/24", "10.10.103.0/24", "10.10.104.0/24"]
    );
}

#[test]
fn every_vpc_problem_is_reported_at_once() {
    let diagnostics = diagnostics_of(|s| {
        Vpc::new("bad")
            .cidr("10.0.0.0/33")
            .azs(["us-east-1a", "eu-west-1b", "us-east-1a"])
            .public_subnets(["10.0.0.0/24"])
            .add(s);
        Vpc::new("worse")
            .cidr("10.1.0.0/16")
            .region("us-east-1")
            .azs(["us-east-1a", "us-east-1z"])
            .public_subnets(["10.1.0.0/24", "10.2.0.0/24"])
            .private_subnets(["10.1.0.0/23", "not-a-cidr"])
            .nat(Nat::Single)
            .add(s);
        Vpc::new("tiny")
            .cidr("10.3.0.0/24")
            .azs(["us-east-1a", "us-east-1b"])
            .private_subnets(Subnets::Size(25))
            .intra_subnets(Subnets::Size(25))
            .add(s);
        Vpc::new("hostbits")
            .cidr("10.4.1.0/16")
            .region("us-east-1")
            .azs(9)
            .add(s);
    });
    assert!(diagnostics.has_errors());
    for d in diagnostics.iter() {
        complete(d);
    }
    let by = |resource: &str, field: &str| {
        diagnostics
            .iter()
            .find(|d| d.resource.as_deref() == Some(resource) && d.field.as_deref() == Some(field))
            .unwrap_or_else(|| {
                panic!("no diagnostic for `{resource}`.`{field}` in:\n{diagnostics}")
            })
            .clone()
    };
    assert_eq!(by("bad-vpc", "cidr").value.as_deref(), Some("10.0.0.0/33"));
    assert!(by("bad-vpc", "azs[1]").message.contains("eu-west-1"));
    assert!(by("bad-vpc", "azs[2]").message.contains("twice"));
    assert!(
        by("worse-vpc", "azs[1]")
            .fix
            .unwrap()
            .contains("us-east-1f")
    );
    assert!(
        by("worse-vpc", "public_subnets[1]")
            .message
            .contains("not inside")
    );
    assert!(
        by("worse-vpc", "private_subnets[0]")
            .message
            .contains("overlaps public_subnets[0]")
    );
    assert_eq!(
        by("worse-vpc", "private_subnets[1]").value.as_deref(),
        Some("not-a-cidr")
    );
    assert!(
        by("bad-vpc", "public_subnets")
            .message
            .contains("one subnet per AZ")
    );
    assert!(
        by("tiny-vpc", "intra_subnets")
            .message
            .contains("not enough address space")
    );
    assert!(
        by("hostbits-vpc", "cidr")
            .fix
            .unwrap()
            .contains("10.4.0.0/16")
    );
    assert!(
        by("hostbits-vpc", "azs")
            .message
            .contains("us-east-1 has 6")
    );
}

#[test]
fn nat_needs_public_subnets_and_tags_are_checked() {
    let diagnostics = diagnostics_of(|s| {
        Vpc::new("x")
            .cidr("10.0.0.0/16")
            .azs(["eu-west-1a", "eu-west-1b"])
            .private_subnets(Auto)
            .nat(Nat::PerAz)
            .tag("aws:owner", "me")
            .add(s);
    });
    assert!(find(&diagnostics, "nat").message.contains("public subnets"));
    assert!(
        find(&diagnostics, "tags.aws:owner")
            .message
            .contains("reserved")
    );
}

#[test]
fn an_az_count_needs_the_region_and_can_use_it() {
    let diagnostics = diagnostics_of(|s| {
        Vpc::new("x")
            .cidr("10.0.0.0/16")
            .azs(3)
            .private_subnets(Auto)
            .add(s);
    });
    assert!(
        find(&diagnostics, "azs")
            .fix
            .as_deref()
            .unwrap()
            .contains("region")
    );
    let mut s = Stack::new("dev");
    let vpc = Vpc::new("x")
        .cidr("10.0.0.0/16")
        .region("ap-northeast-1")
        .azs(2)
        .private_subnets(Auto)
        .add(&mut s);
    assert_eq!(vpc.azs(), ["ap-northeast-1a", "ap-northeast-1c"]);
    assert!(s.finish().is_ok());
}

#[test]
fn every_eks_problem_is_reported_at_once() {
    // A range written largest first, as a typo would have it.
    let (high, low) = (5, 3);
    let diagnostics = diagnostics_of(|s| {
        let vpc = Vpc::new("net")
            .cidr("10.0.0.0/16")
            .azs(["us-east-1a"])
            .private_subnets(Auto)
            .add(s);
        Eks::new("c")
            .version("1.7")
            .vpc(&vpc)
            .nodegroups([
                Eks::nodegroup(OnDemand)
                    .name("a")
                    .instance_types(["t3.medium"])
                    .size(high..=low, 4),
                Eks::nodegroup(OnDemand)
                    .name("b")
                    .instance_types(["t3.medium"])
                    .size(1..=3, 7),
                Eks::nodegroup(Spot)
                    .name("c")
                    .instance_types(Vec::<String>::new())
                    .size(1..=2, 1),
                Eks::nodegroup(Spot)
                    .name("d")
                    .instance_types(["m5.large"])
                    .size(1..=2, 1),
            ])
            .add(s);
        Eks::new("d").version("latest").add(s);
    });
    for d in diagnostics.errors() {
        complete(d);
    }
    let at = |resource: &str, field: &str| {
        diagnostics
            .iter()
            .find(|d| d.resource.as_deref() == Some(resource) && d.field.as_deref() == Some(field))
            .unwrap_or_else(|| {
                panic!("no diagnostic for `{resource}`.`{field}` in:\n{diagnostics}")
            })
            .clone()
    };
    assert!(at("c-cluster", "subnets").message.contains("two AZs"));
    assert!(
        at("c-cluster", "version")
            .message
            .contains("does not offer")
    );
    assert!(at("d-cluster", "version").message.contains("`1.NN`"));
    assert!(at("d-cluster", "vpc").message.contains("no network"));
    assert!(at("c-a", "size").message.contains("above the maximum"));
    assert!(at("c-b", "size.desired").message.contains("outside 1..=3"));
    assert!(
        at("c-c", "instance_types")
            .message
            .contains("no instance types")
    );
    let spot = at("c-d", "instance_types");
    assert!(spot.severity == girder_core::Severity::Warning && spot.message.contains("SPOT"));
    assert!(at("c-cluster", "vpc").message.contains("not tagged"));
}

#[test]
fn irsa_trust_is_scoped_to_one_service_account() {
    let mut s = Stack::new("dev");
    let seed = seed::cluster(&mut s);
    let graph = s.finish().unwrap();
    let role = graph.node(seed.external_dns.node());
    let trust = role
        .spec
        .inputs
        .field("assume_role_policy")
        .expect("trust policy");
    // The document depends on the OIDC provider (principal and condition keys).
    let oidc = graph.find("yolo-oidc").unwrap();
    assert!(trust.dependencies().iter().any(|n| n.index() == oidc));
    let resolved = trust
        .resolve(&|node| {
            static OIDC: std::sync::OnceLock<girder_core::Value> = std::sync::OnceLock::new();
            let _ = node;
            Some(OIDC.get_or_init(|| {
                girder_core::object! {
                    "arn" => "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
                    "issuer_host" => "oidc.eks.us-east-1.amazonaws.com/id/ABC"
                }
            }))
        })
        .unwrap()
        .to_json();
    let statement = &resolved["Statement"][0];
    assert_eq!(statement["Action"][0], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statement["Principal"]["Federated"],
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"],
        "system:serviceaccount:kube-system:external-dns"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:aud"],
        "sts.amazonaws.com"
    );
}

#[test]
fn the_kubernetes_provider_node_is_built_from_cluster_outputs() {
    let mut s = Stack::new("dev");
    let seed = seed::cluster(&mut s);
    let k8s = seed.eks.kubernetes(&mut s);
    let graph = s.finish().unwrap();
    let node = graph.node(k8s.node());
    assert_eq!(node.spec.type_name, "k8s:provider");
    assert_eq!(node.spec.name, "yolo-k8s");
    let auth = node
        .spec
        .inputs
        .field("auth")
        .unwrap()
        .as_literal()
        .unwrap()
        .to_json();
    assert_eq!(
        auth,
        serde_json::json!({"kind": "aws-eks", "cluster": "yolo", "region": "us-east-1"})
    );
    let cluster = graph.find("yolo-cluster").unwrap();
    let on_demand = graph.find("yolo-on-demand").unwrap();
    let spot = graph.find("yolo-spot").unwrap();
    for dependency in [cluster, on_demand, spot] {
        assert!(
            node.dependencies.contains(&dependency),
            "{:?}",
            node.dependencies
        );
    }
}

#[test]
fn nodegroups_carry_autoscaler_tags_and_ignore_the_desired_size() {
    let mut s = Stack::new("dev");
    seed::cluster(&mut s);
    let graph = s.finish().unwrap();
    let group = graph.node_at(graph.find("yolo-spot").unwrap());
    let tags = group
        .spec
        .inputs
        .field("tags")
        .unwrap()
        .as_literal()
        .unwrap()
        .to_json();
    assert_eq!(tags["k8s.io/cluster-autoscaler/enabled"], "true");
    assert_eq!(tags["k8s.io/cluster-autoscaler/yolo"], "owned");
    assert_eq!(group.spec.options.ignore_changes, ["scaling.desired_size"]);
    let capacity = group
        .spec
        .inputs
        .field("capacity_type")
        .unwrap()
        .as_literal()
        .unwrap();
    assert_eq!(capacity.as_str(), Some("SPOT"));
}

#[test]
fn every_route53_s3_and_dynamodb_problem_is_reported_at_once() {
    let diagnostics = diagnostics_of(|s| {
        HostedZone::new("bad..example.com").add(s);
        HostedZone::new("-lead.example.com")
            .resource_name("lead")
            .add(s);
        HostedZone::new("exa mple.com")
            .resource_name("space")
            .add(s);
        HostedZone::new("ok.example.com")
            .private_in(VpcId::new("vpc-1"), "mars-1")
            .add(s);
        Bucket::new("upper").name("My_Bucket").add(s);
        Bucket::new("short").name("ab").add(s);
        Bucket::new("ip").name("192.168.1.1").add(s);
        Bucket::new("reserved").name("xn--bucket").add(s);
        Bucket::new("dots").name("my.bucket").add(s);
        Table::new("nokey").add(s);
        Table::new("same")
            .hash_key("id", AttributeType::String)
            .range_key("id", AttributeType::Number)
            .add(s);
        Table::new("empty")
            .hash_key("", AttributeType::String)
            .add(s);
        Table::new("bad name!")
            .name("x")
            .hash_key("pk", AttributeType::String)
            .billing(Billing::provisioned(0, 5))
            .add(s);
    });
    for d in diagnostics.iter() {
        complete(d);
    }
    let at = |resource: &str, field: &str| {
        diagnostics
            .iter()
            .find(|d| d.resource.as_deref() == Some(resource) && d.field.as_deref() == Some(field))
            .unwrap_or_else(|| {
                panic!("no diagnostic for `{resource}`.`{field}` in:\n{diagnostics}")
            })
            .clone()
    };
    assert!(
        at("bad..example.com", "domain")
            .message
            .contains("empty label")
    );
    assert!(at("lead", "domain").message.contains("hyphen"));
    assert!(at("space", "domain").message.contains("contains ` `"));
    assert!(
        at("ok.example.com", "vpcs[0].region")
            .message
            .contains("region")
    );
    let upper = at("upper", "name");
    assert!(upper.message.contains("lowercase"), "{upper}");
    assert!(upper.fix.unwrap().contains("my-bucket"));
    assert!(at("short", "name").message.contains("3 to 63"));
    assert!(at("ip", "name").message.contains("IP address"));
    assert!(at("reserved", "name").message.contains("reserved"));
    let dots = at("dots", "name");
    assert_eq!(dots.severity, girder_core::Severity::Warning);
    assert!(at("nokey", "hash_key").message.contains("hash"));
    assert!(at("same", "range_key").message.contains("hash key's name"));
    assert!(at("empty", "hash_key").message.contains("1 to 255"));
    assert!(at("bad name!", "name").message.contains("3 to 255"));
    assert!(
        at("bad name!", "billing.read")
            .message
            .contains("at least 1")
    );
    // The stack reports the resource name itself.
    assert!(diagnostics.iter().any(|d| {
        d.message
            .contains("`bad name!` is not a valid resource name")
    }));
}

#[test]
fn raw_declarations_are_checked_when_planning() {
    use girder_engine::provider::ProviderPackage;
    let aws = girder_aws::package();
    let check = |type_name: &str, inputs: girder_core::Value| aws.check(type_name, "raw", &inputs);
    let zone = check(
        "aws:route53/hostedZone",
        girder_core::object! { "name" => "a..b", "private_zone" => true },
    );
    assert_eq!(zone.len(), 2, "{zone}");
    let bucket = check(
        "aws:s3/bucket",
        girder_core::object! { "name" => "Bad", "encryption" => girder_core::object! { "sse_algorithm" => "DES" } },
    );
    assert!(bucket.len() >= 2, "{bucket}");
    let table = check(
        "aws:dynamodb/table",
        girder_core::object! {
            "name" => "t!",
            "hash_key" => girder_core::object! { "name" => "k", "type" => "X" },
            "billing_mode" => "PROVISIONED",
        },
    );
    // name, hash_key.type, read_capacity, write_capacity
    assert_eq!(table.len(), 4, "{table}");
}

#[test]
fn a_version_past_its_support_is_refused_and_an_unknown_newer_one_warns() {
    let diagnostics = diagnostics_of(|s| {
        Eks::new("old").version("1.29").add(s);
        Eks::new("new").version("1.99").add(s);
    });
    let at = |resource: &str| {
        diagnostics
            .iter()
            .find(|d| {
                d.resource.as_deref() == Some(resource) && d.field.as_deref() == Some("version")
            })
            .unwrap_or_else(|| panic!("no version diagnostic for `{resource}` in:\n{diagnostics}"))
            .clone()
    };
    let old = at("old-cluster");
    assert_eq!(old.severity, girder_core::Severity::Error);
    assert!(old.message.contains("ended on 2026-03-23"), "{old}");
    assert!(
        old.fix
            .as_deref()
            .is_some_and(|f| f.contains("standard support"))
    );
    let new = at("new-cluster");
    assert_eq!(new.severity, girder_core::Severity::Warning);
    assert!(
        new.message.contains("newer than the versions girder knows"),
        "{new}"
    );
}

/// One rule, two callers: the builders and raw declarations report the same problem with the
/// same words, so the rules cannot drift apart.
#[test]
fn builders_and_raw_declarations_share_one_set_of_rules() {
    use girder_engine::provider::ProviderPackage;
    let aws = girder_aws::package();
    let raw = |type_name: &str, inputs: girder_core::Value| aws.check(type_name, "raw", &inputs);
    let built = diagnostics_of(|s| {
        Vpc::new("v")
            .cidr("10.0.0.1/12")
            .azs(["us-east-1a"])
            .private_subnets(Auto)
            .add(s);
    });
    let raw_vpc = raw(
        "aws:ec2/vpc",
        girder_core::object! { "cidr_block" => "10.0.0.1/12" },
    );
    let messages = |d: &Diagnostics| {
        let mut m: Vec<(String, Option<String>)> = d
            .iter()
            .filter(|d| d.field.as_deref().is_some_and(|f| f.contains("cidr")))
            .map(|d| (d.message.clone(), d.fix.clone()))
            .collect();
        m.sort();
        m
    };
    assert_eq!(messages(&built).len(), 2, "host bits and prefix: {built}");
    assert_eq!(messages(&built), messages(&raw_vpc));

    let nodegroup = raw(
        "aws:eks/nodegroup",
        girder_core::object! {
            "scaling" => girder_core::object! { "min_size" => 3, "max_size" => 1, "desired_size" => 2 },
            "instance_types" => vec![girder_core::Value::from("T3.Medium")],
        },
    );
    let texts: Vec<&str> = nodegroup.iter().map(|d| d.message.as_str()).collect();
    assert!(
        texts.contains(&"the minimum size is above the maximum"),
        "{nodegroup}"
    );
    assert!(texts.contains(&"not an EC2 instance type"), "{nodegroup}");

    let logs = raw(
        "aws:logs/logGroup",
        girder_core::object! { "name" => "/a", "retention_in_days" => 0 },
    );
    assert_eq!(logs.len(), 1, "{logs}");
    assert!(logs.iter().all(|d| d.message.contains("retention period")));
}

#[test]
fn every_access_entry_problem_is_reported_at_once() {
    let diagnostics = diagnostics_of(|s| {
        let vpc = seed::network(s);
        let _ = Eks::new("yolo")
            .vpc(&vpc)
            .authentication_mode(AuthenticationMode::Api)
            .access_entry(
                AccessEntry::new("bad-arn", "arn:aws:sts::111122223333:assumed-role/Admin/me")
                    .policy(AccessPolicy::View, AccessScope::Cluster),
            )
            .access_entry(
                AccessEntry::new("unknown", "arn:aws:iam::111122223333:user/alice").policy(
                    AccessPolicy::named("AmazonEKSEverythingPolicy"),
                    AccessScope::Cluster,
                ),
            )
            .access_entry(
                AccessEntry::new("admins", "arn:aws:iam::111122223333:role/Admin").policy(
                    AccessPolicy::ClusterAdmin,
                    AccessScope::namespaces(["apps"]),
                ),
            )
            .add(s);
    });
    let principal = find(&diagnostics, "principal_arn");
    complete(principal);
    assert_eq!(principal.resource.as_deref(), Some("yolo-access-bad-arn"));
    assert_eq!(
        principal.value.as_deref(),
        Some("arn:aws:sts::111122223333:assumed-role/Admin/me")
    );
    assert!(principal.fix.as_deref().unwrap().contains("arn:aws:iam::"));
    let policy = find(&diagnostics, "policies");
    complete(policy);
    assert_eq!(policy.value.as_deref(), Some("AmazonEKSEverythingPolicy"));
    assert!(
        policy
            .fix
            .as_deref()
            .unwrap()
            .contains("AmazonEKSViewPolicy")
    );
    let scope = find(&diagnostics, "policies.scope");
    complete(scope);
    assert_eq!(scope.resource.as_deref(), Some("yolo-access-admins"));
    assert_eq!(scope.value.as_deref(), Some("apps"));
    assert!(scope.message.contains("AmazonEKSClusterAdminPolicy"));
    assert!(
        scope
            .fix
            .as_deref()
            .unwrap()
            .contains("AccessScope::Cluster")
    );
}

#[test]
fn access_entries_are_resources_of_the_cluster() {
    let mut s = Stack::new("dev");
    let vpc = seed::network(&mut s);
    let deployer = IamRole::new("deployer")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .add(&mut s);
    let eks = Eks::new("yolo")
        .vpc(&vpc)
        .creator_admin(true)
        .access_entry(
            AccessEntry::new("deployer", &deployer)
                .policy(AccessPolicy::Edit, AccessScope::namespaces(["apps"])),
        )
        .add(&mut s);
    let _k8s = eks.kubernetes(&mut s);
    assert_eq!(eks.access_entry_arns().len(), 1);
    let graph = s.finish().unwrap_or_else(|d| panic!("{d}"));
    let entry = graph
        .nodes()
        .iter()
        .find(|n| n.spec.type_name == "aws:eks/accessEntry")
        .unwrap();
    assert_eq!(entry.spec.name, "yolo-access-deployer");
    let cluster = graph
        .nodes()
        .iter()
        .find(|n| n.spec.type_name == "aws:eks/cluster")
        .unwrap();
    let inputs = format!("{:?}", cluster.spec.inputs);
    assert!(inputs.contains("API_AND_CONFIG_MAP"), "{inputs}");
    assert!(
        inputs.contains("bootstrap_cluster_creator_admin_permissions"),
        "{inputs}"
    );
}
