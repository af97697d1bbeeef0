//! Refresh: read what exists in the cloud, in batches per provider and type, so that drift
//! (a tag edited, a route deleted, a resource removed out of band) shows in the next plan.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use girder_core::{FieldPath, Graph, NodeKind, Value};

pub use crate::consistency::Consistency;

use crate::apply::{EngineContext, RetryPolicy};
use crate::consistency::Young;
use crate::events::Event;
use crate::provider::{CallContext, ErrorKind, Observed, ProviderError, ReadItem, ReadRequest};
use crate::providers::{Unavailable, provider_for};
use crate::state::{Mutation, ResourceState, Snapshot};

/// The time limit of one read call.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// What a refresh found.
#[derive(Clone, Debug, Default)]
pub struct RefreshReport {
    /// The state as the cloud reports it.
    pub snapshot: Snapshot,
    /// The changes to record (to persist the refresh).
    pub mutations: Vec<Mutation>,
    /// Resources whose inputs in the cloud differ from the record (drift). Resources whose
    /// outputs only moved on (a status, a timestamp) are updated silently.
    pub changed: Vec<String>,
    /// Resources gone from the cloud.
    pub gone: Vec<String>,
    /// Resources created within the consistency window that reads still do not find: most
    /// likely not listed yet, so their records are kept (and a warning shown) rather than
    /// dropped.
    pub not_visible_yet: Vec<String>,
    /// Resources not read, with why (a provider not configurable yet).
    pub skipped: Vec<(String, String)>,
    /// Provider read calls made.
    pub calls: usize,
    /// API requests per type: as the provider counted them, else one per read call.
    pub requests: BTreeMap<String, u64>,
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
#[error("refresh failed reading {type_name} ({resources}): {source}")]
pub struct RefreshError {
    /// The type being read.
    pub type_name: String,
    /// The resources of the failed batch, comma-separated.
    pub resources: String,
    /// The provider's error.
    #[source]
    pub source: ProviderError,
}

/// Copies secret markers from `recorded` onto the same paths of `observed`.
fn keep_secret_markers(observed: &mut Value, recorded: &Value, at: FieldPath) {
    match recorded {
        Value::Secret(_) => {
            if let Some(value) = observed.lookup(&at) {
                let _ = observed.set(&at, value.into_secret());
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                keep_secret_markers(observed, value, at.child(key.clone()));
            }
        }
        _ => {}
    }
}

fn refreshed(
    resource: &ResourceState,
    observed: Observed,
    registry: &crate::registry::Registry,
) -> ResourceState {
    // A read node's inputs are the read's parameters (its id), not the object's settings.
    let mut inputs = if resource.kind == NodeKind::Read {
        resource.inputs.clone()
    } else {
        observed.inputs
    };
    keep_secret_markers(&mut inputs, &resource.inputs, FieldPath::root());
    let outputs = crate::apply::recorded_outputs_for(
        &resource.id,
        observed.outputs,
        &inputs,
        registry.schema(&resource.type_name),
    );
    ResourceState {
        inputs,
        outputs,
        ..resource.clone()
    }
}

/// Reads every recorded resource (and deposed object) and returns the refreshed state.
///
/// Reads are batched per provider and type and run `parallelism` at a time, each under the
/// engine's retry policy. A resource a read does not find within the context's consistency
/// window after its creation ([`Consistency`]) is read again for a while and, if it still
/// does not show, kept and listed in [`RefreshReport::not_visible_yet`] instead of dropped.
pub async fn refresh(
    snapshot: &Snapshot,
    graph: Option<&Graph>,
    ctx: &EngineContext,
    parallelism: usize,
    retry: RetryPolicy,
) -> Result<RefreshReport, RefreshError> {
    let started = Instant::now();
    let mut groups: BTreeMap<(Option<String>, String), Vec<&ResourceState>> = BTreeMap::new();
    for resource in snapshot.resources.values() {
        if resource.kind != NodeKind::Provider {
            groups
                .entry((resource.provider.clone(), resource.type_name.clone()))
                .or_default()
                .push(resource);
        }
    }
    ctx.events.emit(Event::RefreshStarted {
        resources: groups.values().map(Vec::len).sum(),
    });

    let mut report = RefreshReport {
        snapshot: snapshot.clone(),
        ..RefreshReport::default()
    };
    let mut batches = Vec::new();
    for ((provider, type_name), resources) in &groups {
        let configured = match provider_for(
            &ctx.instances,
            type_name,
            provider.as_deref(),
            snapshot,
            graph,
        )
        .await
        {
            Ok(configured) => configured,
            Err(Unavailable::Unknown(why)) => {
                report
                    .skipped
                    .extend(resources.iter().map(|r| (r.name.clone(), why.clone())));
                continue;
            }
            Err(Unavailable::Failed(source)) => {
                return Err(RefreshError {
                    type_name: type_name.clone(),
                    resources: resources
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    source,
                });
            }
        };
        let batch = configured.provider.read_batch_size().max(1);
        for chunk in resources.chunks(batch) {
            batches.push((configured.clone(), type_name.clone(), chunk.to_vec()));
        }
    }
    report.calls = batches.len();

    let stack = ctx.stack.clone();
    let now = ctx.clock.now();
    let consistency = ctx.consistency;
    let results = futures::stream::iter(batches)
        .map(|(configured, type_name, chunk)| {
            let stack = stack.clone();
            async move {
                let request = ReadRequest {
                    type_name: type_name.clone(),
                    items: chunk
                        .iter()
                        .map(|r| ReadItem {
                            identity: r.identity(&stack),
                            id: r.id.clone(),
                            inputs: Some(r.inputs.reveal()),
                        })
                        .collect(),
                };
                // Young resources the read does not find are read again here, so the batches'
                // re-reads overlap instead of adding up.
                let mut requests = 1;
                let result =
                    match read_with_retries(&configured, request, retry, READ_TIMEOUT).await {
                        Ok(response) => {
                            requests = response.requests.unwrap_or(1);
                            let young = Young {
                                configured: &configured,
                                type_name: &type_name,
                                stack: &stack,
                                now,
                                consistency,
                                retry,
                            };
                            young.settle(&chunk, response.items).await
                        }
                        Err(error) => Err(error),
                    };
                (type_name, chunk, result, requests)
            }
        })
        .buffer_unordered(parallelism.max(1))
        .collect::<Vec<_>>()
        .await;

    for (type_name, chunk, result, requests) in results {
        *report.requests.entry(type_name.clone()).or_default() += requests;
        let (items, kept) = result.map_err(|source| RefreshError {
            type_name: type_name.clone(),
            resources: chunk
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            source,
        })?;
        for (resource, &kept) in chunk.iter().zip(&kept) {
            if kept {
                report.not_visible_yet.push(resource.name.clone());
            }
        }
        for ((resource, observed), kept) in chunk.into_iter().zip(items).zip(kept) {
            match observed {
                None if kept => {}
                None => {
                    report.gone.push(resource.name.clone());
                    report.snapshot.resources.remove(&resource.name);
                    report.mutations.push(Mutation::Remove {
                        name: resource.name.clone(),
                    });
                }
                Some(observed) => {
                    let updated = refreshed(resource, observed, &ctx.registry);
                    let drifted = updated.inputs.reveal() != resource.inputs.reveal();
                    if drifted || updated.outputs.reveal() != resource.outputs.reveal() {
                        if drifted {
                            report.changed.push(resource.name.clone());
                        }
                        report
                            .snapshot
                            .resources
                            .insert(resource.name.clone(), Arc::new(updated.clone()));
                        report
                            .mutations
                            .push(Mutation::Upsert { resource: updated });
                    }
                }
            }
        }
    }
    ctx.events.emit(Event::RefreshFinished {
        changed: report.changed.len(),
        gone: report.gone.len(),
        calls: report.calls,
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    Ok(report)
}

/// One batched read under the retry policy; a response of the wrong length is a provider bug.
pub(crate) async fn read_with_retries(
    configured: &crate::registry::Configured,
    request: ReadRequest,
    retry: RetryPolicy,
    timeout: Duration,
) -> Result<crate::provider::ReadResponse, ProviderError> {
    let expected = request.items.len();
    let mut attempt = 1;
    let mut delay = retry.min_delay;
    loop {
        configured.admit().await;
        let ctx = CallContext::detached(timeout);
        let result =
            match tokio::time::timeout(timeout, configured.provider.read(request.clone(), &ctx))
                .await
            {
                Ok(result) => result,
                Err(_) => Err(ProviderError::new(
                    ErrorKind::Timeout,
                    "the read did not finish in time",
                )),
            };
        match result {
            Ok(response) if response.items.len() == expected => return Ok(response),
            Ok(response) => {
                return Err(ProviderError::permanent(format!(
                    "the provider answered {} results for {expected} resources (a provider bug)",
                    response.items.len()
                )));
            }
            Err(error) if error.is_retryable() && attempt < retry.max_attempts => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(retry.max_delay);
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Reads the program's read nodes (existing resources, stack references) whose inputs are known
/// now, so a plan shows their outputs; records them into `snapshot` and returns the mutations
/// that persist them.
pub async fn read_data(
    graph: &Graph,
    snapshot: &mut Snapshot,
    ctx: &EngineContext,
    retry: RetryPolicy,
) -> Result<Vec<Mutation>, RefreshError> {
    let mut mutations = Vec::new();
    for &index in graph.topological_order() {
        let node = graph.node_at(index);
        if node.spec.kind != NodeKind::Read {
            continue;
        }
        let recorded = |id: girder_core::NodeId| {
            snapshot
                .resources
                .get(&graph.node(id).spec.name)
                .map(|r| &r.outputs)
        };
        let Ok(inputs) = node.spec.inputs.resolve(&recorded) else {
            continue;
        };
        if inputs.contains_unknown() {
            continue;
        }
        let Some(id) = inputs.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let provider_name = node.spec.provider.map(|p| graph.node(p).spec.name.clone());
        let fail = |source: ProviderError| RefreshError {
            type_name: node.spec.type_name.clone(),
            resources: node.spec.name.clone(),
            source,
        };
        let configured = match provider_for(
            &ctx.instances,
            &node.spec.type_name,
            provider_name.as_deref(),
            snapshot,
            Some(graph),
        )
        .await
        {
            Ok(configured) => configured,
            Err(Unavailable::Unknown(_)) => continue,
            Err(Unavailable::Failed(error)) => return Err(fail(error)),
        };
        let identity = crate::provider::ResourceIdentity {
            stack: ctx.stack.clone(),
            name: node.spec.name.clone(),
            type_name: node.spec.type_name.clone(),
        };
        let request = ReadRequest {
            type_name: node.spec.type_name.clone(),
            items: vec![ReadItem {
                identity,
                id: id.clone(),
                inputs: Some(inputs.reveal()),
            }],
        };
        let observed = read_with_retries(&configured, request, retry, READ_TIMEOUT)
            .await
            .map_err(fail)?
            .items
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| {
                fail(ProviderError::not_found(format!(
                    "there is no `{}` with id `{id}` to read for `{}`",
                    node.spec.type_name, node.spec.name
                )))
            })?;
        let state = ResourceState {
            name: node.spec.name.clone(),
            type_name: node.spec.type_name.clone(),
            kind: NodeKind::Read,
            outputs: crate::apply::recorded_outputs_for(
                &id,
                observed.outputs,
                &inputs,
                ctx.registry.schema(&node.spec.type_name),
            ),
            id,
            provider: provider_name,
            inputs,
            dependencies: node
                .dependencies
                .iter()
                .map(|&d| graph.node_at(d).spec.name.clone())
                .collect(),
            protect: false,
            retain_on_delete: false,
            tainted: false,
            creating: false,
            created_at: None,
            create_ms: None,
        };
        if snapshot.resources.get(&state.name).map(|r| &**r) != Some(&state) {
            snapshot
                .resources
                .insert(state.name.clone(), Arc::new(state.clone()));
            mutations.push(Mutation::Upsert { resource: state });
        }
    }
    Ok(mutations)
}
