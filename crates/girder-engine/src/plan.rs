//! The planner: compares the program's graph with the recorded (refreshed) state and decides a
//! [`Step`] per resource — same, create, update, replace, delete, read or import — with
//! per-field diffs, propagating unknowns. Pure and synchronous: no provider is called.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use girder_core::{Diagnostic, Diagnostics, FieldPath, Graph, Moved, NodeKind, Value};
use serde::{Deserialize, Serialize};

use crate::diff::{FieldDiff, diff, keep_recorded, touches};
use crate::provider::{ReplaceOrder, ResourceSchema};
use crate::registry::Registry;
use crate::state::{ResourceState, Snapshot};

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Nothing changes.
    Same,
    /// Create a new resource.
    Create,
    /// Update in place.
    Update,
    /// Create a replacement and delete the old object (or the reverse with
    /// delete-before-replace).
    Replace,
    /// Delete.
    Delete,
    /// Read an existing resource the program only reads.
    Read,
    /// Adopt an existing cloud resource.
    Import,
}

impl StepKind {
    /// The symbol shown in front of a step (`+`, `~`, `-/+`, `-`, …); [`Step::symbol`] also
    /// tells a replacement's order (`-/+` or `+/-`).
    pub fn symbol(&self) -> &'static str {
        match self {
            StepKind::Same => " ",
            StepKind::Create => "+",
            StepKind::Update => "~",
            StepKind::Replace => "-/+",
            StepKind::Delete => "-",
            StepKind::Read => "<=",
            StepKind::Import => "<-",
        }
    }
}

/// One resource's planned change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The resource name.
    pub resource: String,
    /// The type token.
    #[serde(rename = "type")]
    pub type_name: String,
    /// What happens.
    pub kind: StepKind,
    /// Resource, provider or read node.
    pub node_kind: NodeKind,
    /// The explicit provider node, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The recorded resource, if any (shared with the snapshot, not copied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Arc<ResourceState>>,
    /// The desired inputs (may contain unknowns); `null` for deletes.
    pub inputs: Value,
    /// The planned outputs (unknown where only apply tells).
    pub outputs: Value,
    /// Changed fields (updates and replacements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<FieldDiff>,
    /// Replace by deleting first.
    #[serde(default)]
    pub delete_before_replace: bool,
    /// For deleting a deposed object: its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed_key: Option<String>,
    /// Why, when it is not obvious from the diffs (tainted, drift, type change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The names of the resources it depends on (as the program declares them).
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Refuse deletion.
    #[serde(default)]
    pub protect: bool,
    /// Forget instead of deleting.
    #[serde(default)]
    pub retain_on_delete: bool,
    /// A `Same` step whose recorded metadata (dependencies, protect) must be updated.
    #[serde(default)]
    pub metadata_changed: bool,
    /// The cloud id to adopt, for imports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// The name the resource was recorded under, when the program renamed it
    /// ([`Stack::moved`](girder_core::Stack::moved)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// An earlier create stopped waiting for this resource to become ready for a passing
    /// reason: apply waits for it again (before updating it, if it also changed) instead of
    /// replacing it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
    /// What deleting the recorded object does besides the delete call, in the order it happens
    /// (waits for controllers, clean-ups of what the resource made outside the program), as
    /// its provider describes them: a destroy that waits 15 minutes for a load balancer or
    /// sweeps a cluster's leftovers says so before it starts. Empty for steps that delete
    /// nothing or whose delete is only the call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<String>,
}

impl Step {
    /// True for steps that change something in the cloud or the state.
    pub fn is_change(&self) -> bool {
        !matches!(self.kind, StepKind::Same | StepKind::Read)
            || self.metadata_changed
            || self.moved_from.is_some()
            || self.resume
    }

    /// True for provider nodes, which are configuration rather than cloud resources.
    pub fn is_provider(&self) -> bool {
        self.node_kind == NodeKind::Provider
    }

    /// The order of a replacement: delete-first if the type's schema or the resource's options
    /// ask for it.
    pub fn replace_order(&self) -> ReplaceOrder {
        if self.delete_before_replace {
            ReplaceOrder::DeleteBeforeCreate
        } else {
            ReplaceOrder::CreateBeforeDestroy
        }
    }

