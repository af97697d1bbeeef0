//! Executes one action: journal the pending operation, call the provider under the call
//! policy, journal the result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use girder_core::{FieldPath, NodeKind, Value};

use super::Shared;
use super::call::CallPolicy;
use crate::events::ActionKind;
use crate::plan::Step;
use crate::provider::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorKind, ProviderError, ReadItem, ReadRequest,
    ResourceIdentity, ResourceSchema, UpdateRequest,
};
use crate::recovery::{duplicates, find_landed};
use crate::registry::{Configured, ProviderKey};
use crate::state::{Mutation, OperationKind, PendingOperation, ResourceState};

/// What the scheduler hands to a task.
pub(crate) struct Job {
    pub kind: ActionKind,
    pub step: usize,
    /// The inputs resolved from the outputs of finished dependencies.
    pub inputs: Value,
    pub timeout: Duration,
    /// For deleting a replaced object: its deposed key.
    pub deposed_key: Option<String>,
}

/// What a task hands back.
#[derive(Debug, Default)]
pub(crate) struct JobOutcome {
    /// The outputs, for actions that produce a node's outputs.
    pub outputs: Option<Value>,
    /// The deposed key under which a replaced object was kept.
    pub deposed_key: Option<String>,
}

/// Why an action failed.
#[derive(Debug)]
pub(crate) struct JobError {
    pub message: String,
    /// The journal failed: stop starting work.
    pub fatal: bool,
}

impl From<ProviderError> for JobError {
    fn from(error: ProviderError) -> Self {
        JobError {
            message: error.to_string(),
            fatal: false,
        }
    }
}

