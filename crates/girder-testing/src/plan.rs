//! In-memory planning of a program or module, with a queryable plan and assertions that say
//! what is wrong — CDK's assertions for girder, with no cloud and no IO.
//!
//! ```
//! use girder_testing::plan::TestProgram;
//! use girder_testing::sim::SimResource;
//! let plan = TestProgram::new()
//!     .plan(|s| {
//!         let db = SimResource::new("db").zone("a").add(s);
//!         SimResource::new("app").parent(db.id()).add(s);
//!     })
//!     .unwrap();
//! plan.assert_count("sim:resource", 2);
//! plan.assert_has("sim:resource", serde_json::json!({ "zone": "a" }));
//! assert!(plan.resource("app").unwrap().is_unknown("parent"));
//! assert_eq!(plan.edges(), vec![("app".to_owned(), "db".to_owned())]);
//! ```

use std::fmt::Write as _;

use girder_core::{Diagnostics, FieldPath, Graph, Stack, Value};
use girder_engine::provider::ProviderPackage;
use girder_engine::{Plan, PlanOptions, Registry, Snapshot, Step, StepKind, plan};

use crate::sim::SimPackage;

/// Builds and plans programs in memory against an empty or given state.
#[derive(Clone, Debug)]
pub struct TestProgram {
    stack: String,
    registry: Registry,
    state: Snapshot,
}

impl Default for TestProgram {
    fn default() -> Self {
        TestProgram::new()
    }
}

impl TestProgram {
    /// Stack `test`, the simulated package, an empty state.
    pub fn new() -> TestProgram {
        TestProgram {
            stack: "test".into(),
            registry: Registry::new().with(SimPackage::in_memory()),
            state: Snapshot::empty("test"),
        }
    }

    /// Adds a provider package (for its schemas and checks; nothing is called).
    pub fn package(mut self, package: impl ProviderPackage) -> TestProgram {
        self.registry = self.registry.with(package);
        self
    }

    /// Replaces the registry.
    pub fn registry(mut self, registry: Registry) -> TestProgram {
        self.registry = registry;
        self
    }

    /// The registry.
    pub fn packages(&self) -> &Registry {
        &self.registry
    }

    /// The stack name the program is built for.
    pub fn stack(mut self, stack: impl Into<String>) -> TestProgram {
        self.stack = stack.into();
        self.state.stack = self.stack.clone();
        self
    }

    /// Plans against this state instead of an empty one.
    pub fn state(mut self, state: Snapshot) -> TestProgram {
        self.state = state;
        self
    }

    /// The stack name.
    pub fn stack_name(&self) -> &str {
        &self.stack
    }

    /// Builds the program into a graph.
    pub fn build(&self, program: impl FnOnce(&mut Stack)) -> Result<Graph, Diagnostics> {
        let mut stack = Stack::new(self.stack.clone());
        program(&mut stack);
        stack.finish()
    }

    /// Builds and plans the program.
    pub fn plan(&self, program: impl FnOnce(&mut Stack)) -> Result<PlanView, Diagnostics> {
        let graph = self.build(program)?;
        self.plan_graph(graph)
    }

    /// Plans a built graph.
    pub fn plan_graph(&self, graph: Graph) -> Result<PlanView, Diagnostics> {
        let made = plan(&graph, &self.state, &self.registry, &PlanOptions::default())?;
        Ok(PlanView { plan: made, graph })
    }
}

/// One planned resource.
#[derive(Clone, Copy, Debug)]
pub struct ResourceView<'a> {
    step: &'a Step,
}

impl<'a> ResourceView<'a> {
    /// The name.
    pub fn name(&self) -> &'a str {
        &self.step.resource
    }

    /// The type token.
    pub fn type_name(&self) -> &'a str {
        &self.step.type_name
    }

    /// What the plan does to it.
    pub fn kind(&self) -> StepKind {
        self.step.kind
    }

    /// Its planned inputs (unknown parts are [`Value::Unknown`]).
    pub fn inputs(&self) -> &'a Value {
        &self.step.inputs
    }

    /// The input at `path` (`cidr_block`, `tags.Name`, `spec.ports[0].port`).
    pub fn input(&self, path: &str) -> Option<Value> {
        let path: FieldPath = path.parse().ok()?;
        self.step.inputs.lookup(&path)
    }

    /// True if the input at `path` is known only after apply.
    pub fn is_unknown(&self, path: &str) -> bool {
        self.input(path).is_some_and(|v| v.contains_unknown())
    }

    /// A tag (AWS `tags.KEY`) or label (Kubernetes `metadata.labels.KEY`).
    pub fn tag(&self, key: &str) -> Option<Value> {
        let tags = self
            .step
            .inputs
            .get("tags")
            .and_then(|t| t.get(key))
            .cloned();
        tags.or_else(|| {
            self.step
                .inputs
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(key))
                .cloned()
        })
    }

    /// The names of the resources it depends on.
    pub fn dependencies(&self) -> &'a [String] {
        &self.step.dependencies
    }

    /// The plan step.
    pub fn step(&self) -> &'a Step {
        self.step
    }
}

