//! Shared setup of the tests through the AWS behaviour layer: moto with the layer in front
//! (durations scaled to a hundredth), the engine harness pointed at the layer, and SDK clients
//! pointed at moto itself, bypassing the layer, to count what really exists.
//!
//! Each run applies a program, re-plans (nothing to change), destroys, and checks moto: while
//! applied it held exactly one object per resource of the program, and after the destroy it
//! holds nothing the program made.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use girder_aws::{ApiCalls, AwsSettings};
use girder_core::Graph;
use girder_engine::{ApplyReport, Registry, Snapshot};
use girder_testing::aws_layer::Behaviours;
use girder_testing::harness::Harness;
use girder_testing::sandbox::{Sandbox, SandboxOptions};
use girder_testing::sim::SimPackage;

/// One moto process at a time: the machine running the tests may have two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The behaviours of one run, by the name the report prints.
pub fn behaviours(name: &str) -> Behaviours {
    let mut b = if name == "none" {
        Behaviours::none()
    } else {
        Behaviours::parse_list(name).expect("a behaviour name")
    };
    // Deterministic: the first mutating call of every operation loses its response (each
    // create API is hit once), instead of a random 5 %.
    b.lost_responses.rate = 0.0;
    b.lost_responses.first_per_operation = 1;
    // One call in ten refused on top of EC2's token buckets; eight attempts make a failure
    // of the whole call a one-in-a-hundred-million event.
    b.throttling.rate = 0.1;
    // Windows long enough (seconds at this scale) that the program meets them: a dependent
    // call right after a create, a flow log or cluster right after its role, a subnet delete
    // right after the NAT gateway's.
    b.consistency.ec2_secs = 100.0;
    b.consistency.iam_secs = 100.0;
    b.propagation.role_secs = 1000.0;
    b.propagation.oidc_provider_secs = 1000.0;
    b.draining.nat_gateway_secs = 300.0;
    b.draining.iam_detach_secs = 200.0;
    b
}

/// The behaviours a run of `name` must have met (the program touches each of them).
pub fn must_fire(name: &str) -> Vec<&'static str> {
    let all = [
        "lifecycle",
        "consistency",
        "propagation",
        "draining",
        "lost_responses",
    ];
    match name {
        "all" => all.to_vec(),
        other => all.into_iter().filter(|b| *b == other).collect(),
    }
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Numbers {
    pub apply: Duration,
    pub apply_requests: u64,
    pub destroy: Duration,
    pub destroy_requests: u64,
    pub fired: BTreeMap<String, u64>,
}

/// The sandbox, the harness over it, and clients that talk to moto directly.
pub struct LayerEnv {
    pub sandbox: Sandbox,
    pub calls: ApiCalls,
    pub harness: Harness,
    pub moto: Moto,
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

/// SDK clients pointed at moto, bypassing the layer.
pub struct Moto {
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub eks: aws_sdk_eks::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub route53: aws_sdk_route53::Client,
}

impl LayerEnv {
    /// Starts moto and the layer with `behaviours` at a hundredth of AWS's durations.
    pub async fn start(behaviours: Behaviours) -> LayerEnv {
        let guard = ONE_AT_A_TIME.lock().await;
        let sandbox = Sandbox::start(SandboxOptions {
            behaviours,
            scale: 0.01,
            region: "us-east-1".into(),
            ..SandboxOptions::default()
        })
        .expect("moto_server must be installed (scripts/python-deps.sh) and the layer start");
        let calls = ApiCalls::default();
        let credentials = Credentials::new("testing", "testing", None, None, "layer");
        let settings = AwsSettings::default()
            .region("us-east-1")
            .endpoint_url(sandbox.layer().endpoint())
            .credentials(credentials.clone())
            .count_calls(calls.clone());
        let registry = Registry::new().with(girder_aws::package_with(settings));
        let mut harness = Harness::with_registry("dev", SimPackage::in_memory(), registry);
        // The engine's default policy, with a shorter first delay: throttled calls back off
        // from 50 ms at a hundredth of AWS's durations.
        harness.apply_options.retry.min_delay = Duration::from_millis(50);
        harness.apply_options.retry.max_delay = Duration::from_secs(2);
        let direct = AwsSettings::default()
            .region("us-east-1")
            .endpoint_url(sandbox.moto_endpoint())
            .credentials(credentials)
            .load()
            .await;
        LayerEnv {
            moto: Moto {
                ec2: aws_sdk_ec2::Client::new(&direct),
                iam: aws_sdk_iam::Client::new(&direct),
                eks: aws_sdk_eks::Client::new(&direct),
                logs: aws_sdk_cloudwatchlogs::Client::new(&direct),
                route53: aws_sdk_route53::Client::new(&direct),
            },
            sandbox,
            calls,
            harness,
            _guard: guard,
        }
    }

