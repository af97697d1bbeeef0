//! The engine's specification: lifecycle tests against the simulated provider, one behaviour
//! per test (Pulumi's lifecycle tests are the model).

use std::time::Duration;

use girder_core::{FieldPath, Output, ResourceDecl, Stack, Timeouts, Value, WithOptions};
use girder_engine::state::{Journal, OperationKind};
use girder_engine::{
    ActionKind, Event, OperationError, PendingOperation, PlanOptions, ResourceIdentity,
    RetryPolicy, StepKind,
};
use girder_testing::harness::Harness;
use girder_testing::sim::{SimObject, SimPackage, SimResource, SimStats, TypeBehavior};

fn harness() -> Harness {
    Harness::new("dev", SimPackage::in_memory().log_calls())
}

fn kinds(plan: &girder_engine::Plan) -> Vec<(String, StepKind)> {
    plan.steps
        .iter()
        .map(|s| (s.resource.clone(), s.kind))
        .collect()
}

/// a <- b <- c, plus an independent d.
fn chain(zone_b: &str, extra: Option<&str>) -> girder_core::Graph {
    let mut s = Stack::new("dev");
    let a = SimResource::new("a").input("size", 1).add(&mut s);
    let b = SimResource::new("b")
        .parent(a.id())
        .zone(zone_b)
        .add(&mut s);
    SimResource::new("c").parent(b.id()).add(&mut s);
    let mut d = SimResource::new("d");
    if let Some(extra) = extra {
        d = d.input("note", extra);
    }
    d.add(&mut s);
    s.finish().unwrap()
}

fn position(log: &[girder_testing::sim::CallRecord], resource: &str, operation: &str) -> usize {
    log.iter()
        .position(|c| c.resource == resource && c.operation == operation)
        .unwrap_or_else(|| panic!("no {operation} of {resource} in {log:?}"))
}

#[tokio::test]
async fn create_then_same() {
    let h = harness();
    let graph = chain("z1", None);
    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.summary().create, 4);
    // Unknowns propagate: b's parent is known only after a exists.
    assert_eq!(
        plan.step("b").unwrap().inputs.get("parent"),
        Some(&Value::Unknown)
    );
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(h.sim.live().unwrap().len(), 4);
    let state = h.snapshot();
    let a_id = state.resources["a"].id.clone();
    assert_eq!(
        state.resources["b"]
            .inputs
            .get("parent")
            .and_then(Value::as_str),
        Some(a_id.as_str())
    );
    assert_eq!(state.resources["c"].dependencies, vec!["b".to_owned()]);

    let again = h.plan(&graph).await.unwrap();
    assert!(!again.has_changes(), "{:?}", kinds(&again));
    assert_eq!(again.summary().same, 4);
}

#[tokio::test]
async fn update_in_place_with_field_diffs() {
    let h = harness();
    h.up(&chain("z1", None)).await.unwrap();
    let graph = chain("z1", Some("hello"));
    let plan = h.plan(&graph).await.unwrap();
    let step = plan.step("d").unwrap();
    assert_eq!(step.kind, StepKind::Update);
    assert_eq!(step.diffs.len(), 1);
    assert_eq!(step.diffs[0].path.to_string(), "note");
    assert_eq!(step.diffs[0].after, Some(Value::from("hello")));
    assert_eq!(plan.summary().update, 1);
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success());
    let d = h
        .sim
        .live()
        .unwrap()
        .into_iter()
        .find(|o| o.resource == "d")
        .unwrap();
    assert_eq!(d.inputs.get("note"), Some(&Value::from("hello")));
    assert!(!h.plan(&graph).await.unwrap().has_changes());
}

#[tokio::test]
async fn replace_creates_before_destroying_and_repoints_dependents() {
    let h = harness();
    h.up(&chain("z1", None)).await.unwrap();
    let old_b = h.snapshot().resources["b"].id.clone();
    let graph = chain("z2", None);
    let plan = h.plan(&graph).await.unwrap();
    let step = plan.step("b").unwrap();
    assert_eq!(step.kind, StepKind::Replace);
    assert!(
        step.diffs
            .iter()
            .any(|d| d.forces_replacement && d.path.to_string() == "zone")
    );
    // c's parent becomes unknown, so c is updated after b's replacement exists.
    assert_eq!(plan.step("c").unwrap().kind, StepKind::Update);
    assert_eq!(plan.summary().replace, 1);

    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let log = h.sim.stats().log();
    let created = log
        .iter()
        .rposition(|c| c.resource == "b" && c.operation == "create")
        .unwrap();
    let c_updated = position(&log, "c", "update");
    let deleted = position(&log, "b", "delete");
    assert!(created < c_updated && c_updated < deleted, "{log:?}");
    let state = h.snapshot();
    assert_ne!(state.resources["b"].id, old_b);
    assert!(state.deposed.is_empty());
    assert_eq!(h.sim.live().unwrap().len(), 4);
    assert!(h.sim.cloud().get(&old_b).unwrap().is_none());
}

