//! The plan, for people: one block per changed resource with per-field diffs, unknowns as
//! `(known after apply)`, secrets as `[secret]`, and the summary line.

use std::fmt::Write as _;

use console::Style;
use girder_core::{FieldPath, Value};
use girder_engine::{Plan, Step, StepKind};

/// Colours, or none.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    color: bool,
}

impl Palette {
    /// Colours on or off.
    pub fn new(color: bool) -> Palette {
        Palette { color }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            style.apply_to(text).to_string()
        } else {
            text.to_owned()
        }
    }

    fn for_kind(&self, kind: StepKind, text: &str) -> String {
        let style = match kind {
            StepKind::Create | StepKind::Import => Style::new().green(),
            StepKind::Update => Style::new().yellow(),
            StepKind::Replace => Style::new().magenta(),
            StepKind::Delete => Style::new().red(),
            StepKind::Read | StepKind::Same => Style::new().cyan(),
        };
        self.paint(style, text)
    }

    /// Bold text.
    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// Dim text.
    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dim(), text)
    }

    /// Error text.
    pub fn red(&self, text: &str) -> String {
        self.paint(Style::new().red().bold(), text)
    }

    /// Warning text.
    pub fn yellow(&self, text: &str) -> String {
        self.paint(Style::new().yellow().bold(), text)
    }

    /// Success text.
    pub fn green(&self, text: &str) -> String {
        self.paint(Style::new().green().bold(), text)
    }
}

/// Leaf fields of a value, for listing a new resource's inputs.
fn leaves(value: &Value, at: FieldPath, out: &mut Vec<(FieldPath, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                leaves(item, at.child(key.clone()), out);
            }
        }
        other if !at.is_root() => out.push((at, other.clone())),
        _ => {}
    }
}

fn verb(step: &Step) -> String {
    match step.kind {
        StepKind::Create => "will be created".into(),
        StepKind::Update if step.resume => {
            "will be waited for (an earlier apply stopped waiting for it), then updated in place"
                .into()
        }
        StepKind::Update => "will be updated in place".into(),
        StepKind::Replace if step.delete_before_replace => {
            "will be deleted, then created again".into()
        }
        StepKind::Replace => "will be replaced (the new one is created first)".into(),
        StepKind::Delete if step.deposed_key.is_some() => {
            "(replaced earlier) will be deleted".into()
        }
        StepKind::Delete if step.retain_on_delete => {
            "will be forgotten (the cloud resource is retained)".into()
        }
        StepKind::Delete => "will be deleted".into(),
        StepKind::Read => "will be read".into(),
        StepKind::Import => format!(
            "will be imported from `{}`",
            step.import_id.as_deref().unwrap_or("?")
        ),
        StepKind::Same if step.resume => {
            "was created by an earlier apply that stopped waiting for it; apply waits until it is ready"
                .into()
        }
        StepKind::Same => match &step.moved_from {
            Some(from) => format!("has moved from `{from}` (the cloud resource is kept)"),
            None => "is unchanged".into(),
        },
    }
}

/// Renders one step.
pub fn render_step(step: &Step, palette: Palette, out: &mut String) {
    let symbol = palette.for_kind(step.kind, &format!("{:>3}", step.symbol()));
    let moved = match (&step.moved_from, step.kind) {
        (Some(from), kind) if kind != StepKind::Same => format!(" (moved from `{from}`)"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{symbol} {}{moved} {}{}",
        palette.bold(&format!("{} {}", step.type_name, step.resource)),
        verb(step),
        step.reason
            .as_ref()
            .filter(|_| matches!(step.kind, StepKind::Replace))
            .map(|r| format!(" — {r}"))
            .unwrap_or_default()
    );
    match step.kind {
        StepKind::Create | StepKind::Import => {
            let mut fields = Vec::new();
            leaves(&step.inputs, FieldPath::root(), &mut fields);
            for (path, value) in fields {
                let _ = writeln!(out, "        {path} = {}", value.display());
            }
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
                    palette.for_kind(StepKind::Replace, "  # forces replacement")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "        {} = {before} -> {after}{note}", diff.path);
            }
        }
        _ => {}
    }
    // What the delete does besides the call (controller waits, sweeps), so that a destroy
    // that will take a quarter of an hour or clean up outside the program says so up front.
    for effect in &step.effects {
        let _ = writeln!(out, "        {}", palette.dim(&format!("then: {effect}")));
    }
}