    /// The symbol shown in front of the step: as [`StepKind::symbol`], except that a
    /// replacement shows its order as Terraform does — `-/+` deletes first, `+/-` creates the
    /// new object first.
    pub fn symbol(&self) -> &'static str {
        match (self.kind, self.replace_order()) {
            (StepKind::Replace, ReplaceOrder::CreateBeforeDestroy) => "+/-",
            (kind, _) => kind.symbol(),
        }
    }
}

/// Step counts, over cloud resources (providers excluded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Resources to create.
    pub create: usize,
    /// Resources to update in place.
    pub update: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to delete.
    pub delete: usize,
    /// Resources to import.
    pub import: usize,
    /// Resources to read.
    pub read: usize,
    /// Resources unchanged.
    pub same: usize,
    /// Resources renamed in the state (whatever else their step does).
    #[serde(default)]
    pub moved: usize,
    /// Resources an earlier create stopped waiting for, to wait for again (whatever else
    /// their step does).
    #[serde(default)]
    pub resume: usize,
}

impl PlanSummary {
    /// True if the plan changes any cloud resource.
    pub fn has_changes(&self) -> bool {
        self.create
            + self.update
            + self.replace
            + self.delete
            + self.import
            + self.moved
            + self.resume
            > 0
    }
}

impl std::fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Plan: {} to create, {} to update, {} to replace, {} to delete",
            self.create, self.update, self.replace, self.delete
        )?;
        if self.import > 0 {
            write!(f, ", {} to import", self.import)?;
        }
        if self.moved > 0 {
            write!(f, ", {} to move", self.moved)?;
        }
        if self.resume > 0 {
            write!(f, ", {} to wait for", self.resume)?;
        }
        Ok(())
    }
}

/// A stack output's planned change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    /// The recorded value.
    pub before: Option<Value>,
    /// The planned value (may be unknown).
    pub after: Value,
}

/// The planned changes to one stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The stack.
    pub stack: String,
    /// The lineage of the state it was planned against.
    pub lineage: String,
    /// The serial of the state it was planned against (a saved plan applies only to it).
    pub base_serial: u64,
    /// The steps, dependencies before dependents (deletes last).
    pub steps: Vec<Step>,
    /// The stack outputs.
    pub outputs: BTreeMap<String, OutputChange>,
    /// Warnings found while planning.
    #[serde(default)]
    pub warnings: Diagnostics,
    /// A destroy plan.
    #[serde(default)]
    pub destroy: bool,
    /// What refresh found, recorded when the plan is applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refresh: Vec<crate::state::Mutation>,
    /// Resources refresh found changed outside girder (their inputs drifted) or gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
    /// Records renamed before the first action ([`Stack::moved`](girder_core::Stack::moved)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<Moved>,
}

impl Plan {
    /// Step counts over cloud resources.
    pub fn summary(&self) -> PlanSummary {
        let mut summary = PlanSummary::default();
        for step in self.steps.iter().filter(|s| !s.is_provider()) {
            if step.moved_from.is_some() {
                summary.moved += 1;
            }
            if step.resume {
                summary.resume += 1;
            }
            match step.kind {
                StepKind::Same => summary.same += 1,
                StepKind::Create => summary.create += 1,
                StepKind::Update => summary.update += 1,
                StepKind::Replace => summary.replace += 1,
                StepKind::Delete => summary.delete += 1,
                StepKind::Read => summary.read += 1,
                StepKind::Import => summary.import += 1,
            }
        }
        summary
    }

    /// True if applying would change a cloud resource or a stack output.
    pub fn has_changes(&self) -> bool {
        self.summary().has_changes()
            || self
                .outputs
                .iter()
                .any(|(_, change)| change.before.as_ref() != Some(&change.after))
    }

    /// The step for a resource.
    pub fn step(&self, resource: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.resource == resource)
    }
}

