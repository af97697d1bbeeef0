//! Plans in the Terraform plan JSON format (`terraform show -json`, format 1.2), so that
//! the tools that read Terraform plans — policy scanners such as checkov, OPA/conftest
//! policies, terraform-visual — read girder plans.
//!
//! girder's AWS types are written in the Terraform AWS provider's vocabulary (`aws.rs`:
//! `aws:ec2/vpc` is an `aws_vpc` with `cidr_block`, `tags` and `tags_all`; an EKS cluster's
//! subnets are in `vpc_config = [{…}]`; IAM policies are JSON strings; an S3 bucket's
//! versioning, encryption and public access block are resources of their own), Kubernetes
//! objects in the Terraform Kubernetes provider's (`kubernetes.rs`); other types keep their
//! inputs under the type token made an identifier (`sim:resource` → `sim_resource`).
//! `docs/terraform-plan.md` has the table.
//!
//! Addresses are `TYPE.NAME`: the girder name, with characters Terraform does not allow in an
//! identifier replaced by `_` (and a short hash of the girder name appended if two names would
//! meet). Each change carries a `girder` object with the original name and type. Secrets are
//! `null` and flagged in `*_sensitive`; unknowns are `null` in `after` and flagged in
//! `after_unknown`, and left out of `planned_values`, as Terraform does. With the program's
//! graph, `configuration` has each input computed from another resource as Terraform writes
//! references (`{"references": ["aws_vpc.main.id", "aws_vpc.main"]}`), and
//! `relevant_attributes` the attributes referenced.

mod attrs;
mod aws;
mod document;
mod kubernetes;
mod names;
mod values;

use std::collections::{BTreeMap, BTreeSet};

use girder_core::{Graph, Value};
use girder_engine::{Plan, Step};
use serde_json::{Map, Value as Json, json};

use attrs::expression;
use document::{Context, Entry, entries, resource_change, state_resource};
use names::{provider_key, split_reference};
use values::masked;

/// The Terraform release whose plan JSON (format 1.2) this output follows. Tools read
/// `terraform_version` as a version number; girder's own is in `girder_version`.
pub const TERRAFORM_VERSION: &str = "1.9.0";

/// The plan as Terraform plan JSON, without `configuration` expressions (the plan alone does
/// not say which input comes from which resource).
pub fn terraform_json(plan: &Plan) -> Json {
    terraform_json_with(plan, None)
}

