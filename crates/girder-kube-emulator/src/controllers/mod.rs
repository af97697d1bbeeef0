//! Simulated controllers, run as one background task: garbage collection, the namespace
//! controller (which waits `EmulatorConfig::namespace_deletion_delay` on the emulator's
//! clock before emptying a terminating namespace), a Deployment controller, a ReplicaSet
//! controller, a "kubelet" that moves Pods through their phases, and a Service controller
//! that gives LoadBalancers a hostname: a made-up one, or with a [`crate::CloudProvider`]
//! the DNS name of a load balancer the provider makes (and deletes; see [`cloud`]).
//!
//! Each pass takes the store lock, reconciles every object, and writes only what changed;
//! passes run after each write (their own included, until nothing changes) and every
//! `EmulatorConfig::controller_tick` while a time-based transition is pending.
//! Time-based transitions (Pod readiness, rollout steps, progress deadlines, load balancer
//! delay) are measured with the controller's own clock, not with object timestamps, so they
//! work at millisecond scale.

pub(crate) mod cloud;
mod deployment;
mod pods;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::deletion;
use crate::store::{State, Store};

/// The name of the single emulated node that Pods are "scheduled" to.
pub const NODE_NAME: &str = "girder-emulator-node";

/// What the controllers remember between passes (keyed by object uid).
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// When a Pod was first seen.
    pub pod_seen: HashMap<String, Instant>,
    /// When a ReplicaSet last created a Pod.
    pub rs_last_create: HashMap<String, Instant>,
    /// Per Deployment: the last progress signature and when it last changed.
    pub progress: HashMap<String, (String, Instant)>,
    /// When a LoadBalancer Service was first seen.
    pub lb_seen: HashMap<String, Instant>,
    /// When the namespace controller first saw a terminating namespace (emulator clock).
    pub namespace_terminating: HashMap<String, std::time::SystemTime>,
    /// The next Pod IP (10.244.0.0/16).
    pub next_pod_ip: u32,
    /// Set by a pass that waits for time to pass (a Pod to start, a rollout step, a deadline,
    /// a load balancer delay): the next tick must run a pass even if nothing was written.
    pub waiting: bool,
}

/// Runs the controllers until `shutdown` turns true.
pub(crate) async fn run(store: Arc<Store>, mut shutdown: watch::Receiver<bool>) {
    let mut memory = Memory::default();
    let tick = store.lock().config.controller_tick;
    let mut seen_rv = None;
    loop {
        {
            let mut state = store.lock();
            // Idle clusters cost nothing: a pass runs only after a write or while waiting on time.
            if memory.waiting || seen_rv != Some(state.rv) {
                seen_rv = Some(state.rv);
                memory.waiting = false;
                reconcile(&mut state, &mut memory);
                if state.cloud.enabled {
                    // The cloud task acts on the work this pass wrote down.
                    store.cloud_wake.notify_one();
                }
            }
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = store.changed.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::debug!("controllers stopped");
}

/// One full pass of every controller.
pub(crate) fn reconcile(state: &mut State, memory: &mut Memory) {
    let now = Instant::now();
    deletion::collect_garbage(state);
    if deletion::terminate_namespaces(state, &mut memory.namespace_terminating) {
        memory.waiting = true;
    }
    deployment::reconcile_deployments(state, memory, now);
    deployment::reconcile_replicasets(state, memory, now);
    pods::reconcile_pods(state, memory, now);
    pods::reconcile_services(state, memory, now);
    cloud::reconcile_load_balancers(state, memory);
    deletion::collect_garbage(state);
    // Forget objects that are gone.
    let live: std::collections::HashSet<&str> =
        state.objects.values().map(crate::object::uid).collect();
    memory.pod_seen.retain(|k, _| live.contains(k.as_str()));
    memory
        .rs_last_create
        .retain(|k, _| live.contains(k.as_str()));
    memory.progress.retain(|k, _| live.contains(k.as_str()));
    memory.lb_seen.retain(|k, _| live.contains(k.as_str()));
}
