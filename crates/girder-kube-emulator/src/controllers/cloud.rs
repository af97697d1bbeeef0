//! The service controller with a [`CloudProvider`]: load balancers for LoadBalancer
//! Services, made and deleted by the provider, as the cloud controller manager does it.
//!
//! The work is split in two so that no cloud call is made under the store lock (a slow
//! cloud would otherwise stall every API request):
//!
//! - [`reconcile_load_balancers`], part of the synchronous controller pass, adds the
//!   `service.kubernetes.io/load-balancer-cleanup` finalizer to LoadBalancer Services and
//!   writes down what the cloud must do ([`CloudWork::wanted`]): ensure a load balancer, or
//!   delete one (for a terminating Service once `lb_deletion_delay` has passed on the
//!   emulator's clock, or for a Service that stopped being a LoadBalancer).
//! - [`run`], a task of its own, takes that work, calls the provider without the lock, and
//!   writes the results back through the store: the hostname in the Service's status, or the
//!   finalizer removed (which lets a terminating Service go). A failure is retried later with
//!   a growing delay; the finalizer stays until the delete succeeds.
//!
//! The same task calls [`CloudProvider::sync_cluster`] after changes, for external-dns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::Memory;
use crate::cloud::{
    CloudError, CloudProvider, ClusterView, LOAD_BALANCER_FINALIZER, LoadBalancerService,
};
use crate::object::{self, is_deleting};
use crate::ops::{self, Sub};
use crate::store::{State, Store};

/// The first retry delay after a failed cloud call; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest retry delay (the real controller's is minutes; tests cannot wait that long).
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often the task looks for due retries when nothing wakes it.
const IDLE_TICK: Duration = Duration::from_millis(100);

/// What the cloud must do for one Service.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Job {
    /// Create or update its load balancer.
    Ensure(LoadBalancerService),
    /// Delete its load balancer, then drop the finalizer.
    Delete(LoadBalancerService),
}

/// The service controller's state shared by the pass and the task (inside the store).
#[derive(Debug, Default)]
pub(crate) struct CloudWork {
    /// Whether a provider is set (otherwise the made-up hostnames of `pods.rs` are used).
    pub enabled: bool,
    /// The work the last pass asked for, by Service uid.
    pub wanted: BTreeMap<String, Job>,
    /// What each load balancer was last ensured for, by Service uid.
    pub ensured: HashMap<String, LoadBalancerService>,
    /// Failed Services: attempts so far and when to try again.
    pub retry: HashMap<String, (u32, Instant)>,
    /// When the pass first saw a Service terminating (emulator clock).
    pub deleting_since: HashMap<String, SystemTime>,
    /// The store revision the cluster was last synced at (`sync_cluster`).
    pub synced_rv: Option<u64>,
    /// When a failed `sync_cluster` may run again.
    pub sync_retry: Option<(u32, Instant)>,
}

fn has_finalizer(svc: &Value) -> bool {
    object::finalizers(svc)
        .iter()
        .any(|f| f == LOAD_BALANCER_FINALIZER)
}

fn is_load_balancer(svc: &Value) -> bool {
    svc.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
}

fn hostname(svc: &Value) -> Option<&str> {
    svc.pointer("/status/loadBalancer/ingress/0/hostname")
        .and_then(Value::as_str)
}