/// A plan made in memory, queryable and assertable.
#[derive(Clone, Debug)]
pub struct PlanView {
    plan: Plan,
    graph: Graph,
}

/// The first place where `actual` does not contain `expected` (objects: every expected key;
/// lists: same length, item by item; scalars: equal).
pub fn first_mismatch(
    expected: &serde_json::Value,
    actual: &Value,
    at: FieldPath,
) -> Option<(FieldPath, String)> {
    let actual_plain = match actual {
        Value::Secret(inner) => inner.as_ref(),
        other => other,
    };
    match (expected, actual_plain) {
        (serde_json::Value::Object(want), Value::Object(have)) => {
            want.iter().find_map(|(k, v)| match have.get(k) {
                Some(found) => first_mismatch(v, found, at.child(k.clone())),
                None => Some((
                    at.child(k.clone()),
                    format!("expected {v}, but the field is absent"),
                )),
            })
        }
        (serde_json::Value::Array(want), Value::Array(have)) if want.len() == have.len() => want
            .iter()
            .zip(have)
            .enumerate()
            .find_map(|(i, (w, h))| first_mismatch(w, h, at.index(i))),
        (want, have) => {
            let same = matches!(have, Value::Unknown) && want == "(known after apply)"
                || Value::from_json(want.clone()) == *have;
            (!same).then(|| (at, format!("expected {want}, found {}", have.display())))
        }
    }
}

