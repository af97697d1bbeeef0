//! The schedule/run loop of an apply: a ready queue and a `JoinSet`. An action starts the
//! moment its last dependency succeeds, bounded by the parallelism setting; a failure skips
//! its transitive dependents while independent branches finish; cancellation stops starting
//! actions and lets the ones in flight finish and be recorded.
//!
//! Ready actions start critical path first (see [`super::priority`] and [`crate::schedule`]):
//! the one with the longest remaining path of expected durations to the end of the graph.
//!
//! The loop's state (statuses, dependency counts, the ready queue, live outputs, the report)
//! lives in one [`Walk`], so starting and finishing an action are methods on it rather than
//! functions threading a dozen arguments.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use girder_core::{Graph, Value};
use tokio::task::{JoinError, JoinSet};
// tokio's clock, so observed durations are virtual in tests with a paused clock (and the
// same as std's otherwise).
use tokio::time::Instant;

use super::actions::Action;
use super::execute::{JobError, JobOutcome};
use super::priority::{ReadyQueue, SimAction, longest_remaining, simulate};
use super::{ActionFailure, ApplyOptions, ApplyReport, Shared};
use crate::events::{ActionKind, Event};
use crate::plan::{Plan, Step};
use crate::registry::Registry;
use crate::schedule::{DEFAULT_EXPECTED_DURATION, DurationSamples, ObservedDurations, Schedule};
use crate::state::{Mutation, Snapshot};

/// Where an action is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// What a task hands back: its action, how long the call took, and the result.
type TaskResult = (usize, Duration, Result<JobOutcome, JobError>);

/// What the walk leaves for the phases after it.
pub(super) struct Walked {
    /// Live outputs per graph node.
    pub outputs: Vec<Option<Value>>,
    /// What happened to every action.
    pub report: ApplyReport,
}

/// One walk over the action graph: what every phase of the loop shares.
pub(super) struct Walk<'a> {
    pub(super) graph: &'a Graph,
    pub(super) plan: Arc<Plan>,
    pub(super) actions: Vec<Action>,
    pub(super) shared: Arc<Shared>,
    options: &'a ApplyOptions,
    status: Vec<Status>,
    /// Dependencies each action still waits for.
    remaining: Vec<usize>,
    ready: ReadyQueue,
    /// Each action's place in the ready queue: its longest remaining path (ms).
    keys: Vec<u64>,
    /// Durations of the calls that succeeded, for the report.
    samples: DurationSamples,
    /// Live outputs per graph node: recorded ones for nodes the plan leaves alone.
    pub(super) outputs: Vec<Option<Value>>,
    /// The deposed key under which each replaced object was kept, by step.
    pub(super) deposed_keys: HashMap<usize, String>,
    report: ApplyReport,
    running: JoinSet<TaskResult>,
    running_ids: HashMap<tokio::task::Id, usize>,
}

