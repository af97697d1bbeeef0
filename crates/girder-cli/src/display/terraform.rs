//! Plans in the Terraform plan JSON schema (`terraform show -json`), so that existing plan
//! tools — terraform-visual, policy scanners, OPA — read girder plans.
//!
//! Mapping: a girder type token `aws:ec2/vpc` becomes the Terraform type `aws_ec2_vpc`, the
//! address is `TYPE.NAME` with characters outside `[A-Za-z0-9_-]` replaced by `_`, and each
//! change carries a `girder` object with the original name and type. Secrets are written as
//! `null` and flagged in `before_sensitive` / `after_sensitive`; unknowns are flagged in
//! `after_unknown`.

use girder_core::{NodeKind, Value};
use girder_engine::{Plan, Step, StepKind};
use serde_json::{Map, Value as Json, json};

fn tf_type(type_name: &str) -> String {
    type_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn tf_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The value with secrets as `null` and unknowns as `null`.
fn masked(value: &Value) -> Json {
    match value {
        Value::Secret(_) | Value::Unknown => Json::Null,
        Value::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), masked(v))).collect())
        }
        Value::Array(items) => Json::Array(items.iter().map(masked).collect()),
        other => other.to_json(),
    }
}

/// `true` where `flag` holds, mirrored into objects and lists; `false` where nothing does.
fn mirror(value: &Value, flag: &dyn Fn(&Value) -> bool) -> Json {
    if flag(value) {
        return Json::Bool(true);
    }
    match value {
        Value::Object(map) => {
            let inner: Map<String, Json> = map
                .iter()
                .filter_map(|(k, v)| {
                    let m = mirror(v, flag);
                    (m != Json::Bool(false)).then(|| (k.clone(), m))
                })
                .collect();
            Json::Object(inner)
        }
        Value::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| match mirror(v, flag) {
                    Json::Bool(false) => Json::Bool(false),
                    other => other,
                })
                .collect(),
        ),
        _ => Json::Bool(false),
    }
}

fn actions(step: &Step) -> Vec<&'static str> {
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

fn resource_change(step: &Step) -> Json {
    let before = step.old.as_ref().map(|o| &o.inputs);
    let after = (step.kind != StepKind::Delete).then_some(&step.inputs);
    let mut change = json!({
        "actions": actions(step),
        "before": before.map(masked).unwrap_or(Json::Null),
        "after": after.map(masked).unwrap_or(Json::Null),
        "after_unknown": after.map(|a| mirror(a, &|v| v.is_unknown())).unwrap_or(Json::Bool(false)),
        "before_sensitive": before.map(|b| mirror(b, &|v| matches!(v, Value::Secret(_)))).unwrap_or(Json::Bool(false)),
        "after_sensitive": after.map(|a| mirror(a, &|v| matches!(v, Value::Secret(_)))).unwrap_or(Json::Bool(false)),
    });
    if let Some(id) = &step.import_id {
        change["importing"] = json!({ "id": id });
    }
    if step.kind == StepKind::Replace {
        let paths: Vec<Json> = step
            .diffs
            .iter()
            .filter(|d| d.forces_replacement)
            .map(|d| json!(d.path.to_string().split('.').collect::<Vec<_>>()))
            .collect();
        change["replace_paths"] = Json::Array(paths);
    }
    let kind = tf_type(&step.type_name);
    let name = tf_name(&step.resource);
    let mut entry = json!({
        "address": format!("{kind}.{name}"),
        "mode": if step.node_kind == NodeKind::Read { "data" } else { "managed" },
        "type": kind,
        "name": name,
        "provider_name": format!("registry.girder.dev/girder/{}", girder_core::package_of(&step.type_name)),
        "change": change,
        "girder": { "resource": step.resource, "type": step.type_name },
    });
    if let Some(key) = &step.deposed_key {
        entry["deposed"] = json!(key);
    }
    if let Some(reason) = &step.reason {
        entry["action_reason"] = json!(reason);
    }
    if let Some(from) = &step.moved_from {
        // Terraform's field for `moved` blocks.
        entry["previous_address"] = json!(format!("{kind}.{}", tf_name(from)));
    }
    entry
}

/// The plan as Terraform plan JSON.
pub fn terraform_json(plan: &Plan) -> Json {
    let steps: Vec<&Step> = plan.steps.iter().filter(|s| !s.is_provider()).collect();
    let resource_changes: Vec<Json> = steps.iter().map(|s| resource_change(s)).collect();
    let planned: Vec<Json> = steps
        .iter()
        .filter(|s| s.kind != StepKind::Delete)
        .map(|s| {
            json!({
                "address": format!("{}.{}", tf_type(&s.type_name), tf_name(&s.resource)),
                "mode": if s.node_kind == NodeKind::Read { "data" } else { "managed" },
                "type": tf_type(&s.type_name),
                "name": tf_name(&s.resource),
                "provider_name": format!("registry.girder.dev/girder/{}", girder_core::package_of(&s.type_name)),
                "schema_version": 0,
                "values": masked(&s.inputs),
                "sensitive_values": mirror(&s.inputs, &|v| matches!(v, Value::Secret(_))),
            })
        })
        .collect();
    let output_changes: Map<String, Json> = plan
        .outputs
        .iter()
        .map(|(name, change)| {
            let actions = match &change.before {
                None => vec!["create"],
                Some(before) if before == &change.after => vec!["no-op"],
                Some(_) => vec!["update"],
            };
            (
                name.clone(),
                json!({
                    "actions": actions,
                    "before": change.before.as_ref().map(masked).unwrap_or(Json::Null),
                    "after": masked(&change.after),
                    "after_unknown": change.after.contains_unknown(),
                    "before_sensitive": change.before.as_ref().is_some_and(Value::contains_secret),
                    "after_sensitive": change.after.contains_secret(),
                }),
            )
        })
        .collect();
    json!({
        "format_version": "1.2",
        "terraform_version": format!("girder-{}", env!("CARGO_PKG_VERSION")),
        "planned_values": { "root_module": { "resources": planned } },
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "errored": false,
        "applyable": plan.has_changes(),
        "complete": true,
    })
}