    /// Requests the layer has seen (every service).
    pub fn layer_requests(&self) -> u64 {
        self.sandbox
            .layer()
            .counters()
            .requests
            .values()
            .flat_map(|ops| ops.values())
            .sum()
    }

    /// Applies, re-plans (must be empty), destroys; checks moto after the apply (one object
    /// per resource) and after the destroy (nothing left); returns the numbers.
    pub async fn round_trip(&self, name: &str, graph: &Graph) -> Numbers {
        let mut numbers = Numbers::default();
        self.sandbox.layer().reset_counters();
        let started = Instant::now();
        let report = self.harness.up(graph).await.expect("apply");
        numbers.apply = started.elapsed();
        numbers.apply_requests = self.layer_requests();
        assert_success(name, "apply", &report);
        let state = self.harness.snapshot();
        assert!(
            state.deposed.is_empty(),
            "{name}: the apply left duplicates behind: {:#?}",
            state.deposed
        );
        self.assert_one_object_per_resource(name, &state).await;

        let plan = self.harness.plan(graph).await.expect("re-plan");
        let changes: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| s.is_change() && !s.is_provider())
            .map(|s| format!("{} {:?} {:?}", s.resource, s.kind, s.diffs))
            .collect();
        assert!(
            changes.is_empty(),
            "{name}: re-plan after apply: {changes:#?}"
        );

        numbers.fired = self
            .sandbox
            .layer()
            .counters()
            .behaviours
            .iter()
            .map(|(b, ops)| (b.clone(), ops.values().sum()))
            .collect();
        self.sandbox.layer().reset_counters();
        let started = Instant::now();
        let report = self.harness.destroy(graph).await.expect("destroy");
        for (b, n) in self
            .sandbox
            .layer()
            .counters()
            .behaviours
            .iter()
            .map(|(b, ops)| (b.clone(), ops.values().sum::<u64>()))
        {
            *numbers.fired.entry(b).or_default() += n;
        }
        numbers.destroy = started.elapsed();
        numbers.destroy_requests = self.layer_requests();
        assert_success(name, "destroy", &report);
        assert!(
            self.harness.snapshot().resources.is_empty(),
            "{name}: the state still holds resources after destroy"
        );
        self.assert_nothing_left(name).await;
        for behaviour in must_fire(name) {
            assert!(
                numbers.fired.get(behaviour).copied().unwrap_or(0) > 0,
                "{name}: the program never met `{behaviour}`: {:?}",
                numbers.fired
            );
        }
        println!(
            "LAYER {name}: apply {:.1} s, {} requests; destroy {:.1} s, {} requests; fired {:?}",
            numbers.apply.as_secs_f64(),
            numbers.apply_requests,
            numbers.destroy.as_secs_f64(),
            numbers.destroy_requests,
            numbers.fired
        );
        numbers
    }

