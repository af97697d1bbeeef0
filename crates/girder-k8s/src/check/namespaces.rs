//! Objects in namespaces that nothing in the program creates. The API server answers
//! `namespaces "shop" not found` when the first object of the namespace is applied, after
//! everything before it in the apply has been made. The namespace may exist already (a
//! platform team's), so this is a warning that says how to make it certain.

use std::collections::BTreeMap;

use girder_core::{Diagnostic, Diagnostics};

use super::wiring::Program;

/// Namespaces every cluster has.
pub const CLUSTER_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Warns once per namespace (and cluster) that objects use and the program does not create.
pub(super) fn check(program: &Program<'_>, diagnostics: &mut Diagnostics) {
    let mut first_user: BTreeMap<(Option<&str>, &str), &str> = BTreeMap::new();
    for object in &program.objects {
        let Some(namespace) = object.namespace() else {
            continue;
        };
        if CLUSTER_NAMESPACES.contains(&namespace) {
            continue;
        }
        first_user
            .entry((object.cluster, namespace))
            .or_insert(object.resource);
    }
    for ((cluster, namespace), resource) in first_user {
        let created = program.objects.iter().any(|o| {
            o.cluster == cluster && o.kind.kind == "Namespace" && o.name() == Some(namespace)
        });
        if created {
            continue;
        }
        diagnostics.push(
            Diagnostic::warning(format!(
                "objects go into namespace `{namespace}`, which the program does not create: unless it exists already, the apply fails with `namespaces \"{namespace}\" not found`"
            ))
            .resource(resource)
            .field("metadata.namespace")
            .value(namespace)
            .fix(format!(
                "create it in the program: `let ns = Namespace::new(\"{namespace}\").add(provider, &mut stack);` and place objects with `.namespace(&ns)`"
            )),
        );
    }
}