/// Which part of the program to plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Only these resources and what they depend on.
    pub targets: Vec<String>,
    /// Everything except these resources and what depends on them.
    pub excludes: Vec<String>,
    /// Replace these resources although nothing changed (a node that misbehaves, a secret
    /// to rotate): Terraform's `-replace`, Pulumi's `--replace`.
    pub replace: Vec<String>,
    /// Plan to delete everything.
    pub destroy: bool,
    /// Adopt existing cloud resources: resource name → cloud id (the `import` command).
    pub imports: BTreeMap<String, String>,
}

/// Plans `graph` against `snapshot` (already refreshed, if refresh is wanted).
///
/// Every problem is reported at once: unknown resource types, invalid inputs found by the
/// providers' checks, changes to protected resources, unknown targets.
pub fn plan(
    graph: &Graph,
    snapshot: &Snapshot,
    registry: &Registry,
    options: &PlanOptions,
) -> Result<Plan, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    diagnostics.extend(graph.warnings().iter().cloned());
    let mut steps = Vec::with_capacity(graph.len() + 8);
    let mut outputs = BTreeMap::new();
    // Plan against the state as it will look once the renames are recorded.
    let moves = crate::moves::resolve(graph, snapshot, &mut diagnostics);
    let renamed;
    let snapshot = if moves.is_empty() {
        snapshot
    } else {
        renamed = crate::moves::apply(snapshot, &moves);
        &renamed
    };

    if options.destroy {
        plan_destroy(snapshot, options, &mut steps, &mut diagnostics);
    } else {
        let selected = selection(graph, options, &mut diagnostics);
        for name in &options.replace {
            if graph.find(name).is_none() {
                diagnostics.push(unknown_name("--replace", name));
            } else if !snapshot.resources.contains_key(name) {
                diagnostics.push(
                    Diagnostic::warning(
                        "`--replace` names a resource that does not exist yet; it is created",
                    )
                    .resource(name.clone())
                    .field("--replace"),
                );
            }
        }
        for name in options.imports.keys() {
            if graph.find(name).is_none() {
                diagnostics.push(
                    Diagnostic::error("import names no resource of the program")
                        .field("RESOURCE")
                        .value(name)
                        .fix("declare the resource in the program first, then import it under its name"),
                );
            } else if snapshot.resources.contains_key(name) {
                diagnostics.push(
                    Diagnostic::error("the resource is already in the state")
                        .resource(name.clone())
                        .fix("`state rm` it first if it should point at another cloud resource"),
                );
            }
        }
        let planned = plan_nodes(
            graph,
            snapshot,
            registry,
            &selected,
            options,
            &mut steps,
            &mut diagnostics,
        );
        check_programs(registry, &steps, &mut diagnostics);
        plan_removals(graph, snapshot, options, &mut steps, &mut diagnostics);
        for (name, expr) in graph.outputs() {
            let after = expr
                .resolve_refs(&|reference| planned.lookup(reference))
                .unwrap_or_else(|e| {
                    diagnostics.push(
                        Diagnostic::error(e.to_string())
                            .field(format!("outputs.{name}"))
                            .fix("fix the function that computes this output"),
                    );
                    Value::Null
                });
            outputs.insert(
                name.clone(),
                OutputChange {
                    before: snapshot.outputs.get(name).cloned(),
                    after,
                },
            );
        }
    }

    diagnostics.dedup();
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    describe_delete_effects(registry, &snapshot.stack, &mut steps);
    for moved in &moves {
        if let Some(step) = steps
            .iter_mut()
            .find(|s| s.resource == moved.to && s.deposed_key.is_none())
        {
            step.moved_from = Some(moved.from.clone());
        }
    }
    Ok(Plan {
        stack: snapshot.stack.clone(),
        lineage: snapshot.lineage.clone(),
        base_serial: snapshot.serial,
        steps,
        outputs,
        warnings: diagnostics,
        destroy: options.destroy,
        refresh: Vec::new(),
        drift: Vec::new(),
        moves,
    })
}

/// Fills in [`Step::effects`] for every step that deletes a recorded object (deletes,
/// replacements, and not for resources kept on delete), from its package.
fn describe_delete_effects(registry: &Registry, stack: &str, steps: &mut [Step]) {
    for step in steps {
        if !matches!(step.kind, StepKind::Delete | StepKind::Replace) || step.retain_on_delete {
            continue;
        }
        let Some(old) = &step.old else { continue };
        let Some(package) = registry.package(girder_core::package_of(&old.type_name)) else {
            continue;
        };
        step.effects = package.delete_effects(stack, old);
    }
}

