//! The calls that change the cloud: create (adopting what a lost response created),
//! update and delete, each journaled as a pending operation before the call.

use std::sync::Mutex;

use girder_core::{FieldPath, NodeKind};

use super::{Job, JobError, JobOutcome, missing_record};
use crate::apply::Shared;
use crate::events::ActionKind;
use crate::plan::Step;
use crate::provider::{CreateRequest, CreateResponse, DeleteRequest, ErrorKind, UpdateRequest};
use crate::recovery::{duplicates, find_landed};
use crate::state::{Mutation, OperationKind, ResourceState};

impl Shared {
    pub(super) async fn create(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let configured = self.provider_for(step).await?;
        let replacing = job.kind == ActionKind::CreateReplacement;
        let kind = if replacing {
            OperationKind::CreateReplacement
        } else {
            OperationKind::Create
        };
        let operation = self.pending(kind, step, &job.inputs, None, None);
        self.journal.begin(&operation).await?;
        // tokio's clock: virtual under a paused test clock, like the walk's own durations.
        let started = tokio::time::Instant::now();
        let identity = self.identity(step);
        let revealed = job.inputs.reveal();
        let mut attempts = 0u32;
        let extras = Mutex::new(Vec::new());
        let result = self
            .policy(step, &configured, job.timeout)
            .run(|ctx| {
                attempts += 1;
                let retrying = attempts > 1;
                let request = CreateRequest {
                    identity: identity.clone(),
                    inputs: revealed.clone(),
                };
                let provider = configured.provider.clone();
                let extras = &extras;
                async move {
                    // A failed attempt may have created the resource anyway (the response was
                    // lost to a timeout or a 5xx after the cloud acted): look for it by its
                    // identity before creating a second one.
                    if retrying
                        && let Some(landed) = find_landed(
                            provider.as_ref(),
                            &request.identity,
                            &self.known_ids(step),
                            &ctx,
                        )
                        .await?
                    {
                        ctx.progress(&format!(
                            "adopted {}, which an earlier attempt created",
                            landed.adopted.id
                        ));
                        *extras.lock().unwrap_or_else(|p| p.into_inner()) = landed.extras;
                        return Ok(CreateResponse {
                            id: landed.adopted.id,
                            outputs: landed.adopted.observed.outputs,
                        });
                    }
                    provider.create(request, &ctx).await
                }
            })
            .await;
        match result {
            Ok(created) => {
                let state = ResourceState {
                    create_ms: Some(
                        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    ),
                    ..self.created_state(step, created.id, job.inputs.clone(), created.outputs)
                };
                let outputs = state.outputs.clone();
                let mut mutations = Vec::new();
                let mut deposed_key = None;
                if replacing && step.old.is_some() {
                    let key = format!("{}", operation.id);
                    mutations.push(Mutation::Depose {
                        name: step.resource.clone(),
                        key: key.clone(),
                    });
                    deposed_key = Some(key);
                }
                // Further copies that failed attempts left behind go the way crash recovery
                // sends them: deposed, deleted by the next apply.
                let extras = extras.into_inner().unwrap_or_else(|p| p.into_inner());
                mutations.extend(duplicates(
                    &step.resource,
                    operation.id,
                    extras.into_iter().map(|extra| {
                        self.created_state(
                            step,
                            extra.id,
                            extra.observed.inputs,
                            extra.observed.outputs,
                        )
                    }),
                ));
                mutations.push(Mutation::Upsert { resource: state });
                self.journal.commit(operation.id, &mutations).await?;
                Ok(JobOutcome {
                    outputs: Some(outputs),
                    deposed_key,
                })
            }
            Err(error) => {
                self.close_failed_create(operation.id, &error, step, &job.inputs, replacing)
                    .await?;
                Err(error.into())
            }
        }
    }

    pub(super) async fn update(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let old = step.old.as_ref().ok_or_else(|| missing_record(step))?;
        let configured = self.provider_for(step).await?;
        // One an earlier create stopped waiting for is waited for first: updating a resource
        // the cloud is still setting up fails (in use) or races that setup.
        let waited;
        let old = if old.creating {
            waited = self
                .wait_until_created(step, old, &configured, job.timeout)
                .await?;
            &waited
        } else {
            &**old
        };
        let operation = self.pending(
            OperationKind::Update,
            step,
            &job.inputs,
            Some(&old.id),
            None,
        );
        self.journal.begin(&operation).await?;
        let changed: Vec<FieldPath> = crate::diff::diff(&old.inputs, &job.inputs)
            .into_iter()
            .map(|d| d.path)
            .collect();
        let request = UpdateRequest {
            identity: self.identity(step),
            id: old.id.clone(),
            old_inputs: old.inputs.reveal(),
            old_outputs: old.outputs.reveal(),
            inputs: job.inputs.reveal(),
            changed,
        };
        let result = self
            .policy(step, &configured, job.timeout)
            .run(|ctx| {
                let request = request.clone();
                let provider = configured.provider.clone();
                async move { provider.update(request, &ctx).await }
            })
            .await;
        match result {
            Ok(updated) => {
                let state = ResourceState {
                    created_at: old.created_at.clone(),
                    create_ms: old.create_ms,
                    ..self.state_of(step, old.id.clone(), job.inputs.clone(), updated.outputs)
                };
                let outputs = state.outputs.clone();
                self.journal
                    .commit(operation.id, &[Mutation::Upsert { resource: state }])
                    .await?;
                Ok(JobOutcome {
                    outputs: Some(outputs),
                    deposed_key: None,
                })
            }
            Err(error) => {
                if !matches!(error.kind, ErrorKind::Timeout | ErrorKind::Cancelled) {
                    self.journal.commit(operation.id, &[]).await?;
                }
                Err(error.into())
            }
        }
    }

    pub(super) async fn delete(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let old = step.old.as_ref().ok_or_else(|| missing_record(step))?;
        let deposed_key = job.deposed_key.as_deref().or(step.deposed_key.as_deref());
        let removal = match deposed_key {
            Some(key) => Mutation::RemoveDeposed {
                key: key.to_owned(),
            },
            None => Mutation::Remove {
                name: step.resource.clone(),
            },
        };
        if step.retain_on_delete || old.kind == NodeKind::Provider || old.kind == NodeKind::Read {
            // Nothing to delete in the cloud: forget it.
            self.journal.record(&[removal]).await?;
            return Ok(JobOutcome::default());
        }
        let configured = self.provider_for(step).await?;
        let kind = if deposed_key.is_some() {
            OperationKind::DeleteDeposed
        } else {
            OperationKind::Delete
        };
        let operation = self.pending(kind, step, &old.inputs, Some(&old.id), deposed_key);
        self.journal.begin(&operation).await?;
        let request = DeleteRequest {
            identity: self.identity(step),
            id: old.id.clone(),
            inputs: old.inputs.reveal(),
            outputs: old.outputs.reveal(),
        };
        let result = self
            .policy(step, &configured, job.timeout)
            .run(|ctx| {
                let request = request.clone();
                let provider = configured.provider.clone();
                async move {
                    match provider.delete(request, &ctx).await {
                        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
                        other => other,
                    }
                }
            })
            .await;
        match result {
            Ok(()) => {
                self.journal.commit(operation.id, &[removal]).await?;
                Ok(JobOutcome::default())
            }
            Err(error) => {
                if !matches!(error.kind, ErrorKind::Timeout | ErrorKind::Cancelled) {
                    self.journal.commit(operation.id, &[]).await?;
                }
                Err(error.into())
            }
        }
    }
}
