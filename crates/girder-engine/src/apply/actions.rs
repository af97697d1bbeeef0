//! Expands a plan into the action graph the executor walks.
//!
//! A step becomes one action, except a replacement, which becomes two: create-before-destroy
//! creates the new object, lets every dependent move to it, then deletes the old one;
//! delete-before-replace deletes first. Deletions wait for everything that depended on the
//! deleted object in the recorded state, so removals run in reverse dependency order.

use std::collections::HashMap;

use girder_core::{Graph, NodeKind};

use crate::events::ActionKind;
use crate::plan::{Plan, Step, StepKind};
use crate::provider::ReplaceOrder;

/// One unit of work: a provider call (or a no-op) on one resource.
#[derive(Clone, Debug)]
pub(crate) struct Action {
    pub kind: ActionKind,
    /// Index into the plan's steps.
    pub step: usize,
    /// The graph node whose outputs this action produces, if any.
    pub produces: Option<usize>,
    /// Actions that must succeed first.
    pub dependencies: Vec<usize>,
    /// Actions that wait for this one.
    pub dependents: Vec<usize>,
}

impl Action {
    /// True if the action needs no provider call and runs inline in the scheduler.
    pub fn is_inline(&self, step: &Step) -> bool {
        match self.kind {
            ActionKind::Same => true,
            ActionKind::Delete => step.retain_on_delete || step.node_kind == NodeKind::Provider,
            _ => false,
        }
    }
}

/// The expanded plan.
#[derive(Debug)]
pub(crate) struct ActionGraph {
    pub actions: Vec<Action>,
}

/// Builds the action graph of `plan` over `graph`.
///
/// Fails with the name of a planned resource the graph does not declare (the program changed
/// since the plan was made).
pub(crate) fn build(plan: &Plan, graph: &Graph) -> Result<ActionGraph, String> {
    let mut actions: Vec<Action> = Vec::with_capacity(plan.steps.len() + 8);
    let mut producer: Vec<Option<usize>> = vec![None; graph.len()];
    // The action after which the *old* object of a name no longer refers to anything: its
    // deletion, or the update that re-pointed it.
    let mut releases: HashMap<&str, Vec<usize>> = HashMap::new();
    // Deletions that need a provider node configured (by provider name).
    let mut uses_provider: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut replaced_deletes: Vec<(usize, usize)> = Vec::new(); // (delete action, node)

    let push = |actions: &mut Vec<Action>, kind, step, produces| {
        actions.push(Action {
            kind,
            step,
            produces,
            dependencies: Vec::new(),
            dependents: Vec::new(),
        });
        actions.len() - 1
    };

    for (index, step) in plan.steps.iter().enumerate() {
        if plan.destroy || step.kind == StepKind::Delete {
            let action = push(&mut actions, ActionKind::Delete, index, None);
            releases.entry(&step.resource).or_default().push(action);
            if let Some(provider) = &step.provider {
                uses_provider.entry(provider).or_default().push(action);
            }
            continue;
        }
        let node = graph
            .find(&step.resource)
            .ok_or_else(|| step.resource.clone())?;
        match step.kind {
            StepKind::Replace if step.replace_order() == ReplaceOrder::DeleteBeforeCreate => {
                let delete = push(&mut actions, ActionKind::Delete, index, None);
                let create = push(&mut actions, ActionKind::Create, index, Some(node));
                actions[create].dependencies.push(delete);
                producer[node] = Some(create);
                releases.entry(&step.resource).or_default().push(delete);
            }
            StepKind::Replace => {
                let create = push(
                    &mut actions,
                    ActionKind::CreateReplacement,
                    index,
                    Some(node),
                );
                let delete = push(&mut actions, ActionKind::DeleteReplaced, index, None);
                actions[delete].dependencies.push(create);
                producer[node] = Some(create);
                releases.entry(&step.resource).or_default().push(delete);
                replaced_deletes.push((delete, node));
            }
            kind => {
                let action_kind = if step.node_kind == NodeKind::Provider {
                    ActionKind::Configure
                } else {
                    match kind {
                        StepKind::Same if step.resume => ActionKind::Resume,
                        StepKind::Same => ActionKind::Same,
                        StepKind::Update => ActionKind::Update,
                        StepKind::Read => ActionKind::Read,
                        StepKind::Import => ActionKind::Import,
                        _ => ActionKind::Create,
                    }
                };
                let action = push(&mut actions, action_kind, index, Some(node));
                producer[node] = Some(action);
                if step.old.is_some() {
                    releases.entry(&step.resource).or_default().push(action);
                }
            }
        }
    }

    // Producers wait for the producers of their dependencies.
    for action in &mut actions {
        if let Some(node) = action.produces {
            let deps = graph
                .node_at(node)
                .dependencies
                .iter()
                .filter_map(|&d| producer[d]);
            action.dependencies.extend(deps);
        }
    }

    // Deleting an old object waits until nothing recorded refers to it any more.
    let mut old_dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for step in &plan.steps {
        if let Some(old) = &step.old {
            for dependency in &old.dependencies {
                old_dependents
                    .entry(dependency.as_str())
                    .or_default()
                    .push(step.resource.as_str());
            }
        }
    }
    for action in 0..actions.len() {
        let kind = actions[action].kind;
        if !matches!(kind, ActionKind::Delete | ActionKind::DeleteReplaced) {
            continue;
        }
        let step = &plan.steps[actions[action].step];
        let mut deps = Vec::new();
        // Recorded resources that depended on this one.
        // A delete-before-replace cannot wait for dependents that stay: they are re-pointed
        // only once the new object exists, after this deletion.
        let only_deletions = step.kind == StepKind::Replace && kind == ActionKind::Delete;
        for dependent in old_dependents
            .get(step.resource.as_str())
            .into_iter()
            .flatten()
        {
            for &release in releases.get(dependent).into_iter().flatten() {
                let is_deletion = matches!(
                    actions[release].kind,
                    ActionKind::Delete | ActionKind::DeleteReplaced
                );
                if !only_deletions || is_deletion {
                    deps.push(release);
                }
            }
        }
        // A removed provider goes after every deletion that used it; a deletion through a
        // provider of the program waits until it is configured.
        if step.node_kind == NodeKind::Provider {
            deps.extend(
                uses_provider
                    .get(step.resource.as_str())
                    .into_iter()
                    .flatten(),
            );
        }
        if let Some(provider) = &step.provider
            && let Some(node) = graph.find(provider)
        {
            deps.extend(producer[node]);
        }
        deps.retain(|&d| d != action);
        actions[action].dependencies.extend(deps);
    }

    // The old object of a create-before-destroy replacement goes after every dependent moved
    // to the new one.
    for (delete, node) in replaced_deletes {
        let deps: Vec<usize> = graph
            .node_at(node)
            .dependents
            .iter()
            .filter_map(|&d| producer[d])
            .collect();
        actions[delete].dependencies.extend(deps);
    }

    for action in 0..actions.len() {
        let mut deps = std::mem::take(&mut actions[action].dependencies);
        deps.sort_unstable();
        deps.dedup();
        for &dep in &deps {
            actions[dep].dependents.push(action);
        }
        actions[action].dependencies = deps;
    }
    Ok(ActionGraph { actions })
}
