//! Renames: the program's [`Moved`] declarations resolved against the recorded state, and the
//! journal mutations that rename a record — so a renamed resource keeps its cloud object
//! instead of being deleted and created again.
//!
//! The planner plans against the state as it will look after the moves; `apply` records the
//! moves (one journal write) before its first provider call. `state mv` uses the same
//! mutations.

use std::collections::{HashMap, HashSet};

use girder_core::{Diagnostic, Diagnostics, Graph, Moved};

use crate::state::{Mutation, ResourceState, Snapshot};

/// The moves to record: for each declared chain that ends at a resource of the program, the
/// one recorded name it starts from (chains collapsed; moves already applied dropped), then
/// the recorded names that a prefix move gives a declared name.
pub fn resolve(graph: &Graph, snapshot: &Snapshot, diagnostics: &mut Diagnostics) -> Vec<Moved> {
    let declared = graph.moved();
    let mut moves = Vec::new();
    let from_of: HashMap<&str, &str> = declared
        .iter()
        .map(|m| (m.to.as_str(), m.from.as_str()))
        .collect();
    for end in declared.iter().filter_map(|m| graph.find(&m.to)) {
        let to = graph.node_at(end).spec.name.as_str();
        // The names this resource had, newest first (the graph checked the chain is finite).
        let mut earlier = Vec::new();
        let mut name = to;
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
        if let Some(moved) = checked(graph, snapshot, from, to, &recorded[1..], diagnostics) {
            moves.push(moved);
        }
    }
    for prefix in graph.moved_prefixes() {
        for from in snapshot.resources.keys() {
            let Some(rest) = from.strip_prefix(&prefix.from) else {
                continue;
            };
            let to = format!("{}{rest}", prefix.to);
            let claimed = moves.iter().any(|m| m.from == *from || m.to == to);
            if claimed || graph.find(from).is_some() || graph.find(&to).is_none() {
                continue;
            }
            if let Some(moved) = checked(graph, snapshot, from, &to, &[], diagnostics) {
                moves.push(moved);
            }
        }
    }
    moves
}

/// The move of the record `from` to the program's `to`, if it can hold: `to` is not recorded
/// too (nor any of `also_recorded`), and the types match.
fn checked(
    graph: &Graph,
    snapshot: &Snapshot,
    from: &str,
    to: &str,
    also_recorded: &[&str],
    diagnostics: &mut Diagnostics,
) -> Option<Moved> {
    let spec = &graph.node_at(graph.find(to)?).spec;
    let taken: Vec<&str> = also_recorded
        .iter()
        .copied()
        .chain(snapshot.resources.contains_key(to).then_some(to))
        .collect();
    if !taken.is_empty() {
        diagnostics.push(
            Diagnostic::error(format!(
                "cannot move `{from}` to `{to}`: the state also records {}",
                taken
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .resource(to.to_owned())
            .field("moved")
            .value(from)
            .fix("keep one of them: `state rm` the record that should be forgotten, or remove the `moved` declaration"),
        );
        return None;
    }
    let old_type = &snapshot.resources.get(from)?.type_name;
    if old_type != &spec.type_name {
        diagnostics.push(
            Diagnostic::error(format!(
                "cannot move `{from}` (a `{old_type}`) to `{to}` (a `{}`): a move keeps the cloud resource, so the types must match",
                spec.type_name
            ))
            .resource(to.to_owned())
            .field("moved")
            .value(from)
            .fix("remove the `moved` declaration to replace the resource instead"),
        );
        return None;
    }
    Some(Moved {
        from: from.to_owned(),
        to: to.to_owned(),
    })
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
        let mut updated = ResourceState::clone(resource);
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
    moved.apply_all(&mutations(snapshot, moves));
    moved
}
