//! Before a provider call: resolve the action's inputs from the live outputs, check them
//! against what the plan showed (a saved plan applies exactly or fails), and choose the
//! call's time limit. Kept apart from the walk because it is the one place where the plan
//! and the live outputs meet.

use girder_core::{FieldPath, Value};

use super::execute::{Job, JobError};
use super::walk::Walk;
use crate::events::ActionKind;

impl Walk<'_> {
    /// The job of `action`, with its inputs resolved and checked.
    pub(super) fn prepare(&self, action: usize) -> Result<Job, JobError> {
        let spec = &self.actions[action];
        let step = &self.plan.steps[spec.step];
        let fail = |message: String| JobError {
            message,
            fatal: false,
        };
        let node = spec.produces.map(|n| self.graph.node_at(n));
        let inputs = match node {
            Some(node) => {
                let resolved = node
                    .spec
                    .inputs
                    .resolve(&|id| self.outputs[id.index()].as_ref())
                    .map_err(|e| fail(e.to_string()))?;
                if resolved.contains_unknown() {
                    return Err(fail(format!(
                        "inputs are still unknown at apply time ({}); a dependency produced no value for them",
                        resolved.display()
                    )));
                }
                let mut desired = resolved;
                if let Some(old) = &step.old {
                    crate::diff::keep_recorded(
                        &mut desired,
                        &old.inputs,
                        &node.spec.options.ignore_paths(),
                    );
                }
                if spec.kind != ActionKind::Configure {
                    check_consistent(&step.inputs, &desired).map_err(|path| {
                        fail(format!(
                            "the input `{path}` differs from the plan (the plan said {}, apply computed {}): the program changed since the plan was made, or a dependency returned other values than it promised; make a new plan",
                            step.inputs.lookup(&path).unwrap_or_default().display(),
                            desired.lookup(&path).unwrap_or_default().display()
                        ))
                    })?;
                }
                desired
            }
            None => Value::Null,
        };
        let schema = self.shared.registry.schema(&step.type_name);
        let defaults = schema.map(|s| s.timeouts).unwrap_or_default();
        let custom = node.map(|n| n.spec.options.timeouts).unwrap_or_default();
        let timeout = match spec.kind {
            // Waiting again for a create is still the create's wait.
            ActionKind::Create
            | ActionKind::CreateReplacement
            | ActionKind::Import
            | ActionKind::Resume => custom.create.unwrap_or(defaults.create),
            ActionKind::Update => custom.update.unwrap_or(defaults.update),
            ActionKind::Delete | ActionKind::DeleteReplaced => {
                custom.delete.unwrap_or(defaults.delete)
            }
            ActionKind::Read | ActionKind::Configure | ActionKind::Same => defaults.read,
        };
        Ok(Job {
            kind: spec.kind,
            step: spec.step,
            inputs,
            timeout,
            deposed_key: self.deposed_keys.get(&spec.step).cloned(),
        })
    }
}

/// Checks that every value the plan showed as known is what apply computed; returns the first
/// differing path.
fn check_consistent(planned: &Value, actual: &Value) -> Result<(), FieldPath> {
    fn compare(path: FieldPath, planned: &Value, actual: &Value) -> Result<(), FieldPath> {
        match (planned, actual) {
            (Value::Unknown, _) => Ok(()),
            (Value::Secret(p), a) => compare(path, p, a.reveal_ref()),
            (p, Value::Secret(a)) => compare(path, p, a),
            (Value::Object(p), Value::Object(a)) => {
                for (key, value) in p {
                    let other = a.get(key).unwrap_or(&Value::Null);
                    compare(path.child(key.clone()), value, other)?;
                }
                Ok(())
            }
            (Value::Array(p), Value::Array(a)) if p.len() == a.len() => {
                for (i, (pv, av)) in p.iter().zip(a).enumerate() {
                    compare(path.index(i), pv, av)?;
                }
                Ok(())
            }
            // A list whose length was unknown cannot be compared item by item.
            (p, _) if p.contains_unknown() => Ok(()),
            (p, a) if p == a => Ok(()),
            _ => Err(path),
        }
    }
    compare(FieldPath::root(), planned, actual)
}

trait RevealRef {
    fn reveal_ref(&self) -> &Value;
}

impl RevealRef for Value {
    fn reveal_ref(&self) -> &Value {
        match self {
            Value::Secret(inner) => inner.reveal_ref(),
            other => other,
        }
    }
}
