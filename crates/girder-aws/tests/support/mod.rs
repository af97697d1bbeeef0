//! Shared setup of the tests against moto: a server on a free loopback port, the AWS package
//! pointed at it with fixed credentials and a request counter, the engine harness, and SDK
//! clients for checking results through the AWS API.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use girder_aws::{ApiCalls, AwsSettings};
use girder_core::{Graph, Stack};
use girder_engine::{ApplyReport, Plan, Registry, StepKind};
use girder_testing::harness::Harness;
use girder_testing::moto::MotoServer;
use girder_testing::sim::SimPackage;

/// A moto server, the harness over it, and clients to look at what exists.
pub struct Env {
    /// The AWS behaviour layer in front of moto, when started with [`Env::behind_layer`].
    pub layer: Option<girder_testing::aws_layer::AwsLayer>,
    pub moto: MotoServer,
    pub calls: ApiCalls,
    pub settings: AwsSettings,
    pub harness: Harness,
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub eks: aws_sdk_eks::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub route53: aws_sdk_route53::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Env {
    /// Starts moto (failing, not skipping, if it is not installed) and the engine over it.
    pub async fn start() -> Env {
        Env::start_with(false).await
    }

    /// Like [`Env::start`], behind girder's AWS behaviour layer (every behaviour off), which
    /// serves the EKS parts moto lacks (access entries, add-ons).
    pub async fn behind_layer() -> Env {
        Env::start_with(true).await
    }

    async fn start_with(layered: bool) -> Env {
        let moto =
            // AWS managed policies (AmazonEKSClusterPolicy, …) exist in AWS; moto loads them on request.
            MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
                .expect("moto_server must be installed: run scripts/python-deps.sh");
        let layer = layered.then(|| {
            girder_testing::aws_layer::AwsLayer::start(girder_testing::aws_layer::LayerConfig::new(
                moto.endpoint(),
            ))
            .expect("the AWS behaviour layer starts")
        });
        let endpoint = layer
            .as_ref()
            .map(|l| l.endpoint())
            .unwrap_or_else(|| moto.endpoint());
        let calls = ApiCalls::default();
        // Everything explicit: no environment, no profile, no instance metadata — only the
        // loopback endpoint is ever contacted.
        let settings = AwsSettings::default()
            .region("us-east-1")
            .endpoint_url(endpoint)
            .credentials(Credentials::new("testing", "testing", None, None, "moto"))
            .count_calls(calls.clone());
        let registry = Registry::new().with(girder_aws::package_with(settings.clone()));
        let mut harness = Harness::with_registry("dev", SimPackage::in_memory(), registry);
        // Failures should show at once in tests, not after a minute of backoff.
        harness.apply_options.retry.max_attempts = 3;
        harness.apply_options.retry.min_delay = Duration::from_millis(50);
        let config = settings.load().await;
        Env {
            ec2: aws_sdk_ec2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            route53: aws_sdk_route53::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    .force_path_style(true)
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            layer,
            moto,
            calls,
            settings,
            harness,
        }
    }

    /// Plans and applies, failing the test on any failed action; returns the plan and the
    /// wall time of the apply.
    pub async fn apply(&self, graph: &Graph) -> (Plan, Duration) {
        let plan = self.harness.plan(graph).await.expect("plan");
        let started = Instant::now();
        let report = self
            .harness
            .apply(graph, plan.clone())
            .await
            .expect("apply");
        assert_success(&report);
        (plan, started.elapsed())
    }

    /// Plans, asserting nothing would change and nothing reads differently than recorded.
    pub async fn assert_converged(&self, graph: &Graph) {
        assert_eq!(
            self.refresh_changes(graph).await,
            Vec::<String>::new(),
            "refresh after apply"
        );
        let plan = self.harness.plan(graph).await.expect("plan");
        assert!(
            !plan.has_changes(),
            "expected no changes, got {:#?}",
            changes(&plan)
        );
    }

    /// The resources a refresh finds changed (without recording it). Right after an apply
    /// there must be none: what a create or update returns is what a read reports.
    pub async fn refresh_changes(&self, graph: &Graph) -> Vec<String> {
        let planned = girder_engine::plan_stack(
            graph,
            &self.harness.snapshot(),
            &self.harness.ctx,
            &self.harness.plan_request,
        )
        .await
        .expect("plan");
        let mut changed = planned.refresh.changed;
        changed.extend(planned.refresh.gone.iter().map(|g| format!("{g} (gone)")));
        changed
    }

    /// The requests one refresh (a plan) makes.
    pub async fn refresh_calls(
        &self,
        graph: &Graph,
    ) -> (u64, std::collections::BTreeMap<String, u64>) {
        self.calls.reset();
        self.harness.plan(graph).await.expect("plan");
        let by_operation = self.calls.snapshot();
        (by_operation.values().sum(), by_operation)
    }
}

/// Builds a program.
pub fn build(program: impl FnOnce(&mut Stack)) -> Graph {
    let mut s = Stack::new("dev");
    program(&mut s);
    s.finish().unwrap_or_else(|d| panic!("{d}"))
}

/// Fails with the report's failures.
pub fn assert_success(report: &ApplyReport) {
    assert!(
        report.is_success(),
        "failed: {:#?}\nskipped: {:?}",
        report.failed,
        report.skipped
    );
}

/// The changing steps of a plan: (resource, kind, changed fields).
pub fn changes(plan: &Plan) -> Vec<(String, StepKind, Vec<String>)> {
    plan.steps
        .iter()
        .filter(|s| s.is_change() && !s.is_provider())
        .map(|s| {
            (
                s.resource.clone(),
                s.kind,
                s.diffs.iter().map(|d| d.path.to_string()).collect(),
            )
        })
        .collect()
}

/// The names of the steps of one kind, sorted.
pub fn of_kind(plan: &Plan, kind: StepKind) -> Vec<String> {
    let mut names: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.kind == kind && !s.is_provider())
        .map(|s| s.resource.clone())
        .collect();
    names.sort();
    names
}

/// EC2 tags as a map.
pub fn tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> std::collections::BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// An EC2 filter.
pub fn filter(name: &str, values: &[&str]) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}