#[tokio::test]
async fn delete_before_replace_deletes_first() {
    let h = Harness::new(
        "dev",
        SimPackage::in_memory().log_calls().with_type(
            "sim:unique",
            TypeBehavior {
                delete_before_replace: true,
                ..TypeBehavior::default()
            },
        ),
    );
    let build = |zone: &str| {
        let mut s = Stack::new("dev");
        SimResource::of_type("sim:unique", "u")
            .zone(zone)
            .add(&mut s);
        SimResource::new("v")
            .zone(zone)
            .delete_before_replace()
            .add(&mut s);
        s.finish().unwrap()
    };
    h.up(&build("a")).await.unwrap();
    let report = h.up(&build("b")).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let log = h.sim.stats().log();
    for name in ["u", "v"] {
        let deleted = position(&log, name, "delete");
        let recreated = log
            .iter()
            .rposition(|c| c.resource == name && c.operation == "create")
            .unwrap();
        assert!(deleted < recreated, "{name}: {log:?}");
    }
    assert_eq!(h.sim.live().unwrap().len(), 2);
}

#[tokio::test]
async fn removed_resources_are_deleted_in_reverse_dependency_order() {
    let h = harness();
    h.up(&chain("z1", None)).await.unwrap();
    let mut s = Stack::new("dev");
    SimResource::new("d").add(&mut s);
    let graph = s.finish().unwrap();
    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.summary().delete, 3);
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success());
    let log = h.sim.stats().log();
    let finished = |name: &str| {
        log.iter()
            .find(|c| c.resource == name && c.operation == "delete")
            .unwrap()
    };
    assert!(finished("c").finished <= finished("b").started);
    assert!(finished("b").finished <= finished("a").started);
    assert_eq!(h.sim.live().unwrap().len(), 1);
}

#[tokio::test]
async fn destroy_removes_everything() {
    let h = harness();
    let graph = chain("z1", None);
    h.up(&graph).await.unwrap();
    let report = h.destroy(&graph).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert!(h.sim.live().unwrap().is_empty());
    assert_eq!(h.snapshot().resources.len(), 0);
}

#[tokio::test]
async fn read_and_import_existing_resources() {
    let h = harness();
    let existing = SimObject {
        id: "sim-existing".into(),
        type_name: "sim:resource".into(),
        stack: "elsewhere".into(),
        resource: "legacy".into(),
        inputs: girder_core::object! { "size" => 5 },
        outputs: girder_core::object! { "size" => 5, "arn" => "arn:sim:legacy" },
    };
    h.sim.cloud().put(&existing).unwrap();
    h.sim
        .cloud()
        .put(&SimObject {
            id: "sim-adopt".into(),
            ..existing.clone()
        })
        .unwrap();

    let mut s = Stack::new("dev");
    let read =
        ResourceDecl::read("sim:resource", "legacy", Value::from("sim-existing")).add(&mut s);
    let arn: Output<String> = read.output("arn");
    SimResource::new("uses-legacy")
        .input("legacy_arn", &arn)
        .add(&mut s);
    SimResource::new("adopted")
        .input("size", 6)
        .import("sim-adopt")
        .add(&mut s);
    let graph = s.finish().unwrap();

    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.step("legacy").unwrap().kind, StepKind::Read);
    assert_eq!(plan.step("adopted").unwrap().kind, StepKind::Import);
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let state = h.snapshot();
    assert_eq!(
        state.resources["uses-legacy"].inputs.get("legacy_arn"),
        Some(&Value::from("arn:sim:legacy"))
    );
    assert_eq!(state.resources["adopted"].id, "sim-adopt");
    // The import brought the adopted resource in line with the program.
    assert_eq!(
        h.sim
            .cloud()
            .get("sim-adopt")
            .unwrap()
            .unwrap()
            .inputs
            .get("size"),
        Some(&Value::from(6))
    );
    // Only `uses-legacy` was created: `legacy` was read and `adopted` imported, both existed.
    assert_eq!(SimStats::get(&h.sim.stats().creates), 1);
    let again = h.plan(&graph).await.unwrap();
    assert!(
        !again.has_changes(),
        "{:#?}",
        again
            .steps
            .iter()
            .filter(|s| s.is_change())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_failure_skips_dependents_while_independent_branches_finish() {
    let h = harness();
    let mut s = Stack::new("dev");
    let bad = SimResource::new("bad")
        .input("fail_on", "create")
        .add(&mut s);
    let child = SimResource::new("child").parent(bad.id()).add(&mut s);
    SimResource::new("grandchild")
        .parent(child.id())
        .add(&mut s);
    SimResource::new("independent").latency_ms(30).add(&mut s);
    let graph = s.finish().unwrap();
    let report = h.up(&graph).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].resource, "bad");
    assert!(
        report.failed[0].error.contains("refused"),
        "{}",
        report.failed[0].error
    );
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped.contains(&"child") && skipped.contains(&"grandchild"));
    assert!(report.succeeded.iter().any(|(r, _)| r == "independent"));
    let state = h.snapshot();
    assert!(
        state.pending.is_empty(),
        "a definite failure closes its pending operation"
    );
    assert_eq!(state.resources.len(), 1);
}