/// The synchronous half: finalizers and the work list (see the module docs).
pub(super) fn reconcile_load_balancers(state: &mut State, memory: &mut Memory) {
    if !state.cloud.enabled {
        return;
    }
    let Some(svc_rt) = state.registry.lookup("", "v1", "services") else {
        return;
    };
    let now = state.clock.now();
    let delay = state.config.lb_deletion_delay;
    let services: Vec<Value> = state
        .list("", "services", None)
        .into_iter()
        .map(|(_, o)| o.clone())
        .collect();
    let mut wanted = BTreeMap::new();
    let mut live = HashSet::new();
    for mut svc in services {
        let uid = object::uid(&svc).to_owned();
        live.insert(uid.clone());
        let deleting = is_deleting(&svc);
        if is_load_balancer(&svc) && !deleting {
            if !has_finalizer(&svc) {
                // As the service controller does before it creates anything, so a delete can
                // never lose track of a load balancer.
                let finalizers = object::meta_mut(&mut svc)
                    .entry("finalizers")
                    .or_insert_with(|| json!([]));
                if let Some(list) = finalizers.as_array_mut() {
                    list.push(Value::from(LOAD_BALANCER_FINALIZER));
                }
                match ops::controller_write(state, &svc_rt, svc, Sub::Main) {
                    Some(written) => svc = written,
                    None => continue,
                }
            }
            let spec = LoadBalancerService::from_object(&svc);
            if state.cloud.ensured.get(&uid) != Some(&spec) || hostname(&svc).is_none() {
                wanted.insert(uid, Job::Ensure(spec));
            }
        } else if has_finalizer(&svc) {
            if deleting {
                let since = match state.deleted_at.get(&uid) {
                    Some(requested) => *requested,
                    None => *state.cloud.deleting_since.entry(uid.clone()).or_insert(now),
                };
                if now.duration_since(since).unwrap_or_default() < delay {
                    memory.waiting = true;
                    continue;
                }
            }
            wanted.insert(uid, Job::Delete(LoadBalancerService::from_object(&svc)));
        }
    }
    let cloud = &mut state.cloud;
    cloud.wanted = wanted;
    cloud.deleting_since.retain(|uid, _| live.contains(uid));
    cloud.retry.retain(|uid, _| live.contains(uid));
    cloud.ensured.retain(|uid, _| live.contains(uid));
}

/// The asynchronous half: runs the provider until `shutdown` turns true.
pub(crate) async fn run(
    store: Arc<Store>,
    provider: Arc<dyn CloudProvider>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let jobs = due_jobs(&store);
        let results = futures::future::join_all(jobs.into_iter().map(|(uid, job)| {
            let provider = provider.clone();
            async move {
                let result = perform(provider.as_ref(), &job).await;
                (uid, job, result)
            }
        }))
        .await;
        if !results.is_empty() {
            apply(&store, results);
        }
        sync_cluster(&store, provider.as_ref()).await;
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = store.cloud_wake.notified() => {}
            _ = tokio::time::sleep(IDLE_TICK) => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::debug!("cloud controller stopped");
}

fn due_jobs(store: &Store) -> Vec<(String, Job)> {
    let state = store.lock();
    let now = Instant::now();
    state
        .cloud
        .wanted
        .iter()
        .filter(|(uid, _)| state.cloud.retry.get(*uid).is_none_or(|(_, at)| *at <= now))
        .map(|(uid, job)| (uid.clone(), job.clone()))
        .collect()
}

async fn perform(provider: &dyn CloudProvider, job: &Job) -> Result<Option<String>, CloudError> {
    match job {
        Job::Ensure(service) => {
            tracing::debug!(namespace = %service.namespace, service = %service.name, "ensuring the load balancer");
            let status = provider.ensure_load_balancer(service).await?;
            Ok(Some(status.hostname))
        }
        Job::Delete(service) => {
            tracing::debug!(namespace = %service.namespace, service = %service.name, "deleting the load balancer");
            provider.delete_load_balancer(service).await?;
            Ok(None)
        }
    }
}

fn backoff(attempts: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempts.min(16))
        .min(MAX_BACKOFF)
}