/// Renders a whole plan with its summary.
pub fn render_plan(plan: &Plan, palette: Palette) -> String {
    let mut out = String::new();
    let changes: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| {
            s.is_change()
                && !s.is_provider()
                && (s.kind != StepKind::Same || s.moved_from.is_some())
        })
        .collect();
    for warning in plan.warnings.iter() {
        let _ = writeln!(
            out,
            "{}",
            palette.paint(Style::new().yellow(), &warning.to_string())
        );
    }
    let drifted = plan.drift.len();
    if drifted > 0 {
        let _ = writeln!(
            out,
            "{}",
            palette.dim(&format!(
                "Refresh found {drifted} resource(s) changed outside girder; the plan repairs them."
            ))
        );
    }
    if changes.is_empty() && !plan.has_changes() {
        let _ = writeln!(
            out,
            "{}",
            palette.green(&format!(
                "No changes. Stack `{}` matches the program.",
                plan.stack
            ))
        );
        return out;
    }
    if !changes.is_empty() {
        let _ = writeln!(
            out,
            "girder will perform these actions on stack `{}`:\n",
            plan.stack
        );
        for step in changes {
            render_step(step, palette, &mut out);
            out.push('\n');
        }
    }
    let output_changes: Vec<_> = plan
        .outputs
        .iter()
        .filter(|(_, c)| c.before.as_ref() != Some(&c.after))
        .collect();
    if !output_changes.is_empty() {
        let _ = writeln!(out, "Outputs:");
        for (name, change) in output_changes {
            let symbol = if change.before.is_none() { "+" } else { "~" };
            let _ = writeln!(out, "  {symbol} {name} = {}", change.after.display());
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", palette.bold(&plan.summary().to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::{NodeKind, object};
    use girder_engine::diff::FieldDiff;

    fn step(kind: StepKind) -> Step {
        Step {
            resource: "web".into(),
            type_name: "sim:resource".into(),
            kind,
            node_kind: NodeKind::Resource,
            provider: None,
            old: None,
            inputs: object! { "size" => 1, "id_of_parent" => Value::Unknown, "password" => Value::from("hunter2").into_secret() },
            outputs: Value::Unknown,
            diffs: vec![FieldDiff {
                path: "zone".parse().unwrap(),
                before: Some("a".into()),
                after: Some("b".into()),
                forces_replacement: true,
            }],
            delete_before_replace: false,
            deposed_key: None,
            reason: None,
            dependencies: vec![],
            protect: false,
            retain_on_delete: false,
            metadata_changed: false,
            import_id: None,
            moved_from: None,
            resume: false,
            effects: Vec::new(),
        }
    }

    #[test]
    fn creates_list_inputs_with_unknowns_and_masked_secrets() {
        let mut out = String::new();
        render_step(&step(StepKind::Create), Palette::new(false), &mut out);
        assert!(
            out.contains("  + sim:resource web will be created"),
            "{out}"
        );
        assert!(out.contains("id_of_parent = (known after apply)"), "{out}");
        assert!(
            out.contains("password = [secret]") && !out.contains("hunter2"),
            "{out}"
        );
    }

    #[test]
    fn moved_resources_name_their_old_name() {
        let mut moved = step(StepKind::Same);
        moved.moved_from = Some("old-web".into());
        let mut out = String::new();
        render_step(&moved, Palette::new(false), &mut out);
        assert!(
            out.contains("sim:resource web has moved from `old-web` (the cloud resource is kept)"),
            "{out}"
        );
        moved.kind = StepKind::Update;
        let mut out = String::new();
        render_step(&moved, Palette::new(false), &mut out);
        assert!(
            out.contains("sim:resource web (moved from `old-web`) will be updated in place"),
            "{out}"
        );
        let json = crate::display::terraform::terraform_json(&Plan {
            stack: "dev".into(),
            lineage: "l".into(),
            base_serial: 0,
            steps: vec![moved],
            outputs: Default::default(),
            warnings: Default::default(),
            destroy: false,
            refresh: vec![],
            drift: vec![],
            moves: vec![girder_core::Moved {
                from: "old-web".into(),
                to: "web".into(),
            }],
        });
        assert_eq!(
            json["resource_changes"][0]["previous_address"],
            "sim_resource.old-web"
        );
    }

    #[test]
    fn replacements_mark_the_forcing_field() {
        let mut out = String::new();
        render_step(&step(StepKind::Replace), Palette::new(false), &mut out);
        assert!(
            out.contains("+/- sim:resource web will be replaced"),
            "{out}"
        );
        assert!(
            out.contains("zone = \"a\" -> \"b\"  # forces replacement"),
            "{out}"
        );
    }

    #[test]
    fn deletes_list_what_they_do_besides_the_call() {
        let mut delete = step(StepKind::Delete);
        delete.effects = vec![
            "waits up to 15m for the cloud controller to delete its load balancer".into(),
            "then deletes what the controllers left".into(),
        ];
        let mut out = String::new();
        render_step(&delete, Palette::new(false), &mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  - sim:resource web will be deleted", "{out}");
        assert_eq!(
            lines[1].trim(),
            "then: waits up to 15m for the cloud controller to delete its load balancer",
            "{out}"
        );
        assert_eq!(lines.len(), 3, "{out}");
    }
}
