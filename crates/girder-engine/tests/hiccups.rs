//! Passing cloud hiccups must not turn into lasting damage: a transient error during a wait does
//! not taint a healthy resource, a resource refresh cannot see moments after its creation is
//! not forgotten, a failed replacement forgets neither object, and replacements run in the
//! order the cloud's API allows.
//!
//! Deterministic: time is tokio's paused clock (waits and backoff advance virtual time, no real
//! sleeps) and the wall clock is a [`ManualClock`]; what the tests wait for are conditions the
//! simulated provider counts (looks, reads), never elapsed time.

use std::sync::Arc;
use std::time::Duration;

use girder_core::{Graph, Stack};
use girder_engine::ops::plan_stack;
use girder_engine::{
    ActionKind, Consistency, Event, ManualClock, ReplaceOrder, RetryPolicy, StepKind,
};
use girder_testing::harness::Harness;
use girder_testing::sim::{SimPackage, SimResource, TypeBehavior};

fn harness() -> (Harness, Arc<ManualClock>) {
    let mut h = Harness::new("dev", SimPackage::in_memory().log_calls());
    let clock = Arc::new(ManualClock::fixed());
    // The engine's default window (the harness plays a strongly consistent cloud).
    h.ctx = h
        .ctx
        .clone()
        .with_clock(clock.clone())
        .with_consistency(Consistency::default());
    h.apply_options.retry = RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    };
    (h, clock)
}

fn one(name: &str, key: &str, value: impl girder_core::IntoExpr) -> Graph {
    let mut s = Stack::new("dev");
    SimResource::new(name).input(key, value).add(&mut s);
    s.finish().unwrap()
}

/// Ten seconds of 503s from the describe call in the middle of a long create wait: the wait
/// polls through them, the create succeeds, nothing is tainted and the next plan is empty.
#[tokio::test(start_paused = true)]
async fn transient_errors_during_a_wait_do_not_taint() {
    let (h, _) = harness();
    let graph = one("cluster", "hiccups", 4);
    let report = h.up(&graph).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let state = h.snapshot();
    let cluster = &state.resources["cluster"];
    assert!(!cluster.tainted && !cluster.creating, "{cluster:?}");
    assert!(cluster.created_at.is_some());
    let failed_looks: Vec<u64> = h
        .events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::ActionProgress {
                message,
                elapsed_ms,
                ..
            } if message.contains("a look failed") => Some(elapsed_ms),
            _ => None,
        })
        .collect();
    assert_eq!(failed_looks.len(), 4, "each failed look is reported");
    assert!(
        failed_looks.windows(2).all(|w| w[0] < w[1]),
        "progress carries the elapsed time: {failed_looks:?}"
    );

    let plan = h.plan(&graph).await.unwrap();
    assert!(!plan.has_changes(), "{:?}", plan.summary());
    assert_eq!(plan.summary().replace, 0);
    assert_eq!(h.sim.live().unwrap().len(), 1);
}

/// A create whose wait ran out of time (a passing failure) left a resource behind: it is kept
/// as still creating, not tainted; the next plan waits for it again instead of replacing it,
/// and its dependents are created once it is ready.
#[tokio::test(start_paused = true)]
async fn a_create_that_stopped_waiting_is_waited_for_again_not_replaced() {
    let (h, _) = harness();
    let graph = {
        let mut s = Stack::new("dev");
        let cluster = SimResource::new("cluster")
            .input("stop_waiting", true)
            .add(&mut s);
        SimResource::new("nodes").parent(cluster.id()).add(&mut s);
        s.finish().unwrap()
    };
    let report = h.up(&graph).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    let state = h.snapshot();
    let cluster = &state.resources["cluster"];
    assert!(cluster.creating && !cluster.tainted, "{cluster:?}");
    let id = cluster.id.clone();

    let plan = h.plan(&graph).await.unwrap();
    let step = plan.step("cluster").unwrap();
    assert_eq!(step.kind, StepKind::Same);
    assert!(step.resume, "{step:?}");
    assert_eq!(plan.summary().replace, 0);
    assert_eq!(plan.summary().resume, 1);
    assert_eq!(plan.step("nodes").unwrap().kind, StepKind::Create);
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert!(
        report
            .succeeded
            .contains(&("cluster".to_owned(), ActionKind::Resume))
    );

    let state = h.snapshot();
    let cluster = &state.resources["cluster"];
    assert_eq!(cluster.id, id, "the same cluster, not a replacement");
    assert!(!cluster.creating && !cluster.tainted);
    assert_eq!(
        state.resources["nodes"].inputs.get("parent"),
        Some(&girder_core::Value::from(id.as_str()))
    );
    assert!(!h.plan(&graph).await.unwrap().has_changes());
    assert_eq!(h.sim.live().unwrap().len(), 2);
}

