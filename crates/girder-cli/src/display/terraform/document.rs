//! The resources of the document: each girder step as the Terraform resources it maps to,
//! both sides, and their `resource_changes`, `planned_values` and `prior_state` entries.

use std::collections::HashMap;

use girder_core::{Graph, NodeKind, Value};
use girder_engine::{Plan, Step, StepKind};
use serde_json::{Map, Value as Json, json};

use super::attrs::{Reference, Source, TfResource, expression};
use super::names::{generic_type, identifier, local_names};
use super::values::{is_secret, known, masked, mirror, sensitive_values};
use super::{aws, kubernetes};

pub(super) fn actions(step: &Step) -> Vec<&'static str> {
    match step.kind {
        StepKind::Same | StepKind::Import => vec!["no-op"],
        StepKind::Create => vec!["create"],
        StepKind::Update => vec!["update"],
        StepKind::Replace if step.delete_before_replace => vec!["delete", "create"],
        StepKind::Replace => vec!["create", "delete"],
        StepKind::Delete => vec!["delete"],
        StepKind::Read => vec!["read"],
    }
}
/// The Terraform resources of one girder resource (planned or recorded side).
pub(super) fn map_resource(src: &Source<'_>) -> Vec<TfResource> {
    if let Some(mapped) = aws::map(src).or_else(|| kubernetes::map(src)) {
        return mapped;
    }
    let mut expressions = Map::new();
    let mut origins = Vec::new();
    for (key, value) in src.inputs.as_object().into_iter().flatten() {
        if let Some(expr) = expression(value, &src.refs_of(key)) {
            expressions.insert(key.clone(), expr);
        }
        origins.push((key.clone(), vec![key.clone()]));
    }
    vec![TfResource {
        tf_type: generic_type(src.type_name),
        provider: "",
        values: src.inputs.clone(),
        expressions,
        origins,
        name_suffix: None,
    }]
}
/// The full provider name of a resource.
pub(super) fn provider_name(resource: &TfResource, type_name: &str) -> String {
    if resource.provider.is_empty() {
        format!(
            "registry.girder.dev/girder/{}",
            girder_core::package_of(type_name)
        )
    } else {
        resource.provider.to_owned()
    }
}
/// What the plan knows of every resource: its local name, its primary Terraform type, and
/// the girder input expressions (from the graph) its references come from.
pub(super) struct Context<'p> {
    pub(super) plan: &'p Plan,
    pub(super) graph: Option<&'p Graph>,
    pub(super) names: HashMap<String, String>,
    /// girder name → address of its primary Terraform resource (`aws_vpc.main`).
    pub(super) addresses: HashMap<String, String>,
    /// girder name → its type token.
    pub(super) types: HashMap<String, String>,
    /// girder name → the attributes of its primary Terraform resource (for paths into blocks).
    pub(super) shapes: HashMap<String, TfResource>,
}
impl<'p> Context<'p> {
    pub(super) fn new(plan: &'p Plan, graph: Option<&'p Graph>) -> Self {
        let steps = || plan.steps.iter().filter(|s| !s.is_provider());
        let names = local_names(steps().map(|s| s.resource.as_str()));
        let mut ctx = Context {
            plan,
            graph,
            names,
            addresses: HashMap::new(),
            types: HashMap::new(),
            shapes: HashMap::new(),
        };
        for step in steps() {
            let no_refs = |_: &str| Vec::new();
            let side = ctx
                .side(step, false, &no_refs)
                .or_else(|| ctx.side(step, true, &no_refs));
            if let Some(first) = side.and_then(|s| map_resource(&s).into_iter().next()) {
                let address = format!("{}.{}", first.tf_type, ctx.names[&step.resource]);
                let address = if step.node_kind == NodeKind::Read {
                    format!("data.{address}")
                } else {
                    address
                };
                ctx.addresses.insert(step.resource.clone(), address);
                ctx.types
                    .insert(step.resource.clone(), step.type_name.clone());
                ctx.shapes.insert(step.resource.clone(), first);
            }
        }
        ctx
    }

