//! Stable text renderings for snapshot tests (`insta::assert_snapshot!`): plans and values,
//! with secrets masked, unknowns marked and a stable order.

use std::fmt::Write as _;

use girder_core::Value;
use girder_engine::{Plan, StepKind};

/// Writes `value` as indented YAML-like text at `indent` spaces.
pub fn value_text(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                match item {
                    Value::Object(inner) if !inner.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        value_text(item, indent + 2, out);
                    }
                    Value::Array(items) if !items.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        value_text(item, indent + 2, out);
                    }
                    other => {
                        let _ = writeln!(out, "{pad}{key}: {}", other.display());
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Value::Object(inner) if !inner.is_empty() => {
                        let _ = writeln!(out, "{pad}-");
                        value_text(item, indent + 2, out);
                    }
                    other => {
                        let _ = writeln!(out, "{pad}- {}", other.display());
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", other.display());
        }
    }
}

/// A plan as stable text: the summary, then every resource sorted by name with its step and
/// its inputs (or, for updates and replacements, its changed fields).
///
/// ```
/// use girder_testing::plan::TestProgram;
/// use girder_testing::sim::SimResource;
/// let view = TestProgram::new().plan(|s| { SimResource::new("a").zone("z").add(s); }).unwrap();
/// assert_eq!(view.snapshot(), "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete\n\ncreate sim:resource a\n  zone: \"z\"\n");
/// ```
pub fn plan_text(plan: &Plan) -> String {
    let mut out = format!("{}\n", plan.summary());
    let mut steps: Vec<_> = plan.steps.iter().filter(|s| !s.is_provider()).collect();
    steps.sort_by(|a, b| {
        a.resource
            .cmp(&b.resource)
            .then(a.deposed_key.cmp(&b.deposed_key))
    });
    for step in steps {
        let kind = match step.kind {
            StepKind::Same => "same",
            StepKind::Create => "create",
            StepKind::Update => "update",
            StepKind::Replace => "replace",
            StepKind::Delete => "delete",
            StepKind::Read => "read",
            StepKind::Import => "import",
        };
        let _ = writeln!(out, "\n{kind} {} {}", step.type_name, step.resource);
        match step.kind {
            StepKind::Create | StepKind::Import | StepKind::Read => {
                value_text(&step.inputs, 2, &mut out)
            }
            StepKind::Update | StepKind::Replace => {
                for diff in &step.diffs {
                    let before = diff
                        .before
                        .as_ref()
                        .map(|v| v.display().to_string())
                        .unwrap_or_else(|| "(none)".into());
                    let after = diff
                        .after
                        .as_ref()
                        .map(|v| v.display().to_string())
                        .unwrap_or_else(|| "(removed)".into());
                    let note = if diff.forces_replacement {
                        " (forces replacement)"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "  {}: {before} -> {after}{note}", diff.path);
                }
            }
            StepKind::Same | StepKind::Delete => {}
        }
    }
    if !plan.outputs.is_empty() {
        out.push_str("\noutputs:\n");
        for (name, change) in &plan.outputs {
            let _ = writeln!(out, "  {name}: {}", change.after.display());
        }
    }
    out
}