/// Runs each package's whole-program check over its planned resources, then its
/// cross-package check over all of them.
fn check_programs(registry: &Registry, steps: &[Step], diagnostics: &mut Diagnostics) {
    let all: Vec<crate::provider::PlannedResource<'_>> = steps
        .iter()
        .filter(|s| s.node_kind == NodeKind::Resource)
        .map(|step| crate::provider::PlannedResource {
            name: &step.resource,
            type_name: &step.type_name,
            provider: step.provider.as_deref(),
            inputs: &step.inputs,
        })
        .collect();
    let mut by_package: BTreeMap<&str, Vec<crate::provider::PlannedResource<'_>>> = BTreeMap::new();
    for resource in &all {
        by_package
            .entry(girder_core::package_of(resource.type_name))
            .or_default()
            .push(*resource);
    }
    for (package, resources) in by_package {
        if let Some(package) = registry.package(package) {
            diagnostics.extend(package.check_program(&resources));
            diagnostics.extend(package.check_across_packages(&all));
        }
    }
}

/// Marks the nodes to plan: targets and their dependencies, minus excludes and their
/// dependents.
fn selection(graph: &Graph, options: &PlanOptions, diagnostics: &mut Diagnostics) -> Vec<bool> {
    let mut selected = vec![options.targets.is_empty(); graph.len()];
    let mut stack = Vec::new();
    for target in &options.targets {
        match graph.find(target) {
            Some(index) => stack.push(index),
            None => diagnostics.push(unknown_name("--target", target)),
        }
    }
    while let Some(index) = stack.pop() {
        if !selected[index] {
            selected[index] = true;
            stack.extend(graph.node_at(index).dependencies.iter().copied());
        }
    }
    let mut excluded = vec![false; graph.len()];
    for exclude in &options.excludes {
        match graph.find(exclude) {
            Some(index) => stack.push(index),
            None => diagnostics.push(unknown_name("--exclude", exclude)),
        }
    }
    while let Some(index) = stack.pop() {
        if !excluded[index] {
            excluded[index] = true;
            selected[index] = false;
            stack.extend(graph.node_at(index).dependents.iter().copied());
        }
    }
    selected
}

fn unknown_name(flag: &str, name: &str) -> Diagnostic {
    Diagnostic::error(format!("{flag} names no resource of the program"))
        .field(flag)
        .value(name)
        .fix("use a resource name as `state list` or `plan` prints it")
}

