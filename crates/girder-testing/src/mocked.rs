//! Applying programs in memory with mocked providers: outputs that tests supply, so code that
//! depends on outputs (interpolation, `map`) is asserted end to end; upgrades of a module
//! tested as "version 2's plan against version 1's state"; and the standard invariants every
//! generated program must satisfy.
//!
//! These functions run the engine on their own single-threaded runtime: call them from plain
//! `#[test]`s and proptest bodies, not from inside an async runtime.

use std::sync::Arc;

use girder_core::{Diagnostics, Graph, Stack, Value};
use girder_engine::ops::{OperationError, PlanRequest, apply_plan, plan_stack};
use girder_engine::{
    ApplyOptions, ApplyReport, EngineContext, MemoryJournal, NoEvents, PlanOptions, Registry,
    ResourceState, Snapshot,
};

use crate::mock::{MockCall, MockPackage};
use crate::plan::{PlanView, TestProgram};

/// Why a mocked run failed.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The program has problems.
    #[error("the program has problems:\n{0}")]
    Diagnostics(Diagnostics),
    /// Planning or applying failed.
    #[error(transparent)]
    Operation(#[from] OperationError),
    /// Some actions failed.
    #[error("the apply failed: {0:?}")]
    Failed(Box<ApplyReport>),
    /// The tokio runtime could not start.
    #[error("cannot start a runtime: {0}")]
    Runtime(String),
}

/// A program applied in memory with mocked providers.
pub struct Deployed {
    ctx: EngineContext,
    journal: Arc<MemoryJournal>,
    graph: Graph,
    program: TestProgram,
}

impl std::fmt::Debug for Deployed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployed")
            .field("resources", &self.state().resources.len())
            .finish()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, TestError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TestError::Runtime(e.to_string()))
}

