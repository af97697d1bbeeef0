//! The executor: walks the action graph in parallel, starting each action the moment its
//! dependencies succeed, bounded by a parallelism setting and per-provider rate limits.
//!
//! A failure skips everything that depends on it while independent branches finish.
//! Cancellation stops starting new actions and lets in-flight calls finish and be recorded;
//! an abort additionally tells in-flight calls to stop waiting.
//!
//! An apply runs in phases: build the action graph (`actions`), record the plan's renames,
//! walk the actions (`walk`: the schedule/run loop; `prepare` resolves each action's inputs,
//! `execute` runs its provider call under the `call` policy), settle the stack outputs,
//! report. This module holds the public types of an apply and the phases around the walk, so
//! `apply()` reads as that sequence; each phase lives where its state does.

mod actions;
mod call;
mod execute;
mod prepare;
mod priority;
mod walk;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use girder_core::{Graph, NodeKind, Value};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use call::RetryPolicy;
pub(crate) use execute::recorded_outputs as recorded_outputs_for;
use walk::Walk;

use crate::clock::{Clock, SystemClock};
use crate::events::{ActionKind, Event, EventSink};
use crate::plan::Plan;
use crate::refresh::Consistency;
use crate::registry::{Instances, Registry};
use crate::schedule::{ObservedDurations, Schedule};
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
    /// The order ready actions start in.
    pub schedule: Schedule,
    /// Call durations observed by an earlier apply ([`ApplyReport::observed`]): the weights of
    /// types whose schema declares no expected duration.
    pub learned: Arc<ObservedDurations>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: DEFAULT_PARALLELISM,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
            abort: CancellationToken::new(),
            schedule: Schedule::default(),
            learned: Arc::new(ObservedDurations::default()),
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
    /// Mean durations of the provider calls that succeeded, per type and operation (what the
    /// next apply can schedule by, through [`ApplyOptions::learned`]).
    pub observed: ObservedDurations,
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
    /// The wall clock creation times are recorded and judged by.
    pub clock: Arc<dyn Clock>,
    /// How long after its creation refresh gives a resource it cannot read the benefit of the
    /// doubt.
    pub consistency: Consistency,
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
            clock: Arc::new(SystemClock),
            consistency: Consistency::default(),
        }
    }

    /// The context reading time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The context with another consistency window.
    pub fn with_consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = consistency;
        self
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
    clock: Arc<dyn Clock>,
}

impl Shared {
    fn new(plan: Arc<Plan>, ctx: &EngineContext, options: &ApplyOptions) -> Shared {
        Shared {
            stack: ctx.stack.clone(),
            provider_configs: provider_configs(&plan),
            plan,
            registry: ctx.registry.clone(),
            instances: ctx.instances.clone(),
            journal: ctx.journal.clone(),
            events: ctx.events.clone(),
            retry: options.retry,
            abort: options.abort.clone(),
            deposed_ids: std::sync::OnceLock::new(),
            clock: ctx.clock.clone(),
        }
    }
}

/// The configuration of every provider node the plan touches, by name: (package, config).
/// Recorded configurations come first, so resources can still be deleted through the
/// provider that created them.
fn provider_configs(plan: &Plan) -> HashMap<String, (String, Value)> {
    plan.steps
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
        .collect()
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
    let actions = actions::build(&plan, graph)
        .map_err(ApplyError::PlanMismatch)?
        .actions;
    let renamed = record_renames(&plan, snapshot, ctx).await?;
    let snapshot = renamed.as_ref().unwrap_or(snapshot);
    let plan = Arc::new(plan);
    let shared = Arc::new(Shared::new(plan.clone(), ctx, options));
    let walked = Walk::new(graph, plan.clone(), actions, shared, snapshot, options)
        .run()
        .await;
    let mut report = walked.report;
    settle_outputs(graph, &plan, snapshot, &walked.outputs, ctx, &mut report).await;
    report.elapsed = started.elapsed();
    ctx.events.emit(Event::ApplyFinished {
        succeeded: report.succeeded.len(),
        failed: report.failed.len(),
        skipped: report.skipped.len() + report.not_started.len(),
        elapsed_ms: report.elapsed.as_millis() as u64,
    });
    Ok(report)
}

/// Records the plan's renames in one journal write, before any action: every action
/// addresses the records by their new names. Returns the snapshot as renamed, or `None`
/// when the plan renames nothing.
async fn record_renames(
    plan: &Plan,
    snapshot: &Snapshot,
    ctx: &EngineContext,
) -> Result<Option<Snapshot>, ApplyError> {
    if plan.moves.is_empty() {
        return Ok(None);
    }
    let mutations = crate::moves::mutations(snapshot, &plan.moves);
    ctx.journal.record(&mutations).await?;
    for moved in &plan.moves {
        ctx.events.emit(Event::Moved {
            from: moved.from.clone(),
            to: moved.to.clone(),
        });
    }
    let mut renamed = snapshot.clone();
    renamed.apply_all(&mutations);
    Ok(Some(renamed))
}

/// Records the stack outputs that are known after the walk, keeping earlier values of the
/// others; a destroy clears them once everything is gone. A failed write is reported as a
/// failure of `outputs`.
async fn settle_outputs(
    graph: &Graph,
    plan: &Plan,
    snapshot: &Snapshot,
    live: &[Option<Value>],
    ctx: &EngineContext,
    report: &mut ApplyReport,
) {
    if plan.destroy {
        if snapshot.outputs.is_empty() || !report.failed.is_empty() {
            return;
        }
        let cleared = Mutation::SetOutputs {
            outputs: BTreeMap::new(),
        };
        if let Err(error) = ctx.journal.record(&[cleared]).await {
            report.failed.push(ActionFailure {
                resource: "outputs".into(),
                action: ActionKind::Delete,
                error: error.to_string(),
            });
        }
        return;
    }
    let mut known = snapshot.outputs.clone();
    known.retain(|name, _| graph.outputs().contains_key(name));
    for (name, expr) in graph.outputs() {
        if let Ok(value) = expr.resolve(&|id| live[id.index()].as_ref())
            && !value.contains_unknown()
        {
            known.insert(name.clone(), value);
        }
    }
    if known != snapshot.outputs {
        let set = Mutation::SetOutputs {
            outputs: known.clone(),
        };
        if let Err(error) = ctx.journal.record(&[set]).await {
            report.failed.push(ActionFailure {
                resource: "outputs".into(),
                action: ActionKind::Update,
                error: error.to_string(),
            });
        }
    }
    report.outputs = known;
}
