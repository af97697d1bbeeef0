//! Prints how girder's phases scale on the layered DAG, one size per process so that the peak
//! memory (VmHWM) belongs to that size: `scaling SIZE` measures one size,
//! `scaling` measures 1k, 10k and 100k by running itself.

use std::time::Instant;

use girder::core::Stack;
use girder::engine::{PlanOptions, Registry, plan};
use girder::testing::harness::Harness;
use girder::testing::sim::SimPackage;
use girder::testing::sim::layered::Layered;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn measure(size: usize) {
    let t = Instant::now();
    let mut s = Stack::new("bench");
    Layered {
        resources: size,
        layers: 10,
    }
    .add(&mut s);
    let graph = s.finish().expect("builds");
    let build = t.elapsed();
    let rss_build = peak_rss_mib();

    let sim = SimPackage::in_memory();
    let registry = Registry::new().with(sim.clone());
    let t = Instant::now();
    let empty = plan(
        &graph,
        &girder::engine::Snapshot::empty("bench"),
        &registry,
        &PlanOptions::default(),
    )
    .expect("plans");
    let plan_empty = t.elapsed();
    let rss_plan = peak_rss_mib();
    drop(empty);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let harness = Harness::new("bench", sim);
    let t = Instant::now();
    let report = runtime.block_on(harness.up(&graph)).expect("applies");
    let apply = t.elapsed();
    // Includes the in-memory simulated cloud and the harness's event log, which a real run
    // does not hold.
    let rss_apply = peak_rss_mib();
    assert!(report.is_success());

    let snapshot = girder_benches::as_loaded(&harness.snapshot());
    let t = Instant::now();
    let same = plan(&graph, &snapshot, &registry, &PlanOptions::default()).expect("plans");
    let plan_same = t.elapsed();
    assert!(!same.has_changes());
    println!(
        "{size:>7} | build {:>8.1} ms | plan(empty) {:>8.1} ms | apply(0 ms latency) {:>8.1} ms | plan(no changes) {:>8.1} ms | peak RSS after build/plan/apply/re-plan {:.0}/{:.0}/{:.0}/{:.0} MiB",
        build.as_secs_f64() * 1e3,
        plan_empty.as_secs_f64() * 1e3,
        apply.as_secs_f64() * 1e3,
        plan_same.as_secs_f64() * 1e3,
        rss_build,
        rss_plan,
        rss_apply,
        peak_rss_mib()
    );
}

fn main() {
    match std::env::args().nth(1) {
        Some(size) => measure(size.parse().expect("a resource count")),
        None => {
            let me = std::env::current_exe().expect("own path");
            for size in [1_000, 10_000, 100_000] {
                let status = std::process::Command::new(&me)
                    .arg(size.to_string())
                    .status()
                    .expect("runs");
                assert!(status.success());
            }
        }
    }
}
