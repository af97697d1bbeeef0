//! The engine's cost on the layered DAG (`sim_dag`'s shape, 10 layers): graph build + plan
//! against an empty state, plan against an applied state (everything unchanged, the everyday
//! case), and apply with a zero-latency simulated provider and an in-memory journal — for
//! 1,000, 10,000 and 100,000 resources. Plan cost must grow linearly.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use girder::core::Stack;
use girder::engine::{PlanOptions, Registry, plan};
use girder::testing::harness::Harness;
use girder::testing::sim::SimPackage;
use girder::testing::sim::layered::Layered;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn graph(resources: usize) -> girder::core::Graph {
    let mut s = Stack::new("bench");
    Layered {
        resources,
        layers: 10,
    }
    .add(&mut s);
    s.finish().expect("the layered DAG builds")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn build_and_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("build+plan (empty state)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let sim = SimPackage::in_memory();
    let registry = Registry::new().with(sim);
    for size in SIZES {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter(|| {
                let graph = graph(size);
                let snapshot = girder::engine::Snapshot::empty("bench");
                plan(&graph, &snapshot, &registry, &PlanOptions::default()).expect("plans")
            })
        });
    }
    group.finish();
}

fn plan_unchanged(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan (applied state, no changes)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let rt = runtime();
    for size in SIZES {
        let sim = SimPackage::in_memory();
        let harness = Harness::new("bench", sim.clone());
        let applied = graph(size);
        let report = rt.block_on(harness.up(&applied)).expect("applies");
        assert!(report.is_success());
        let snapshot = girder_benches::as_loaded(&harness.snapshot());
        let registry = Registry::new().with(sim);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                let made =
                    plan(&applied, &snapshot, &registry, &PlanOptions::default()).expect("plans");
                assert!(!made.has_changes());
                made
            })
        });
    }
    group.finish();
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply (zero latency, in-memory journal)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let rt = runtime();
    for size in SIZES {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_batched(
                || (graph(size), Harness::new("bench", SimPackage::in_memory())),
                |(graph, harness)| {
                    let report = rt.block_on(harness.up(&graph)).expect("applies");
                    assert!(report.is_success());
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, build_and_plan, plan_unchanged, apply);
criterion_main!(benches);
