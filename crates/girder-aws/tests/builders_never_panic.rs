//! No input crashes girder: every public builder of the AWS DSL is driven with arbitrary
//! values (any string — empty, huge, unicode, control characters, `..`, `/` —, integers at
//! their limits, duplicate names, empty lists). Building never panics (a panic fails the
//! test: nothing is caught), `Stack::finish` returns a graph or diagnostics whose errors each
//! name the resource (or are program-level), the field and the fix, and a graph plans offline
//! to a plan or diagnostics — the same — while the state store stays as it was.

use girder_aws::dsl::cidr::Tier;
use girder_aws::dsl::dynamodb::{AttributeType, Billing, Table};
use girder_aws::dsl::eks::{
    AccessEntry, AccessPolicy, AccessScope, Addon, AuthenticationMode, Capacity, Eks, Endpoint,
    LogType, Nodegroup, TaintEffect, policies,
};
use girder_aws::dsl::iam::{IamRole, InstanceProfile, ManagedPolicy, OidcProvider};
use girder_aws::dsl::logs::LogGroup;
use girder_aws::dsl::network::{Rule, SecurityGroup};
use girder_aws::dsl::route53::HostedZone;
use girder_aws::dsl::s3::{Bucket, Encryption, PublicAccessBlock};
use girder_aws::dsl::vpc::{Azs, FlowLogs, Nat, Subnets, Traffic, Vpc};
use girder_aws::prelude::{Condition, PolicyDocument, Principal, Statement};
use girder_aws::{ApiCalls, AwsSettings, PolicyArn, RoleArn};
use girder_core::{Stack, WithOptions};
use girder_engine::Registry;
use girder_testing::fuzz::{
    any_i32, any_i64, any_name, any_text, any_u32, any_vec, assert_actionable, mostly,
};
use girder_testing::harness::Harness;
use girder_testing::plan::TestProgram;
use girder_testing::sim::SimPackage;
use girder_testing::strategies::{cidr_block, k8s_name, private_cidr};
use proptest::prelude::*;

fn program() -> TestProgram {
    TestProgram::new().package(girder_aws::package())
}

/// Builds and plans `build`: a graph or actionable diagnostics, then a plan or actionable
/// diagnostics. Returns whether a plan was made.
fn outcome(build: impl FnOnce(&mut Stack)) -> Result<bool, TestCaseError> {
    match program().build(build) {
        Err(diagnostics) => {
            prop_assert!(
                diagnostics.has_errors(),
                "refused without an error: {diagnostics}"
            );
            assert_actionable(&diagnostics)?;
            Ok(false)
        }
        Ok(graph) => {
            prop_assert!(!graph.warnings().has_errors());
            match program().plan_graph(graph) {
                Ok(_) => Ok(true),
                Err(diagnostics) => {
                    prop_assert!(diagnostics.has_errors(), "plan refused without an error");
                    assert_actionable(&diagnostics)?;
                    Ok(false)
                }
            }
        }
    }
}

fn cidr_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => cidr_block(8..=28).prop_map(|n| n.to_string()),
        1 => cidr_block(0..=32).prop_map(|n| n.to_string()),
        1 => any_text(),
        1 => prop::sample::select(vec!["10.0.0.1/16", "10.0.0.0/33", "256.0.0.0/8", "10.0.0.0"])
            .prop_map(str::to_owned),
    ]
}

fn azs() -> impl Strategy<Value = Azs> {
    prop_oneof![
        (0usize..=8).prop_map(Azs::Count),
        prop::sample::select(vec![usize::MAX, usize::MAX / 2, 1 << 20]).prop_map(Azs::Count),
        any_vec(
            prop_oneof![
                3 => prop::sample::select(vec!["us-east-1a", "us-east-1b", "us-east-1c", "eu-west-1a"])
                    .prop_map(str::to_owned),
                1 => any_text(),
            ],
            7
        )
        .prop_map(Azs::Names),
    ]
}

fn subnets() -> impl Strategy<Value = Option<Subnets>> {
    prop::option::of(prop_oneof![
        Just(Subnets::Auto),
        any::<u8>().prop_map(Subnets::Size),
        any_vec(cidr_text(), 7).prop_map(Subnets::Cidrs),
    ])
}

