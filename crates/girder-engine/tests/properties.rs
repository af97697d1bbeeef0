//! Property tests of the engine's invariants over random DAGs of simulated resources.

use std::collections::HashMap;

use girder_core::{Graph, Stack};
use girder_testing::harness::Harness;
use girder_testing::sim::{SimHandle, SimPackage, SimResource};
use proptest::prelude::*;

/// A random DAG: per node, its latency and the earlier nodes it depends on.
fn dags(max_nodes: usize) -> impl Strategy<Value = Vec<(u64, Vec<usize>)>> {
    (1..=max_nodes).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                let deps = if i == 0 {
                    Just(Vec::new()).boxed()
                } else {
                    proptest::collection::vec(0..i, 0..=3.min(i))
                        .prop_map(|mut d| {
                            d.sort_unstable();
                            d.dedup();
                            d
                        })
                        .boxed()
                };
                (10u64..60, deps)
            })
            .collect::<Vec<_>>()
    })
}

fn build(dag: &[(u64, Vec<usize>)]) -> Graph {
    let mut s = Stack::new("prop");
    let mut handles: Vec<SimHandle> = Vec::new();
    for (i, (latency, deps)) in dag.iter().enumerate() {
        let mut resource = SimResource::new(format!("r{i}")).latency_ms(*latency);
        for (k, dep) in deps.iter().enumerate() {
            resource = resource.input(format!("dep{k}"), handles[*dep].id());
        }
        handles.push(resource.add(&mut s));
    }
    s.finish().expect("a generated DAG builds")
}