/// A refresh moments after the create does not find the resource (the cloud does not list it
/// yet): the record is kept with a warning instead of dropped and created again.
#[tokio::test(start_paused = true)]
async fn not_found_right_after_create_keeps_the_resource() {
    let (mut h, clock) = harness();
    h.ctx = h.ctx.clone().with_consistency(Consistency {
        window: Duration::from_secs(300),
        recheck_for: Duration::from_secs(10),
        first_delay: Duration::from_millis(500),
    });
    let graph = one("bucket", "invisible_reads", 1000);
    assert!(h.up(&graph).await.unwrap().is_success());
    let id = h.snapshot().resources["bucket"].id.clone();
    clock.advance(Duration::from_secs(5));

    let planned = plan_stack(&graph, &h.snapshot(), &h.ctx, &h.plan_request)
        .await
        .unwrap();
    assert_eq!(planned.refresh.not_visible_yet, vec!["bucket".to_owned()]);
    assert!(planned.refresh.gone.is_empty());
    assert!(
        h.sim
            .stats()
            .reads
            .load(std::sync::atomic::Ordering::Relaxed)
            > 1,
        "read again before giving the benefit of the doubt"
    );
    assert_eq!(planned.plan.step("bucket").unwrap().kind, StepKind::Same);
    assert!(!planned.plan.has_changes());
    assert!(
        planned
            .plan
            .warnings
            .to_string()
            .contains("reads do not find it yet"),
        "{}",
        planned.plan.warnings
    );
    assert!(h.apply(&graph, planned.plan).await.unwrap().is_success());
    assert_eq!(h.snapshot().resources["bucket"].id, id);
    assert_eq!(h.sim.live().unwrap().len(), 1, "nothing created twice");

    // Past the window, absence means deletion again.
    clock.advance(Duration::from_secs(600));
    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.step("bucket").unwrap().kind, StepKind::Create);
}

/// A resource that shows on a re-read within the window is refreshed as usual.
#[tokio::test(start_paused = true)]
async fn a_young_resource_that_shows_on_a_re_read_is_refreshed_normally() {
    let (h, _) = harness();
    let graph = one("role", "invisible_reads", 2);
    assert!(h.up(&graph).await.unwrap().is_success());
    let planned = plan_stack(&graph, &h.snapshot(), &h.ctx, &h.plan_request)
        .await
        .unwrap();
    assert!(planned.refresh.not_visible_yet.is_empty());
    assert!(planned.refresh.gone.is_empty());
    assert!(!planned.plan.has_changes());
}

/// A tainted resource whose replacement fails too: the old object stays (deposed, deleted by
/// the next apply) and the new attempt's partial is recorded — neither is forgotten.
#[tokio::test(start_paused = true)]
async fn a_failed_replacement_keeps_both_objects() {
    let (h, _) = harness();
    let broken = one("db", "never_ready", true);
    assert_eq!(h.up(&broken).await.unwrap().failed.len(), 1);
    let first = h.snapshot().resources["db"].clone();
    assert!(first.tainted);

    let plan = h.plan(&broken).await.unwrap();
    assert_eq!(plan.step("db").unwrap().kind, StepKind::Replace);
    let report = h.apply(&broken, plan).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let state = h.snapshot();
    let second = &state.resources["db"];
    assert_ne!(second.id, first.id);
    assert!(second.tainted);
    assert_eq!(state.deposed.len(), 1, "{:?}", state.deposed);
    assert_eq!(state.deposed[0].resource.id, first.id);
    assert_eq!(
        h.sim.live().unwrap().len(),
        2,
        "both objects are in the cloud"
    );

    // Once the cause is fixed, one apply leaves exactly one object.
    let fixed = one("db", "never_ready", false);
    assert!(h.up(&fixed).await.unwrap().is_success());
    let state = h.snapshot();
    assert!(state.deposed.is_empty());
    assert_eq!(h.sim.live().unwrap().len(), 1);
    assert_eq!(h.sim.live().unwrap()[0].id, state.resources["db"].id);
}

