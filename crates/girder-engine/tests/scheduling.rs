//! Critical-path-first scheduling through the real apply, in tokio's virtual time: every call
//! sleeps its resource's duration on a paused clock, so a makespan is measured exactly and
//! says nothing about the machine.
//!
//! What holds, and for which graphs:
//! - on every DAG, the makespan is at most FIFO's (the walk simulates both orders on the
//!   expected durations and keeps the better; here durations are exactly as expected);
//! - on every DAG, the makespan is within Graham's bound for any list schedule:
//!   `k·T ≤ W + (k − 1)·CP` (W total work, CP critical path, k parallelism);
//! - within 1.1× of max(CP, W/k) on the seed-like family (one long chain beside many
//!   independent actions at most a tenth of the chain), and on the seed-shaped scenario
//!   within 1.05×. On random sparse and layered DAGs 1.1× does not hold in general (three
//!   equal independent actions on two slots take 4/3 of W/k under any order); the figures
//!   test reports how far off they are.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use girder_core::{Diagnostics, Graph, Stack, Value};
use girder_engine::provider::{DefaultTimeouts, PlannedResource, Provider, ProviderError};
use girder_engine::{
    ActionKind, ExpectedDurations, Journal, Mutation, ObservedDurations, ProviderPackage, Registry,
    ResourceSchema, ResourceState, Schedule,
};
use girder_testing::harness::Harness;
use girder_testing::sim::{SimHandle, SimPackage, SimResource, TypeBehavior};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// A DAG of calls: per action, its duration (ms) and the earlier actions it depends on.
#[derive(Clone, Debug)]
struct Dag {
    nodes: Vec<(u64, Vec<usize>)>,
}

impl Dag {
    fn critical_path(&self) -> u64 {
        let mut finish = vec![0u64; self.nodes.len()];
        for (i, (duration, deps)) in self.nodes.iter().enumerate() {
            finish[i] = duration + deps.iter().map(|&d| finish[d]).max().unwrap_or(0);
        }
        finish.into_iter().max().unwrap_or(0)
    }

    fn work(&self) -> u64 {
        self.nodes.iter().map(|n| n.0).sum()
    }

    /// max(CP, W/k) scaled by k, to stay in integers: `k·max(CP, W/k) = max(k·CP, W)`.
    fn lower_bound_times_k(&self, k: u64) -> u64 {
        (k * self.critical_path()).max(self.work())
    }
}

/// Random sparse DAGs: each action depends on up to three random earlier ones; durations
/// 1–60 s.
fn sparse() -> impl Strategy<Value = Dag> {
    (1usize..=200).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                let deps = if i == 0 {
                    Just(Vec::new()).boxed()
                } else {
                    proptest::collection::vec(0..i, 0..=3.min(i)).boxed()
                };
                (1_000u64..=60_000, deps)
            })
            .collect::<Vec<_>>()
            .prop_map(|nodes| Dag {
                nodes: nodes
                    .into_iter()
                    .map(|(d, mut deps)| {
                        deps.sort_unstable();
                        deps.dedup();
                        (d, deps)
                    })
                    .collect(),
            })
    })
}

/// Random layered DAGs, the shape of infrastructure (network, then clusters, then what runs
/// on them): 2–8 layers of 1–25 actions, each depending on one to three of the layer before;
/// durations 1–120 s.
fn layered() -> impl Strategy<Value = Dag> {
    proptest::collection::vec(1usize..=25, 2..=8).prop_flat_map(|widths| {
        let total: usize = widths.iter().sum();
        (
            Just(widths),
            proptest::collection::vec(1_000u64..=120_000, total),
            proptest::collection::vec(
                proptest::collection::vec(any::<prop::sample::Index>(), 1..=3),
                total,
            ),
        )
            .prop_map(|(widths, durations, picks)| {
                let mut nodes = Vec::new();
                let mut previous: Vec<usize> = Vec::new();
                for width in widths {
                    let layer: Vec<usize> = (nodes.len()..nodes.len() + width).collect();
                    for &i in &layer {
                        let mut deps: Vec<usize> = if previous.is_empty() {
                            Vec::new()
                        } else {
                            picks[i]
                                .iter()
                                .map(|p| previous[p.index(previous.len())])
                                .collect()
                        };
                        deps.sort_unstable();
                        deps.dedup();
                        nodes.push((durations[i], deps));
                    }
                    previous = layer;
                }
                Dag { nodes }
            })
    })
}

