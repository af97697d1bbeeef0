//! The executor: walks the action graph in parallel, starting each action the moment its
//! dependencies succeed, bounded by a parallelism setting and per-provider rate limits.
//!
//! A failure skips everything that depends on it while independent branches finish.
//! Cancellation stops starting new actions and lets in-flight calls finish and be recorded;
//! an abort additionally tells in-flight calls to stop waiting.

mod actions;
mod call;
mod execute;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use girder_core::{Graph, NodeKind, Value};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use call::RetryPolicy;
pub(crate) use execute::recorded_outputs as recorded_outputs_for;
use execute::{Job, JobError, JobOutcome};

use crate::events::{ActionKind, Event, EventSink};
use crate::plan::{Plan, Step};
use crate::registry::{Instances, Registry};
use crate::state::{Journal, Mutation, Snapshot};

/// How an apply runs.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Provider calls in flight at most.
    pub parallelism: usize,
    /// Retries of transient errors.
    pub retry: RetryPolicy,
    /// Stop starting new actions (first Ctrl-C).
    pub cancel: CancellationToken,
    /// Also tell in-flight calls to stop waiting (second Ctrl-C).
    pub abort: CancellationToken,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: DEFAULT_PARALLELISM,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
            abort: CancellationToken::new(),
        }
    }
}

/// Provider calls in flight by default. High, because cloud calls mostly wait; providers
/// declare their own rate limits, which the engine enforces separately.
pub const DEFAULT_PARALLELISM: usize = 256;

/// One failed action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionFailure {
    /// The resource.
    pub resource: String,
    /// What was attempted.
    pub action: ActionKind,
    /// The error.
    pub error: String,
}

/// What an apply did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ApplyReport {
    /// Actions that succeeded, by resource (no-op actions excluded).
    pub succeeded: Vec<(String, ActionKind)>,
    /// Actions that failed.
    pub failed: Vec<ActionFailure>,
    /// Actions skipped because something they need failed: resource, action, the failed
    /// resource.
    pub skipped: Vec<(String, ActionKind, String)>,
    /// Actions never started because of cancellation.
    pub not_started: Vec<(String, ActionKind)>,
    /// True if cancellation was requested.
    pub cancelled: bool,
    /// Records renamed before the actions ran.
    pub moved: Vec<girder_core::Moved>,
    /// The stack outputs after the apply (known ones).
    pub outputs: BTreeMap<String, Value>,
    /// Wall time.
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }
}

impl ApplyReport {
    /// True if every action succeeded and nothing was cancelled.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.not_started.is_empty()
    }
}

/// What an operation works with: the stack, providers, journal and event sink.
#[derive(Clone)]
pub struct EngineContext {
    /// The stack name.
    pub stack: String,
    /// The provider packages.
    pub registry: Arc<Registry>,
    /// The configured provider instances (shared by refresh, plan and apply of one run).
    pub instances: Arc<Instances>,
    /// Where each step is recorded.
    pub journal: Arc<dyn Journal>,
    /// Where events go.
    pub events: Arc<dyn EventSink>,
}

impl std::fmt::Debug for EngineContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineContext")
            .field("stack", &self.stack)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl EngineContext {
    /// A context with fresh provider instances.
    pub fn new(
        stack: impl Into<String>,
        registry: Arc<Registry>,
        journal: Arc<dyn Journal>,
        events: Arc<dyn EventSink>,
    ) -> Self {
        EngineContext {
            stack: stack.into(),
            instances: Arc::new(Instances::new(registry.clone())),
            registry,
            journal,
            events,
        }
    }
}

