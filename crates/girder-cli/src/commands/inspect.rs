//! Read-only commands: graph, output, render.

use std::fmt::Write as _;
use std::path::Path;

use girder_core::{NodeKind, Value};

use super::Run;
use crate::CliError;
use crate::args::GraphFormat;

/// JSON of a value with secrets replaced by `"[secret]"` (or revealed) and unknowns marked.
pub(crate) fn mask(value: &Value, reveal: bool) -> serde_json::Value {
    match value {
        Value::Secret(inner) if reveal => mask(inner, reveal),
        Value::Secret(_) => serde_json::Value::String("[secret]".into()),
        Value::Unknown => serde_json::Value::String("(known after apply)".into()),
        Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask(v, reveal)))
                .collect(),
        ),
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| mask(v, reveal)).collect())
        }
        other => other.to_json(),
    }
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Run {
    pub fn graph(&self, format: GraphFormat) -> Result<u8, CliError> {
        let nodes = self.graph.nodes();
        let mut out = String::new();
        match format {
            GraphFormat::Dot => {
                let _ = writeln!(
                    out,
                    "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box];",
                    quote(self.graph.stack())
                );
                for node in nodes {
                    let shape = match node.spec.kind {
                        NodeKind::Provider => ", shape=diamond",
                        NodeKind::Read => ", shape=ellipse",
                        NodeKind::Resource => "",
                    };
                    let _ = writeln!(
                        out,
                        "  \"{}\" [label=\"{}\\n{}\"{shape}];",
                        quote(&node.spec.name),
                        quote(&node.spec.name),
                        quote(&node.spec.type_name)
                    );
                }
                for (dependent, dependency) in self.graph.edges() {
                    let _ = writeln!(
                        out,
                        "  \"{}\" -> \"{}\";",
                        quote(&nodes[dependency].spec.name),
                        quote(&nodes[dependent].spec.name)
                    );
                }
                out.push('}');
            }
            GraphFormat::Mermaid => {
                out.push_str("flowchart LR\n");
                for (i, node) in nodes.iter().enumerate() {
                    let label = format!(
                        "{}<br/><small>{}</small>",
                        node.spec.name, node.spec.type_name
                    )
                    .replace('"', "'");
                    let _ = match node.spec.kind {
                        NodeKind::Provider => writeln!(out, "  n{i}{{\"{label}\"}}"),
                        NodeKind::Read => writeln!(out, "  n{i}([\"{label}\"])"),
                        NodeKind::Resource => writeln!(out, "  n{i}[\"{label}\"]"),
                    };
                }
                for (dependent, dependency) in self.graph.edges() {
                    let _ = writeln!(out, "  n{dependency} --> n{dependent}");
                }
            }
            GraphFormat::Json => {
                let json = serde_json::json!({
                    "stack": self.graph.stack(),
                    "nodes": nodes.iter().map(|n| serde_json::json!({
                        "name": n.spec.name, "type": n.spec.type_name, "kind": n.spec.kind,
                    })).collect::<Vec<_>>(),
                    "edges": self.graph.edges().map(|(dependent, dependency)| serde_json::json!({
                        "from": nodes[dependency].spec.name, "to": nodes[dependent].spec.name,
                    })).collect::<Vec<_>>(),
                });
                out = serde_json::to_string_pretty(&json).unwrap_or_default();
            }
        }
        self.say(&out);
        Ok(0)
    }

    pub async fn output(&self, name: Option<String>, show_secrets: bool) -> Result<u8, CliError> {
        let store = self.open_store().await?;
        let snapshot = store.load().await?;
        let outputs: Vec<(&String, &Value)> = match &name {
            Some(name) => {
                let value = snapshot.outputs.get(name).ok_or_else(|| {
                    CliError::Refused(format!(
                        "the stack `{}` has no output `{name}` (it has: {}); outputs are recorded by apply",
                        self.global.stack,
                        snapshot.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                })?;
                vec![(name, value)]
            }
            None => snapshot.outputs.iter().collect(),
        };
        if self.global.json {
            let json = match (&name, outputs.first()) {
                (Some(_), Some((_, value))) => mask(value, show_secrets),
                _ => serde_json::Value::Object(
                    outputs
                        .iter()
                        .map(|(k, v)| ((*k).clone(), mask(v, show_secrets)))
                        .collect(),
                ),
            };
            self.say(&json.to_string());
        } else if let (Some(_), Some((_, value))) = (&name, outputs.first()) {
            // A single output prints bare, for shell use: `$(prog output url)`.
            match mask(value, show_secrets) {
                serde_json::Value::String(text) => self.say(&text),
                other => self.say(&other.to_string()),
            }
        } else {
            for (key, value) in outputs {
                self.say(&format!("{key} = {}", mask(value, show_secrets)));
            }
        }
        Ok(0)
    }

    /// Writes the program's Kubernetes objects as an apply would send them. Values from
    /// other resources are read from the state (read-only: no lock, and no state is created
    /// when none exists); an object that would still need a placeholder is refused.
    pub async fn render(&self, out: &Path, show_secrets: bool) -> Result<u8, CliError> {
        let renderer = self.renderer.as_ref().ok_or_else(|| {
            CliError::Refused("this program was built without the Kubernetes provider; enable the `k8s` feature of `girder` to render manifests".into())
        })?;
        // Most programs render from the program alone; the state is read only when some value
        // comes from another resource.
        let files = match renderer(&self.graph, show_secrets, &|_| None) {
            Ok(files) => files,
            Err(without_state) => match self.recorded_outputs().await? {
                Some(recorded) => renderer(&self.graph, show_secrets, &|name| {
                    recorded.get(name).cloned()
                })
                .map_err(CliError::Refused)?,
                None => return Err(CliError::Refused(without_state)),
            },
        };
        if out == Path::new("-") {
            let stream: Vec<&str> = files.iter().map(|(_, yaml)| yaml.as_str()).collect();
            let mut stdout = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut stdout, stream.join("---\n").as_bytes());
            return Ok(0);
        }
        std::fs::create_dir_all(out).map_err(|e| CliError::Io {
            path: out.display().to_string(),
            message: e.to_string(),
        })?;
        for (file, yaml) in &files {
            let path = out.join(file);
            std::fs::write(&path, yaml).map_err(|e| CliError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        }
        self.say(&format!(
            "Wrote {} Kubernetes object(s) to {}.",
            files.len(),
            out.display()
        ));
        Ok(0)
    }

    /// The outputs the stack's state records, by resource name; `None` when the stack has no
    /// state yet (a directory location without its database: opening it would create one).
    async fn recorded_outputs(
        &self,
    ) -> Result<Option<std::collections::HashMap<String, girder_core::Value>>, CliError> {
        let location = &self.global.state;
        if !location.contains("://")
            && !Path::new(location)
                .join(format!("{}.db", self.global.stack))
                .exists()
        {
            return Ok(None);
        }
        let snapshot = self.open_store().await?.load().await?;
        Ok(Some(
            snapshot
                .resources
                .values()
                .map(|r| (r.name.clone(), r.outputs.clone()))
                .collect(),
        ))
    }
}