/// Seed-like DAGs: one chain of 2–5 long actions (60–290 s each, within the sim's default
/// five-minute time limit) beside 10–190 short
/// independent actions or short pairs (1–6 s, at most a tenth of the chain), in an order that
/// puts the short ones first, as a program that declares its network before its cluster does.
fn seed_like() -> impl Strategy<Value = Dag> {
    (
        proptest::collection::vec(60_000u64..=290_000, 2..=5),
        proptest::collection::vec((1_000u64..=6_000, any::<bool>()), 10..=190),
    )
        .prop_map(|(chain, short)| {
            let mut nodes: Vec<(u64, Vec<usize>)> = Vec::new();
            for (duration, paired) in short {
                let deps = if paired && !nodes.is_empty() {
                    vec![nodes.len() - 1]
                } else {
                    Vec::new()
                };
                nodes.push((duration, deps));
            }
            let head = nodes.len();
            for duration in chain {
                let deps = if nodes.len() > head {
                    vec![nodes.len() - 1]
                } else {
                    Vec::new()
                };
                nodes.push((duration, deps));
            }
            Dag { nodes }
        })
}

/// The sim type of a duration: one per distinct duration, so the engine can weigh each
/// action by its type, as it does real ones.
fn type_of(ms: u64) -> String {
    format!("sim:d{ms}")
}

/// The program, a sim package whose types take their durations, and those durations as an
/// earlier apply would have observed them (no schema declares them: the learned path).
fn build(dag: &Dag) -> (Graph, SimPackage, ObservedDurations) {
    let mut sim = SimPackage::in_memory();
    let mut learned = ObservedDurations::default();
    let mut seen = std::collections::BTreeSet::new();
    for (ms, _) in &dag.nodes {
        if seen.insert(*ms) {
            sim = sim.with_type(
                &type_of(*ms),
                TypeBehavior {
                    latency: Some(Duration::from_millis(*ms)),
                    ..TypeBehavior::default()
                },
            );
            learned.set(
                &type_of(*ms),
                ActionKind::Create,
                Duration::from_millis(*ms),
            );
        }
    }
    let mut s = Stack::new("sched");
    let mut handles: Vec<SimHandle> = Vec::new();
    for (i, (ms, deps)) in dag.nodes.iter().enumerate() {
        let mut resource = SimResource::of_type(type_of(*ms), format!("r{i}"));
        for (k, dep) in deps.iter().enumerate() {
            resource = resource.input(format!("dep{k}"), handles[*dep].id());
        }
        handles.push(resource.add(&mut s));
    }
    (s.finish().expect("a generated DAG builds"), sim, learned)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Applies the program with `parallelism` and `schedule`; the makespan of the apply (ms of
/// virtual time).
async fn makespan(
    harness: &mut Harness,
    graph: &Graph,
    parallelism: usize,
    schedule: Schedule,
) -> u64 {
    harness.apply_options.parallelism = parallelism;
    harness.apply_options.schedule = schedule;
    let plan = harness.plan(graph).await.unwrap();
    let started = tokio::time::Instant::now();
    let report = harness.apply(graph, plan).await.unwrap();
    let elapsed = started.elapsed().as_millis() as u64;
    assert!(report.is_success(), "failed: {:?}", report.failed);
    elapsed
}

/// Makespans of the same DAG under critical path first and FIFO, on fresh sims.
fn both(dag: &Dag, k: usize) -> (u64, u64) {
    runtime().block_on(async {
        let mut spans = [0u64; 2];
        for (slot, schedule) in [Schedule::CriticalPathFirst, Schedule::Fifo]
            .into_iter()
            .enumerate()
        {
            let (graph, sim, learned) = build(dag);
            let mut harness = Harness::new("sched", sim);
            harness.apply_options.learned = Arc::new(learned);
            spans[slot] = makespan(&mut harness, &graph, k, schedule).await;
        }
        (spans[0], spans[1])
    })
}

/// The properties every DAG has; returns (priority, FIFO) makespans.
fn check_general(dag: &Dag, k: usize) -> Result<(u64, u64), TestCaseError> {
    let (priority, fifo) = both(dag, k);
    let (cp, work, k64) = (dag.critical_path(), dag.work(), k as u64);
    prop_assert!(
        priority <= fifo,
        "critical path first {priority} ms > FIFO {fifo} ms, k {k}: {dag:?}"
    );
    // Graham: in a list schedule, some chain runs whenever a slot is idle, so
    // T ≤ (W − L)/k + L ≤ W/k + (1 − 1/k)·CP.
    prop_assert!(
        k64 * priority <= work + (k64 - 1) * cp,
        "makespan {priority} ms beyond Graham's bound (W {work}, CP {cp}, k {k})"
    );
    prop_assert!(
        priority >= cp && k64 * priority >= work,
        "faster than possible: {priority} ms"
    );
    Ok((priority, fifo))
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        // A fixed seed: the same cases on every run (the properties are theorems, but a
        // failure should reproduce, and the run time should not vary).
        rng_seed: RngSeed::Fixed(0x6769_7264_6572),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(40))]

    /// Random sparse DAGs: never worse than FIFO, within Graham's bound.
    #[test]
    fn sparse_dags_are_never_slower_than_fifo(dag in sparse(), k in 1usize..=16) {
        check_general(&dag, k)?;
    }

    /// Random layered DAGs: never worse than FIFO, within Graham's bound.
    #[test]
    fn layered_dags_are_never_slower_than_fifo(dag in layered(), k in 1usize..=16) {
        check_general(&dag, k)?;
    }

    /// Seed-like DAGs: besides the general properties, within 1.1× of max(CP, W/k).
    #[test]
    fn seed_like_dags_are_within_a_tenth_of_the_lower_bound(dag in seed_like(), k in 2usize..=16) {
        let (priority, _) = check_general(&dag, k)?;
        let bound = dag.lower_bound_times_k(k as u64);
        prop_assert!(
            10 * (k as u64) * priority <= 11 * bound,
            "makespan {priority} ms > 1.1 × max(CP {}, W/k {})", dag.critical_path(), dag.work() / k as u64
        );
    }
}