impl PlanView {
    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Every planned resource (providers excluded), in plan order.
    pub fn resources(&self) -> impl Iterator<Item = ResourceView<'_>> {
        self.plan
            .steps
            .iter()
            .filter(|s| !s.is_provider())
            .map(|step| ResourceView { step })
    }

    /// The resource called `name`.
    pub fn resource(&self, name: &str) -> Option<ResourceView<'_>> {
        self.resources().find(|r| r.name() == name)
    }

    /// The resources of a type.
    pub fn of_type(&self, type_name: &str) -> Vec<ResourceView<'_>> {
        self.resources()
            .filter(|r| r.type_name() == type_name)
            .collect()
    }

    /// The resources with a tag or label `key` = `value`.
    pub fn with_tag(&self, key: &str, value: &str) -> Vec<ResourceView<'_>> {
        self.resources()
            .filter(|r| r.tag(key).as_ref().and_then(Value::as_str) == Some(value))
            .collect()
    }

    /// How many resources of a type.
    pub fn count(&self, type_name: &str) -> usize {
        self.of_type(type_name).len()
    }

    /// How many steps of a kind.
    pub fn count_steps(&self, kind: StepKind) -> usize {
        self.resources().filter(|r| r.kind() == kind).count()
    }

    /// Every dependency edge as (dependent, dependency) names, in graph order.
    pub fn edges(&self) -> Vec<(String, String)> {
        let nodes = self.graph.nodes();
        self.graph
            .edges()
            .map(|(dependent, dependency)| {
                (
                    nodes[dependent].spec.name.clone(),
                    nodes[dependency].spec.name.clone(),
                )
            })
            .collect()
    }

    /// Asserts that a resource of `type_name` has inputs containing `expected` (a partial
    /// match); returns it. The failure message shows the closest candidates and where they
    /// differ.
    #[track_caller]
    pub fn assert_has(&self, type_name: &str, expected: serde_json::Value) -> ResourceView<'_> {
        let candidates = self.of_type(type_name);
        let mut misses = Vec::new();
        for candidate in &candidates {
            match first_mismatch(&expected, candidate.inputs(), FieldPath::root()) {
                None => return *candidate,
                Some((path, why)) => misses.push(format!(
                    "  `{}` differs at `{path}`: {why}",
                    candidate.name()
                )),
            }
        }
        let mut message = format!("no `{type_name}` has inputs matching {expected}");
        if candidates.is_empty() {
            let types: std::collections::BTreeSet<&str> =
                self.resources().map(|r| r.type_name()).collect();
            let _ = write!(
                message,
                "; the plan has no `{type_name}` at all (types: {})",
                types.into_iter().collect::<Vec<_>>().join(", ")
            );
        } else {
            let _ = write!(
                message,
                "; the {} candidate(s):\n{}",
                candidates.len(),
                misses.join("\n")
            );
        }
        panic!("{message}");
    }

    /// Asserts how many resources of a type the plan has.
    #[track_caller]
    pub fn assert_count(&self, type_name: &str, expected: usize) {
        let found = self.of_type(type_name);
        assert!(
            found.len() == expected,
            "expected {expected} `{type_name}`, found {}: {}",
            found.len(),
            found
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    /// Asserts that no resource matches `predicate`.
    #[track_caller]
    pub fn assert_none(&self, description: &str, predicate: impl Fn(&ResourceView<'_>) -> bool) {
        let matching: Vec<String> = self
            .resources()
            .filter(|r| predicate(r))
            .map(|r| format!("`{}` ({})", r.name(), r.type_name()))
            .collect();
        assert!(
            matching.is_empty(),
            "expected no resource that {description}, found: {}",
            matching.join(", ")
        );
    }

    /// Asserts that the plan changes exactly these resources in these ways (unchanged ones
    /// are left out).
    #[track_caller]
    pub fn assert_changes(&self, expected: &[(&str, StepKind)]) {
        let mut actual: Vec<(String, StepKind)> = self
            .resources()
            .filter(|r| r.kind() != StepKind::Same)
            .map(|r| (r.name().to_owned(), r.kind()))
            .collect();
        actual.sort();
        let mut wanted: Vec<(String, StepKind)> = expected
            .iter()
            .map(|(n, k)| ((*n).to_owned(), *k))
            .collect();
        wanted.sort();
        if actual != wanted {
            let missing: Vec<String> = wanted
                .iter()
                .filter(|w| !actual.contains(w))
                .map(|(n, k)| format!("{k:?} {n}"))
                .collect();
            let extra: Vec<String> = actual
                .iter()
                .filter(|a| !wanted.contains(a))
                .map(|(n, k)| format!("{k:?} {n}"))
                .collect();
            panic!(
                "the plan's changes differ:\n  missing: {}\n  unexpected: {}\n  plan: {}",
                if missing.is_empty() {
                    "none".into()
                } else {
                    missing.join(", ")
                },
                if extra.is_empty() {
                    "none".into()
                } else {
                    extra.join(", ")
                },
                self.plan.summary()
            );
        }
    }

    /// The renames the plan records ([`Stack::moved`](girder_core::Stack::moved)).
    pub fn moves(&self) -> &[girder_core::Moved] {
        &self.plan.moves
    }

    /// Asserts that the plan renames exactly these records, `(from, to)` — for module upgrades
    /// that rename resources and must keep them. [`PlanView::assert_changes`] leaves moved
    /// resources out unless something else changes about them.
    ///
    /// ```
    /// use girder_testing::plan::TestProgram;
    /// use girder_testing::sim::SimResource;
    /// let upgrade = TestProgram::new()
    ///     .upgrade(
    ///         |s| { SimResource::new("db").add(s); },
    ///         |s| { SimResource::new("orders-db").add(s); s.moved("db", "orders-db"); },
    ///     )
    ///     .unwrap();
    /// upgrade.assert_moves(&[("db", "orders-db")]);
    /// upgrade.assert_changes(&[]);
    /// ```
    #[track_caller]
    pub fn assert_moves(&self, expected: &[(&str, &str)]) {
        let mut actual: Vec<(&str, &str)> = self
            .plan
            .moves
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str()))
            .collect();
        actual.sort();
        let mut wanted = expected.to_vec();
        wanted.sort();
        assert!(
            actual == wanted,
            "the plan's renames differ:\n  expected: {wanted:?}\n  planned: {actual:?}\n  plan: {}",
            self.plan.summary()
        );
    }

    /// The plan as stable text for snapshot tests: resources sorted by name, inputs sorted by
    /// key, unknowns as `(known after apply)`, secrets masked.
    pub fn snapshot(&self) -> String {
        crate::snapshot::plan_text(&self.plan)
    }
}