#[tokio::test]
async fn retryable_errors_are_retried_with_backoff() {
    let mut h = harness();
    h.apply_options.retry = RetryPolicy {
        max_attempts: 5,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    let mut s = Stack::new("dev");
    SimResource::new("flaky").input("flaky", 3).add(&mut s);
    let report = h.up(&s.finish().unwrap()).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let retries = h
        .events
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::ActionRetrying { resource, .. } if resource == "flaky"))
        .count();
    assert_eq!(retries, 3);

    // Out of attempts: the error says so.
    let h = harness();
    let mut s = Stack::new("dev");
    SimResource::new("flaky").input("flaky", 10).add(&mut s);
    let mut h = h;
    h.apply_options.retry = RetryPolicy {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };
    let report = h.up(&s.finish().unwrap()).await.unwrap();
    assert!(
        report.failed[0].error.contains("gave up after 2 attempts"),
        "{:?}",
        report.failed
    );
}

/// A retried create asks the cloud first whether the failed attempt created the resource.
#[tokio::test]
async fn a_retried_create_adopts_what_a_lost_response_created() {
    let mut h = harness();
    h.apply_options.retry = RetryPolicy {
        max_attempts: 5,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    let mut s = Stack::new("dev");
    SimResource::new("lost")
        .input("lost_response", 1)
        .add(&mut s);
    let report = h.up(&s.finish().unwrap()).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let live = h.sim.live().unwrap();
    assert_eq!(live.len(), 1, "no duplicate: {live:?}");
    let state = h.snapshot();
    assert_eq!(state.resources["lost"].id, live[0].id);
    assert!(state.deposed.is_empty() && state.pending.is_empty());
    assert!(h.events.events().into_iter().any(|e| matches!(
        e,
        Event::ActionProgress { resource, message, .. } if resource == "lost" && message.contains("adopted")
    )));
    // Twice lost: the second attempt finds the first object and adopts it; nothing else.
    let mut s = Stack::new("dev");
    SimResource::new("twice")
        .input("lost_response", 2)
        .add(&mut s);
    SimResource::new("lost")
        .input("lost_response", 1)
        .add(&mut s);
    let graph = s.finish().unwrap();
    let report = h.up(&graph).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(h.sim.live().unwrap().len(), 2);
    assert!(!h.plan(&graph).await.unwrap().has_changes());
}

/// The object being replaced carries the same identity; a retried replacement create must
/// not mistake it for its own result.
#[tokio::test]
async fn a_retried_replacement_does_not_adopt_the_object_it_replaces() {
    let mut h = harness();
    h.apply_options.retry = RetryPolicy {
        max_attempts: 5,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    let mut s = Stack::new("dev");
    SimResource::new("r").zone("z1").add(&mut s);
    assert!(h.up(&s.finish().unwrap()).await.unwrap().is_success());
    let old_id = h.snapshot().resources["r"].id.clone();

    let mut s = Stack::new("dev");
    SimResource::new("r")
        .zone("z2")
        .input("lost_response", 1)
        .add(&mut s);
    let graph = s.finish().unwrap();
    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.step("r").unwrap().kind, StepKind::Replace);
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let live = h.sim.live().unwrap();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_ne!(live[0].id, old_id, "the old object was deleted");
    assert_eq!(h.snapshot().resources["r"].id, live[0].id);
    assert!(!h.plan(&graph).await.unwrap().has_changes());
}

#[tokio::test]
async fn calls_have_time_limits_and_unknown_outcomes_stay_pending() {
    let mut h = harness();
    let mut s = Stack::new("dev");
    SimResource::new("slow")
        .latency_ms(400)
        .timeouts(Timeouts {
            create: Some(Duration::from_millis(50)),
            ..Timeouts::default()
        })
        .add(&mut s);
    let graph = s.finish().unwrap();
    let report = h.up(&graph).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0]
            .error
            .contains("did not finish within 50ms"),
        "{}",
        report.failed[0].error
    );
    // The outcome is unknown: the pending operation stays for recovery.
    assert_eq!(h.snapshot().pending.len(), 1);
    // The next run recovers (nothing was created), then creates.
    h.restart();
    let mut s = Stack::new("dev");
    SimResource::new("slow").latency_ms(1).add(&mut s);
    let report = h.up(&s.finish().unwrap()).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert!(h.snapshot().pending.is_empty());
    assert_eq!(h.sim.live().unwrap().len(), 1);
}

