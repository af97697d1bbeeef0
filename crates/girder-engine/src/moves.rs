//! Renames: the program's [`Moved`] declarations resolved against the recorded state, and the
//! journal mutations that rename a record — so a renamed resource keeps its cloud object
//! instead of being deleted and created again.
//!
//! The planner plans against the state as it will look after the moves; `apply` records the
//! moves (one journal write) before its first provider call. `state mv` uses the same
//! mutations.

use std::collections::{HashMap, HashSet};

use girder_core::{Diagnostic, Diagnostics, Graph, Moved};

use crate::state::{Mutation, Snapshot};

/// The moves to record: for each declared chain that ends at a resource of the program, the
/// one recorded name it starts from (chains collapsed; moves already applied dropped).
pub fn resolve(graph: &Graph, snapshot: &Snapshot, diagnostics: &mut Diagnostics) -> Vec<Moved> {
    let declared = graph.moved();
    if declared.is_empty() {
        return Vec::new();
    }
    let from_of: HashMap<&str, &str> = declared
        .iter()
        .map(|m| (m.to.as_str(), m.from.as_str()))
        .collect();
    let mut moves = Vec::new();
    for end in declared.iter().filter_map(|m| graph.find(&m.to)) {
        let spec = &graph.node_at(end).spec;
        // The names this resource had, newest first (the graph checked the chain is finite).
        let mut earlier = Vec::new();
        let mut name = spec.name.as_str();
        while let Some(&from) = from_of.get(name) {
            if earlier.len() > declared.len() {
                break;
            }
            earlier.push(from);
            name = from;
        }
        let recorded: Vec<&str> = earlier
            .into_iter()
            .filter(|n| snapshot.resources.contains_key(*n))
            .collect();
        let Some(&from) = recorded.first() else {
            continue; // applied before, or never created
        };
        let also_recorded: Vec<&str> = recorded[1..]
            .iter()
            .copied()
            .chain(
                snapshot
                    .resources
                    .contains_key(&spec.name)
                    .then_some(spec.name.as_str()),
            )
            .collect();
        if !also_recorded.is_empty() {
            diagnostics.push(
                Diagnostic::error(format!(
                    "cannot move `{from}` to `{}`: the state also records {}",
                    spec.name,
                    also_recorded
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .resource(spec.name.clone())
                .field("moved")
                .value(from)
                .fix("keep one of them: `state rm` the record that should be forgotten, or remove the `moved` declaration"),
            );
            continue;
        }
        let old_type = &snapshot.resources[from].type_name;
        if old_type != &spec.type_name {
            diagnostics.push(
                Diagnostic::error(format!(
                    "cannot move `{from}` (a `{old_type}`) to `{}` (a `{}`): a move keeps the cloud resource, so the types must match",
                    spec.name, spec.type_name
                ))
                .resource(spec.name.clone())
                .field("moved")
                .value(from)
                .fix("remove the `moved` declaration to replace the resource instead"),
            );
            continue;
        }
        moves.push(Moved {
            from: from.to_owned(),
            to: spec.name.clone(),
        });
    }
    moves
}

/// The mutations that rename the records: each moved record under its new name, and every
/// record whose dependencies or provider name a moved one, rewritten.
pub fn mutations(snapshot: &Snapshot, moves: &[Moved]) -> Vec<Mutation> {
    let renamed: HashMap<&str, &str> = moves
        .iter()
        .filter(|m| snapshot.resources.contains_key(&m.from))
        .map(|m| (m.from.as_str(), m.to.as_str()))
        .collect();
    if renamed.is_empty() {
        return Vec::new();
    }
    let rename = |name: &str| renamed.get(name).copied().unwrap_or(name).to_owned();
    let mut out: Vec<Mutation> = renamed
        .keys()
        .map(|from| Mutation::Remove {
            name: (*from).to_owned(),
        })
        .collect();
    let touched: HashSet<&str> = renamed.keys().copied().collect();
    for (name, resource) in &snapshot.resources {
        let moves_it = touched.contains(name.as_str());
        let refers = resource
            .dependencies
            .iter()
            .chain(&resource.provider)
            .any(|d| touched.contains(d.as_str()));
        if !(moves_it || refers) {
            continue;
        }
        let mut updated = resource.clone();
        updated.name = rename(name);
        updated.dependencies = resource.dependencies.iter().map(|d| rename(d)).collect();
        updated.provider = resource.provider.as_deref().map(rename);
        out.push(Mutation::Upsert { resource: updated });
    }
    out
}

/// The state as it looks once `moves` are recorded.
pub fn apply(snapshot: &Snapshot, moves: &[Moved]) -> Snapshot {
    let mut moved = snapshot.clone();
    for mutation in mutations(snapshot, moves) {
        moved.apply(&mutation);
    }
    moved
}