/// Plans every node of the graph; returns the planned outputs per node (`None`: unknown).
fn plan_nodes(
    graph: &Graph,
    snapshot: &Snapshot,
    registry: &Registry,
    selected: &[bool],
    options: &PlanOptions,
    steps: &mut Vec<Step>,
    diagnostics: &mut Diagnostics,
) -> Planned {
    let mut planned: Vec<Option<Value>> = vec![None; graph.len()];
    // Resources being created: a field their planned outputs do not list is unknown, not
    // absent — only the cloud knows what it will return.
    let mut open = vec![false; graph.len()];
    for &index in graph.topological_order() {
        let node = graph.node_at(index);
        let spec = &node.spec;
        let old = snapshot.resources.get(&spec.name);
        if !selected[index] {
            planned[index] = old.map(|o| o.outputs.clone());
            continue;
        }
        let lookup = |reference: &girder_core::OutputRef| {
            let node = reference.node.index();
            match &planned[node] {
                None => Value::Unknown,
                Some(outputs) => outputs.lookup(&reference.path).unwrap_or(if open[node] {
                    Value::Unknown
                } else {
                    Value::Null
                }),
            }
        };
        let inputs = match spec.inputs.resolve_refs(&lookup) {
            Ok(inputs) => inputs,
            Err(error) => {
                diagnostics.push(
                    Diagnostic::error(error.to_string())
                        .resource(spec.name.clone())
                        .field("inputs")
                        .fix("fix the function that computes this input"),
                );
                continue;
            }
        };
        let dependencies: Vec<String> = node
            .dependencies
            .iter()
            .map(|&d| graph.node_at(d).spec.name.clone())
            .collect();
        let provider = spec.provider.map(|p| graph.node(p).spec.name.clone());
        let mut step = Step {
            resource: spec.name.clone(),
            type_name: spec.type_name.clone(),
            kind: StepKind::Create,
            node_kind: spec.kind.clone(),
            provider,
            old: old.cloned(),
            inputs: Value::Null,
            outputs: Value::Unknown,
            diffs: Vec::new(),
            delete_before_replace: spec.options.delete_before_replace,
            deposed_key: None,
            reason: None,
            dependencies,
            protect: spec.options.protect,
            retain_on_delete: spec.options.retain_on_delete,
            metadata_changed: false,
            import_id: None,
            moved_from: None,
            resume: false,
            effects: Vec::new(),
        };

        if spec.kind == NodeKind::Provider {
            step.kind = match old {
                None => StepKind::Create,
                Some(o) if o.inputs == inputs => StepKind::Same,
                Some(_) => StepKind::Update,
            };
            step.outputs = inputs.clone();
            step.inputs = inputs;
            planned[index] = Some(step.outputs.clone());
            steps.push(step);
            continue;
        }

        let Some(package) = registry.package(spec.package()) else {
            diagnostics.push(
                Diagnostic::error(format!(
                    "no provider package `{}` is registered",
                    spec.package()
                ))
                .resource(spec.name.clone())
                .field("type")
                .value(&spec.type_name)
                .fix(format!(
                    "enable the `{}` feature of the `girder` dependency, or register the package",
                    spec.package()
                )),
            );
            continue;
        };
        let Some(schema) = package.schema(&spec.type_name) else {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the `{}` provider has no resource type `{}`",
                    spec.package(),
                    spec.type_name
                ))
                .resource(spec.name.clone())
                .field("type")
                .value(&spec.type_name)
                .fix("check the type token; a newer provider version may be needed"),
            );
            continue;
        };
        diagnostics.extend(package.check(&spec.type_name, &spec.name, &inputs));

        if spec.kind == NodeKind::Read {
            step.kind = StepKind::Read;
            let same_target = old.is_some_and(|o| o.inputs.get("id") == inputs.get("id"));
            step.outputs = old
                .filter(|_| same_target)
                .map(|o| o.outputs.clone())
                .unwrap_or(Value::Unknown);
            step.inputs = inputs;
            planned[index] = (!step.outputs.is_unknown()).then(|| step.outputs.clone());
            steps.push(step);
            continue;
        }

        let mut desired = inputs;
        match old {
            None => {
                let import = spec
                    .options
                    .import_id
                    .as_ref()
                    .or_else(|| options.imports.get(&spec.name));
                step.kind = match import {
                    Some(id) => {
                        step.import_id = Some(id.clone());
                        StepKind::Import
                    }
                    None => StepKind::Create,
                };
                step.outputs = planned_create_outputs(&desired, schema);
            }
            Some(old) if old.type_name != spec.type_name || old.kind != spec.kind => {
                step.kind = StepKind::Replace;
                step.reason = Some(format!("the type changed from `{}`", old.type_name));
                step.outputs = planned_create_outputs(&desired, schema);
            }
            Some(old) => {
                keep_recorded(&mut desired, &old.inputs, &spec.options.ignore_paths());
                let replace_paths: Vec<FieldPath> = schema
                    .replace_on
                    .iter()
                    .cloned()
                    .chain(spec.options.replace_paths())
                    .collect();
                step.diffs = diff(&old.inputs, &desired);
                for field in &mut step.diffs {
                    field.forces_replacement =
                        replace_paths.iter().any(|p| touches(&field.path, p));
                }
                let forces = step.diffs.iter().any(|d| d.forces_replacement);
                step.kind = if old.tainted {
                    step.reason =
                        Some("tainted: an earlier apply created it but did not finish".into());
                    StepKind::Replace
                } else if options.replace.contains(&spec.name) {
                    step.reason = Some("replacement requested with `--replace`".into());
                    StepKind::Replace
                } else if step.diffs.is_empty() {
                    StepKind::Same
                } else if forces {
                    StepKind::Replace
                } else {
                    StepKind::Update
                };
                // Not tainted, only not seen ready: wait for it again rather than replace a
                // resource that may be healthy.
                if old.creating && matches!(step.kind, StepKind::Same | StepKind::Update) {
                    step.resume = true;
                    step.reason = Some(
                        "an earlier apply created it but stopped waiting for it to become ready (a passing error or its time limit); apply waits for it again"
                            .into(),
                    );
                }
                step.delete_before_replace |= schema.delete_before_replace;
                step.outputs = match step.kind {
                    // Only the id is known until the wait ends (an endpoint appears when the
                    // resource is ready).
                    _ if step.resume => resumed_outputs(old),
                    StepKind::Same => old.outputs.clone(),
                    StepKind::Update => planned_update_outputs(old, &desired, &step.diffs, schema),
                    _ => planned_create_outputs(&desired, schema),
                };
                step.metadata_changed = step.kind == StepKind::Same
                    && (old.dependencies != step.dependencies
                        || old.protect != step.protect
                        || old.retain_on_delete != step.retain_on_delete
                        || old.provider != step.provider);
            }
        }
        if step.kind == StepKind::Replace && (step.protect || old.is_some_and(|o| o.protect)) {
            diagnostics.push(
                Diagnostic::error("the change requires replacing a protected resource")
                    .resource(spec.name.clone())
                    .field(
                        step.diffs
                            .iter()
                            .filter(|d| d.forces_replacement)
                            .map(|d| d.path.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                    .fix("revert the change, or remove `.protect()` and apply once before replacing it"),
            );
        }
        step.inputs = desired;
        open[index] = step.resume
            || matches!(
                step.kind,
                StepKind::Create | StepKind::Replace | StepKind::Import
            );
        planned[index] = match &step.outputs {
            Value::Unknown => None,
            known => Some(known.clone()),
        };
        steps.push(step);
    }
    Planned {
        outputs: planned,
        open,
    }
}

