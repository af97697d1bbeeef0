//! Legacy (unaggregated) discovery: `/api`, `/apis`, `/apis/{group}`, the resource lists of
//! every group/version, and `/version`.
//!
//! Aggregated discovery (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`)
//! is not served: requests that ask for it get the legacy documents with
//! `Content-Type: application/json`, which kubectl and client-go accept as the fallback.

use serde_json::{Value, json};

use crate::resources::{Registry, ResourceType};

/// The Kubernetes version the emulator claims to be unless
/// [`crate::EmulatorConfig::server_version`] says otherwise.
pub const GIT_VERSION: &str = crate::config::DEFAULT_SERVER_VERSION;

/// `/version` for a validated `server_version`, in EKS's shape.
pub(crate) fn version(config: &crate::config::EmulatorConfig) -> Value {
    let (major, minor) = config.version_numbers().unwrap_or((1, 35));
    json!({
        "major": major.to_string(),
        "minor": minor.to_string(),
        "emulationMajor": major.to_string(),
        "emulationMinor": minor.to_string(),
        "minCompatibilityMajor": major.to_string(),
        "minCompatibilityMinor": (minor.saturating_sub(1)).to_string(),
        "gitVersion": config.server_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-20T00:00:00Z",
        "goVersion": "go1.25.4",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis`.
pub(crate) fn group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .iter()
        .map(|g| group_json(&g.name, &g.versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, if served.
pub(crate) fn group(registry: &Registry, name: &str) -> Option<Value> {
    let g = registry.groups().into_iter().find(|g| g.name == name)?;
    let mut v = group_json(&g.name, &g.versions);
    if let Some(map) = v.as_object_mut() {
        map.insert("kind".into(), Value::from("APIGroup"));
        map.insert("apiVersion".into(), Value::from("v1"));
    }
    Some(v)
}

fn verbs(t: &ResourceType) -> Vec<&'static str> {
    vec![
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    .into_iter()
    .filter(|v| t.kind != "Event" || *v != "deletecollection")
    .collect()
}

/// `/api/v1` or `/apis/{group}/{version}`, if served.
pub(crate) fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = registry.resources_in(group, version);
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": verbs(t),
            "storageVersionHash": crate::object::stable_hash(&Value::from(format!("{}/{}/{}", t.group, t.version, t.plural))),
        });
        if let Some(map) = r.as_object_mut() {
            if !t.short_names.is_empty() {
                map.insert("shortNames".into(), Value::from(t.short_names.clone()));
            }
            if !t.categories.is_empty() {
                map.insert("categories".into(), Value::from(t.categories.clone()));
            }
        }
        resources.push(r);
        if t.has_status {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced,
                                  "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
        if t.has_scale {
            resources.push(json!({"name": format!("{}/scale", t.plural), "singularName": "", "namespaced": t.namespaced,
                                  "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_core_and_groups() {
        let r = Registry::new();
        let core = resource_list(&r, "", "v1").unwrap();
        assert!(
            core["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == "pods" && x["shortNames"][0] == "po")
        );
        let groups = group_list(&r);
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        for g in [
            "apps",
            "autoscaling",
            "policy",
            "networking.k8s.io",
            "rbac.authorization.k8s.io",
            "apiextensions.k8s.io",
        ] {
            assert!(names.contains(&g), "{g} missing");
        }
        assert!(resource_list(&r, "apps", "v2").is_none());
        assert_eq!(
            group(&r, "apps").unwrap()["preferredVersion"]["version"],
            "v1"
        );
    }
}
