//! [`Moved`]: a resource renamed in the program, so the engine renames its record instead of
//! deleting the cloud resource and creating it again (Terraform's `moved` blocks, Pulumi's
//! aliases).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, Diagnostics};

/// The resource recorded as `from` is the program's `to` now.
///
/// Declared with [`Stack::moved`](crate::Stack::moved). Moves may chain (`a` → `b`, then
/// `b` → `c`): a stack that never applied the first one moves straight from `a` to `c`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Moved {
    /// The old name, as `state list` shows it.
    pub from: String,
    /// The new name, declared by the program (or the `from` of a later move).
    pub to: String,
}

/// The renames a program declares: single resources and name prefixes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Renames {
    /// [`Stack::moved`](crate::Stack::moved).
    pub exact: Vec<Moved>,
    /// [`Stack::moved_prefix`](crate::Stack::moved_prefix).
    pub prefixes: Vec<Moved>,
}

/// Checks the declared moves against the program's names; reports every problem.
pub(crate) fn check(
    moved: &[Moved],
    by_name: &HashMap<String, usize>,
    diagnostics: &mut Diagnostics,
) {
    let declaration = |m: &Moved| format!("moved `{}` -> `{}`", m.from, m.to);
    let mut froms: HashMap<&str, &str> = HashMap::new();
    let mut tos = HashSet::new();
    for m in moved {
        if m.from == m.to {
            diagnostics.push(
                Diagnostic::error(format!("{} moves a resource onto itself", declaration(m)))
                    .field("moved")
                    .value(&m.from)
                    .fix("remove this declaration"),
            );
            continue;
        }
        if by_name.contains_key(&m.from) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{}: the program still declares `{}`",
                    declaration(m),
                    m.from
                ))
                .resource(m.from.clone())
                .field("moved.from")
                .value(&m.from)
                .fix(
                    "rename the resource in the program to the new name, or remove the declaration",
                ),
            );
        }
        if froms.insert(&m.from, &m.to).is_some() {
            diagnostics.push(
                Diagnostic::error(format!("`{}` is moved twice", m.from))
                    .field("moved.from")
                    .value(&m.from)
                    .fix("a recorded resource can move to one new name only; keep one declaration"),
            );
        }
        if !tos.insert(m.to.as_str()) {
            diagnostics.push(
                Diagnostic::error(format!("two resources are moved to `{}`", m.to))
                    .field("moved.to")
                    .value(&m.to)
                    .fix("each new name can take over one recorded resource; keep one declaration"),
            );
        }
    }
    // Every move must lead, possibly through later moves, to a resource of the program.
    for m in moved.iter().filter(|m| m.from != m.to) {
        let mut name = m.to.as_str();
        let mut steps = 0;
        while !by_name.contains_key(name) {
            match froms.get(name) {
                Some(next) if steps < moved.len() => {
                    name = next;
                    steps += 1;
                }
                Some(_) => {
                    diagnostics.push(
                        Diagnostic::error(format!("{} is part of a cycle of moves", declaration(m)))
                            .field("moved")
                            .value(&m.from)
                            .fix("moves must lead to a resource the program declares; remove one of the cycle"),
                    );
                    break;
                }
                None => {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "{}: the program declares no resource `{name}`",
                            declaration(m)
                        ))
                        .field("moved.to")
                        .value(name)
                        .fix(
                            "name the resource as the program declares it (`plan` lists the names)",
                        ),
                    );
                    break;
                }
            }
        }
    }
}

/// Checks the declared prefix moves: each must change the prefix, and the program must
/// declare a resource under the new one.
pub(crate) fn check_prefixes(
    moved: &[Moved],
    by_name: &HashMap<String, usize>,
    diagnostics: &mut Diagnostics,
) {
    for m in moved {
        let declaration = format!("moved prefix `{}` -> `{}`", m.from, m.to);
        if m.from.is_empty() || m.from == m.to {
            diagnostics.push(
                Diagnostic::error(format!("{declaration} renames nothing"))
                    .field("moved_prefix")
                    .value(&m.from)
                    .fix("give the old prefix (such as `main-`) and a different new one"),
            );
        } else if !by_name.keys().any(|name| name.starts_with(&m.to)) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{declaration}: the program declares no resource whose name starts with `{}`",
                    m.to
                ))
                .field("moved_prefix.to")
                .value(&m.to)
                .fix("use the prefix the renamed module gives its resources (`plan` lists the names)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> HashMap<String, usize> {
        list.iter()
            .enumerate()
            .map(|(i, n)| ((*n).to_owned(), i))
            .collect()
    }

    fn moved(pairs: &[(&str, &str)]) -> Vec<Moved> {
        pairs
            .iter()
            .map(|(from, to)| Moved {
                from: (*from).into(),
                to: (*to).into(),
            })
            .collect()
    }

    fn errors(pairs: &[(&str, &str)], program: &[&str]) -> Vec<String> {
        let mut diagnostics = Diagnostics::new();
        check(&moved(pairs), &names(program), &mut diagnostics);
        diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn valid_moves_and_chains_pass() {
        assert!(errors(&[("old", "new")], &["new"]).is_empty());
        assert!(errors(&[("a", "b"), ("b", "c")], &["c"]).is_empty());
    }

    #[test]
    fn every_mistake_is_reported_with_the_fix() {
        let found = errors(
            &[
                ("same", "same"),
                ("kept", "new"),
                ("x", "nowhere"),
                ("p", "q"),
                ("q", "p"),
                ("d", "new2"),
                ("d", "new3"),
            ],
            &["kept", "new", "new2", "new3"],
        );
        let all = found.join("\n");
        assert!(all.contains("moves a resource onto itself"), "{all}");
        assert!(all.contains("the program still declares `kept`"), "{all}");
        assert!(
            all.contains("the program declares no resource `nowhere`"),
            "{all}"
        );
        assert!(all.contains("part of a cycle of moves"), "{all}");
        assert!(all.contains("`d` is moved twice"), "{all}");
        let mut prefixes = Diagnostics::new();
        check_prefixes(
            &moved(&[("main-", "main-"), ("main-", "core-"), ("old-", "gone-")]),
            &names(&["core-vpc"]),
            &mut prefixes,
        );
        let prefixes: Vec<String> = prefixes.iter().map(ToString::to_string).collect();
        assert_eq!(prefixes.len(), 2, "{prefixes:?}");
        assert!(prefixes[0].contains("renames nothing"), "{prefixes:?}");
        assert!(
            prefixes[1].contains("no resource whose name starts with `gone-`"),
            "{prefixes:?}"
        );
        let twice_to = errors(&[("a", "new"), ("b", "new")], &["new"]);
        assert!(
            twice_to
                .iter()
                .any(|e| e.contains("two resources are moved to `new`")),
            "{twice_to:?}"
        );
    }
}