/// A type whose natural key must be unique is replaced delete-first, and the plan shows it as
/// `-/+`; other types create first and show `+/-`.
#[tokio::test(start_paused = true)]
async fn replacement_order_follows_the_type() {
    let mut h = Harness::new(
        "dev",
        SimPackage::in_memory().log_calls().with_type(
            "sim:subnet",
            TypeBehavior {
                delete_before_replace: true,
                ..TypeBehavior::default()
            },
        ),
    );
    h.apply_options.retry = RetryPolicy::none();
    let build = |zone: &str| {
        let mut s = Stack::new("dev");
        SimResource::of_type("sim:subnet", "subnet")
            .zone(zone)
            .add(&mut s);
        SimResource::new("instance").zone(zone).add(&mut s);
        s.finish().unwrap()
    };
    h.up(&build("a")).await.unwrap();
    let plan = h.plan(&build("b")).await.unwrap();
    let subnet = plan.step("subnet").unwrap();
    assert_eq!(subnet.kind, StepKind::Replace);
    assert_eq!(subnet.replace_order(), ReplaceOrder::DeleteBeforeCreate);
    assert_eq!(subnet.symbol(), "-/+");
    let instance = plan.step("instance").unwrap();
    assert_eq!(instance.replace_order(), ReplaceOrder::CreateBeforeDestroy);
    assert_eq!(instance.symbol(), "+/-");

    assert!(h.apply(&build("b"), plan).await.unwrap().is_success());
    let log = h.sim.stats().log();
    let at = |name: &str, op: &str| {
        log.iter()
            .rposition(|c| c.resource == name && c.operation == op)
            .unwrap()
    };
    assert!(at("subnet", "delete") < at("subnet", "create"), "{log:?}");
    assert!(
        at("instance", "create") < at("instance", "delete"),
        "{log:?}"
    );
    assert_eq!(h.sim.live().unwrap().len(), 2);
}

/// A typed resource type whose create waits: the first create stops waiting (its time limit),
/// and its `resume_create` runs the wait again and reports what only a ready resource has.
mod typed_cluster {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use girder_engine::typed::*;
    use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
    use serde::{Deserialize, Serialize};

    /// The cloud: cluster id → endpoint once ready.
    pub type Cloud = Arc<Mutex<BTreeMap<String, Option<String>>>>;

    #[derive(Clone, Debug, Serialize, Deserialize)]
    pub struct Inputs {
        pub name: String,
    }

    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    pub struct Outputs {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub endpoint: Option<String>,
    }

    pub struct Cluster;

    #[async_trait]
    impl TypedResource<Cloud> for Cluster {
        type Inputs = Inputs;
        type Outputs = Outputs;

        fn schema(&self) -> ResourceSchema {
            ResourceSchema::new("demo:cluster").computed(["endpoint"])
        }

        async fn create(
            &self,
            cloud: &Cloud,
            req: TypedCreateRequest<Inputs>,
            _: &CallContext,
        ) -> Result<TypedCreateResponse<Outputs>, ProviderError> {
            let id = format!("cluster-{}", req.inputs.name);
            cloud.lock().unwrap().insert(id.clone(), None);
            Err(ProviderError::new(
                ErrorKind::Timeout,
                "timed out waiting for the cluster to become ACTIVE",
            )
            .with_partial(id, girder_core::object! {}))
        }

        async fn read(
            &self,
            cloud: &Cloud,
            req: TypedReadRequest<Inputs>,
            _: &CallContext,
        ) -> Result<TypedReadResponse<Inputs, Outputs>, ProviderError> {
            let cloud = cloud.lock().unwrap();
            Ok(req
                .items
                .into_iter()
                .map(|item| {
                    let endpoint = cloud.get(&item.id)?.clone();
                    Some(TypedObserved::new(item.inputs?, Outputs { endpoint }))
                })
                .collect())
        }

        async fn update(
            &self,
            _: &Cloud,
            _: TypedUpdateRequest<Inputs, Outputs>,
            _: &CallContext,
        ) -> Result<TypedUpdateResponse<Outputs>, ProviderError> {
            Err(ProviderError::permanent("not expected"))
        }