/// Graham's anomaly through the real walk: on two slots, critical path first alone would start
/// the 9 s and 8 s actions and finish the 1 s -> 2 s chain at 11 s (the unit test of the
/// simulation shows it); the walk simulates both orders, keeps FIFO, and is done at 10 s.
#[test]
fn where_critical_path_first_would_lose_the_walk_keeps_fifo() {
    let dag = Dag {
        nodes: vec![
            (8_000, vec![]),
            (1_000, vec![]),
            (9_000, vec![]),
            (2_000, vec![1]),
        ],
    };
    assert_eq!(both(&dag, 2), (10_000, 10_000));
}

/// Why 1.1× of max(CP, W/k) is asserted only for seed-like graphs: three equal independent
/// actions on two slots take two rounds under any order, 4/3 of W/k, and that is optimal.
/// (Random sparse DAGs stayed within 1.1× in all 150 cases of `figures`; random layered ones
/// reached 1.13×.)
#[test]
fn the_tenth_bound_is_not_a_theorem() {
    let dag = Dag {
        nodes: vec![(10_000, vec![]), (10_000, vec![]), (10_000, vec![])],
    };
    let (priority, fifo) = both(&dag, 2);
    assert_eq!((priority, fifo), (20_000, 20_000));
    assert!(10 * 2 * priority > 11 * dag.lower_bound_times_k(2));
}

/// A `sim` package whose types declare their expected durations in the schema, as the AWS
/// provider does for EKS clusters and NAT gateways: the declared path of the weights.
struct Declared {
    sim: SimPackage,
    schemas: HashMap<String, ResourceSchema>,
}

#[async_trait]
impl ProviderPackage for Declared {
    fn name(&self) -> &str {
        self.sim.name()
    }

    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas.get(type_name)
    }

    fn check(&self, type_name: &str, name: &str, inputs: &Value) -> Diagnostics {
        self.sim.check(type_name, name, inputs)
    }

    fn check_program(&self, resources: &[PlannedResource<'_>]) -> Diagnostics {
        self.sim.check_program(resources)
    }

    async fn configure(&self, config: &Value) -> Result<Arc<dyn Provider>, ProviderError> {
        self.sim.configure(config).await
    }
}