/// The plan as Terraform plan JSON; with the program's graph, `configuration` and
/// `relevant_attributes` carry the references between resources.
pub fn terraform_json_with(plan: &Plan, graph: Option<&Graph>) -> Json {
    let ctx = Context::new(plan, graph);
    let steps: Vec<&Step> = plan.steps.iter().filter(|s| !s.is_provider()).collect();
    let all: Vec<Entry<'_>> = steps.iter().flat_map(|s| entries(&ctx, s)).collect();

    let resource_changes: Vec<Json> = all.iter().map(resource_change).collect();
    let planned: Vec<Json> = all
        .iter()
        .filter_map(|e| e.after.as_ref().map(|a| state_resource(e, &a.values)))
        .collect();
    let prior: Vec<Json> = all
        .iter()
        .filter(|e| e.step.deposed_key.is_none())
        .filter_map(|e| e.before.as_ref().map(|b| state_resource(e, &b.values)))
        .collect();

    // configuration: each planned resource's expressions; references between resources, and
    // `depends_on` for the dependencies no reference explains.
    let mut relevant: BTreeSet<(String, String)> = BTreeSet::new();
    let mut providers: BTreeMap<String, String> = BTreeMap::new();
    let configured: Vec<Json> = all
        .iter()
        .filter_map(|e| e.after.as_ref().map(|a| (e, a)))
        .map(|(entry, resource)| {
            let key = provider_key(&entry.provider).to_owned();
            providers.insert(key.clone(), entry.provider.clone());
            let mut referenced: BTreeSet<String> = BTreeSet::new();
            collect_references(&Json::Object(resource.expressions.clone()), &mut |text| {
                referenced.insert(text.to_owned());
            });
            for text in &referenced {
                if let Some((address, attribute)) = split_reference(text) {
                    relevant.insert((address, attribute));
                }
            }
            let depends_on: Vec<String> = entry
                .step
                .dependencies
                .iter()
                .filter_map(|d| ctx.addresses.get(d))
                .filter(|address| !referenced.contains(*address))
                .cloned()
                .collect();
            let mut out = entry.header();
            out.remove("provider_name");
            out.insert("provider_config_key".into(), json!(key));
            out.insert(
                "expressions".into(),
                Json::Object(resource.expressions.clone()),
            );
            out.insert("schema_version".into(), json!(0));
            if !depends_on.is_empty() {
                out.insert("depends_on".into(), json!(depends_on));
            }
            Json::Object(out)
        })
        .collect();
    let provider_config: Map<String, Json> = providers
        .iter()
        .map(|(key, full)| (key.clone(), json!({ "name": key, "full_name": full })))
        .collect();
    // The attributes themselves, not the shorter traversals Terraform also lists.
    let longest: Vec<&(String, String)> = relevant
        .iter()
        .filter(|(resource, attribute)| {
            !relevant.iter().any(|(other, longer)| {
                other == resource
                    && longer.len() > attribute.len()
                    && longer.starts_with(attribute.as_str())
                    && longer[attribute.len()..].starts_with(['.', '['])
            })
        })
        .collect();
    let relevant_attributes: Vec<Json> = longest
        .into_iter()
        .map(|(resource, attribute)| {
            let path: Vec<Json> = attribute
                .split('.')
                .flat_map(|part| match part.split_once('[') {
                    Some((key, index)) => vec![
                        json!(key),
                        json!(index.trim_end_matches(']').parse::<u64>().unwrap_or(0)),
                    ],
                    None => vec![json!(part)],
                })
                .collect();
            json!({ "resource": resource, "attribute": path })
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
    let planned_outputs: Map<String, Json> = plan
        .outputs
        .iter()
        .map(|(name, change)| {
            let mut out = json!({ "sensitive": change.after.contains_secret() });
            if !change.after.contains_unknown() {
                out["value"] = masked(&change.after);
            }
            (name.clone(), out)
        })
        .collect();
    let configured_outputs: Map<String, Json> = plan
        .outputs
        .iter()
        .map(|(name, change)| {
            let refs = graph
                .and_then(|g| g.outputs().get(name).map(|e| ctx.resolve(g, e)))
                .unwrap_or_default();
            let mut out = json!({});
            if let Some(expr) = expression(&change.after, &refs) {
                out["expression"] = expr;
            }
            if change.after.contains_secret() {
                out["sensitive"] = json!(true);
            }
            (name.clone(), out)
        })
        .collect();

    let mut out = json!({
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "girder_version": env!("CARGO_PKG_VERSION"),
        "planned_values": {
            "outputs": planned_outputs,
            "root_module": { "resources": planned },
        },
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "configuration": {
            "provider_config": provider_config,
            "root_module": { "resources": configured, "outputs": configured_outputs },
        },
        "relevant_attributes": relevant_attributes,
        "errored": false,
        "applyable": plan.has_changes(),
        "complete": true,
    });
    if steps.iter().any(|s| s.old.is_some()) {
        out["prior_state"] = json!({
            "format_version": "1.0",
            "terraform_version": TERRAFORM_VERSION,
            "values": { "root_module": { "resources": prior } },
        });
    }
    out
}
/// Calls `found` with every entry of every `references` list in `expressions`.
fn collect_references(expressions: &Json, found: &mut dyn FnMut(&str)) {
    match expressions {
        Json::Object(map) => {
            if let Some(Json::Array(refs)) = map.get("references") {
                refs.iter().filter_map(Json::as_str).for_each(&mut *found);
            }
            map.values().for_each(|v| collect_references(v, found));
        }
        Json::Array(items) => items.iter().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