#[tokio::test]
async fn cancellation_lets_in_flight_calls_finish_and_be_recorded() {
    // Creates wait while the hold file exists: `first` stays in flight until released.
    let dir = tempfile::tempdir().unwrap();
    let hold = dir.path().join("hold");
    std::fs::write(&hold, b"").unwrap();
    let h = Harness::new("dev", SimPackage::in_memory().hold_creates_after(0, &hold));
    let mut s = Stack::new("dev");
    let first = SimResource::new("first").add(&mut s);
    SimResource::new("second").parent(first.id()).add(&mut s);
    let graph = s.finish().unwrap();
    let plan = h.plan(&graph).await.unwrap();
    let cancel = h.apply_options.cancel.clone();
    let cancel_in_flight = async {
        // The create of `first` is journaled as pending before its call: it is in flight.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !h
            .snapshot()
            .pending
            .iter()
            .any(|p| p.identity.name == "first" && p.kind == OperationKind::Create)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the create of `first` never started"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        cancel.cancel();
        std::fs::remove_file(&hold).unwrap();
    };
    let (report, ()) = tokio::join!(h.apply(&graph, plan), cancel_in_flight);
    let report = report.unwrap();
    assert!(report.cancelled);
    assert_eq!(
        report.succeeded.len(),
        1,
        "the in-flight create finished: {report:?}"
    );
    assert_eq!(
        report.not_started,
        vec![("second".to_owned(), ActionKind::Create)]
    );
    let state = h.snapshot();
    assert!(state.resources.contains_key("first") && state.pending.is_empty());
    assert_eq!(SimStats::get(&h.sim.stats().creates), 1);
}

#[tokio::test]
async fn protected_resources_are_neither_deleted_nor_replaced() {
    let h = harness();
    let build = |zone: &str, keep: bool| {
        let mut s = Stack::new("dev");
        if keep {
            SimResource::new("db").zone(zone).protect().add(&mut s);
        }
        s.finish().unwrap()
    };
    h.up(&build("a", true)).await.unwrap();
    let Err(OperationError::Plan(diagnostics)) = h.plan(&build("b", true)).await else {
        panic!("replace must be refused")
    };
    assert!(
        diagnostics
            .to_string()
            .contains("replacing a protected resource"),
        "{diagnostics}"
    );
    let Err(OperationError::Plan(diagnostics)) = h.plan(&build("a", false)).await else {
        panic!("delete must be refused")
    };
    assert!(
        diagnostics
            .to_string()
            .contains("is protected and would be deleted"),
        "{diagnostics}"
    );
    let Err(OperationError::Plan(_)) = h.destroy(&build("a", true)).await else {
        panic!("destroy must be refused")
    };
    assert_eq!(h.sim.live().unwrap().len(), 1);
}

#[tokio::test]
async fn ignore_changes_and_replace_on_changes() {
    let h = harness();
    let build = |owner: &str, size: i64| {
        let mut s = Stack::new("dev");
        SimResource::new("x")
            .input("tags", girder_core::object! { "owner" => owner })
            .input("size", size)
            .ignore_changes(["tags.owner"])
            .replace_on_changes(["size"])
            .add(&mut s);
        s.finish().unwrap()
    };
    h.up(&build("ops", 1)).await.unwrap();
    assert!(!h.plan(&build("dev", 1)).await.unwrap().has_changes());
    let plan = h.plan(&build("dev", 2)).await.unwrap();
    assert_eq!(plan.step("x").unwrap().kind, StepKind::Replace);
    h.apply(&build("dev", 2), plan).await.unwrap();
    let recorded = &h.snapshot().resources["x"];
    assert_eq!(
        recorded
            .inputs
            .lookup(&"tags.owner".parse::<FieldPath>().unwrap()),
        Some(Value::from("ops"))
    );
}