/// The longest path, summing latencies.
fn critical_path(dag: &[(u64, Vec<usize>)]) -> u64 {
    let mut finish = vec![0u64; dag.len()];
    for (i, (latency, deps)) in dag.iter().enumerate() {
        finish[i] = latency + deps.iter().map(|&d| finish[d]).max().unwrap_or(0);
    }
    finish.into_iter().max().unwrap_or(0)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Apply then plan yields no changes; no node starts before its dependencies finished;
    /// destroy removes everything, dependents first; and with unbounded parallelism the
    /// makespan is within 10% of the critical path (in tokio's virtual time, so the check
    /// measures the scheduler, not the machine).
    #[test]
    fn engine_invariants(dag in dags(24)) {
        runtime().block_on(async {
            let mut harness = Harness::new("prop", SimPackage::in_memory().log_calls());
            harness.apply_options.parallelism = usize::MAX;
            let graph = build(&dag);

            let started = tokio::time::Instant::now();
            let report = harness.up(&graph).await.unwrap();
            let makespan = started.elapsed().as_millis() as u64;
            prop_assert!(report.is_success(), "{:?}", report);
            let critical = critical_path(&dag);
            prop_assert!(makespan as f64 <= critical as f64 * 1.10 + 1.0,
                "makespan {makespan} ms vs critical path {critical} ms");

            let log = harness.sim.stats().log();
            let created: HashMap<&str, &girder_testing::sim::CallRecord> =
                log.iter().filter(|c| c.operation == "create").map(|c| (c.resource.as_str(), c)).collect();
            prop_assert_eq!(created.len(), dag.len());
            for (i, (_, deps)) in dag.iter().enumerate() {
                let me = created[format!("r{i}").as_str()];
                for dep in deps {
                    let before = created[format!("r{dep}").as_str()];
                    prop_assert!(before.finished <= me.started, "r{} started before r{} finished", i, dep);
                }
            }

            let plan = harness.plan(&graph).await.unwrap();
            prop_assert!(!plan.has_changes());

            let report = harness.destroy(&graph).await.unwrap();
            prop_assert!(report.is_success(), "{:?}", report);
            prop_assert!(harness.sim.live().unwrap().is_empty());
            prop_assert!(harness.snapshot().resources.is_empty());
            let log = harness.sim.stats().log();
            let deleted: HashMap<&str, &girder_testing::sim::CallRecord> =
                log.iter().filter(|c| c.operation == "delete").map(|c| (c.resource.as_str(), c)).collect();
            for (i, (_, deps)) in dag.iter().enumerate() {
                let me = deleted[format!("r{i}").as_str()];
                for dep in deps {
                    let after = deleted[format!("r{dep}").as_str()];
                    prop_assert!(me.finished <= after.started, "r{} deleted before its dependent r{}", dep, i);
                }
            }
            Ok(())
        })?;
    }

    /// Changing random inputs of an applied DAG converges in one apply: the next plan is empty.
    #[test]
    fn changes_converge(dag in dags(16), flips in proptest::collection::vec(any::<bool>(), 16)) {
        runtime().block_on(async {
            let harness = Harness::new("prop", SimPackage::in_memory());
            harness.up(&build(&dag)).await.unwrap();
            let mut s = Stack::new("prop");
            let mut handles: Vec<SimHandle> = Vec::new();
            for (i, (latency, deps)) in dag.iter().enumerate() {
                let mut resource = SimResource::new(format!("r{i}")).latency_ms(*latency);
                if flips[i] {
                    // Half update in place, half replace (zone forces replacement).
                    resource = if i % 2 == 0 { resource.input("note", "changed") } else { resource.zone("other") };
                }
                for (k, dep) in deps.iter().enumerate() {
                    resource = resource.input(format!("dep{k}"), handles[*dep].id());
                }
                handles.push(resource.add(&mut s));
            }
            let graph = s.finish().unwrap();
            let report = harness.up(&graph).await.unwrap();
            prop_assert!(report.is_success(), "{:?}", report);
            prop_assert!(!harness.plan(&graph).await.unwrap().has_changes());
            prop_assert_eq!(harness.sim.live().unwrap().len(), dag.len());
            prop_assert!(harness.snapshot().deposed.is_empty());
            Ok(())
        })?;
    }

    /// Renaming random resources with `moved` declarations changes nothing in the cloud: the
    /// plan only moves, every object keeps its id, the next plan is empty, and destroy still
    /// deletes dependents first (the recorded dependencies followed the renames).
    #[test]
    fn renames_keep_every_cloud_object(dag in dags(16), renamed in proptest::collection::vec(any::<bool>(), 16)) {
        runtime().block_on(async {
            let harness = Harness::new("prop", SimPackage::in_memory().log_calls());
            harness.up(&build(&dag)).await.unwrap();
            let ids: Vec<String> = (0..dag.len())
                .map(|i| harness.snapshot().resources[&format!("r{i}")].id.clone())
                .collect();
            let name = |i: usize| if renamed[i] { format!("renamed-r{i}") } else { format!("r{i}") };
            let mut s = Stack::new("prop");
            let mut handles: Vec<SimHandle> = Vec::new();
            for (i, (latency, deps)) in dag.iter().enumerate() {
                let mut resource = SimResource::new(name(i)).latency_ms(*latency);
                for (k, dep) in deps.iter().enumerate() {
                    resource = resource.input(format!("dep{k}"), handles[*dep].id());
                }
                handles.push(resource.add(&mut s));
                if renamed[i] {
                    s.moved(format!("r{i}"), name(i));
                }
            }
            let graph = s.finish().unwrap();
            let plan = harness.plan(&graph).await.unwrap();
            let summary = plan.summary();
            let moves = renamed[..dag.len()].iter().filter(|r| **r).count();
            prop_assert_eq!(
                (summary.create, summary.update, summary.replace, summary.delete, summary.moved),
                (0, 0, 0, 0, moves),
                "{:?}", summary
            );
            let report = harness.apply(&graph, plan).await.unwrap();
            prop_assert!(report.is_success(), "{:?}", report);
            let state = harness.snapshot();
            for (i, id) in ids.iter().enumerate() {
                prop_assert_eq!(&state.resources[&name(i)].id, id);
            }
            prop_assert_eq!(state.resources.len(), dag.len());
            prop_assert_eq!(harness.sim.live().unwrap().len(), dag.len());
            prop_assert!(!harness.plan(&graph).await.unwrap().has_changes());

            let report = harness.destroy(&graph).await.unwrap();
            prop_assert!(report.is_success(), "{:?}", report);
            prop_assert!(harness.sim.live().unwrap().is_empty());
            let log = harness.sim.stats().log();
            let deleted: HashMap<&str, &girder_testing::sim::CallRecord> =
                log.iter().filter(|c| c.operation == "delete").map(|c| (c.resource.as_str(), c)).collect();
            for (i, (_, deps)) in dag.iter().enumerate() {
                let me = deleted[name(i).as_str()];
                for dep in deps {
                    let after = deleted[name(*dep).as_str()];
                    prop_assert!(me.finished <= after.started, "{} deleted before its dependent {}", name(*dep), name(i));
                }
            }
            Ok(())
        })?;
    }
}