impl From<crate::state::JournalError> for JobError {
    fn from(error: crate::state::JournalError) -> Self {
        JobError {
            message: error.to_string(),
            fatal: true,
        }
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Paths of every secret inside `value`.
fn secret_paths(value: &Value, at: FieldPath, out: &mut Vec<FieldPath>) {
    match value {
        Value::Secret(_) => out.push(at),
        Value::Object(map) => {
            for (key, item) in map {
                secret_paths(item, at.child(key.clone()), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                secret_paths(item, at.index(i), out);
            }
        }
        _ => {}
    }
}

/// The outputs to record: the provider's, plus `id`, with secret inputs and the schema's
/// secret outputs marked secret.
pub(crate) fn recorded_outputs(
    id: &str,
    outputs: Value,
    inputs: &Value,
    schema: Option<&ResourceSchema>,
) -> Value {
    let mut outputs = match outputs {
        Value::Object(map) => Value::Object(map),
        Value::Null => Value::object(),
        other => {
            let mut wrapped = Value::object();
            let _ = wrapped.set(&FieldPath::key("value"), other);
            wrapped
        }
    };
    let _ = outputs.set(&FieldPath::key("id"), Value::String(id.to_owned()));
    let mut secrets = Vec::new();
    secret_paths(inputs, FieldPath::root(), &mut secrets);
    if let Some(schema) = schema {
        secrets.extend(schema.secret_outputs.iter().cloned());
    }
    for path in secrets {
        if let Some(value) = outputs.lookup(&path) {
            let _ = outputs.set(&path, value.into_secret());
        }
    }
    outputs
}

impl Shared {
    fn identity(&self, step: &Step) -> ResourceIdentity {
        ResourceIdentity {
            stack: self.stack.clone(),
            name: step.resource.clone(),
            type_name: step.type_name.clone(),
        }
    }

    fn state_of(&self, step: &Step, id: String, inputs: Value, outputs: Value) -> ResourceState {
        let schema = self.registry.schema(&step.type_name);
        ResourceState {
            name: step.resource.clone(),
            type_name: step.type_name.clone(),
            kind: step.node_kind.clone(),
            outputs: recorded_outputs(&id, outputs, &inputs, schema),
            id,
            provider: step.provider.clone(),
            inputs,
            dependencies: step.dependencies.clone(),
            protect: step.protect,
            retain_on_delete: step.retain_on_delete,
            tainted: false,
        }
    }

    /// Cloud ids already recorded under the step's name (the object a replacement replaces,
    /// deposed leftovers): they carry the same identity tags but are not a create's result.
    /// Asked only when a create is retried; the deposed objects are indexed once, then.
    fn known_ids(&self, step: &Step) -> Vec<String> {
        let deposed = self.deposed_ids.get_or_init(|| {
            let mut index: HashMap<String, Vec<String>> = HashMap::new();
            for s in self.plan.steps.iter().filter(|s| s.deposed_key.is_some()) {
                if let Some(old) = &s.old {
                    index
                        .entry(s.resource.clone())
                        .or_default()
                        .push(old.id.clone());
                }
            }
            index
        });
        step.old
            .iter()
            .map(|r| r.id.clone())
            .chain(deposed.get(&step.resource).into_iter().flatten().cloned())
            .collect()
    }

    fn pending(
        &self,
        kind: OperationKind,
        step: &Step,
        inputs: &Value,
        cloud_id: Option<&str>,
        deposed_key: Option<&str>,
    ) -> PendingOperation {
        PendingOperation {
            id: self.journal.next_operation_id(),
            kind,
            identity: self.identity(step),
            provider: step.provider.clone(),
            cloud_id: cloud_id.map(str::to_owned),
            deposed_key: deposed_key.map(str::to_owned),
            inputs: inputs.clone(),
            dependencies: step.dependencies.clone(),
            started_at: now_rfc3339(),
        }
    }

    /// The configured provider for a step.
    async fn provider_for(&self, step: &Step) -> Result<Configured, ProviderError> {
        let key = ProviderKey::for_resource(&step.type_name, step.provider.as_deref());
        if let Some(configured) = self.instances.configured(&key) {
            return Ok(configured);
        }
        let (package, config) = match &key {
            ProviderKey::Default(package) => (package.clone(), Value::Null),
            ProviderKey::Node(name) => {
                let recorded = self.provider_configs.get(name).ok_or_else(|| {
                    ProviderError::permanent(format!(
                        "the provider `{name}` of `{}` is neither in the program nor recorded in the state",
                        step.resource
                    ))
                })?;
                recorded.clone()
            }
        };
        self.instances.get(&key, &package, &config).await
    }

    fn policy<'a>(
        &'a self,
        step: &'a Step,
        configured: &'a Configured,
        timeout: Duration,
    ) -> CallPolicy<'a> {
        CallPolicy {
            resource: &step.resource,
            configured,
            timeout,
            retry: self.retry,
            abort: &self.abort,
            events: &self.events,
        }
    }

    /// Closes a pending operation after a failed call. A call whose outcome is unknown (time
    /// limit, abort) stays pending, so the next run asks the cloud what happened.
    async fn close_failed(
        &self,
        operation: u64,
        error: &ProviderError,
        step: &Step,
        inputs: &Value,
    ) -> Result<(), JobError> {
        if matches!(error.kind, ErrorKind::Timeout | ErrorKind::Cancelled)
            && error.partial.is_none()
        {
            return Ok(());
        }
        let mut mutations = Vec::new();
        if let Some(partial) = &error.partial {
            let mut state = self.state_of(
                step,
                partial.id.clone(),
                inputs.clone(),
                partial.outputs.clone(),
            );
            state.tainted = true;
            mutations.push(Mutation::Upsert { resource: state });
        }
        self.journal.commit(operation, &mutations).await?;
        Ok(())
    }

    /// Runs one job.
    pub(crate) async fn execute(self: Arc<Self>, job: Job) -> Result<JobOutcome, JobError> {
        let step = &self.plan.steps[job.step];
        match job.kind {
            ActionKind::Configure => self.configure(step, job.inputs).await,
            ActionKind::Create | ActionKind::CreateReplacement => self.create(step, &job).await,
            ActionKind::Update => self.update(step, &job).await,
            ActionKind::Delete | ActionKind::DeleteReplaced => self.delete(step, &job).await,
            ActionKind::Read => self.read(step, &job).await,
            ActionKind::Import => self.import(step, &job).await,
            ActionKind::Same => Ok(JobOutcome {
                outputs: step.old.as_ref().map(|o| o.outputs.clone()),
                deposed_key: None,
            }),
        }
    }

    async fn configure(&self, step: &Step, config: Value) -> Result<JobOutcome, JobError> {
        let package = girder_core::package_of(&step.type_name);
        let package_impl = self.registry.package(package).ok_or_else(|| {
            ProviderError::invalid_input(format!("no provider package `{package}` is registered"))
        })?;
        let provider = package_impl.configure(&config).await?;
        self.instances.set(
            ProviderKey::Node(step.resource.clone()),
            Configured::new(provider),
        );
        let changed = step
            .old
            .as_ref()
            .is_none_or(|old| old.inputs != config || old.dependencies != step.dependencies);
        if changed {
            let state = ResourceState {
                name: step.resource.clone(),
                type_name: step.type_name.clone(),
                kind: NodeKind::Provider,
                id: step.resource.clone(),
                provider: None,
                inputs: config.clone(),
                outputs: config.clone(),
                dependencies: step.dependencies.clone(),
                protect: false,
                retain_on_delete: false,
                tainted: false,
            };
            self.journal
                .record(&[Mutation::Upsert { resource: state }])
                .await?;
        }
        Ok(JobOutcome {
            outputs: Some(config),
            deposed_key: None,
        })
    }

    async fn create(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let configured = self.provider_for(step).await?;
        let replacing = job.kind == ActionKind::CreateReplacement;
        let kind = if replacing {
            OperationKind::CreateReplacement
        } else {
            OperationKind::Create
        };
        let operation = self.pending(kind, step, &job.inputs, None, None);
        self.journal.begin(&operation).await?;
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
                let state = self.state_of(step, created.id, job.inputs.clone(), created.outputs);
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
                        self.state_of(
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
                self.close_failed(operation.id, &error, step, &job.inputs)
                    .await?;
                Err(error.into())
            }
        }
    }