        async fn delete(
            &self,
            cloud: &Cloud,
            req: TypedDeleteRequest<Inputs, Outputs>,
            _: &CallContext,
        ) -> Result<(), ProviderError> {
            cloud.lock().unwrap().remove(&req.old.id);
            Ok(())
        }

        async fn find(
            &self,
            _: &Cloud,
            _: TypedFindRequest,
            _: &CallContext,
        ) -> Result<TypedFindResponse<Inputs, Outputs>, ProviderError> {
            Ok(TypedFindResponse::none())
        }

        async fn resume_create(
            &self,
            cloud: &Cloud,
            req: TypedResumeRequest<Inputs>,
            _: &CallContext,
        ) -> Result<Option<TypedCreateResponse<Outputs>>, ProviderError> {
            let endpoint = format!("https://{}.example", req.inputs.name);
            cloud
                .lock()
                .unwrap()
                .insert(req.id.clone(), Some(endpoint.clone()));
            Ok(Some(TypedCreateResponse::new(
                req.id,
                Outputs {
                    endpoint: Some(endpoint),
                },
            )))
        }
    }
}

/// Through a typed package: the resumed wait's outputs (known only once the resource is ready)
/// reach the dependents created after it.
#[tokio::test(start_paused = true)]
async fn a_typed_resource_resumes_with_its_own_wait() {
    let cloud = typed_cluster::Cloud::default();
    let package = {
        let cloud = cloud.clone();
        girder_engine::typed::TypedPackage::new("demo", move |_| {
            let cloud = cloud.clone();
            async move { Ok(cloud) }
        })
        .resource(typed_cluster::Cluster)
    };
    let sim = SimPackage::in_memory();
    let registry = girder_engine::Registry::new()
        .with(sim.clone())
        .with(package);
    let h = Harness::with_registry("dev", sim, registry);
    let graph = {
        let mut s = Stack::new("dev");
        let cluster = girder_core::ResourceDecl::new("demo:cluster", "eks")
            .input("name", "prod")
            .add(&mut s);
        SimResource::new("app")
            .input("endpoint", cluster.output::<String>("endpoint"))
            .add(&mut s);
        s.finish().unwrap()
    };
    let report = h.up(&graph).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(h.snapshot().resources["eks"].creating);

    let plan = h.plan(&graph).await.unwrap();
    assert!(plan.step("eks").unwrap().resume);
    assert_eq!(
        plan.step("app").unwrap().inputs.get("endpoint"),
        Some(&girder_core::Value::Unknown),
        "known once the cluster is ready"
    );
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let state = h.snapshot();
    assert_eq!(
        state.resources["app"].inputs.get("endpoint"),
        Some(&girder_core::Value::from("https://prod.example"))
    );
    assert_eq!(cloud.lock().unwrap().len(), 1);
    assert!(!h.plan(&graph).await.unwrap().has_changes());
}

/// A run killed during an update left it pending; recovery's read does not find the young
/// resource (not listed yet). Recovery leaves the judgement to refresh instead of forgetting
/// it, and refresh finds it.
#[tokio::test(start_paused = true)]
async fn recovery_does_not_forget_an_interrupted_update_it_cannot_read() {
    use girder_engine::state::{Journal, OperationKind};
    use girder_engine::{PendingOperation, ResourceIdentity};

    let (h, _) = harness();
    let graph = one("queue", "invisible_reads", 1);
    assert!(h.up(&graph).await.unwrap().is_success());
    let record = h.snapshot().resources["queue"].clone();
    h.journal
        .begin(&PendingOperation {
            id: h.journal.next_operation_id(),
            kind: OperationKind::Update,
            identity: ResourceIdentity {
                stack: "dev".into(),
                name: "queue".into(),
                type_name: "sim:resource".into(),
            },
            provider: None,
            cloud_id: Some(record.id.clone()),
            deposed_key: None,
            inputs: record.inputs.clone(),
            dependencies: vec![],
            started_at: "2026-12-01T00:00:00Z".into(),
        })
        .await
        .unwrap();
    let plan = h.plan(&graph).await.unwrap();
    assert!(!plan.has_changes(), "{:?}", plan.summary());
    assert_eq!(h.snapshot().resources["queue"].id, record.id);
    assert_eq!(h.sim.live().unwrap().len(), 1);
}
