//! A small harness that runs the engine in memory against the simulated provider: plan, apply,
//! destroy, inspect the state — for the engine's specification tests and for users' tests.

use std::sync::Arc;

use girder_core::Graph;
use girder_engine::ops::{OperationError, PlanRequest, apply_plan, plan_stack};
use girder_engine::{
    ApplyOptions, ApplyReport, Consistency, EngineContext, MemoryJournal, Plan, PlanOptions,
    RecordedEvents, Registry, Snapshot,
};

use crate::sim::SimPackage;

/// The engine over a [`MemoryJournal`] and a [`SimPackage`].
///
/// ```
/// # tokio_test_block(async {
/// use girder_core::Stack;
/// use girder_testing::harness::Harness;
/// use girder_testing::sim::{SimPackage, SimResource};
/// let harness = Harness::new("dev", SimPackage::in_memory());
/// let mut s = Stack::new("dev");
/// SimResource::new("a").add(&mut s);
/// let report = harness.up(&s.finish().unwrap()).await.unwrap();
/// assert!(report.is_success());
/// assert_eq!(harness.snapshot().resource_count(), 1);
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Runtime::new().unwrap().block_on(f)
/// # }
/// ```
pub struct Harness {
    /// The simulated cloud.
    pub sim: SimPackage,
    /// The state.
    pub journal: Arc<MemoryJournal>,
    /// Every event.
    pub events: Arc<RecordedEvents>,
    /// The engine context (stack, registry, journal, events).
    pub ctx: EngineContext,
    /// How applies run.
    pub apply_options: ApplyOptions,
    /// How plans are made.
    pub plan_request: PlanRequest,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("sim", &self.sim)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness for `stack` with an empty state.
    pub fn new(stack: &str, sim: SimPackage) -> Harness {
        Harness::with_registry(stack, sim.clone(), Registry::new().with(sim))
    }

    /// A harness with more provider packages besides the simulated one.
    pub fn with_registry(stack: &str, sim: SimPackage, registry: Registry) -> Harness {
        let journal = Arc::new(MemoryJournal::new(Snapshot {
            lineage: "test-lineage".into(),
            ..Snapshot::empty(stack)
        }));
        let events = Arc::new(RecordedEvents::new());
        let ctx = EngineContext::new(stack, Arc::new(registry), journal.clone(), events.clone())
            .with_consistency(Harness::consistency());
        Harness {
            sim,
            journal,
            events,
            ctx,
            apply_options: ApplyOptions::default(),
            plan_request: PlanRequest::default(),
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> Snapshot {
        self.journal.snapshot()
    }

    /// The harness plays a strongly consistent cloud: tests delete objects out of band and
    /// expect the next plan to see it at once, so a resource a read does not find is gone
    /// however young it is. Tests of eventual consistency set `ctx.consistency` (and a
    /// [`ManualClock`](girder_engine::ManualClock) with `ctx.clock`).
    fn consistency() -> Consistency {
        Consistency {
            window: std::time::Duration::ZERO,
            ..Consistency::default()
        }
    }

    /// Fresh provider instances (as a new run of the program would have); the clock and the
    /// consistency window stay.
    pub fn restart(&mut self) {
        self.ctx = EngineContext::new(
            self.ctx.stack.clone(),
            self.ctx.registry.clone(),
            self.journal.clone(),
            self.events.clone(),
        )
        .with_clock(self.ctx.clock.clone())
        .with_consistency(self.ctx.consistency);
    }

    /// Plans `graph` against the current state.
    pub async fn plan(&self, graph: &Graph) -> Result<Plan, OperationError> {
        self.plan_with(graph, PlanOptions::default()).await
    }

    /// Plans with options (targets, destroy).
    pub async fn plan_with(
        &self,
        graph: &Graph,
        options: PlanOptions,
    ) -> Result<Plan, OperationError> {
        let request = PlanRequest {
            options,
            ..self.plan_request.clone()
        };
        Ok(plan_stack(graph, &self.snapshot(), &self.ctx, &request)
            .await?
            .plan)
    }

    /// Applies a plan made against the current state.
    pub async fn apply(&self, graph: &Graph, plan: Plan) -> Result<ApplyReport, OperationError> {
        apply_plan(
            graph,
            plan,
            &self.snapshot(),
            &self.ctx,
            &self.apply_options,
        )
        .await
    }

    /// Plans and applies `graph`.
    pub async fn up(&self, graph: &Graph) -> Result<ApplyReport, OperationError> {
        let plan = self.plan(graph).await?;
        self.apply(graph, plan).await
    }

    /// Plans and applies the deletion of everything.
    pub async fn destroy(&self, graph: &Graph) -> Result<ApplyReport, OperationError> {
        let plan = self
            .plan_with(
                graph,
                PlanOptions {
                    destroy: true,
                    ..PlanOptions::default()
                },
            )
            .await?;
        self.apply(graph, plan).await
    }
}
