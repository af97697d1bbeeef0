//! IRSA roles and the workloads that assume them. A role trusts exactly one ServiceAccount
//! (`system:serviceaccount:NAMESPACE:NAME` in its trust policy); a pod gets the role's
//! credentials only if it runs as that ServiceAccount. When the names drift apart — a typo,
//! a renamed namespace — everything applies, and the pod's first AWS call fails with
//! `AccessDenied` or quietly uses the node's role. The rule compares the roles' subjects with
//! the program's ServiceAccounts and the workloads that run as them. It only speaks when the
//! program has Kubernetes objects: a program of AWS resources alone (the infrastructure half
//! of a split deployment) leaves its ServiceAccounts to another program.

use std::collections::BTreeSet;

use girder_core::{Diagnostic, Diagnostics, Value};
use girder_engine::provider::PlannedResource;

use super::pods_fit::pod_spec;
use crate::iam::role::ROLE;

const SERVICE_ACCOUNT: &str = "k8s:core/v1:ServiceAccount";
const SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// Every `system:serviceaccount:NS:NAME` string below `value`.
fn subjects(value: &Value, found: &mut BTreeSet<(String, String)>) {
    match value {
        Value::String(text) => {
            if let Some((namespace, name)) = text
                .strip_prefix(SUBJECT_PREFIX)
                .and_then(|rest| rest.split_once(':'))
            {
                found.insert((namespace.to_owned(), name.to_owned()));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| subjects(v, found)),
        Value::Object(map) => map.values().for_each(|v| subjects(v, found)),
        Value::Secret(inner) => subjects(inner, found),
        _ => {}
    }
}

fn metadata<'a>(resource: &PlannedResource<'a>, key: &str) -> Option<&'a str> {
    resource.inputs.get("metadata")?.get(key)?.as_str()
}

/// Warns about IRSA roles whose ServiceAccount is missing or runs no workload.
pub(crate) fn irsa_subjects(resources: &[PlannedResource<'_>]) -> Diagnostics {
    let mut found = Diagnostics::new();
    if !resources.iter().any(|r| r.type_name.starts_with("k8s:")) {
        return found;
    }
    let accounts: BTreeSet<(String, String)> = resources
        .iter()
        .filter(|r| r.type_name == SERVICE_ACCOUNT)
        .filter_map(|r| {
            Some((
                metadata(r, "namespace").unwrap_or("default").to_owned(),
                metadata(r, "name")?.to_owned(),
            ))
        })
        .collect();
    let mut running: BTreeSet<(String, String)> = BTreeSet::new();
    for resource in resources {
        let Some((_, pod)) = pod_spec(resource) else {
            continue;
        };
        let account = match pod.get("serviceAccountName") {
            None => "default",
            Some(value) => match value.as_str() {
                Some(name) => name,
                None => return Diagnostics::new(), // not known yet: nothing can be said
            },
        };
        let namespace = metadata(resource, "namespace").unwrap_or("default");
        running.insert((namespace.to_owned(), account.to_owned()));
    }
    for role in resources.iter().filter(|r| r.type_name == ROLE) {
        let mut trusted = BTreeSet::new();
        subjects(role.inputs, &mut trusted);
        // The trust of a role made by `EksHandle::service_account_role` is not known at plan
        // (its condition key is the cluster's OIDC issuer); its description, which girder
        // writes from the same names, is.
        if let Some(account) = role
            .inputs
            .get("description")
            .and_then(Value::as_str)
            .and_then(|d| d.strip_prefix(crate::dsl::eks::IRSA_DESCRIPTION_PREFIX))
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(account, _)| account.split_once('/'))
        {
            trusted.insert((account.0.to_owned(), account.1.to_owned()));
        }
        for (namespace, name) in trusted {
            let key = (namespace.clone(), name.clone());
            let (message, fix) = if !accounts.contains(&key) {
                (
                    format!(
                        "the role trusts ServiceAccount `{namespace}/{name}`, which the program does not declare, so no pod of the program can assume it (its pods get `AccessDenied` or the node's role)"
                    ),
                    format!(
                        "declare it and run the workload as it: `ServiceAccount::new(\"{name}\").namespace(\"{namespace}\").irsa_role_arn(role.arn())`, then `.service_account(&account)` on the Deployment; or trust the ServiceAccount the workload does run as"
                    ),
                )
            } else if !running.contains(&key) {
                (
                    format!(
                        "the role trusts ServiceAccount `{namespace}/{name}`, but no workload of the program runs as it, so nothing assumes the role"
                    ),
                    format!(
                        "run the workload that needs the role as `{namespace}/{name}` (`.service_account(&account)`), or remove the role"
                    ),
                )
            } else {
                continue;
            };
            found.push(
                Diagnostic::warning(message)
                    .resource(role.name)
                    .field("assume_role_policy")
                    .value(format!("{SUBJECT_PREFIX}{namespace}:{name}"))
                    .fix(fix),
            );
        }
    }
    found
}