    async fn update(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let old = step.old.as_ref().ok_or_else(|| missing_record(step))?;
        let configured = self.provider_for(step).await?;
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
                let state =
                    self.state_of(step, old.id.clone(), job.inputs.clone(), updated.outputs);
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

    async fn delete(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
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

    async fn read_one(
        &self,
        step: &Step,
        configured: &Configured,
        id: &str,
        inputs: Option<Value>,
        timeout: Duration,
    ) -> Result<Option<crate::provider::Observed>, ProviderError> {
        let request = ReadRequest {
            type_name: step.type_name.clone(),
            items: vec![ReadItem {
                identity: self.identity(step),
                id: id.to_owned(),
                inputs,
            }],
        };
        let response = self
            .policy(step, configured, timeout)
            .run(|ctx| {
                let request = request.clone();
                let provider = configured.provider.clone();
                async move { provider.read(request, &ctx).await }
            })
            .await?;
        Ok(response.items.into_iter().next().flatten())
    }

    async fn read(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let id = job
            .inputs
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::invalid_input(format!(
                    "`{}` reads an existing resource but its `id` input is not a string",
                    step.resource
                ))
            })?;
        let configured = self.provider_for(step).await?;
        let observed = self
            .read_one(
                step,
                &configured,
                id,
                Some(job.inputs.reveal()),
                job.timeout,
            )
            .await?
            .ok_or_else(|| {
                ProviderError::not_found(format!(
                    "there is no `{}` with id `{id}` to read",
                    step.type_name
                ))
            })?;
        let state = self.state_of(step, id.to_owned(), job.inputs.clone(), observed.outputs);
        let outputs = state.outputs.clone();
        self.journal
            .record(&[Mutation::Upsert { resource: state }])
            .await?;
        Ok(JobOutcome {
            outputs: Some(outputs),
            deposed_key: None,
        })
    }

    async fn import(&self, step: &Step, job: &Job) -> Result<JobOutcome, JobError> {
        let id = step.import_id.clone().ok_or_else(|| missing_record(step))?;
        let configured = self.provider_for(step).await?;
        let operation = self.pending(OperationKind::Import, step, &job.inputs, Some(&id), None);
        self.journal.begin(&operation).await?;
        let observed = match self
            .read_one(
                step,
                &configured,
                &id,
                Some(job.inputs.reveal()),
                job.timeout,
            )
            .await
        {
            Ok(Some(observed)) => observed,
            Ok(None) => {
                self.journal.commit(operation.id, &[]).await?;
                return Err(ProviderError::not_found(format!(
                    "cannot import `{}`: there is no `{}` with id `{id}`",
                    step.resource, step.type_name
                ))
                .into());
            }
            Err(error) => {
                self.journal.commit(operation.id, &[]).await?;
                return Err(error.into());
            }
        };
        let imported = self.state_of(step, id.clone(), observed.inputs.clone(), observed.outputs);
        self.journal
            .commit(
                operation.id,
                &[Mutation::Upsert {
                    resource: imported.clone(),
                }],
            )
            .await?;
        let changes = crate::diff::diff(&observed.inputs, &job.inputs);
        if changes.is_empty() {
            return Ok(JobOutcome {
                outputs: Some(imported.outputs),
                deposed_key: None,
            });
        }
        // Bring the adopted resource in line with the program in the same run.
        let as_recorded = Step {
            old: Some(Arc::new(imported)),
            ..step.clone()
        };
        self.update(&as_recorded, job).await
    }
}

fn missing_record(step: &Step) -> JobError {
    JobError {
        message: format!(
            "internal: the plan for `{}` lacks its recorded state",
            step.resource
        ),
        fatal: false,
    }
}