/// Writes the results back: status hostnames, finalizers dropped, retries scheduled.
fn apply(store: &Store, results: Vec<(String, Job, Result<Option<String>, CloudError>)>) {
    let mut state = store.lock();
    let Some(svc_rt) = state.registry.lookup("", "v1", "services") else {
        return;
    };
    for (uid, job, result) in results {
        // Done: the next pass decides afresh whether anything is left to do. A failed job
        // stays wanted, so it is retried when its delay is over even if nothing changes.
        if result.is_ok() && state.cloud.wanted.get(&uid) == Some(&job) {
            state.cloud.wanted.remove(&uid);
        }
        let (Job::Ensure(service) | Job::Delete(service)) = &job;
        let current = state
            .list("", "services", Some(&service.namespace))
            .into_iter()
            .map(|(_, o)| o)
            .find(|o| object::uid(o) == uid)
            .cloned();
        match result {
            Err(error) => {
                let attempts = state.cloud.retry.get(&uid).map_or(0, |(n, _)| *n);
                let wait = backoff(attempts);
                tracing::warn!(namespace = %service.namespace, service = %service.name, %error, retry_in = ?wait, "the cloud call for the load balancer failed");
                state
                    .cloud
                    .retry
                    .insert(uid, (attempts + 1, Instant::now() + wait));
            }
            Ok(Some(hostname)) => {
                state.cloud.retry.remove(&uid);
                state.cloud.ensured.insert(uid.clone(), service.clone());
                let Some(mut svc) = current.filter(|s| is_load_balancer(s) && !is_deleting(s))
                else {
                    continue;
                };
                let ports: Vec<Value> = service
                    .ports
                    .iter()
                    .map(|p| json!({"port": p.port, "protocol": p.protocol}))
                    .collect();
                let status = json!({"ingress": [{"hostname": hostname, "ports": ports}]});
                if svc.pointer("/status/loadBalancer") != Some(&status) {
                    tracing::info!(namespace = %service.namespace, service = %service.name, %hostname, "load balancer ready");
                    svc["status"] = json!({"loadBalancer": status});
                    ops::controller_write(&mut state, &svc_rt, svc, Sub::Status);
                }
            }
            Ok(None) => {
                state.cloud.retry.remove(&uid);
                state.cloud.ensured.remove(&uid);
                let Some(mut svc) = current else {
                    continue;
                };
                tracing::info!(namespace = %service.namespace, service = %service.name, "load balancer deleted");
                if !is_deleting(&svc) && svc.pointer("/status/loadBalancer/ingress").is_some() {
                    // No longer a LoadBalancer: its ingress is gone with the load balancer.
                    svc["status"] = json!({"loadBalancer": {}});
                    if let Some(written) =
                        ops::controller_write(&mut state, &svc_rt, svc.clone(), Sub::Status)
                    {
                        svc = written;
                    }
                }
                if let Some(list) = object::meta_mut(&mut svc)
                    .get_mut("finalizers")
                    .and_then(Value::as_array_mut)
                {
                    list.retain(|f| f.as_str() != Some(LOAD_BALANCER_FINALIZER));
                }
                ops::controller_write(&mut state, &svc_rt, svc, Sub::Main);
            }
        }
    }
    drop(state);
    store.changed.notify_one();
}

/// Calls `sync_cluster` when the store changed since the last successful call.
async fn sync_cluster(store: &Store, provider: &dyn CloudProvider) {
    let (rv, view) = {
        let state = store.lock();
        let due = state
            .cloud
            .sync_retry
            .is_none_or(|(_, at)| at <= Instant::now());
        if state.cloud.synced_rv == Some(state.rv) || !due {
            return;
        }
        let all = |resource: &str, group: &str| -> Vec<Value> {
            state
                .list(group, resource, None)
                .into_iter()
                .map(|(_, o)| o.clone())
                .collect()
        };
        let view = ClusterView {
            services: all("services", ""),
            deployments: all("deployments", "apps"),
        };
        (state.rv, view)
    };
    let result = provider.sync_cluster(&view).await;
    let mut state = store.lock();
    match result {
        Ok(()) => {
            state.cloud.synced_rv = Some(rv);
            state.cloud.sync_retry = None;
        }
        Err(error) => {
            let attempts = state.cloud.sync_retry.map_or(0, |(n, _)| n);
            let wait = backoff(attempts);
            tracing::warn!(%error, retry_in = ?wait, "syncing the cluster with the cloud failed");
            state.cloud.sync_retry = Some((attempts + 1, Instant::now() + wait));
        }
    }
}
