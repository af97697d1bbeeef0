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

/// The behaviours of one run, by the name the report prints, shaped so the program meets
/// each of them deterministically.
pub fn behaviours(name: &str) -> Behaviours {
    if name == "none" {
        Behaviours::none()
    } else {
        Behaviours::deterministic(name).expect("a behaviour name")
    }
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
    /// SDK configuration of moto itself, bypassing the layer.
    pub moto_config: aws_types::SdkConfig,
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

impl LayerEnv {
    /// Starts moto and the layer with `behaviours` at a hundredth of AWS's durations.
    pub async fn start(behaviours: Behaviours) -> LayerEnv {
        let guard = ONE_AT_A_TIME.lock().await;
        let sandbox = Sandbox::start(SandboxOptions {
            behaviours,
            scale: girder_testing::sandbox::test_scale(0.01),
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
            moto_config: direct,
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
        girder_aws::census::census(&self.moto_config, "dev")
            .await
            .expect("moto answers every list call")
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