/// The planned outputs of every node; for `open` nodes (being created) an absent field is
/// unknown rather than absent.
struct Planned {
    outputs: Vec<Option<Value>>,
    open: Vec<bool>,
}

impl Planned {
    fn lookup(&self, reference: &girder_core::OutputRef) -> Value {
        let node = reference.node.index();
        match &self.outputs[node] {
            None => Value::Unknown,
            Some(outputs) => outputs
                .lookup(&reference.path)
                .unwrap_or(if self.open[node] {
                    Value::Unknown
                } else {
                    Value::Null
                }),
        }
    }
}

/// Planned outputs of a new resource: unknown, except inputs the schema says are echoed.
fn planned_create_outputs(desired: &Value, schema: &ResourceSchema) -> Value {
    if !schema.echo_inputs || !matches!(desired, Value::Object(_)) {
        return Value::Unknown;
    }
    let mut outputs = desired.clone();
    for path in &schema.computed {
        let _ = outputs.set(path, Value::Unknown);
    }
    let _ = outputs.set(&FieldPath::key("id"), Value::Unknown);
    outputs
}

/// Planned outputs of a resource being waited for: its id; the rest is known when it is ready.
fn resumed_outputs(old: &ResourceState) -> Value {
    let mut outputs = Value::object();
    let _ = outputs.set(&FieldPath::key("id"), Value::String(old.id.clone()));
    outputs
}

/// Planned outputs of an update: the recorded outputs, with changed echoed inputs and fields
/// computed on update replaced.
fn planned_update_outputs(
    old: &ResourceState,
    desired: &Value,
    diffs: &[FieldDiff],
    schema: &ResourceSchema,
) -> Value {
    let mut outputs = old.outputs.clone();
    if schema.echo_inputs {
        for change in diffs {
            let value = desired.lookup(&change.path).unwrap_or(Value::Null);
            let _ = outputs.set(&change.path, value);
        }
    } else {
        for path in &schema.computed {
            let _ = outputs.set(path, Value::Unknown);
        }
    }
    for path in &schema.computed_on_update {
        let _ = outputs.set(path, Value::Unknown);
    }
    outputs
}