    /// What moto holds, by type, counted per `girder:resource` tag (EC2) or name.
    async fn holdings(&self) -> BTreeMap<&'static str, Vec<String>> {
        let ec2 = &self.moto.ec2;
        let stack = girder_aws::tags::ec2_filter("tag:girder:stack", ["dev"]);
        let resource_tag = |tags: &[aws_sdk_ec2::types::Tag]| {
            tags.iter()
                .find(|t| t.key() == Some("girder:resource"))
                .and_then(|t| t.value())
                .unwrap_or("?")
                .to_owned()
        };
        let mut held: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let vpcs = ec2
            .describe_vpcs()
            .filters(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/vpc",
            vpcs.vpcs().iter().map(|v| resource_tag(v.tags())).collect(),
        );
        let subnets = ec2
            .describe_subnets()
            .filters(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/subnet",
            subnets
                .subnets()
                .iter()
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let igws = ec2
            .describe_internet_gateways()
            .filters(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/internetGateway",
            igws.internet_gateways()
                .iter()
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let tables = ec2
            .describe_route_tables()
            .filters(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/routeTable",
            tables
                .route_tables()
                .iter()
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let nats = ec2
            .describe_nat_gateways()
            .filter(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/natGateway",
            nats.nat_gateways()
                .iter()
                .filter(|n| {
                    !matches!(
                        n.state(),
                        Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                    )
                })
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let eips = ec2
            .describe_addresses()
            .filters(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/eip",
            eips.addresses()
                .iter()
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let groups = ec2
            .describe_security_groups()
            .filters(stack.clone())
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:ec2/securityGroup",
            groups
                .security_groups()
                .iter()
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let flow_logs = ec2.describe_flow_logs().send().await.unwrap();
        held.insert(
            "aws:ec2/flowLog",
            flow_logs
                .flow_logs()
                .iter()
                .map(|v| resource_tag(v.tags()))
                .collect(),
        );
        let roles = self.moto.iam.list_roles().send().await.unwrap();
        held.insert(
            "aws:iam/role",
            roles
                .roles()
                .iter()
                .map(|r| r.role_name().to_owned())
                .filter(|n| !n.starts_with("AWSServiceRole"))
                .collect(),
        );
        let policies = self
            .moto
            .iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:iam/policy",
            policies
                .policies()
                .iter()
                .filter_map(|p| p.policy_name().map(str::to_owned))
                .collect(),
        );
        let oidc = self
            .moto
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .unwrap();
        held.insert(
            "aws:iam/openIdConnectProvider",
            oidc.open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn().map(str::to_owned))
                .collect(),
        );
        let clusters = self.moto.eks.list_clusters().send().await.unwrap();
        let mut nodegroups = Vec::new();
        for cluster in clusters.clusters() {
            let listed = self
                .moto
                .eks
                .list_nodegroups()
                .cluster_name(cluster)
                .send()
                .await
                .unwrap();
            nodegroups.extend(listed.nodegroups().iter().cloned());
        }
        held.insert("aws:eks/cluster", clusters.clusters().to_vec());
        held.insert("aws:eks/nodegroup", nodegroups);
        let groups = self.moto.logs.describe_log_groups().send().await.unwrap();
        held.insert(
            "aws:logs/logGroup",
            groups
                .log_groups()
                .iter()
                .filter_map(|g| g.log_group_name().map(str::to_owned))
                .collect(),
        );
        let zones = self.moto.route53.list_hosted_zones().send().await.unwrap();
        held.insert(
            "aws:route53/hostedZone",
            zones
                .hosted_zones()
                .iter()
                .map(|z| z.name().to_owned())
                .collect(),
        );
        held
    }

    /// Moto holds exactly one object per resource of each type counted (never two), and
    /// exactly as many as the state records.
    async fn assert_one_object_per_resource(&self, name: &str, state: &Snapshot) {
        let held = self.holdings().await;
        for (type_name, objects) in &held {
            let recorded = state
                .resources
                .values()
                .filter(|r| r.type_name == *type_name)
                .count();
            let mut sorted = objects.clone();
            sorted.sort();
            let before = sorted.len();
            sorted.dedup();
            assert_eq!(
                before,
                sorted.len(),
                "{name}: moto holds two objects for one resource of {type_name}: {objects:?}"
            );
            // EKS makes its own log group for the control plane's logs.
            if *type_name == "aws:logs/logGroup" {
                assert!(
                    objects.len() >= recorded,
                    "{name}: moto holds {} {type_name} but the state records {recorded}: {objects:?}",
                    objects.len()
                );
            } else {
                assert_eq!(
                    objects.len(),
                    recorded,
                    "{name}: moto holds {} {type_name} but the state records {recorded}: {objects:?}",
                    objects.len()
                );
            }
        }
    }

    /// After a destroy moto holds nothing the program made.
    async fn assert_nothing_left(&self, name: &str) {
        let left: BTreeMap<_, _> = self
            .holdings()
            .await
            .into_iter()
            .filter(|(_, objects)| !objects.is_empty())
            .collect();
        assert!(left.is_empty(), "{name}: left after destroy: {left:#?}");
    }
}

/// Fails with the report's failures.
pub fn assert_success(name: &str, what: &str, report: &ApplyReport) {
    assert!(
        report.is_success(),
        "{name}: {what} failed: {:#?}\nskipped: {:?}",
        report.failed,
        report.skipped
    );
}