fn nat() -> impl Strategy<Value = Nat> {
    prop::sample::select(vec![Nat::None, Nat::Single, Nat::PerAz])
}

fn tags() -> impl Strategy<Value = Vec<(String, String)>> {
    any_vec((any_text(), any_text()), 3)
}

fn tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

fn flow_logs() -> impl Strategy<Value = Option<FlowLogs>> {
    prop::option::of(
        (
            prop::option::of(any_i32()),
            any::<bool>(),
            prop::sample::select(vec![Traffic::All, Traffic::Accept, Traffic::Reject]),
            any::<bool>(),
        )
            .prop_map(|(retention, forever, traffic, one_minute)| {
                let mut logs = FlowLogs::cloudwatch().traffic(traffic);
                if let Some(days) = retention {
                    logs = logs.retention_days(days);
                }
                if forever {
                    logs = logs.keep_forever();
                }
                if one_minute {
                    logs = logs.one_minute_aggregation();
                }
                logs
            }),
    )
    .boxed()
}

/// Everything a `Vpc` takes.
#[derive(Clone, Debug)]
struct VpcInput {
    name: String,
    cidr: Option<String>,
    region: Option<String>,
    azs: Option<Azs>,
    tiers: (Option<Subnets>, Option<Subnets>, Option<Subnets>),
    nat: Nat,
    flow_logs: Option<FlowLogs>,
    no_dns: bool,
    cluster: Option<String>,
    tags: Vec<(String, String)>,
}

fn vpc_input() -> impl Strategy<Value = VpcInput> {
    let valid_azs =
        prop::sample::subsequence(vec!["us-east-1a", "us-east-1b", "us-east-1c"], 1..=3)
            .prop_map(|names| Some(Azs::from(names)));
    let auto = || mostly(prop::option::of(Just(Subnets::Auto)), subnets());
    (
        mostly(
            prop::sample::select(vec!["main", "core"]).prop_map(str::to_owned),
            any_name(),
        ),
        mostly(
            private_cidr(16..=20).prop_map(|n| Some(n.to_string())),
            prop::option::of(cidr_text()),
        ),
        mostly(
            Just(Some("us-east-1".to_owned())),
            prop::option::of(any_text()),
        ),
        mostly(valid_azs, prop::option::of(azs())),
        (auto(), auto(), auto()),
        nat(),
        mostly(Just(None), flow_logs()),
        any::<bool>(),
        mostly(Just(None), prop::option::of(any_name())),
        mostly(Just(Vec::new()), tags()),
    )
        .prop_map(
            |(name, cidr, region, azs, tiers, nat, flow_logs, no_dns, cluster, tags)| VpcInput {
                name,
                cidr,
                region,
                azs,
                tiers,
                nat,
                flow_logs,
                no_dns,
                cluster,
                tags,
            },
        )
        .boxed()
}