#[tokio::test]
async fn a_create_that_never_finishes_is_tainted_and_replaced() {
    let h = harness();
    let build = |never_ready: bool| {
        let mut s = Stack::new("dev");
        SimResource::new("t")
            .input("never_ready", never_ready)
            .add(&mut s);
        s.finish().unwrap()
    };
    let report = h.up(&build(true)).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    assert!(h.snapshot().resources["t"].tainted);
    let plan = h.plan(&build(false)).await.unwrap();
    assert_eq!(plan.step("t").unwrap().kind, StepKind::Replace);
    assert!(
        plan.step("t")
            .unwrap()
            .reason
            .as_deref()
            .unwrap()
            .contains("tainted")
    );
    assert!(h.apply(&build(false), plan).await.unwrap().is_success());
    assert_eq!(h.sim.live().unwrap().len(), 1);
}

#[tokio::test]
async fn recovery_adopts_what_a_crashed_run_created() {
    let h = harness();
    // A run began creating "orphan", the provider created it, and the process died before the
    // result was recorded.
    let identity = ResourceIdentity {
        stack: "dev".into(),
        name: "orphan".into(),
        type_name: "sim:resource".into(),
    };
    h.journal
        .begin(&PendingOperation {
            id: h.journal.next_operation_id(),
            kind: OperationKind::Create,
            identity: identity.clone(),
            provider: None,
            cloud_id: None,
            deposed_key: None,
            inputs: girder_core::object! { "size" => 1 },
            dependencies: vec![],
            started_at: "2026-11-27T00:00:00Z".into(),
        })
        .await
        .unwrap();
    h.sim
        .cloud()
        .put(&SimObject {
            id: "sim-orphan".into(),
            type_name: "sim:resource".into(),
            stack: "dev".into(),
            resource: "orphan".into(),
            inputs: girder_core::object! { "size" => 1 },
            outputs: girder_core::object! { "size" => 1 },
        })
        .unwrap();
    let mut s = Stack::new("dev");
    SimResource::new("orphan").input("size", 1).add(&mut s);
    let graph = s.finish().unwrap();
    let plan = h.plan(&graph).await.unwrap();
    assert!(
        !plan.has_changes(),
        "the orphan was adopted, not created again: {:?}",
        kinds(&plan)
    );
    let state = h.snapshot();
    assert!(state.pending.is_empty());
    assert_eq!(state.resources["orphan"].id, "sim-orphan");
}

#[tokio::test]
async fn drift_is_detected_by_refresh_and_repaired() {
    let h = harness();
    let graph = chain("z1", None);
    h.up(&graph).await.unwrap();
    let state = h.snapshot();
    // Out of band: edit d, delete c.
    let mut d = h
        .sim
        .cloud()
        .get(&state.resources["d"].id)
        .unwrap()
        .unwrap();
    d.inputs
        .set(&FieldPath::key("note"), Value::from("edited by hand"))
        .unwrap();
    h.sim.cloud().put(&d).unwrap();
    h.sim.cloud().remove(&state.resources["c"].id).unwrap();

    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.step("d").unwrap().kind, StepKind::Update);
    assert_eq!(plan.step("c").unwrap().kind, StepKind::Create);
    assert_eq!(plan.refresh.len(), 2);
    assert!(h.apply(&graph, plan).await.unwrap().is_success());
    assert!(!h.plan(&graph).await.unwrap().has_changes());
    assert_eq!(h.sim.live().unwrap().len(), 4);
}

#[tokio::test]
async fn secrets_stay_secret_in_state_and_outputs() {
    let h = harness();
    let mut s = Stack::new("dev");
    let password = Output::known_secret("hunter2".to_owned());
    let db = SimResource::new("db")
        .input("password", &password)
        .add(&mut s);
    let echoed: Output<String> = db.output("password");
    s.export("password", &echoed);
    let graph = s.finish().unwrap();
    let report = h.up(&graph).await.unwrap();
    assert!(report.is_success());
    let state = h.snapshot();
    assert!(matches!(
        state.resources["db"].inputs.get("password"),
        Some(Value::Secret(_))
    ));
    assert!(matches!(
        state.resources["db"].outputs.get("password"),
        Some(Value::Secret(_))
    ));
    assert!(matches!(
        state.outputs.get("password"),
        Some(Value::Secret(_))
    ));
    assert!(!format!("{}", state.resources["db"].outputs.display()).contains("hunter2"));
    // The provider saw the revealed value.
    let live = h.sim.live().unwrap();
    assert_eq!(
        live[0].inputs.get("password"),
        Some(&Value::from("hunter2"))
    );
}