    /// The planned (`recorded == false`) or recorded side of a step as a mapping source.
    fn side<'s>(
        &'s self,
        step: &'s Step,
        recorded: bool,
        refs: &'s dyn Fn(&str) -> Vec<Reference>,
    ) -> Option<Source<'s>> {
        let name = self.names[&step.resource].as_str();
        if recorded {
            let old = step.old.as_ref()?;
            return Some(Source {
                type_name: &old.type_name,
                inputs: &old.inputs,
                outputs: &old.outputs,
                id: Value::from(old.id.as_str()),
                stack: &self.plan.stack,
                resource: &step.resource,
                name,
                refs,
            });
        }
        if step.kind == StepKind::Delete {
            return None;
        }
        let id = match (&step.old, step.kind) {
            (_, StepKind::Create | StepKind::Replace) => match &step.import_id {
                Some(id) => Value::from(id.as_str()),
                None => Value::Unknown,
            },
            (Some(old), _) => Value::from(old.id.as_str()),
            (None, _) => step
                .import_id
                .as_deref()
                .map(Value::from)
                .unwrap_or(Value::Unknown),
        };
        Some(Source {
            type_name: &step.type_name,
            inputs: &step.inputs,
            outputs: &step.outputs,
            id,
            stack: &self.plan.stack,
            resource: &step.resource,
            name,
            refs,
        })
    }

    /// The references of the top-level input `key` of resource `name`, from the graph.
    fn references(&self, name: &str, key: &str) -> Vec<Reference> {
        let Some(graph) = self.graph else {
            return Vec::new();
        };
        let Some(index) = graph.find(name) else {
            return Vec::new();
        };
        let girder_core::Expr::Object(inputs) = &graph.node_at(index).spec.inputs else {
            return Vec::new();
        };
        let Some(expr) = inputs.get(key) else {
            return Vec::new();
        };
        self.resolve(graph, expr)
    }

    /// The references an expression makes, as Terraform references.
    pub(super) fn resolve(&self, graph: &Graph, expr: &girder_core::Expr) -> Vec<Reference> {
        let mut out: Vec<Reference> = Vec::new();
        for reference in expr.references() {
            let target = &graph.node(reference.node).spec.name;
            let Some(address) = self.addresses.get(target) else {
                continue;
            };
            let type_name = &self.types[target];
            let segments = reference.path.segments();
            let path = match segments.first() {
                Some(girder_core::Segment::Key(key)) if key == "id" => vec![json!("id")],
                Some(_) if type_name.starts_with("k8s:") => {
                    kubernetes::output_path(&self.shapes[target], segments)
                }
                Some(girder_core::Segment::Key(key)) => aws::output_attr(type_name, key),
                _ => Vec::new(),
            };
            let found = Reference {
                address: address.clone(),
                path,
            };
            if !out.contains(&found) {
                out.push(found);
            }
        }
        out
    }
}
/// One Terraform resource of the plan, both sides.
pub(super) struct Entry<'p> {
    pub(super) step: &'p Step,
    pub(super) tf_type: String,
    pub(super) name: String,
    pub(super) provider: String,
    pub(super) before: Option<TfResource>,
    pub(super) after: Option<TfResource>,
}
impl Entry<'_> {
    fn address(&self) -> String {
        let address = format!("{}.{}", self.tf_type, self.name);
        if self.mode() == "data" {
            format!("data.{address}")
        } else {
            address
        }
    }

    fn mode(&self) -> &'static str {
        if self.step.node_kind == NodeKind::Read {
            "data"
        } else {
            "managed"
        }
    }

    pub(super) fn header(&self) -> Map<String, Json> {
        let mut header = Map::new();
        header.insert("address".into(), json!(self.address()));
        header.insert("mode".into(), json!(self.mode()));
        header.insert("type".into(), json!(self.tf_type));
        header.insert("name".into(), json!(self.name));
        header.insert("provider_name".into(), json!(self.provider));
        header
    }
}
pub(super) fn entries<'p>(ctx: &Context<'p>, step: &'p Step) -> Vec<Entry<'p>> {
    let refs = |key: &str| ctx.references(&step.resource, key);
    let no_refs = |_: &str| Vec::new();
    let after = ctx
        .side(step, false, &refs)
        .map(|s| map_resource(&s))
        .unwrap_or_default();
    let before = ctx
        .side(step, true, &no_refs)
        .map(|s| map_resource(&s))
        .unwrap_or_default();
    let local = &ctx.names[&step.resource];
    let name_of = |r: &TfResource| match &r.name_suffix {
        Some(suffix) => identifier(&format!("{local}_{suffix}")),
        None => local.clone(),
    };
    let mut out: Vec<Entry<'_>> = Vec::new();
    for resource in after {
        out.push(Entry {
            step,
            tf_type: resource.tf_type.clone(),
            name: name_of(&resource),
            provider: provider_name(&resource, &step.type_name),
            before: None,
            after: Some(resource),
        });
    }
    for resource in before {
        let name = name_of(&resource);
        match out
            .iter_mut()
            .find(|e| e.tf_type == resource.tf_type && e.name == name)
        {
            Some(entry) => entry.before = Some(resource),
            None => out.push(Entry {
                step,
                tf_type: resource.tf_type.clone(),
                name,
                provider: provider_name(&resource, &step.type_name),
                before: Some(resource),
                after: None,
            }),
        }
    }
    out
}
pub(super) fn resource_change(entry: &Entry<'_>) -> Json {
    let step = entry.step;
    let before = entry.before.as_ref().map(|r| &r.values);
    let after = entry.after.as_ref().map(|r| &r.values);
    let actions = match (before, after) {
        // A setting resource that appears (or goes) with an update of its girder resource.
        (None, Some(_)) if step.kind == StepKind::Update => vec!["create"],
        (Some(_), None) if step.kind == StepKind::Update => vec!["delete"],
        (Some(b), Some(a)) if step.kind == StepKind::Update && b == a => vec!["no-op"],
        _ => actions(step),
    };
    let mut change = json!({
        "actions": actions,
        "before": before.map(masked).unwrap_or(Json::Null),
        "after": after.map(masked).unwrap_or(Json::Null),
        "after_unknown": after.map(|a| mirror(a, &Value::is_unknown)).unwrap_or(json!({})),
        "before_sensitive": before.map(|b| mirror(b, &is_secret)).unwrap_or(Json::Bool(false)),
        "after_sensitive": after.map(|a| mirror(a, &is_secret)).unwrap_or(Json::Bool(false)),
    });
    if let Some(id) = &step.import_id {
        change["importing"] = json!({ "id": id });
    }
    if step.kind == StepKind::Replace {
        let origins = entry
            .after
            .as_ref()
            .or(entry.before.as_ref())
            .map(|r| r.origins.as_slice())
            .unwrap_or_default();
        let paths: Vec<Json> = step
            .diffs
            .iter()
            .filter(|d| d.forces_replacement)
            .filter_map(|d| {
                let text = d.path.to_string();
                let key = text.split(['.', '[']).next().unwrap_or(&text).to_owned();
                let (_, tf) = origins.iter().find(|(k, _)| *k == key)?;
                Some(json!(tf))
            })
            .collect();
        change["replace_paths"] = Json::Array(paths);
    }
    let mut out = entry.header();
    out.insert("change".into(), change);
    out.insert(
        "girder".into(),
        json!({ "resource": step.resource, "type": step.type_name }),
    );
    if let Some(key) = &step.deposed_key {
        out.insert("deposed".into(), json!(key));
    }
    if let Some(reason) = &step.reason {
        out.insert("action_reason".into(), json!(reason));
    }
    if let Some(from) = &step.moved_from {
        // Terraform's field for `moved` blocks.
        out.insert(
            "previous_address".into(),
            json!(format!("{}.{}", entry.tf_type, identifier(from))),
        );
    }
    Json::Object(out)
}
/// A resource in `planned_values` or `prior_state`.
pub(super) fn state_resource(entry: &Entry<'_>, values: &Value) -> Json {
    let mut out = entry.header();
    out.insert("schema_version".into(), json!(0));
    out.insert("values".into(), known(values));
    out.insert("sensitive_values".into(), sensitive_values(values));
    Json::Object(out)
}