fn delete_step(
    resource: &Arc<ResourceState>,
    deposed_key: Option<String>,
    reason: Option<String>,
) -> Step {
    Step {
        resource: resource.name.clone(),
        type_name: resource.type_name.clone(),
        kind: StepKind::Delete,
        node_kind: resource.kind.clone(),
        provider: resource.provider.clone(),
        old: Some(resource.clone()),
        inputs: Value::Null,
        outputs: Value::Null,
        diffs: Vec::new(),
        delete_before_replace: false,
        deposed_key,
        reason,
        dependencies: resource.dependencies.clone(),
        protect: resource.protect,
        retain_on_delete: resource.retain_on_delete,
        metadata_changed: false,
        import_id: None,
        moved_from: None,
        resume: false,
        effects: Vec::new(),
    }
}

fn protected_delete(resource: &ResourceState) -> Diagnostic {
    Diagnostic::error("this resource is protected and would be deleted")
        .resource(resource.name.clone())
        .field("protect")
        .fix("keep it in the program, or remove `.protect()` and apply once before deleting it")
}

/// Deletes for recorded resources the program no longer declares, and for deposed objects.
fn plan_removals(
    graph: &Graph,
    snapshot: &Snapshot,
    options: &PlanOptions,
    steps: &mut Vec<Step>,
    diagnostics: &mut Diagnostics,
) {
    let targets: HashSet<&str> = options.targets.iter().map(String::as_str).collect();
    let excludes: HashSet<&str> = options.excludes.iter().map(String::as_str).collect();
    for resource in snapshot.resources.values() {
        if graph.find(&resource.name).is_some() {
            // Still declared (if with another type, its replace step deletes the old object).
            continue;
        }
        if (!targets.is_empty() && !targets.contains(resource.name.as_str()))
            || excludes.contains(resource.name.as_str())
        {
            continue;
        }
        if resource.protect && !resource.retain_on_delete {
            diagnostics.push(protected_delete(resource));
        }
        steps.push(delete_step(
            resource,
            None,
            Some("no longer in the program".into()),
        ));
    }
    for deposed in &snapshot.deposed {
        steps.push(delete_step(
            &Arc::new(deposed.resource.clone()),
            Some(deposed.key.clone()),
            Some("replaced by an earlier apply".into()),
        ));
    }
}

/// Deletes for everything recorded (with targets: those and what depends on them).
fn plan_destroy(
    snapshot: &Snapshot,
    options: &PlanOptions,
    steps: &mut Vec<Step>,
    diagnostics: &mut Diagnostics,
) {
    let mut doomed: HashSet<&str> = HashSet::new();
    if options.targets.is_empty() {
        doomed.extend(snapshot.resources.keys().map(String::as_str));
    } else {
        for target in &options.targets {
            if !snapshot.resources.contains_key(target) {
                diagnostics.push(unknown_name("--target", target));
            }
            doomed.insert(target);
        }
        // Dependents of a destroyed resource go too: walk the recorded reverse edges once.
        let mut dependents: std::collections::HashMap<&str, Vec<&str>> =
            std::collections::HashMap::new();
        for resource in snapshot.resources.values() {
            for dependency in &resource.dependencies {
                dependents
                    .entry(dependency.as_str())
                    .or_default()
                    .push(&resource.name);
            }
        }
        let mut stack: Vec<&str> = doomed.iter().copied().collect();
        while let Some(name) = stack.pop() {
            for &dependent in dependents.get(name).map(Vec::as_slice).unwrap_or_default() {
                if doomed.insert(dependent) {
                    stack.push(dependent);
                }
            }
        }
    }
    for exclude in &options.excludes {
        doomed.remove(exclude.as_str());
    }
    for resource in snapshot.resources.values() {
        if !doomed.contains(resource.name.as_str()) {
            continue;
        }
        if resource.protect && !resource.retain_on_delete {
            diagnostics.push(protected_delete(resource));
        }
        steps.push(delete_step(resource, None, Some("destroy".into())));
    }
    for deposed in &snapshot.deposed {
        steps.push(delete_step(
            &Arc::new(deposed.resource.clone()),
            Some(deposed.key.clone()),
            Some("replaced by an earlier apply".into()),
        ));
    }
}