fn build_vpc(input: &VpcInput) -> Vpc {
    let mut vpc = Vpc::new(input.name.clone()).nat(input.nat);
    if let Some(cidr) = &input.cidr {
        vpc = vpc.cidr(cidr.clone());
    }
    if let Some(region) = &input.region {
        vpc = vpc.region(region.clone());
    }
    if let Some(azs) = &input.azs {
        vpc = vpc.azs(azs.clone());
    }
    if let Some(public) = &input.tiers.0 {
        vpc = vpc.public_subnets(public.clone());
    }
    if let Some(private) = &input.tiers.1 {
        vpc = vpc.private_subnets(private.clone());
    }
    if let Some(intra) = &input.tiers.2 {
        vpc = vpc.intra_subnets(intra.clone());
    }
    if let Some(logs) = &input.flow_logs {
        vpc = vpc.flow_logs(logs.clone());
    }
    if input.no_dns {
        vpc = vpc.without_dns_hostnames();
    }
    if let Some(cluster) = &input.cluster {
        vpc = vpc.eks_cluster(cluster.clone());
    }
    for (key, value) in &input.tags {
        vpc = vpc.tag(key.clone(), value.clone());
    }
    vpc.tags(input.tags.clone())
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop_oneof![
            any::<u16>().prop_map(Rule::tcp),
            any::<u16>().prop_map(Rule::udp),
            (any::<u16>(), any::<u16>()).prop_map(|(from, to)| Rule::tcp_range(from, to)),
            Just(Rule::all_traffic()),
        ],
        any::<bool>(),
        prop::option::of(cidr_text()),
        prop::option::of(any_text()),
    )
        .prop_map(|(mut rule, outbound, cidr, description)| {
            if outbound {
                rule = rule.outbound();
            }
            if let Some(cidr) = cidr {
                rule = rule.cidr(cidr);
            }
            if let Some(description) = description {
                rule = rule.description(description);
            }
            rule
        })
        .boxed()
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        any::<bool>(),
        any_vec(any_text(), 3),
        any_vec(any_text(), 2),
        prop::option::of(any_text()),
        prop::option::of(prop_oneof![
            any_text().prop_map(Principal::service),
            any_text().prop_map(Principal::aws),
            any_text().prop_map(Principal::federated),
        ]),
        prop::option::of((any_text(), any_text(), any_text())),
    )
        .prop_map(|(allow, actions, resources, sid, principal, condition)| {
            let mut statement = if allow {
                Statement::allow(actions)
            } else {
                Statement::deny(actions)
            }
            .resources(resources);
            if let Some(sid) = sid {
                statement = statement.sid(sid);
            }
            if let Some(principal) = principal {
                statement = statement.principal(principal);
            }
            if let Some((operator, key, value)) = condition {
                statement = statement.condition(Condition::new(operator, key.as_str(), [value]));
            }
            statement
        })
        .boxed()
}

fn document() -> impl Strategy<Value = PolicyDocument> {
    prop_oneof![
        any_vec(any_text(), 3).prop_map(PolicyDocument::service_trust),
        any_vec(statement(), 3).prop_map(|statements| {
            statements
                .into_iter()
                .fold(PolicyDocument::new(), PolicyDocument::statement)
        }),
        any_text().prop_map(|cluster| policies::cluster_autoscaler(&cluster)),
    ]
    .boxed()
}

/// Everything an `IamRole` takes.
#[derive(Clone, Debug)]
struct RoleInput {
    resource: String,
    role_name: Option<String>,
    path: Option<String>,
    description: Option<String>,
    trust: Option<PolicyDocument>,
    policies: Vec<(String, PolicyDocument)>,
    managed: Vec<String>,
    session: Option<i32>,
    boundary: Option<String>,
    tags: Vec<(String, String)>,
}

