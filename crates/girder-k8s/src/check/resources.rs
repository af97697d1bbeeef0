//! Requests and limits as the API server validates them (`ValidateResourceRequirements`):
//! every quantity parses and is not negative, a request is at most its limit, and an extended
//! resource (a GPU, say) cannot be overcommitted, so its request equals its limit. The API
//! server refuses a workload that breaks one of these, after everything before it in the
//! apply has been made.

use girder_core::{Diagnostic, Diagnostics, Value};
use girder_k8s_quantity::Quantity;

use super::{ObjectView, at};
use crate::dsl::quantity_problem;

/// Resources the kubelet itself accounts for; anything else with a `/` or not in this list is
/// an extended resource (`nvidia.com/gpu`), which Kubernetes never overcommits.
fn is_native(resource: &str) -> bool {
    matches!(resource, "cpu" | "memory" | "ephemeral-storage") || resource.starts_with("hugepages-")
}

/// Checks every container's `resources` of `object`.
pub(super) fn check(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    for container in object.containers() {
        let who = format!("container `{}` of {}", container.name, object.describe());
        let mut parsed = |section: &str| -> Vec<(String, String, Quantity)> {
            let mut out = Vec::new();
            let Some(map) = at(container.value, &["resources", section]).and_then(Value::as_object)
            else {
                return out;
            };
            for (resource, value) in map {
                // A YAML `cpu: 1` arrives as a number; the API server reads it the same.
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    _ => continue,
                };
                let field = format!("{}.resources.{section}.{resource}", container.path);
                match quantity_problem(&text) {
                    Some(problem) => diagnostics.push(
                        Diagnostic::error(format!("{who}: {problem}"))
                            .resource(object.resource)
                            .field(field)
                            .value(&text)
                            .fix("use a quantity the API server accepts: CPU as `250m` or `0.5`, memory as `256Mi` or `1Gi`"),
                    ),
                    None => {
                        if let Ok(quantity) = Quantity::parse(&text) {
                            out.push((resource.clone(), text, quantity));
                        }
                    }
                }
            }
            out
        };
        let requests = parsed("requests");
        let limits = parsed("limits");
        for (resource, request_text, request) in &requests {
            let Some((_, limit_text, limit)) = limits.iter().find(|(r, ..)| r == resource) else {
                continue;
            };
            let field = format!("{}.resources.requests.{resource}", container.path);
            let ordering = request.cmp_value(limit);
            if ordering.is_gt() {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "{who} requests {resource} `{request_text}`, more than its limit `{limit_text}`; the API server refuses the workload (`must be less than or equal to {resource} limit`)"
                    ))
                    .resource(object.resource)
                    .field(field)
                    .value(request_text)
                    .fix(format!(
                        "lower the request to at most `{limit_text}` or raise the limit to at least `{request_text}`; the DSL takes the request first: `Resources::new().{}(REQUEST, LIMIT)`",
                        if resource == "memory" { "memory" } else { "cpu" }
                    )),
                );
            } else if ordering.is_lt() && !is_native(resource) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "{who} requests {resource} `{request_text}` with the limit `{limit_text}`; {resource} is an extended resource, which cannot be overcommitted, so the API server refuses the workload (`must be equal to {resource} limit`)"
                    ))
                    .resource(object.resource)
                    .field(field)
                    .value(request_text)
                    .fix(format!("request exactly the limit, `{limit_text}`, or set only the limit")),
                );
            }
        }
    }
}