/// State shared by the scheduler and its tasks.
pub(crate) struct Shared {
    stack: String,
    plan: Arc<Plan>,
    registry: Arc<Registry>,
    instances: Arc<Instances>,
    journal: Arc<dyn Journal>,
    events: Arc<dyn EventSink>,
    retry: RetryPolicy,
    abort: CancellationToken,
    /// Recorded configuration of provider nodes: (package, config).
    provider_configs: HashMap<String, (String, Value)>,
    /// Cloud ids of deposed objects per resource name, indexed on the first retried create.
    deposed_ids: std::sync::OnceLock<HashMap<String, Vec<String>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Why the apply could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan names a resource the program does not declare.
    #[error(
        "the plan does not match the program: it has a step for `{0}`, which the program does not declare; make a new plan"
    )]
    PlanMismatch(String),
    /// Recording the plan's renames failed; nothing was applied.
    #[error("recording the renamed resources failed, so nothing was applied: {0}")]
    Journal(#[from] crate::state::JournalError),
}

/// Applies `plan` to the program `graph`, whose recorded state is `snapshot`.
pub async fn apply(
    graph: &Graph,
    plan: Plan,
    snapshot: &Snapshot,
    ctx: &EngineContext,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let started = Instant::now();
    let action_graph = actions::build(&plan, graph).map_err(ApplyError::PlanMismatch)?;
    // Renames are recorded first, in one journal write: every action below addresses the
    // records by their new names.
    let mut renamed;
    let snapshot = if plan.moves.is_empty() {
        snapshot
    } else {
        let mutations = crate::moves::mutations(snapshot, &plan.moves);
        ctx.journal.record(&mutations).await?;
        for moved in &plan.moves {
            ctx.events.emit(Event::Moved {
                from: moved.from.clone(),
                to: moved.to.clone(),
            });
        }
        renamed = snapshot.clone();
        renamed.apply_all(&mutations);
        &renamed
    };
    let actions = action_graph.actions;
    let plan = Arc::new(plan);
    let provider_configs = plan
        .steps
        .iter()
        .filter(|s| s.node_kind == NodeKind::Provider)
        .map(|s| {
            let config = s
                .old
                .as_ref()
                .map(|o| o.inputs.clone())
                .unwrap_or_else(|| s.inputs.clone());
            (
                s.resource.clone(),
                (girder_core::package_of(&s.type_name).to_owned(), config),
            )
        })
        .collect();
    let shared = Arc::new(Shared {
        stack: ctx.stack.clone(),
        plan: plan.clone(),
        registry: ctx.registry.clone(),
        instances: ctx.instances.clone(),
        journal: ctx.journal.clone(),
        events: ctx.events.clone(),
        retry: options.retry,
        abort: options.abort.clone(),
        provider_configs,
        deposed_ids: std::sync::OnceLock::new(),
    });

    // Live outputs per graph node: recorded ones for nodes the plan leaves alone.
    let mut outputs: Vec<Option<Value>> = graph
        .nodes()
        .iter()
        .map(|n| {
            snapshot
                .resources
                .get(&n.spec.name)
                .map(|r| r.outputs.clone())
        })
        .collect();
    let mut remaining: Vec<usize> = actions.iter().map(|a| a.dependencies.len()).collect();
    let mut status = vec![Status::Waiting; actions.len()];
    let mut deposed_keys: HashMap<usize, String> = HashMap::new();
    let mut ready: VecDeque<usize> = (0..actions.len()).filter(|&a| remaining[a] == 0).collect();
    let mut report = ApplyReport {
        moved: plan.moves.clone(),
        ..ApplyReport::default()
    };
    let mut running: JoinSet<(usize, Duration, Result<JobOutcome, JobError>)> = JoinSet::new();
    let mut running_ids: HashMap<tokio::task::Id, usize> = HashMap::new();
    let calls = actions
        .iter()
        .filter(|a| !a.is_inline(&plan.steps[a.step]))
        .count();
    ctx.events.emit(Event::ApplyStarted { actions: calls });
    let parallelism = options.parallelism.max(1);
    let mut announced_cancel = false;

    loop {
        while running.len() < parallelism && !options.cancel.is_cancelled() {
            let Some(action) = ready.pop_front() else {
                break;
            };
            let spec = &actions[action];
            let step = &plan.steps[spec.step];
            if spec.is_inline(step) {
                status[action] = Status::Running;
                let result = run_inline(
                    &shared,
                    spec.kind,
                    step,
                    deposed_keys.get(&spec.step).cloned(),
                )
                .await;
                finish(
                    action,
                    Duration::ZERO,
                    result,
                    &actions,
                    &plan,
                    &mut status,
                    &mut remaining,
                    &mut ready,
                    &mut outputs,
                    &mut deposed_keys,
                    &mut report,
                    &ctx.events,
                    &options.cancel,
                );
                continue;
            }
            let job = match prepare(
                action,
                &actions,
                &plan,
                graph,
                &outputs,
                &ctx.registry,
                &deposed_keys,
            ) {
                Ok(job) => job,
                Err(error) => {
                    status[action] = Status::Running;
                    finish(
                        action,
                        Duration::ZERO,
                        Err(error),
                        &actions,
                        &plan,
                        &mut status,
                        &mut remaining,
                        &mut ready,
                        &mut outputs,
                        &mut deposed_keys,
                        &mut report,
                        &ctx.events,
                        &options.cancel,
                    );
                    continue;
                }
            };
            ctx.events.emit(Event::ActionStarted {
                resource: step.resource.clone(),
                type_name: step.type_name.clone(),
                action: spec.kind,
            });
            status[action] = Status::Running;
            let task_shared = shared.clone();
            let handle = running.spawn(async move {
                let began = Instant::now();
                let result = task_shared.execute(job).await;
                (action, began.elapsed(), result)
            });
            running_ids.insert(handle.id(), action);
        }
        if options.cancel.is_cancelled() && !announced_cancel {
            announced_cancel = true;
            report.cancelled = true;
            ctx.events.emit(Event::Cancelling {
                in_flight: running.len(),
            });
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (action, elapsed, result) = match joined {
            Ok((id, (action, elapsed, result))) => {
                running_ids.remove(&id);
                (action, elapsed, result)
            }
            Err(join_error) => {
                let Some(action) = running_ids.remove(&join_error.id()) else {
                    continue;
                };
                let message = if join_error.is_panic() {
                    "the provider panicked during the call (a bug in the provider); the operation stays pending and is checked on the next run".to_owned()
                } else {
                    "the call was aborted".to_owned()
                };
                (
                    action,
                    Duration::ZERO,
                    Err(JobError {
                        message,
                        fatal: false,
                    }),
                )
            }
        };
        finish(
            action,
            elapsed,
            result,
            &actions,
            &plan,
            &mut status,
            &mut remaining,
            &mut ready,
            &mut outputs,
            &mut deposed_keys,
            &mut report,
            &ctx.events,
            &options.cancel,
        );
    }

    for (action, spec) in actions.iter().enumerate() {
        if status[action] == Status::Waiting {
            let step = &plan.steps[spec.step];
            report.not_started.push((step.resource.clone(), spec.kind));
        }
    }

    // Stack outputs: record the ones that are known now; keep earlier values of the others.
    if !plan.destroy {
        let mut known = snapshot.outputs.clone();
        known.retain(|name, _| graph.outputs().contains_key(name));
        for (name, expr) in graph.outputs() {
            if let Ok(value) = expr.resolve(&|id| outputs[id.index()].as_ref())
                && !value.contains_unknown()
            {
                known.insert(name.clone(), value);
            }
        }
        if known != snapshot.outputs
            && let Err(error) = ctx
                .journal
                .record(&[Mutation::SetOutputs {
                    outputs: known.clone(),
                }])
                .await
        {
            report.failed.push(ActionFailure {
                resource: "outputs".into(),
                action: ActionKind::Update,
                error: error.to_string(),
            });
        }
        report.outputs = known;
    } else if !snapshot.outputs.is_empty()
        && report.failed.is_empty()
        && let Err(error) = ctx
            .journal
            .record(&[Mutation::SetOutputs {
                outputs: BTreeMap::new(),
            }])
            .await
    {
        report.failed.push(ActionFailure {
            resource: "outputs".into(),
            action: ActionKind::Delete,
            error: error.to_string(),
        });
    }
    report.elapsed = started.elapsed();
    ctx.events.emit(Event::ApplyFinished {
        succeeded: report.succeeded.len(),
        failed: report.failed.len(),
        skipped: report.skipped.len() + report.not_started.len(),
        elapsed_ms: report.elapsed.as_millis() as u64,
    });
    Ok(report)
}

/// Runs an action that calls no provider, synchronously.
async fn run_inline(
    shared: &Shared,
    kind: ActionKind,
    step: &Step,
    deposed_key: Option<String>,
) -> Result<JobOutcome, JobError> {
    match kind {
        ActionKind::Same => {
            if step.metadata_changed
                && let Some(old) = &step.old
            {
                let mut updated = crate::state::ResourceState::clone(old);
                updated.dependencies = step.dependencies.clone();
                updated.protect = step.protect;
                updated.retain_on_delete = step.retain_on_delete;
                updated.provider = step.provider.clone();
                shared
                    .journal
                    .record(&[Mutation::Upsert { resource: updated }])
                    .await?;
            }
            Ok(JobOutcome {
                outputs: step.old.as_ref().map(|o| o.outputs.clone()),
                deposed_key: None,
            })
        }
        _ => {
            let removal = match deposed_key.or_else(|| step.deposed_key.clone()) {
                Some(key) => Mutation::RemoveDeposed { key },
                None => Mutation::Remove {
                    name: step.resource.clone(),
                },
            };
            shared.journal.record(&[removal]).await?;
            Ok(JobOutcome::default())
        }
    }
}

/// Resolves an action's inputs from the live outputs and checks them against the plan.
fn prepare(
    action: usize,
    actions: &[actions::Action],
    plan: &Plan,
    graph: &Graph,
    outputs: &[Option<Value>],
    registry: &Registry,
    deposed_keys: &HashMap<usize, String>,
) -> Result<Job, JobError> {
    let spec = &actions[action];
    let step = &plan.steps[spec.step];
    let fail = |message: String| JobError {
        message,
        fatal: false,
    };
    let node = spec.produces.map(|n| graph.node_at(n));
    let inputs = match node {
        Some(node) => {
            let resolved = node
                .spec
                .inputs
                .resolve(&|id| outputs[id.index()].as_ref())
                .map_err(|e| fail(e.to_string()))?;
            if resolved.contains_unknown() {
                return Err(fail(format!(
                    "inputs are still unknown at apply time ({}); a dependency produced no value for them",
                    resolved.display()
                )));
            }
            let mut desired = resolved;
            if let Some(old) = &step.old {
                crate::diff::keep_recorded(
                    &mut desired,
                    &old.inputs,
                    &node.spec.options.ignore_paths(),
                );
            }
            if spec.kind != ActionKind::Configure {
                check_consistent(&step.inputs, &desired).map_err(|path| {
                    fail(format!(
                        "the input `{path}` differs from the plan (the plan said {}, apply computed {}); a dependency returned other values than it promised — run plan again",
                        step.inputs.lookup(&path).unwrap_or_default().display(),
                        desired.lookup(&path).unwrap_or_default().display()
                    ))
                })?;
            }
            desired
        }
        None => Value::Null,
    };
    let schema = registry.schema(&step.type_name);
    let defaults = schema.map(|s| s.timeouts).unwrap_or_default();
    let custom = node.map(|n| n.spec.options.timeouts).unwrap_or_default();
    let timeout = match spec.kind {
        ActionKind::Create | ActionKind::CreateReplacement | ActionKind::Import => {
            custom.create.unwrap_or(defaults.create)
        }
        ActionKind::Update => custom.update.unwrap_or(defaults.update),
        ActionKind::Delete | ActionKind::DeleteReplaced => custom.delete.unwrap_or(defaults.delete),
        ActionKind::Read | ActionKind::Configure | ActionKind::Same => defaults.read,
    };
    Ok(Job {
        kind: spec.kind,
        step: spec.step,
        inputs,
        timeout,
        deposed_key: deposed_keys.get(&spec.step).cloned(),
    })
}

/// Checks that every value the plan showed as known is what apply computed; returns the first
/// differing path.
fn check_consistent(planned: &Value, actual: &Value) -> Result<(), girder_core::FieldPath> {
    fn walk(
        path: girder_core::FieldPath,
        planned: &Value,
        actual: &Value,
    ) -> Result<(), girder_core::FieldPath> {
        match (planned, actual) {
            (Value::Unknown, _) => Ok(()),
            (Value::Secret(p), a) => walk(path, p, a.reveal_ref()),
            (p, Value::Secret(a)) => walk(path, p, a),
            (Value::Object(p), Value::Object(a)) => {
                for (key, value) in p {
                    let other = a.get(key).unwrap_or(&Value::Null);
                    walk(path.child(key.clone()), value, other)?;
                }
                Ok(())
            }
            (Value::Array(p), Value::Array(a)) if p.len() == a.len() => {
                for (i, (pv, av)) in p.iter().zip(a).enumerate() {
                    walk(path.index(i), pv, av)?;
                }
                Ok(())
            }
            (p, a) if p.contains_unknown() => {
                // A list whose length was unknown cannot be compared item by item.
                let _ = a;
                Ok(())
            }
            (p, a) if p == a => Ok(()),
            _ => Err(path),
        }
    }
    walk(girder_core::FieldPath::root(), planned, actual)
}

trait RevealRef {
    fn reveal_ref(&self) -> &Value;
}

impl RevealRef for Value {
    fn reveal_ref(&self) -> &Value {
        match self {
            Value::Secret(inner) => inner.reveal_ref(),
            other => other,
        }
    }
}

/// Records an action's result and releases or skips its dependents.
#[allow(clippy::too_many_arguments)]
fn finish(
    action: usize,
    elapsed: Duration,
    result: Result<JobOutcome, JobError>,
    actions: &[actions::Action],
    plan: &Plan,
    status: &mut [Status],
    remaining: &mut [usize],
    ready: &mut VecDeque<usize>,
    outputs: &mut [Option<Value>],
    deposed_keys: &mut HashMap<usize, String>,
    report: &mut ApplyReport,
    events: &Arc<dyn EventSink>,
    cancel: &CancellationToken,
) {
    let spec = &actions[action];
    let step = &plan.steps[spec.step];
    match result {
        Ok(outcome) => {
            status[action] = Status::Done;
            if let Some(node) = spec.produces {
                outputs[node] = outcome.outputs;
            }
            if let Some(key) = outcome.deposed_key {
                deposed_keys.insert(spec.step, key);
            }
            if spec.kind != ActionKind::Same {
                report.succeeded.push((step.resource.clone(), spec.kind));
                events.emit(Event::ActionFinished {
                    resource: step.resource.clone(),
                    action: spec.kind,
                    elapsed_ms: elapsed.as_millis() as u64,
                });
            }
            for &dependent in &spec.dependents {
                remaining[dependent] -= 1;
                if remaining[dependent] == 0 && status[dependent] == Status::Waiting {
                    ready.push_back(dependent);
                }
            }
        }
        Err(error) => {
            status[action] = Status::Failed;
            if error.fatal {
                cancel.cancel();
            }
            events.emit(Event::ActionFailed {
                resource: step.resource.clone(),
                action: spec.kind,
                error: error.message.clone(),
            });
            report.failed.push(ActionFailure {
                resource: step.resource.clone(),
                action: spec.kind,
                error: error.message,
            });
            let mut stack: Vec<usize> = spec.dependents.clone();
            while let Some(dependent) = stack.pop() {
                if status[dependent] != Status::Waiting {
                    continue;
                }
                status[dependent] = Status::Skipped;
                let dependent_step = &plan.steps[actions[dependent].step];
                events.emit(Event::ActionSkipped {
                    resource: dependent_step.resource.clone(),
                    action: actions[dependent].kind,
                    because_of: step.resource.clone(),
                });
                report.skipped.push((
                    dependent_step.resource.clone(),
                    actions[dependent].kind,
                    step.resource.clone(),
                ));
                stack.extend(actions[dependent].dependents.iter().copied());
            }
        }
    }
}