impl<'a> Walk<'a> {
    /// A walk of `actions` whose recorded state (renames applied) is `snapshot`.
    pub(super) fn new(
        graph: &'a Graph,
        plan: Arc<Plan>,
        actions: Vec<Action>,
        shared: Arc<Shared>,
        snapshot: &Snapshot,
        options: &'a ApplyOptions,
    ) -> Walk<'a> {
        let outputs = graph
            .nodes()
            .iter()
            .map(|n| {
                snapshot
                    .resources
                    .get(&n.spec.name)
                    .map(|r| r.outputs.clone())
            })
            .collect();
        let remaining: Vec<usize> = actions.iter().map(|a| a.dependencies.len()).collect();
        // What the caller passes wins; the state's recorded create durations fill the rest.
        let learned = options
            .learned
            .as_ref()
            .clone()
            .or(&ObservedDurations::recorded_in(
                snapshot.resources.values().map(AsRef::as_ref),
            ));
        let (keys, fifo) = order(&actions, &plan, &shared.registry, options, &learned);
        let mut ready = ReadyQueue::new(fifo);
        for action in (0..actions.len()).filter(|&a| remaining[a] == 0) {
            ready.push(action, keys[action]);
        }
        let report = ApplyReport {
            moved: plan.moves.clone(),
            ..ApplyReport::default()
        };
        Walk {
            graph,
            status: vec![Status::Waiting; actions.len()],
            plan,
            actions,
            shared,
            options,
            remaining,
            ready,
            keys,
            samples: DurationSamples::default(),
            outputs,
            deposed_keys: HashMap::new(),
            report,
            running: JoinSet::new(),
            running_ids: HashMap::new(),
        }
    }

    /// Runs every action that can run, then reports what happened.
    pub(super) async fn run(mut self) -> Walked {
        let calls = self
            .actions
            .iter()
            .filter(|a| !a.is_inline(&self.plan.steps[a.step]))
            .count();
        self.shared
            .events
            .emit(Event::ApplyStarted { actions: calls });
        let mut announced_cancel = false;
        loop {
            self.start_ready().await;
            if self.options.cancel.is_cancelled() && !announced_cancel {
                announced_cancel = true;
                self.report.cancelled = true;
                self.shared.events.emit(Event::Cancelling {
                    in_flight: self.running.len(),
                });
            }
            let Some(joined) = self.running.join_next_with_id().await else {
                break;
            };
            if let Some((action, elapsed, result)) = self.task_result(joined) {
                self.finish(action, elapsed, result);
            }
            // Record every call that has finished too before starting more, so the next
            // start chooses among all the actions ready now, as the simulation in `order`
            // assumes.
            while let Some(joined) = self.running.try_join_next_with_id() {
                if let Some((action, elapsed, result)) = self.task_result(joined) {
                    self.finish(action, elapsed, result);
                }
            }
        }
        for (action, spec) in self.actions.iter().enumerate() {
            if self.status[action] == Status::Waiting {
                let step = &self.plan.steps[spec.step];
                self.report
                    .not_started
                    .push((step.resource.clone(), spec.kind));
            }
        }
        self.report.observed = self.samples.means();
        Walked {
            outputs: self.outputs,
            report: self.report,
        }
    }

    /// Starts ready actions while there is room and no cancellation.
    async fn start_ready(&mut self) {
        let parallelism = self.options.parallelism.max(1);
        while self.running.len() < parallelism && !self.options.cancel.is_cancelled() {
            let Some(action) = self.ready.pop() else {
                break;
            };
            self.start(action).await;
        }
    }

    /// Starts one action: inline when it calls no provider, else as a task.
    async fn start(&mut self, action: usize) {
        let spec = &self.actions[action];
        let step = &self.plan.steps[spec.step];
        if spec.is_inline(step) {
            self.status[action] = Status::Running;
            let deposed_key = self.deposed_keys.get(&spec.step).cloned();
            let result = run_inline(&self.shared, spec.kind, step, deposed_key).await;
            self.finish(action, Duration::ZERO, result);
            return;
        }
        let job = match self.prepare(action) {
            Ok(job) => job,
            Err(error) => {
                self.status[action] = Status::Running;
                self.finish(action, Duration::ZERO, Err(error));
                return;
            }
        };
        self.shared.events.emit(Event::ActionStarted {
            resource: step.resource.clone(),
            type_name: step.type_name.clone(),
            action: spec.kind,
        });
        self.status[action] = Status::Running;
        let shared = self.shared.clone();
        let handle = self.running.spawn(async move {
            let began = Instant::now();
            let result = shared.execute(job).await;
            (action, began.elapsed(), result)
        });
        self.running_ids.insert(handle.id(), action);
    }

    /// The action and result of a joined task; `None` for a task the walk did not start.
    fn task_result(
        &mut self,
        joined: Result<(tokio::task::Id, TaskResult), JoinError>,
    ) -> Option<TaskResult> {
        match joined {
            Ok((id, result)) => {
                self.running_ids.remove(&id);
                Some(result)
            }
            Err(join_error) => {
                let action = self.running_ids.remove(&join_error.id())?;
                let message = if join_error.is_panic() {
                    "the provider panicked during the call (a bug in the provider); the operation stays pending and is checked on the next run".to_owned()
                } else {
                    "the call was aborted".to_owned()
                };
                let error = JobError {
                    message,
                    fatal: false,
                };
                Some((action, Duration::ZERO, Err(error)))
            }
        }
    }

    /// Records an action's result and releases or skips its dependents.
    fn finish(&mut self, action: usize, elapsed: Duration, result: Result<JobOutcome, JobError>) {
        match result {
            Ok(outcome) => self.succeeded(action, elapsed, outcome),
            Err(error) => self.failed(action, error),
        }
    }

    /// Records a success and makes the dependents that wait for nothing else ready.
    fn succeeded(&mut self, action: usize, elapsed: Duration, outcome: JobOutcome) {
        let spec = &self.actions[action];
        let step = &self.plan.steps[spec.step];
        self.status[action] = Status::Done;
        if let Some(node) = spec.produces {
            self.outputs[node] = outcome.outputs;
        }
        if let Some(key) = outcome.deposed_key {
            self.deposed_keys.insert(spec.step, key);
        }
        if !spec.is_inline(step) {
            self.samples.add(&step.type_name, spec.kind, elapsed);
        }
        if spec.kind != ActionKind::Same {
            self.report
                .succeeded
                .push((step.resource.clone(), spec.kind));
            self.shared.events.emit(Event::ActionFinished {
                resource: step.resource.clone(),
                action: spec.kind,
                elapsed_ms: elapsed.as_millis() as u64,
            });
        }
        for &dependent in &spec.dependents {
            self.remaining[dependent] -= 1;
            if self.remaining[dependent] == 0 && self.status[dependent] == Status::Waiting {
                self.ready.push(dependent, self.keys[dependent]);
            }
        }
    }

    /// Records a failure and skips everything that depends on the action, transitively.
    fn failed(&mut self, action: usize, error: JobError) {
        let spec = &self.actions[action];
        let step = &self.plan.steps[spec.step];
        self.status[action] = Status::Failed;
        if error.fatal {
            self.options.cancel.cancel();
        }
        self.shared.events.emit(Event::ActionFailed {
            resource: step.resource.clone(),
            action: spec.kind,
            error: error.message.clone(),
        });
        self.report.failed.push(ActionFailure {
            resource: step.resource.clone(),
            action: spec.kind,
            error: error.message,
        });
        let mut stack: Vec<usize> = spec.dependents.clone();
        while let Some(dependent) = stack.pop() {
            if self.status[dependent] != Status::Waiting {
                continue;
            }
            self.status[dependent] = Status::Skipped;
            let skipped = &self.actions[dependent];
            let skipped_step = &self.plan.steps[skipped.step];
            self.shared.events.emit(Event::ActionSkipped {
                resource: skipped_step.resource.clone(),
                action: skipped.kind,
                because_of: step.resource.clone(),
            });
            self.report.skipped.push((
                skipped_step.resource.clone(),
                skipped.kind,
                step.resource.clone(),
            ));
            stack.extend(skipped.dependents.iter().copied());
        }
    }
}