/// The seed's shape: an EKS control plane (600 s), two nodegroups behind it (180 s), add-ons
/// (60 s), 20 application objects (5 s); beside it a NAT gateway (120 s) and 100 independent
/// 2 s calls (tags, routes, IAM attachments), declared first as network and IAM modules are.
fn seed(s: &mut Stack) {
    for i in 0..100 {
        SimResource::of_type("sim:small", format!("attachment-{i}")).add(s);
    }
    SimResource::of_type("sim:nat", "nat").add(s);
    let cluster = SimResource::of_type("sim:cluster", "cluster").add(s);
    let nodegroups: Vec<SimHandle> = (0..2)
        .map(|i| {
            SimResource::of_type("sim:nodegroup", format!("nodegroup-{i}"))
                .input("cluster", cluster.id())
                .add(s)
        })
        .collect();
    let addons: Vec<SimHandle> = ["vpc-cni", "coredns", "kube-proxy"]
        .iter()
        .map(|name| {
            SimResource::of_type("sim:addon", *name)
                .input("a", nodegroups[0].id())
                .input("b", nodegroups[1].id())
                .add(s)
        })
        .collect();
    for i in 0..20 {
        let mut app = SimResource::of_type("sim:app", format!("app-{i}"));
        for (k, addon) in addons.iter().enumerate() {
            app = app.input(format!("addon{k}"), addon.id());
        }
        app.add(s);
    }
}

const SEED_TYPES: [(&str, u64); 6] = [
    ("sim:cluster", 600),
    ("sim:nodegroup", 180),
    ("sim:addon", 60),
    ("sim:app", 5),
    ("sim:nat", 120),
    ("sim:small", 2),
];

async fn seed_makespan(schedule: Schedule) -> u64 {
    let mut sim = SimPackage::in_memory();
    let mut schemas = HashMap::new();
    for (name, secs) in SEED_TYPES {
        let duration = Duration::from_secs(secs);
        sim = sim.with_type(
            name,
            TypeBehavior {
                latency: Some(duration),
                ..TypeBehavior::default()
            },
        );
        let declared = sim
            .schema(name)
            .expect("the sim has the type")
            .clone()
            .expected_durations(ExpectedDurations::all(duration))
            .timeouts(DefaultTimeouts {
                create: Duration::from_secs(1800),
                ..DefaultTimeouts::default()
            });
        schemas.insert(name.to_owned(), declared);
    }
    let registry = Registry::new().with(Declared {
        sim: sim.clone(),
        schemas,
    });
    let mut harness = Harness::with_registry("seed", sim, registry);
    let mut s = Stack::new("seed");
    seed(&mut s);
    let graph = s.finish().unwrap();
    makespan(&mut harness, &graph, 10, schedule).await
}

/// The seed-shaped apply at parallelism 10 finishes within 1.05× of its critical path
/// (cluster, nodegroup, add-on, app: 845 s), and not later than FIFO.
#[tokio::test(start_paused = true)]
async fn the_seed_shape_finishes_within_five_percent_of_its_critical_path() {
    let critical_path = (600 + 180 + 60 + 5) * 1000;
    let priority = seed_makespan(Schedule::CriticalPathFirst).await;
    let fifo = seed_makespan(Schedule::Fifo).await;
    eprintln!(
        "seed shape, parallelism 10: critical path {:.1} s; critical path first {:.1} s ({:.3}×); FIFO {:.1} s ({:.3}×)",
        critical_path as f64 / 1e3,
        priority as f64 / 1e3,
        priority as f64 / critical_path as f64,
        fifo as f64 / 1e3,
        fifo as f64 / critical_path as f64,
    );
    assert!(priority * 100 <= critical_path * 105, "{priority} ms");
    assert!(priority <= fifo, "{priority} ms > FIFO {fifo} ms");
}

/// An earlier apply's observed durations weigh the next one: with nothing declared, the
/// report's `observed` carries each type's mean call duration.
#[tokio::test(start_paused = true)]
async fn the_report_observes_call_durations_per_type() {
    let sim = SimPackage::in_memory().with_type(
        "sim:slow",
        TypeBehavior {
            latency: Some(Duration::from_secs(90)),
            ..TypeBehavior::default()
        },
    );
    let harness = Harness::new("observe", sim);
    let mut s = Stack::new("observe");
    SimResource::of_type("sim:slow", "a").add(&mut s);
    SimResource::of_type("sim:slow", "b").add(&mut s);
    let report = harness.up(&s.finish().unwrap()).await.unwrap();
    assert_eq!(
        report.observed.get("sim:slow", ActionKind::Create),
        Some(Duration::from_secs(90))
    );
    assert_eq!(report.observed.get("sim:slow", ActionKind::Delete), None);
}

