//! Crash recovery: resolve the pending operations a killed run left behind by asking the
//! providers what really exists — by id, or by the stack/resource identity tags.
//!
//! A create that happened is adopted; one that did not is dropped; duplicates (a create retried
//! after an unrecorded success) are kept as deposed objects so the next apply deletes them.
//! Recovery never creates anything and never forgets a resource.

use std::time::Duration;

use girder_core::{Graph, NodeKind};

use crate::apply::{EngineContext, recorded_outputs_for};
use crate::events::Event;
use crate::provider::{
    CallContext, FindRequest, Found, Provider, ProviderError, ReadItem, ReadRequest,
    ResourceIdentity,
};
use crate::providers::{Unavailable, provider_for};
use crate::state::{Mutation, OperationKind, PendingOperation, ResourceState, Snapshot};

/// What recovery did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveryReport {
    /// The state after recovery.
    pub snapshot: Snapshot,
    /// Resources found in the cloud and recorded.
    pub adopted: Vec<String>,
    /// Pending creates that never happened.
    pub dropped: Vec<String>,
    /// Extra copies found, recorded as deposed for deletion.
    pub duplicates: Vec<String>,
    /// Pending updates and deletes reconciled with what exists.
    pub reconciled: Vec<String>,
}

/// Why recovery could not finish. The operation must not go on: planning over an unresolved
/// pending create could create a duplicate.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot recover the interrupted {kind:?} of `{resource}`: {message}; run again once the provider is reachable"
)]
pub struct RecoveryError {
    /// The resource.
    pub resource: String,
    /// The interrupted operation.
    pub kind: OperationKind,
    /// Why.
    pub message: String,
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// Resolves every pending operation of `snapshot`, recording the results in the journal.
pub async fn recover(
    snapshot: &Snapshot,
    graph: Option<&Graph>,
    ctx: &EngineContext,
) -> Result<RecoveryReport, RecoveryError> {
    let mut report = RecoveryReport {
        snapshot: snapshot.clone(),
        ..RecoveryReport::default()
    };
    if snapshot.pending.is_empty() {
        return Ok(report);
    }
    ctx.events.emit(Event::RecoveryStarted {
        pending: snapshot.pending.len(),
    });
    let mut working = snapshot.clone();
    for operation in &snapshot.pending {
        let mutations = resolve(operation, &working, graph, ctx, &mut report).await?;
        ctx.journal
            .commit(operation.id, &mutations)
            .await
            .map_err(|e| RecoveryError {
                resource: operation.identity.name.clone(),
                kind: operation.kind,
                message: e.to_string(),
            })?;
        working.apply_all(&mutations);
        working.pending.retain(|p| p.id != operation.id);
        working.serial += 1;
    }
    report.snapshot = working;
    ctx.events.emit(Event::RecoveryFinished {
        adopted: report.adopted.len(),
        dropped: report.dropped.len(),
    });
    Ok(report)
}

/// What a create left in the cloud although its result was never recorded (a crash, or a
/// response lost before a retry).
pub(crate) struct Landed {
    /// The object to adopt.
    pub adopted: Found,
    /// Further copies (several attempts that all landed), to be deleted.
    pub extras: Vec<Found>,
}

/// Asks the provider for objects tagged with `identity` that girder does not know yet
/// (`known`: the ids recorded under the name). The choice among several is by id, so
/// recovery and a retried create pick the same one.
pub(crate) async fn find_landed(
    provider: &dyn Provider,
    identity: &ResourceIdentity,
    known: &[String],
    ctx: &CallContext,
) -> Result<Option<Landed>, ProviderError> {
    let request = FindRequest {
        identity: identity.clone(),
    };
    let mut new: Vec<Found> = provider
        .find(request, ctx)
        .await?
        .found
        .into_iter()
        .filter(|found| !known.contains(&found.id))
        .collect();
    new.sort_by(|a, b| a.id.cmp(&b.id));
    let mut new = new.into_iter();
    Ok(new.next().map(|adopted| Landed {
        adopted,
        extras: new.collect(),
    }))
}

/// Records extra copies of `name` as deposed, so the next apply deletes them instead of
/// leaving them untracked.
pub(crate) fn duplicates(
    name: &str,
    operation: u64,
    extras: impl IntoIterator<Item = ResourceState>,
) -> Vec<Mutation> {
    extras
        .into_iter()
        .enumerate()
        .flat_map(|(i, resource)| {
            [
                Mutation::Upsert { resource },
                Mutation::Depose {
                    name: name.to_owned(),
                    key: format!("duplicate-{operation}-{i}"),
                },
            ]
        })
        .collect()
}

async fn resolve(
    operation: &PendingOperation,
    snapshot: &Snapshot,
    graph: Option<&Graph>,
    ctx: &EngineContext,
    report: &mut RecoveryReport,
) -> Result<Vec<Mutation>, RecoveryError> {
    let fail = |message: String| RecoveryError {
        resource: operation.identity.name.clone(),
        kind: operation.kind,
        message,
    };
    let configured = provider_for(
        &ctx.instances,
        &operation.identity.type_name,
        operation.provider.as_deref(),
        snapshot,
        graph,
    )
    .await
    .map_err(|e| match e {
        Unavailable::Unknown(why) => fail(why),
        Unavailable::Failed(error) => fail(error.to_string()),
    })?;
    let provider_fail = |e: ProviderError| fail(e.to_string());
    let name = &operation.identity.name;
    let schema = ctx.registry.schema(&operation.identity.type_name);
    let state_for = |id: &str, inputs, outputs| ResourceState {
        name: name.clone(),
        type_name: operation.identity.type_name.clone(),
        kind: NodeKind::Resource,
        id: id.to_owned(),
        provider: operation.provider.clone(),
        outputs: recorded_outputs_for(id, outputs, &inputs, schema),
        inputs,
        dependencies: operation.dependencies.clone(),
        protect: false,
        retain_on_delete: false,
        tainted: false,
        creating: false,
        // The create began when the interrupted operation did: close enough for refresh to
        // know the resource is young.
        created_at: Some(operation.started_at.clone()),
        create_ms: None,
    };

    match operation.kind {
        OperationKind::Create | OperationKind::CreateReplacement | OperationKind::Import => {
            // Ids girder already knows under this name are not the pending create's result.
            let known: Vec<String> = snapshot
                .resources
                .get(name)
                .map(|r| r.id.clone())
                .into_iter()
                .chain(
                    snapshot
                        .deposed
                        .iter()
                        .filter(|d| &d.resource.name == name)
                        .map(|d| d.resource.id.clone()),
                )
                .collect();
            let landed = find_landed(
                configured.provider.as_ref(),
                &operation.identity,
                &known,
                &CallContext::detached(TIMEOUT),
            )
            .await
            .map_err(provider_fail)?;
            let Some(landed) = landed else {
                report.dropped.push(name.clone());
                return Ok(Vec::new());
            };
            let mut mutations = Vec::new();
            if snapshot.resources.contains_key(name) {
                // The current object is replaced by the adopted one (create-before-destroy).
                mutations.push(Mutation::Depose {
                    name: name.clone(),
                    key: format!("recovered-{}", operation.id),
                });
            }
            for extra in &landed.extras {
                report.duplicates.push(format!("{name} ({})", extra.id));
            }
            let extras = landed
                .extras
                .into_iter()
                .map(|extra| state_for(&extra.id, extra.observed.inputs, extra.observed.outputs));
            mutations.extend(duplicates(name, operation.id, extras));
            mutations.push(Mutation::Upsert {
                resource: state_for(
                    &landed.adopted.id,
                    operation.inputs.clone(),
                    landed.adopted.observed.outputs,
                ),
            });
            report.adopted.push(name.clone());
            Ok(mutations)
        }
        OperationKind::Update | OperationKind::Delete | OperationKind::DeleteDeposed => {
            let Some(id) = &operation.cloud_id else {
                return Err(fail("the pending operation records no cloud id".into()));
            };
            let request = ReadRequest {
                type_name: operation.identity.type_name.clone(),
                items: vec![ReadItem {
                    identity: operation.identity.clone(),
                    id: id.clone(),
                    inputs: Some(operation.inputs.reveal()),
                }],
            };
            let observed = configured
                .provider
                .read(request, &CallContext::detached(TIMEOUT))
                .await
                .map_err(provider_fail)?
                .items
                .into_iter()
                .next()
                .flatten();
            report.reconciled.push(name.clone());
            Ok(match (operation.kind, observed) {
                (OperationKind::DeleteDeposed, None) => vec![Mutation::RemoveDeposed {
                    key: operation.deposed_key.clone().unwrap_or_default(),
                }],
                (OperationKind::DeleteDeposed, Some(_)) => Vec::new(),
                // An interrupted update says nothing about whether the resource exists: a
                // young one may not be listed yet. Refresh, which runs next, judges absence
                // with its consistency window.
                (OperationKind::Update, None) => Vec::new(),
                (_, None) => vec![Mutation::Remove { name: name.clone() }],
                (OperationKind::Delete, Some(_)) => Vec::new(),
                (_, Some(observed)) => {
                    let mut resource = snapshot
                        .resources
                        .get(name)
                        .map(|r| ResourceState::clone(r))
                        .unwrap_or_else(|| {
                            state_for(id, observed.inputs.clone(), observed.outputs.clone())
                        });
                    resource.outputs =
                        recorded_outputs_for(id, observed.outputs, &observed.inputs, schema);
                    resource.inputs = observed.inputs;
                    vec![Mutation::Upsert { resource }]
                }
            })
        }
    }
}