#[tokio::test]
async fn targets_and_excludes_limit_the_plan() {
    let h = harness();
    let graph = chain("z1", None);
    let plan = h
        .plan_with(
            &graph,
            PlanOptions {
                targets: vec!["b".into()],
                ..PlanOptions::default()
            },
        )
        .await
        .unwrap();
    let planned: Vec<String> = plan.steps.iter().map(|s| s.resource.clone()).collect();
    assert_eq!(planned, ["a", "b"]);
    let plan = h
        .plan_with(
            &graph,
            PlanOptions {
                excludes: vec!["b".into()],
                ..PlanOptions::default()
            },
        )
        .await
        .unwrap();
    let planned: Vec<String> = plan.steps.iter().map(|s| s.resource.clone()).collect();
    assert_eq!(planned, ["a", "d"]);
    let Err(OperationError::Plan(d)) = h
        .plan_with(
            &graph,
            PlanOptions {
                targets: vec!["nope".into()],
                ..PlanOptions::default()
            },
        )
        .await
    else {
        panic!("unknown target must be refused")
    };
    assert!(d.to_string().contains("--target names no resource"));
}

#[tokio::test]
async fn invalid_inputs_are_reported_by_provider_checks() {
    let h = harness();
    let mut s = Stack::new("dev");
    SimResource::new("a").input("latency_ms", -5).add(&mut s);
    SimResource::new("b")
        .input("fail_on", "tuesday")
        .add(&mut s);
    ResourceDecl::new("sim:nonexistent", "c").add(&mut s);
    ResourceDecl::new("cloud9:thing", "d").add(&mut s);
    let Err(OperationError::Plan(d)) = h.plan(&s.finish().unwrap()).await else {
        panic!()
    };
    let text = d.to_string();
    assert_eq!(d.errors().count(), 4, "{text}");
    assert!(
        text.contains("`latency_ms` of a `sim:resource` must be a whole number"),
        "{text}"
    );
    assert!(text.contains("field `fail_on` = `tuesday`"), "{text}");
    assert!(
        text.contains("has no resource type `sim:nonexistent`"),
        "{text}"
    );
    assert!(text.contains("no provider package `cloud9`"), "{text}");
    assert!(h.sim.live().unwrap().is_empty());
}

#[tokio::test]
async fn every_call_is_journaled_before_and_after() {
    let h = harness();
    let graph = chain("z1", None);
    h.up(&graph).await.unwrap();
    // 4 creates: a begin and a commit each; the stack has no outputs, so nothing else.
    assert_eq!(h.journal.writes(), 8);
    let finished = h
        .events
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::ActionFinished {
                    action: ActionKind::Create,
                    ..
                }
            )
        })
        .count();
    assert_eq!(finished, 4, "one finished create per resource");
    assert!(h.snapshot().pending.is_empty());
}

#[tokio::test]
async fn fields_a_new_resource_does_not_list_are_unknown_not_absent() {
    let h = harness();
    let mut s = Stack::new("dev");
    let db = SimResource::new("db").add(&mut s);
    let endpoint: Output<String> = db.output("endpoint");
    SimResource::new("app")
        .input(
            "url",
            girder_core::interpolate!("postgres://{}/app", endpoint),
        )
        .add(&mut s);
    let plan = h.plan(&s.finish().unwrap()).await.unwrap();
    assert_eq!(
        plan.step("app").unwrap().inputs.get("url"),
        Some(&Value::Unknown)
    );
}

/// db <- app, as version 1 of a program names them.
fn named(db: &str, app: &str, size: i64, moves: &[(&str, &str)]) -> girder_core::Graph {
    let mut s = Stack::new("dev");
    let db = SimResource::new(db).input("size", size).add(&mut s);
    SimResource::new(app).parent(db.id()).add(&mut s);
    for (from, to) in moves {
        s.moved(*from, *to);
    }
    s.finish().unwrap()
}