fn role_input() -> impl Strategy<Value = RoleInput> {
    let trust = || Some(PolicyDocument::service_trust(["ec2.amazonaws.com"]));
    let read = || PolicyDocument::new().statement(Statement::allow(["s3:GetObject"]).resource("*"));
    (
        mostly(k8s_name(), any_name()),
        mostly(Just(None), prop::option::of(any_text())),
        mostly(Just(None), prop::option::of(any_text())),
        mostly(Just(None), prop::option::of(any_text())),
        mostly(Just(trust()), prop::option::of(document())),
        mostly(
            any_vec(k8s_name().prop_map(move |name| (name, read())), 1),
            any_vec((any_name(), document()), 2),
        ),
        mostly(
            any_vec(Just("arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()), 1),
            any_vec(any_text(), 2),
        ),
        mostly(Just(None), prop::option::of(any_i32())),
        mostly(Just(None), prop::option::of(any_text())),
        mostly(Just(Vec::new()), tags()),
    )
        .prop_map(
            |(
                resource,
                role_name,
                path,
                description,
                trust,
                policies,
                managed,
                session,
                boundary,
                tags,
            )| {
                RoleInput {
                    resource,
                    role_name,
                    path,
                    description,
                    trust,
                    policies,
                    managed,
                    session,
                    boundary,
                    tags,
                }
            },
        )
        .boxed()
}

fn build_role(input: &RoleInput) -> IamRole {
    let mut role = IamRole::new(input.resource.clone());
    if let Some(name) = &input.role_name {
        role = role.role_name(name.clone());
    }
    if let Some(path) = &input.path {
        role = role.path(path.clone());
    }
    if let Some(description) = &input.description {
        role = role.description(description.clone());
    }
    if let Some(trust) = &input.trust {
        role = role.trust(trust.clone());
    }
    for (name, document) in &input.policies {
        role = role.policy(name.clone(), document.clone());
    }
    for arn in &input.managed {
        role = role.managed_policy(PolicyArn::new(arn.clone()));
    }
    if let Some(seconds) = input.session {
        role = role.max_session_duration(seconds);
    }
    if let Some(arn) = &input.boundary {
        role = role.permissions_boundary(PolicyArn::new(arn.clone()));
    }
    role.tags(input.tags.clone())
}

fn nodegroup() -> impl Strategy<Value = Nodegroup> {
    (
        prop::sample::select(vec![Capacity::OnDemand, Capacity::Spot]),
        prop::option::of(any_name()),
        any_vec(
            prop_oneof![
                2 => prop::sample::select(vec!["m7i.large", "t3.medium", "m5.xlarge"]).prop_map(str::to_owned),
                1 => any_text()
            ],
            3,
        ),
        prop::option::of((any_u32(), any_u32(), any_u32())),
        (prop::option::of(any_i32()), prop::option::of(any_i32())),
        prop::option::of(any_text()),
        any_vec((any_text(), any_text()), 2),
        any_vec(
            (
                any_text(),
                prop::option::of(any_text()),
                prop::sample::select(vec![
                    TaintEffect::NoSchedule,
                    TaintEffect::PreferNoSchedule,
                    TaintEffect::NoExecute,
                ]),
            ),
            2,
        ),
        (prop::option::of(tier()), any::<bool>(), prop::option::of(any_text())),
        tags(),
    )
        .prop_map(
            |(capacity, name, types, size, (disk, unavailable), ami, labels, taints, (subnets, no_autoscaler, version), tags)| {
                let mut group = Eks::nodegroup(capacity).instance_types(types);
                if let Some(name) = name {
                    group = group.name(name);
                }
                if let Some((min, max, desired)) = size {
                    group = group.size(min..=max, desired);
                }
                if let Some(gib) = disk {
                    group = group.disk_size(gib);
                }
                if let Some(nodes) = unavailable {
                    group = group.max_unavailable(nodes);
                }
                if let Some(ami) = ami {
                    group = group.ami_type(ami);
                }
                for (key, value) in labels {
                    group = group.label(key, value);
                }
                for (key, value, effect) in taints {
                    group = group.taint(key, value.as_deref(), effect);
                }
                if let Some(tier) = subnets {
                    group = group.subnets(tier);
                }
                if no_autoscaler {
                    group = group.without_autoscaler();
                }
                if let Some(version) = version {
                    group = group.version(version);
                }
                for (key, value) in tags {
                    group = group.tag(key, value);
                }
                group
            },
        )
    .boxed()
}

fn addon() -> impl Strategy<Value = Addon> {
    (
        prop_oneof![
            Just(Addon::vpc_cni()),
            Just(Addon::coredns()),
            Just(Addon::kube_proxy()),
            any_name().prop_map(Addon::new),
        ],
        prop::option::of(any_text()),
        prop::option::of(any_text()),
        prop::option::of(any_text()),
    )
        .prop_map(|(mut addon, version, role, configuration)| {
            if let Some(version) = version {
                addon = addon.version(version);
            }
            if let Some(role) = role {
                addon = addon.service_account_role(RoleArn::new(role));
            }
            if let Some(configuration) = configuration {
                addon = addon.configuration(serde_json::json!({ "key": configuration }));
            }
            addon
        })
        .boxed()
}

fn access_entry() -> impl Strategy<Value = AccessEntry> {
    (
        any_name(),
        prop_oneof![
            2 => Just("arn:aws:iam::111122223333:role/admin".to_owned()),
            1 => any_text()
        ],
        any_vec(any_text(), 2),
        prop::option::of(any_text()),
        any_vec(
            (
                prop_oneof![
                    Just(AccessPolicy::ClusterAdmin),
                    Just(AccessPolicy::Admin),
                    Just(AccessPolicy::Edit),
                    Just(AccessPolicy::View),
                    any_text().prop_map(AccessPolicy::named),
                ],
                prop_oneof![
                    Just(AccessScope::Cluster),
                    any_vec(any_text(), 3).prop_map(AccessScope::namespaces),
                ],
            ),
            2,
        ),
    )
        .prop_map(|(name, principal, groups, username, grants)| {
            let mut entry = AccessEntry::new(name, principal).kubernetes_groups(groups);
            if let Some(username) = username {
                entry = entry.username(username);
            }
            for (policy, scope) in grants {
                entry = entry.policy(policy, scope);
            }
            entry
        })
        .boxed()
}

/// Everything an `Eks` takes (besides its VPC, which is generated separately).
#[derive(Clone, Debug)]
struct EksInput {
    name: String,
    version: Option<String>,
    region: Option<String>,
    control_plane: Option<Tier>,
    endpoint: Option<(u8, Vec<String>)>,
    logs: Vec<LogType>,
    retention: Option<i32>,
    roles: (Option<String>, Option<String>),
    nodegroups: Vec<Nodegroup>,
    addons: Vec<Addon>,
    access: Vec<AccessEntry>,
    mode: Option<AuthenticationMode>,
    creator_admin: Option<bool>,
    tags: Vec<(String, String)>,
    irsa: Vec<(String, String, Option<PolicyDocument>)>,
    kubernetes: bool,
}

fn eks_input() -> impl Strategy<Value = EksInput> {
    let group = || {
        Eks::nodegroup(Capacity::OnDemand)
            .instance_types(["m7i.large"])
            .size(1..=3, 2)
    };
    (
        (
            mostly(Just("prod".to_owned()), any_name()),
            mostly(Just(None), prop::option::of(prop_oneof![
                2 => prop::sample::select(vec!["1.31", "1.32", "1.33", "1.20", "2.0"]).prop_map(str::to_owned),
                1 => any_text()
            ])),
            mostly(Just(None), prop::option::of(any_text())),
            mostly(Just(None), prop::option::of(tier())),
            mostly(Just(None), prop::option::of((0u8..3, any_vec(cidr_text(), 2)))),
            any_vec(
                prop::sample::select(vec![
                    LogType::Api,
                    LogType::Audit,
                    LogType::Authenticator,
                    LogType::ControllerManager,
                    LogType::Scheduler,
                ]),
                6,
            ),
            mostly(Just(None), prop::option::of(any_i32())),
            mostly(Just((None, None)), (prop::option::of(any_text()), prop::option::of(any_text()))),
        ),
        (
            mostly(any_vec(Just(group()), 1), any_vec(nodegroup(), 3)),
            mostly(any_vec(Just(Addon::vpc_cni()), 1), any_vec(addon(), 3)),
            mostly(Just(Vec::new()), any_vec(access_entry(), 2)),
            prop::option::of(prop::sample::select(vec![
                AuthenticationMode::Api,
                AuthenticationMode::ApiAndConfigMap,
            ])),
            prop::option::of(any::<bool>()),
            mostly(Just(Vec::new()), tags()),
            mostly(
                any_vec((k8s_name(), k8s_name(), Just(None)), 2),
                any_vec((any_text(), any_text(), prop::option::of(document())), 2),
            ),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (name, version, region, control_plane, endpoint, logs, retention, roles),
                (nodegroups, addons, access, mode, creator_admin, tags, irsa, kubernetes),
            )| EksInput {
                name,
                version,
                region,
                control_plane,
                endpoint,
                logs,
                retention,
                roles,
                nodegroups,
                addons,
                access,
                mode,
                creator_admin,
                tags,
                irsa,
                kubernetes,
            },
        )
    .boxed()
}

fn add_eks(input: &EksInput, vpc: Option<&girder_aws::dsl::vpc::VpcHandle>, s: &mut Stack) {
    let mut eks = Eks::new(input.name.clone());
    if let Some(vpc) = vpc {
        eks = eks.vpc(vpc);
    }
    if let Some(version) = &input.version {
        eks = eks.version(version.clone());
    }
    if let Some(region) = &input.region {
        eks = eks.region(region.clone());
    }
    if let Some(tier) = input.control_plane {
        eks = eks.control_plane_subnets(tier);
    }
    if let Some((kind, cidrs)) = &input.endpoint {
        let endpoint = match kind {
            0 => Endpoint::public_and_private(),
            1 => Endpoint::private(),
            _ => Endpoint::public(),
        };
        eks = eks.endpoint(endpoint.public_cidrs(cidrs.clone()));
    }
    eks = eks.control_plane_logs(input.logs.clone());
    if let Some(days) = input.retention {
        eks = eks.log_retention_days(days);
    }
    if let Some(arn) = &input.roles.0 {
        eks = eks.cluster_role(RoleArn::new(arn.clone()));
    }
    if let Some(arn) = &input.roles.1 {
        eks = eks.node_role(RoleArn::new(arn.clone()));
    }
    let mut groups = input.nodegroups.iter().cloned();
    if let Some(first) = groups.next() {
        eks = eks.with_nodegroup(first);
    }
    eks = eks.nodegroups(groups);
    for addon in &input.addons {
        eks = eks.addon(addon.clone());
    }
    for entry in &input.access {
        eks = eks.access_entry(entry.clone());
    }
    if let Some(mode) = input.mode {
        eks = eks.authentication_mode(mode);
    }
    if let Some(admin) = input.creator_admin {
        eks = eks.creator_admin(admin);
    }
    for (key, value) in &input.tags {
        eks = eks.tag(key.clone(), value.clone());
    }
    let cluster = eks.add(s);
    for (namespace, account, document) in &input.irsa {
        let mut role = cluster.service_account_role(namespace.clone(), account.clone());
        if let Some(document) = document {
            role = role.policy("policy", document.clone());
        }
        let role = role.add(s);
        let _ = role.arn();
    }
    if input.kubernetes {
        cluster.kubernetes(s);
    }
    let _ = cluster.kubeconfig();
}

proptest! {
    #![proptest_config(girder_testing::fuzz::config(96))]

    /// Vpc: CIDR, region, AZs (counts up to `usize::MAX`), the three tiers (auto, any prefix
    /// length, any CIDR list), NAT, flow logs (any retention), DNS, EKS tags, user tags —
    /// twice, with names that may collide.
    #[test]
    fn vpcs_never_panic(first in vpc_input(), second in prop::option::of(vpc_input())) {
        outcome(|s| {
            build_vpc(&first).add(s);
            if let Some(second) = &second {
                let handle = build_vpc(second).add(s);
                let _ = handle.id();
                for tier in Tier::ALL {
                    let _ = handle.subnet_ids(tier);
                }
            }
        })?;
    }

    /// SecurityGroup and Rule (any ports and ranges, CIDRs, peer groups), LogGroup, Bucket,
    /// Table, HostedZone, InstanceProfile, ManagedPolicy and OidcProvider with any values —
    /// each in a program of its own, so that one refusal does not hide the others' plans.
    #[test]
    fn standalone_resources_never_panic(
        group in (any_name(), prop::option::of(any_text()), any_vec(rule(), 4), tags(), any::<bool>()),
        log in (any_name(), prop::option::of(any_text()), prop::option::of(any_i32()), prop::option::of(any_text()), tags()),
        bucket in (any_name(), prop::option::of(any_text()), any::<bool>(), 0u8..4, prop::option::of(any_text()), any::<bool>(), any::<bool>(), tags()),
        table in (any_name(), prop::option::of(any_text()), prop::option::of(any_text()), prop::option::of(any_text()), prop::option::of((any_i64(), any_i64())), any::<bool>(), any::<bool>(), tags()),
        zone in (any_text(), prop::option::of(any_name()), prop::option::of(any_text()), any::<bool>(), any::<bool>(), prop::option::of(any_text()), tags()),
        identity in (any_name(), prop::option::of(any_text()), prop::option::of(any_text()), prop::option::of(any_text()), prop::option::of(document()), any_name()),
    ) {
        outcome(|s| {
            let vpc = Vpc::new("main").cidr("10.0.0.0/16").azs(["us-east-1a"]).add(s);
            let (name, description, rules, tags, in_vpc) = &group;
            let mut sg = SecurityGroup::new(name.clone());
            if *in_vpc {
                sg = sg.vpc(vpc.id());
            }
            if let Some(description) = description {
                sg = sg.description(description.clone());
            }
            for (key, value) in tags {
                sg = sg.tag(key.clone(), value.clone());
            }
            let peer = SecurityGroup::new("peer").vpc(vpc.id()).add(s);
            for (i, rule) in rules.iter().enumerate() {
                let rule = if i == 1 { rule.clone().group(peer.id()) } else { rule.clone() };
                sg = sg.rule(rule);
            }
            let _ = sg.add(s).arn();

        })?;
        outcome(|s| {
            let (name, group_name, retention, kms, tags) = &log;
            let mut lg = LogGroup::new(name.clone()).tags(tags.clone());
            if let Some(group_name) = group_name {
                lg = lg.name(group_name.clone());
            }
            if let Some(days) = retention {
                lg = lg.retention_days(*days);
            }
            if let Some(kms) = kms {
                lg = lg.kms_key(kms.as_str());
            }
            let _ = lg.add(s).arn();

        })?;
        outcome(|s| {
            let (name, bucket_name, versioning, encryption, key, block, destroy, tags) = &bucket;
            let mut b = Bucket::new(name.clone()).versioning(*versioning).tags(tags.clone());
            if let Some(bucket_name) = bucket_name {
                b = b.name(bucket_name.clone());
            }
            b = b.encryption(match (encryption, key) {
                (0, _) => Encryption::S3Managed,
                (1, _) => Encryption::kms(),
                (2, Some(key)) => Encryption::kms_key(key.as_str()),
                _ => Encryption::kms().without_bucket_key(),
            });
            b = b.public_access_block(if *block { PublicAccessBlock::all() } else { PublicAccessBlock::none() });
            if *destroy {
                b = b.force_destroy();
            }
            let handle = b.add(s);
            let _ = (handle.arn(), handle.bucket_name());

        })?;
        outcome(|s| {
            let (name, table_name, hash, range, billing, pitr, protection, tags) = &table;
            let mut t = Table::new(name.clone())
                .point_in_time_recovery(*pitr)
                .deletion_protection(*protection)
                .tags(tags.clone());
            if let Some(table_name) = table_name {
                t = t.name(table_name.clone());
            }
            if let Some(hash) = hash {
                t = t.hash_key(hash.clone(), AttributeType::String);
            }
            if let Some(range) = range {
                t = t.range_key(range.clone(), AttributeType::Number);
            }
            t = t.billing(match billing {
                Some((read, write)) => Billing::provisioned(*read, *write),
                None => Billing::PayPerRequest,
            });
            let _ = t.add(s).arn();

        })?;
        outcome(|s| {
            let vpc = Vpc::new("main").cidr("10.0.0.0/16").azs(["us-east-1a"]).add(s);
            let (domain, resource, comment, private, destroy, owner, tags) = &zone;
            let mut z = HostedZone::new(domain.clone()).tags(tags.clone());
            if let Some(resource) = resource {
                z = z.resource_name(resource.clone());
            }
            if let Some(comment) = comment {
                z = z.comment(comment.clone());
            }
            if *private {
                z = z.private(vpc.id());
            }
            if *destroy {
                z = z.force_destroy();
            }
            if let Some(owner) = owner {
                z = z.external_dns_owner(owner.clone());
            }
            let zone = z.add(s);
            let _ = policies::external_dns([zone.arn()]);

        })?;
        outcome(|s| {
            let (name, url, client, thumbprint, document, profile) = &identity;
            let mut oidc = OidcProvider::new(name.clone());
            if let Some(url) = url {
                oidc = oidc.url(url.as_str());
            }
            if let Some(client) = client {
                oidc = oidc.client_id(client.clone());
            }
            if let Some(thumbprint) = thumbprint {
                oidc = oidc.thumbprint(thumbprint.clone());
            }
            let _ = oidc.add(s).issuer_host();
            let mut policy = ManagedPolicy::new(format!("{name}-policy")).description(name.clone());
            if let Some(document) = document {
                policy = policy.document(document.clone());
            }
            let _ = policy.policy_name(profile.clone()).add(s).arn();
            let role = IamRole::new(profile.clone())
                .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
                .add(s);
            let _ = InstanceProfile::new(profile.clone()).role(&role).tag(name.clone(), "x").add(s).arn();
        })?;
    }

    /// IamRole (names, paths, descriptions, trust and inline documents with any statements,
    /// principals and conditions, managed policies and boundaries by any ARN, any session
    /// duration, tags), with options that may name invalid paths.
    #[test]
    fn iam_roles_never_panic(roles in any_vec(role_input(), 3), ignore in any_vec(any_text(), 2)) {
        outcome(|s| {
            for input in &roles {
                let role = build_role(input).ignore_changes(ignore.clone()).add(s);
                let _ = (role.arn(), role.name());
            }
        })?;
    }

    /// Eks with any cluster settings, nodegroups (any sizes, disks, labels, taints),
    /// add-ons, access entries (any principal, groups, policy, scope), IRSA roles for any
    /// namespace and service account, and its Kubernetes provider — in a VPC or without one.
    #[test]
    fn eks_never_panic(vpc in prop::option::of(vpc_input()), clusters in any_vec(eks_input(), 2)) {
        outcome(|s| {
            let vpc = vpc.as_ref().map(|input| build_vpc(input).add(s));
            for input in &clusters {
                add_eks(input, vpc.as_ref(), s);
            }
        })?;
    }
}

proptest! {
    #![proptest_config(girder_testing::fuzz::config(32))]

    /// Planning through the engine (as `girder plan` does) with no credentials: a plan or an
    /// error, no AWS call, and the state store exactly as it was.
    #[test]
    fn offline_plans_write_no_state(vpc in vpc_input(), roles in any_vec(role_input(), 2)) {
        let mut s = Stack::new("dev");
        build_vpc(&vpc).add(&mut s);
        for input in &roles {
            build_role(input).add(&mut s);
        }
        let Ok(graph) = s.finish() else { return Ok(()) };
        let calls = ApiCalls::default();
        let package = girder_aws::package_with(AwsSettings::default().count_calls(calls.clone()));
        let harness = Harness::with_registry("dev", SimPackage::in_memory(), Registry::new().with(package));
        let before = serde_json::to_value(harness.snapshot()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let planned = runtime.block_on(harness.plan(&graph));
        if let Err(error) = &planned {
            prop_assert!(!error.to_string().trim().is_empty());
        }
        let after = serde_json::to_value(harness.snapshot()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(before, after);
        prop_assert_eq!(calls.total(), 0);
    }
}

/// Draws `n` values of `strategy` deterministically and counts how many programs plan.
fn planned_share<S: Strategy>(
    strategy: S,
    n: usize,
    build: impl Fn(&S::Value, &mut Stack),
) -> usize {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..n)
        .filter(|_| {
            let value = strategy.new_tree(&mut runner).expect("a value").current();
            outcome(|s| build(&value, s)).expect("actionable outcome")
        })
        .count()
}

/// The generators are not degenerate: a real share of the generated programs plan (the
/// valid path is exercised) and a real share are refused (the checks are exercised).
#[test]
fn generated_programs_both_plan_and_get_refused() {
    let vpcs = planned_share(vpc_input(), 200, |input, s| {
        build_vpc(input).add(s);
    });
    assert!(
        (10..190).contains(&vpcs),
        "{vpcs} of 200 VPC programs planned"
    );
    let roles = planned_share(role_input(), 200, |input, s| {
        build_role(input).add(s);
    });
    assert!(
        (10..190).contains(&roles),
        "{roles} of 200 role programs planned"
    );
    let clusters = planned_share((vpc_input(), eks_input()), 100, |(vpc, eks), s| {
        let vpc = build_vpc(vpc).add(s);
        add_eks(eks, Some(&vpc), s);
    });
    assert!(
        (1..99).contains(&clusters),
        "{clusters} of 100 EKS programs planned"
    );
}