/// The state remembers how long each create took, and later applies weigh creates of that type
/// by it: a second slow resource added beside thirteen quick ones starts first because the
/// first one's create was recorded as slow, although nothing declares the type's duration and
/// the caller passes nothing learned.
#[tokio::test(start_paused = true)]
async fn creates_recorded_in_the_state_weigh_later_applies() {
    let sim = || {
        SimPackage::in_memory()
            .with_type(
                "sim:slow",
                TypeBehavior {
                    latency: Some(Duration::from_secs(240)),
                    ..TypeBehavior::default()
                },
            )
            .with_type(
                "sim:quick",
                TypeBehavior {
                    latency: Some(Duration::from_secs(2)),
                    ..TypeBehavior::default()
                },
            )
    };
    // Thirteen quick creates declared first (one a chain of three, so by count alone it
    // would lead), then the second slow one.
    let grown = |s: &mut Stack| {
        SimResource::of_type("sim:slow", "slow-1").add(s);
        let mut previous = SimResource::of_type("sim:quick", "chain-0").add(s);
        for i in 1..3 {
            previous = SimResource::of_type("sim:quick", format!("chain-{i}"))
                .input("after", previous.id())
                .add(s);
        }
        for i in 0..10 {
            SimResource::of_type("sim:quick", format!("quick-{i}")).add(s);
        }
        SimResource::of_type("sim:slow", "slow-2").add(s);
    };

    // The same history twice; one harness then forgets how long `slow-1`'s create took.
    let mut remembered = Harness::new("history", sim());
    let mut forgetful = Harness::new("history", sim());
    for harness in [&remembered, &forgetful] {
        let mut first = Stack::new("history");
        SimResource::of_type("sim:slow", "slow-1").add(&mut first);
        harness.up(&first.finish().unwrap()).await.unwrap();
    }
    let record = forgetful.snapshot().resources["slow-1"].clone();
    assert_eq!(record.create_ms, Some(240_000));
    forgetful
        .journal
        .record(&[Mutation::Upsert {
            resource: ResourceState {
                create_ms: None,
                ..record.as_ref().clone()
            },
        }])
        .await
        .unwrap();

    // With the record, `slow-2` starts at once: 240 s in all.
    let mut s = Stack::new("history");
    grown(&mut s);
    let graph = s.finish().unwrap();
    let learned = makespan(&mut remembered, &graph, 2, Schedule::CriticalPathFirst).await;
    assert_eq!(learned, 240_000);
    // Without it every call weighs the same: the chain and the quick ones go first.
    let unlearned = makespan(&mut forgetful, &graph, 2, Schedule::CriticalPathFirst).await;
    assert!(unlearned > learned, "{unlearned} ms");
    eprintln!("a slow create recorded in the state: {learned} ms; forgotten: {unlearned} ms");
}

/// The figures: FIFO against critical path first, and both against max(CP, W/k), over many
/// generated DAGs per family. Slow (a few hundred applies); run with
/// `cargo test -p girder-engine --test scheduling -- --ignored --nocapture figures`.
#[test]
#[ignore = "figures, not a check: run with --ignored --nocapture"]
fn figures() {
    let families: [(&str, BoxedStrategy<Dag>); 3] = [
        ("sparse", sparse().boxed()),
        ("layered", layered().boxed()),
        ("seed-like", seed_like().boxed()),
    ];
    for (name, strategy) in families {
        let mut runner = TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(7),
            ..Config::default()
        });
        let mut stats: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let cases = 150;
        for _ in 0..cases {
            let dag = strategy.new_tree(&mut runner).unwrap().current();
            let k = (1usize..=16).new_tree(&mut runner).unwrap().current();
            let (priority, fifo) = both(&dag, k);
            let bound = dag.lower_bound_times_k(k as u64) as f64 / k as f64;
            stats
                .entry("priority/fifo")
                .or_default()
                .push(priority as f64 / fifo as f64);
            stats
                .entry("priority/bound")
                .or_default()
                .push(priority as f64 / bound);
            stats
                .entry("fifo/bound")
                .or_default()
                .push(fifo as f64 / bound);
        }
        for (what, values) in &stats {
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let max = values.iter().cloned().fold(f64::MIN, f64::max);
            let min = values.iter().cloned().fold(f64::MAX, f64::min);
            let over = values.iter().filter(|&&v| v > 1.1).count();
            eprintln!(
                "{name:>9} {what:>14}: mean {mean:.3} min {min:.3} max {max:.3}; > 1.1 in {over}/{cases}"
            );
        }
    }
}
