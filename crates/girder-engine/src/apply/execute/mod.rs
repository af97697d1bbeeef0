//! Executes one action: journal the pending operation, call the provider under the call
//! policy, journal the result. This module holds what every call shares (the job types,
//! identities, pending operations, the recorded shape of outputs, provider lookup) and the
//! dispatch; the calls that change the cloud are in `changes`, the ones that read it in
//! `reads`, so each file stays about one kind of provider call.

mod changes;
mod reads;
mod resume;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use girder_core::{FieldPath, NodeKind, Value};

use super::Shared;
use super::call::CallPolicy;
use crate::events::ActionKind;
use crate::plan::Step;
use crate::provider::{ErrorKind, ProviderError, ResourceIdentity, ResourceSchema};
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
            creating: false,
            created_at: None,
            create_ms: None,
        }
    }

    /// The state of an object a create just made (or left behind): stamped with its creation
    /// time, so refresh can tell "not listed yet" from "deleted".
    fn created_state(
        &self,
        step: &Step,
        id: String,
        inputs: Value,
        outputs: Value,
    ) -> ResourceState {
        ResourceState {
            created_at: Some(self.clock.now_rfc3339()),
            ..self.state_of(step, id, inputs, outputs)
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
            started_at: self.clock.now_rfc3339(),
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

    /// Closes a pending operation after a failed create. A call whose outcome is unknown (time
    /// limit, abort) stays pending, so the next run asks the cloud what happened.
    ///
    /// A resource the call left behind is recorded: as still *creating* when the error was a
    /// passing one (the next apply waits for it again), as *tainted* when the cloud reported
    /// it broken (the next plan replaces it). A replacement's partial never overwrites the
    /// object it was to replace — that one is still in the cloud, so it is kept as deposed and
    /// deleted by the next apply, like any replaced object.
    async fn close_failed_create(
        &self,
        operation: u64,
        error: &ProviderError,
        step: &Step,
        inputs: &Value,
        replacing: bool,
    ) -> Result<(), JobError> {
        if matches!(error.kind, ErrorKind::Timeout | ErrorKind::Cancelled)
            && error.partial.is_none()
        {
            return Ok(());
        }
        let mut mutations = Vec::new();
        if let Some(partial) = &error.partial {
            if replacing && step.old.is_some() {
                mutations.push(Mutation::Depose {
                    name: step.resource.clone(),
                    key: format!("{operation}"),
                });
            }
            let mut state = self.created_state(
                step,
                partial.id.clone(),
                inputs.clone(),
                partial.outputs.clone(),
            );
            if error.is_transient() {
                tracing::warn!(resource = %step.resource, id = %partial.id, %error,
                    "created, but stopped waiting for it to become ready; the next apply waits again");
                state.creating = true;
            } else {
                state.tainted = true;
            }
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
            ActionKind::Resume => self.resume(step, &job).await,
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
                creating: false,
                created_at: None,
                create_ms: None,
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
