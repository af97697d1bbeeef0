//! Disruption budgets that no voluntary eviction can satisfy. A budget whose `minAvailable`
//! is at least the workload's replicas (or whose `maxUnavailable` is 0) never lets a pod be
//! evicted: `kubectl drain`, a managed node group's upgrade and the cluster autoscaler's
//! scale-down all wait on it and then fail (EKS gives up on a node group update with
//! `PodEvictionFailure`). The API server accepts such a budget, so it is a warning.

use girder_core::{Diagnostic, Diagnostics, Value};

use super::wiring::Program;
use super::{ObjectView, at, string_map};

/// The fewest replicas the workload runs: an autoscaler's minimum, else `spec.replicas`
/// (default 1); `None` when not known yet.
fn fewest_replicas(program: &Program<'_>, workload: &ObjectView<'_>) -> Option<i64> {
    let name = workload.name()?;
    let autoscaler = program.objects.iter().find(|o| {
        o.kind.kind == "HorizontalPodAutoscaler"
            && o.cluster == workload.cluster
            && o.namespace() == workload.namespace()
            && at(o.manifest, &["spec", "scaleTargetRef", "name"]).and_then(Value::as_str)
                == Some(name)
            && at(o.manifest, &["spec", "scaleTargetRef", "kind"]).and_then(Value::as_str)
                == Some(workload.kind.kind.as_str())
    });
    match autoscaler {
        Some(hpa) => match at(hpa.manifest, &["spec", "minReplicas"]) {
            None => Some(1),
            Some(value) => value.as_i64(),
        },
        None => match at(workload.manifest, &["spec", "replicas"]) {
            None => Some(1),
            Some(value) => value.as_i64(),
        },
    }
}

/// Warns about `pdb` if it blocks every eviction of a workload it selects.
pub(super) fn check(program: &Program<'_>, pdb: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let selector_value = at(pdb.manifest, &["spec", "selector", "matchLabels"]);
    if selector_value.is_none_or(Value::contains_unknown) {
        return;
    }
    let selector = string_map(selector_value);
    let Some(namespace) = pdb.namespace() else {
        return;
    };
    let min_available = at(pdb.manifest, &["spec", "minAvailable"]);
    let max_unavailable = at(pdb.manifest, &["spec", "maxUnavailable"]);
    for workload in program.selected(pdb, namespace, &selector) {
        let Some(replicas) = fewest_replicas(program, &workload.view) else {
            continue;
        };
        let blocked = match (min_available, max_unavailable) {
            (Some(Value::Number(n)), _) => n.as_i64().map(|m| ("spec.minAvailable", m >= replicas)),
            (Some(Value::String(p)), _) => Some(("spec.minAvailable", p == "100%")),
            (_, Some(Value::Number(n))) => n.as_i64().map(|m| ("spec.maxUnavailable", m == 0)),
            (_, Some(Value::String(p))) => Some(("spec.maxUnavailable", p == "0%")),
            _ => None,
        };
        let Some((field, true)) = blocked else {
            continue;
        };
        let value = at(pdb.manifest, &field.split('.').collect::<Vec<_>>())
            .map(|v| v.display().to_string())
            .unwrap_or_default();
        diagnostics.push(
            Diagnostic::warning(format!(
                "{} allows no pod of {} to be evicted (`{field}` = {value} with as few as {replicas} replica{}): node drains, node group upgrades and autoscaler scale-downs wait on it and fail",
                pdb.describe(),
                workload.view.describe(),
                if replicas == 1 { "" } else { "s" }
            ))
            .resource(pdb.resource)
            .field(field)
            .value(value)
            .fix(format!(
                "allow at least one pod to go: `.min_available({})` or `.max_unavailable(1)`, or run more replicas",
                (replicas - 1).max(0)
            )),
        );
    }
}