/// The ready queue's keys (each action's longest remaining path of expected durations, ms)
/// and whether to order by arrival instead (FIFO).
///
/// Critical path first can lose to FIFO on some graphs (Graham's list-scheduling anomalies),
/// so unless FIFO is asked for, both orders are simulated on the expected durations
/// (O((V + E) log V) each: cheap beside the calls) and FIFO is kept if it would finish
/// sooner: with durations as expected, the walk is never slower than FIFO. Without a binding
/// parallelism bound every order is the same, and nothing is simulated.
fn order(
    actions: &[Action],
    plan: &Plan,
    registry: &Registry,
    options: &ApplyOptions,
    learned: &ObservedDurations,
) -> (Vec<u64>, bool) {
    if options.schedule == Schedule::Fifo {
        return (vec![0; actions.len()], true);
    }
    let inline: Vec<bool> = actions
        .iter()
        .map(|a| a.is_inline(&plan.steps[a.step]))
        .collect();
    let weights: Vec<u64> = actions
        .iter()
        .zip(&inline)
        .map(|(action, &inline)| {
            if inline {
                0
            } else {
                expected(action, &plan.steps[action.step], registry, learned)
            }
        })
        .collect();
    let keys = longest_remaining(&weights, |a| &actions[a].dependents);
    let calls = inline.iter().filter(|&&i| !i).count();
    let parallelism = options.parallelism.max(1);
    if parallelism >= calls {
        return (keys, false);
    }
    let sim: Vec<SimAction<'_>> = actions
        .iter()
        .enumerate()
        .map(|(a, action)| SimAction {
            weight: weights[a],
            inline: inline[a],
            dependents: &action.dependents,
            dependencies: action.dependencies.len(),
        })
        .collect();
    let by_priority = simulate(&sim, &keys, false, parallelism);
    let by_arrival = simulate(&sim, &keys, true, parallelism);
    (keys, by_arrival < by_priority)
}

/// The expected duration (ms) of a provider call: as the type's schema declares it, else as an
/// earlier apply observed it, else the default.
fn expected(action: &Action, step: &Step, registry: &Registry, learned: &ObservedDurations) -> u64 {
    registry
        .schema(&step.type_name)
        .and_then(|schema| schema.expected_durations.for_action(action.kind))
        .or_else(|| learned.get(&step.type_name, action.kind))
        .unwrap_or(DEFAULT_EXPECTED_DURATION)
        .as_millis()
        .min(u128::from(u64::MAX)) as u64
}

/// Runs an action that calls no provider: a `same` step (re-recording changed metadata) or
/// the removal of a record without a cloud call (a retained resource, a provider node).
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