fn mocked_registry(
    registry: &Registry,
    outputs: Arc<dyn Fn(&MockCall<'_>) -> Value + Send + Sync>,
) -> Registry {
    let mut mocked = Registry::new();
    for name in registry.package_names() {
        if let Some(package) = registry.package(name) {
            let outputs = outputs.clone();
            mocked.register(Arc::new(
                MockPackage::wrap(package.clone()).outputs(move |call| outputs(call)),
            ));
        }
    }
    mocked
}

async fn up(
    graph: &Graph,
    ctx: &EngineContext,
    journal: &MemoryJournal,
    options: PlanOptions,
) -> Result<ApplyReport, TestError> {
    let request = PlanRequest {
        options,
        ..PlanRequest::default()
    };
    let planned = plan_stack(graph, &journal.snapshot(), ctx, &request).await?;
    let report = apply_plan(
        graph,
        planned.plan,
        &journal.snapshot(),
        ctx,
        &ApplyOptions::default(),
    )
    .await?;
    if report.is_success() {
        Ok(report)
    } else {
        Err(TestError::Failed(Box::new(report)))
    }
}

impl TestProgram {
    /// Builds the program and applies it with mocked providers whose created resources get
    /// `outputs(call)` merged over their echoed inputs (and an id `mock-NAME` unless given).
    ///
    /// ```
    /// use girder_core::{interpolate, object, Output};
    /// use girder_testing::plan::TestProgram;
    /// use girder_testing::sim::SimResource;
    /// let deployed = TestProgram::new()
    ///     .apply_mocked(
    ///         |s| {
    ///             let db = SimResource::new("db").add(s);
    ///             let endpoint: Output<String> = db.output("endpoint");
    ///             SimResource::new("app").input("url", interpolate!("postgres://{}/app", endpoint)).add(s);
    ///         },
    ///         |call| object! { "endpoint" => format!("{}.internal:5432", call.identity.name) },
    ///     )
    ///     .unwrap();
    /// assert_eq!(deployed.input("app", "url").unwrap(), "postgres://db.internal:5432/app".into());
    /// ```
    pub fn apply_mocked(
        &self,
        program: impl FnOnce(&mut Stack),
        outputs: impl Fn(&MockCall<'_>) -> Value + Send + Sync + 'static,
    ) -> Result<Deployed, TestError> {
        let graph = self.build(program).map_err(TestError::Diagnostics)?;
        let registry = mocked_registry(self.packages(), Arc::new(outputs));
        let journal = Arc::new(MemoryJournal::new(Snapshot {
            lineage: "mocked".into(),
            ..Snapshot::empty(self.stack_name())
        }));
        let ctx = EngineContext::new(
            self.stack_name(),
            Arc::new(registry),
            journal.clone(),
            Arc::new(NoEvents),
        );
        runtime()?.block_on(up(&graph, &ctx, &journal, PlanOptions::default()))?;
        Ok(Deployed {
            ctx,
            journal,
            graph,
            program: self.clone(),
        })
    }

    /// Applies `before` with mocks and plans `after` against the result: the steps an upgrade
    /// of a module from one version to the next would take.
    ///
    /// ```
    /// use girder_engine::StepKind;
    /// use girder_testing::plan::TestProgram;
    /// use girder_testing::sim::SimResource;
    /// let upgrade = TestProgram::new()
    ///     .upgrade(
    ///         |s| { SimResource::new("a").zone("z1").add(s); },
    ///         |s| { SimResource::new("a").zone("z2").add(s); SimResource::new("b").add(s); },
    ///     )
    ///     .unwrap();
    /// upgrade.assert_changes(&[("a", StepKind::Replace), ("b", StepKind::Create)]);
    /// ```
    pub fn upgrade(
        &self,
        before: impl FnOnce(&mut Stack),
        after: impl FnOnce(&mut Stack),
    ) -> Result<PlanView, TestError> {
        self.apply_mocked(before, |_| Value::object())?
            .plan_next(after)
    }
}

impl Deployed {
    /// The recorded state.
    pub fn state(&self) -> Snapshot {
        self.journal.snapshot()
    }

    /// A recorded resource.
    pub fn resource(&self, name: &str) -> Option<ResourceState> {
        self.state()
            .resources
            .get(name)
            .map(|r| ResourceState::clone(r))
    }

    /// A recorded input of a resource (known now: the mocks answered).
    pub fn input(&self, name: &str, path: &str) -> Option<Value> {
        let resource = self.resource(name)?;
        resource
            .inputs
            .lookup(&path.parse().ok()?)
            .map(|v| v.reveal())
    }

    /// A stack output.
    pub fn output(&self, name: &str) -> Option<Value> {
        self.state().outputs.get(name).cloned()
    }

    /// The graph that was applied.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Plans another version of the program against this state.
    pub fn plan_next(&self, program: impl FnOnce(&mut Stack)) -> Result<PlanView, TestError> {
        let next = self.program.clone().state(self.state());
        let graph = next.build(program).map_err(TestError::Diagnostics)?;
        next.plan_graph(graph).map_err(TestError::Diagnostics)
    }

    /// Plans the applied program again (no changes expected).
    pub fn replan(&self) -> Result<PlanView, TestError> {
        self.program
            .clone()
            .state(self.state())
            .plan_graph(self.graph.clone())
            .map_err(TestError::Diagnostics)
    }

    /// Deletes everything.
    pub fn destroy(&self) -> Result<ApplyReport, TestError> {
        let options = PlanOptions {
            destroy: true,
            ..PlanOptions::default()
        };
        runtime()?.block_on(up(&self.graph, &self.ctx, &self.journal, options))
    }
}

/// What [`check_invariants`] found: the outcomes a program may legitimately have. A broken
/// invariant is not among them; it is an [`InvariantViolation`].
#[derive(Debug)]
pub enum Verdict {
    /// The program built, applied, re-planned empty and was destroyed.
    Accepted {
        /// Resources it declared.
        resources: usize,
    },
    /// The program was rejected when built, with at least one error.
    Rejected(Diagnostics),
    /// The program built, but its plan was refused with at least one error (a provider's
    /// `check` or `check_program`, which run when the program is planned), before any call
    /// reached a provider.
    RefusedAtPlan(Diagnostics),
}

/// An invariant a program broke, as found by [`check_invariants`].
#[derive(Debug, thiserror::Error)]
pub enum InvariantViolation {
    /// Building failed, but no diagnostic is an error.
    #[error("rejected without an error: {0}")]
    RejectedWithoutError(Diagnostics),
    /// The topological order leaves nodes out.
    #[error("the order covers {covered} of {nodes} nodes")]
    IncompleteOrder {
        /// Nodes in the order.
        covered: usize,
        /// Nodes in the graph.
        nodes: usize,
    },
    /// A node refers to a node that is not in the graph.
    #[error("`{0}` refers to a node outside the graph")]
    DanglingReference(String),
    /// A node comes before one of its dependencies in the order.
    #[error("`{node}` comes before its dependency `{dependency}`")]
    OutOfOrder {
        /// The dependent node.
        node: String,
        /// The dependency that comes after it.
        dependency: String,
    },
    /// The plan was refused without an error diagnostic.
    #[error("the plan was refused without an error: {0}")]
    RefusedWithoutError(Diagnostics),
    /// Applying the program with mocked providers failed.
    #[error("the apply failed: {0}")]
    ApplyFailed(#[source] TestError),
    /// Planning the applied program again failed.
    #[error("planning again failed: {0}")]
    ReplanFailed(#[source] TestError),
    /// Planning the applied program again showed changes.
    #[error("a second plan is not empty:\n{0}")]
    NotConverged(String),
    /// Destroying the program failed.
    #[error("the destroy failed: {0}")]
    DestroyFailed(#[source] TestError),
    /// Destroying the program left objects in the state.
    #[error("destroy left {resources} resource(s) and {deposed} deposed object(s) in the state")]
    DestroyLeftovers {
        /// Resources left.
        resources: usize,
        /// Deposed objects left.
        deposed: usize,
    },
}

/// Checks the standard invariants of a (generated) program: it builds without errors or is
/// rejected with at least one; the graph is acyclic and every reference resolves; its plan is
/// refused with at least one error, or applying it with mocked providers and planning again
/// yields no changes and destroy removes everything.
///
/// A program that is rejected (when built) or refused (when planned) is a [`Verdict`], not a
/// violation; a broken invariant is an [`InvariantViolation`], ready for `prop_assert!`-style
/// reporting.
pub fn check_invariants(
    program: &TestProgram,
    build: impl Fn(&mut Stack),
) -> Result<Verdict, InvariantViolation> {
    let graph = match program.build(&build) {
        Ok(graph) => graph,
        Err(diagnostics) if diagnostics.has_errors() => return Ok(Verdict::Rejected(diagnostics)),
        Err(diagnostics) => return Err(InvariantViolation::RejectedWithoutError(diagnostics)),
    };
    let order = graph.topological_order();
    if order.len() != graph.len() {
        return Err(InvariantViolation::IncompleteOrder {
            covered: order.len(),
            nodes: graph.len(),
        });
    }
    let mut position = vec![0usize; graph.len()];
    for (at, &node) in order.iter().enumerate() {
        position[node] = at;
    }
    for (index, node) in graph.nodes().iter().enumerate() {
        for reference in node.spec.inputs.references() {
            if reference.node.stack_token() != graph.stack_token()
                || reference.node.index() >= graph.len()
            {
                return Err(InvariantViolation::DanglingReference(
                    node.spec.name.clone(),
                ));
            }
        }
        for &dependency in &node.dependencies {
            if position[dependency] >= position[index] {
                return Err(InvariantViolation::OutOfOrder {
                    node: node.spec.name.clone(),
                    dependency: graph.node_at(dependency).spec.name.clone(),
                });
            }
        }
    }
    let resources = graph.len();
    let deployed = match program.apply_mocked(&build, |_| Value::object()) {
        Ok(deployed) => deployed,
        Err(TestError::Operation(OperationError::Plan(diagnostics))) => {
            return if diagnostics.has_errors() {
                Ok(Verdict::RefusedAtPlan(diagnostics))
            } else {
                Err(InvariantViolation::RefusedWithoutError(diagnostics))
            };
        }
        Err(error) => return Err(InvariantViolation::ApplyFailed(error)),
    };
    let again = deployed
        .replan()
        .map_err(InvariantViolation::ReplanFailed)?;
    if again.plan().has_changes() {
        return Err(InvariantViolation::NotConverged(again.snapshot()));
    }
    deployed
        .destroy()
        .map_err(InvariantViolation::DestroyFailed)?;
    let left = deployed.state();
    if !left.resources.is_empty() || !left.deposed.is_empty() {
        return Err(InvariantViolation::DestroyLeftovers {
            resources: left.resources.len(),
            deposed: left.deposed.len(),
        });
    }
    Ok(Verdict::Accepted { resources })
}