#[tokio::test]
async fn renamed_resources_move_their_records_and_keep_their_cloud_objects() {
    let h = harness();
    assert!(
        h.up(&named("db", "app", 1, &[]))
            .await
            .unwrap()
            .is_success()
    );
    let before = h.snapshot();
    let live_before = h.sim.live().unwrap();

    // Without a declaration, a rename deletes and creates.
    let plan = h.plan(&named("orders-db", "app", 1, &[])).await.unwrap();
    assert_eq!(plan.step("orders-db").unwrap().kind, StepKind::Create);
    assert_eq!(plan.step("db").unwrap().kind, StepKind::Delete);

    // With it, nothing happens in the cloud; the record moves, dependents' records follow.
    let graph = named("orders-db", "app", 1, &[("db", "orders-db")]);
    let plan = h.plan(&graph).await.unwrap();
    assert_eq!(plan.summary().moved, 1);
    assert_eq!(plan.summary().create + plan.summary().delete, 0);
    assert!(plan.has_changes());
    let step = plan.step("orders-db").unwrap();
    assert_eq!(
        (step.kind, step.moved_from.as_deref()),
        (StepKind::Same, Some("db"))
    );
    assert!(plan.step("db").is_none());
    assert!(plan.summary().to_string().ends_with(", 1 to move"));
    let report = h.apply(&graph, plan).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.moved.len(), 1);
    assert!(h.events.events().contains(&Event::Moved {
        from: "db".into(),
        to: "orders-db".into()
    }));
    let after = h.snapshot();
    assert_eq!(after.resources["orders-db"].id, before.resources["db"].id);
    assert!(!after.resources.contains_key("db"));
    assert_eq!(
        after.resources["app"].dependencies,
        vec!["orders-db".to_owned()]
    );
    assert_eq!(h.sim.live().unwrap(), live_before, "the cloud is untouched");
    // Applied: the declaration is now harmless.
    assert!(!h.plan(&graph).await.unwrap().has_changes());

    // A chain that also changes an input: one move, one in-place update.
    let graph = named(
        "orders-primary",
        "app",
        2,
        &[("db", "orders-db"), ("orders-db", "orders-primary")],
    );
    let plan = h.plan(&graph).await.unwrap();
    let step = plan.step("orders-primary").unwrap();
    assert_eq!(
        (step.kind, step.moved_from.as_deref()),
        (StepKind::Update, Some("orders-db"))
    );
    assert!(h.apply(&graph, plan).await.unwrap().is_success());
    assert_eq!(
        h.snapshot().resources["orders-primary"].id,
        before.resources["db"].id
    );
    assert_eq!(h.sim.live().unwrap().len(), 2);
    assert!(!h.plan(&graph).await.unwrap().has_changes());
}

#[tokio::test]
async fn moves_that_cannot_hold_are_refused_before_anything_changes() {
    let h = Harness::new(
        "dev",
        SimPackage::in_memory().with_type("sim:other", TypeBehavior::default()),
    );
    let mut s = Stack::new("dev");
    SimResource::new("a").add(&mut s);
    SimResource::new("b").add(&mut s);
    ResourceDecl::new("sim:other", "c").add(&mut s);
    assert!(h.up(&s.finish().unwrap()).await.unwrap().is_success());
    let serial = h.snapshot().serial;

    // `a` -> `b` while `b` is recorded too; `a` (sim:resource) -> `c2` (sim:other).
    let mut s = Stack::new("dev");
    SimResource::new("b").add(&mut s);
    ResourceDecl::new("sim:other", "c").add(&mut s);
    ResourceDecl::new("sim:other", "c2").add(&mut s);
    s.moved("a", "b");
    let graph = s.finish().unwrap();
    let error = h.plan(&graph).await.unwrap_err().to_string();
    assert!(
        error.contains("cannot move `a` to `b`: the state also records `b`"),
        "{error}"
    );
    let mut s = Stack::new("dev");
    SimResource::new("b").add(&mut s);
    ResourceDecl::new("sim:other", "c").add(&mut s);
    ResourceDecl::new("sim:other", "c2").add(&mut s);
    s.moved("a", "c2");
    let error = h.plan(&s.finish().unwrap()).await.unwrap_err().to_string();
    assert!(
        error.contains("cannot move `a` (a `sim:resource`) to `c2` (a `sim:other`)"),
        "{error}"
    );
    assert_eq!(h.snapshot().serial, serial, "nothing was recorded");
}

/// A renamed module renames all its resources: one prefix declaration moves them all.
#[tokio::test]
async fn a_renamed_module_moves_every_resource_it_names() {
    let h = harness();
    let module = |prefix: &str, moves: bool| {
        let mut s = Stack::new("dev");
        let vpc = SimResource::new(format!("{prefix}vpc")).add(&mut s);
        for az in ["a", "b"] {
            SimResource::new(format!("{prefix}subnet-{az}"))
                .parent(vpc.id())
                .add(&mut s);
        }
        SimResource::new("unrelated").add(&mut s);
        if moves {
            s.moved_prefix("main-", "core-");
        }
        s.finish().unwrap()
    };
    assert!(h.up(&module("main-", false)).await.unwrap().is_success());
    let ids: Vec<String> = ["vpc", "subnet-a", "subnet-b"]
        .iter()
        .map(|n| h.snapshot().resources[&format!("main-{n}")].id.clone())
        .collect();

    let graph = module("core-", true);
    let plan = h.plan(&graph).await.unwrap();
    let summary = plan.summary();
    assert_eq!(
        (summary.moved, summary.create, summary.delete),
        (3, 0, 0),
        "{summary:?}"
    );
    assert_eq!(
        plan.step("core-subnet-b").unwrap().moved_from.as_deref(),
        Some("main-subnet-b")
    );
    assert!(h.apply(&graph, plan).await.unwrap().is_success());
    let state = h.snapshot();
    for (name, id) in ["vpc", "subnet-a", "subnet-b"].iter().zip(&ids) {
        assert_eq!(&state.resources[&format!("core-{name}")].id, id);
    }
    assert_eq!(
        state.resources["core-subnet-a"].dependencies,
        vec!["core-vpc".to_owned()]
    );
    assert_eq!(h.sim.live().unwrap().len(), 4);
    assert!(!h.plan(&graph).await.unwrap().has_changes());
}

/// `--replace`: a resource with no changes is replaced on request; dependents see its new id.
#[tokio::test]
async fn replace_on_request() {
    let h = harness();
    let graph = chain("z1", None);
    assert!(h.up(&graph).await.unwrap().is_success());
    let old_b = h.snapshot().resources["b"].id.clone();
    let options = PlanOptions {
        replace: vec!["b".into()],
        ..PlanOptions::default()
    };
    let plan = h.plan_with(&graph, options.clone()).await.unwrap();
    let step = plan.step("b").unwrap();
    assert_eq!(step.kind, StepKind::Replace);
    assert!(step.reason.as_deref().unwrap().contains("--replace"));
    assert_eq!(plan.step("a").unwrap().kind, StepKind::Same);
    assert_eq!(
        plan.step("c").unwrap().inputs.get("parent"),
        Some(&Value::Unknown)
    );
    assert!(h.apply(&graph, plan).await.unwrap().is_success());
    let state = h.snapshot();
    assert_ne!(state.resources["b"].id, old_b);
    assert_eq!(
        state.resources["c"]
            .inputs
            .get("parent")
            .and_then(Value::as_str),
        Some(state.resources["b"].id.as_str())
    );
    assert_eq!(h.sim.live().unwrap().len(), 4);
    assert!(!h.plan(&graph).await.unwrap().has_changes());

    let Err(OperationError::Plan(d)) = h
        .plan_with(
            &graph,
            PlanOptions {
                replace: vec!["nope".into()],
                ..PlanOptions::default()
            },
        )
        .await
    else {
        panic!("an unknown name must be refused")
    };
    assert!(d.to_string().contains("--replace names no resource"), "{d}");
}

/// A plan applied to a program whose inputs changed since it was made is refused for the
/// changed resource, naming the input, both values and the fix; nothing reaches the cloud.
#[tokio::test]
async fn a_plan_whose_program_inputs_changed_is_refused() {
    let h = harness();
    let program = |size: i64| {
        let mut s = Stack::new("dev");
        SimResource::new("db").input("size", size).add(&mut s);
        s.finish().unwrap()
    };
    let plan = h.plan(&program(1)).await.unwrap();
    let report = h.apply(&program(2), plan).await.unwrap();
    assert!(!report.is_success());
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].resource, "db");
    let error = &report.failed[0].error;
    assert!(
        error
            .contains("the input `size` differs from the plan (the plan said 1, apply computed 2)")
            && error.contains("the program changed since the plan was made")
            && error.contains("make a new plan"),
        "{error}"
    );
    assert!(h.sim.live().unwrap().is_empty());
    assert!(h.snapshot().resources.is_empty() && h.snapshot().pending.is_empty());
}

/// A plan with a step for a resource the program no longer declares is refused before any
/// action starts.
#[tokio::test]
async fn a_plan_for_resources_the_program_dropped_is_refused() {
    let h = harness();
    let mut s = Stack::new("dev");
    SimResource::new("kept").add(&mut s);
    SimResource::new("dropped").add(&mut s);
    let plan = h.plan(&s.finish().unwrap()).await.unwrap();
    let mut s = Stack::new("dev");
    SimResource::new("kept").add(&mut s);
    let error = h.apply(&s.finish().unwrap(), plan).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the plan does not match the program: it has a step for `dropped`, which the program does not declare; make a new plan"
    );
    assert!(h.sim.live().unwrap().is_empty());
}
