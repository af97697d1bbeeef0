//! The resource types the emulator serves: a fixed table of built-in kinds plus the kinds
//! that applied CustomResourceDefinitions register.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Cause, cause};

/// One served resource: a (group, version, plural) with its kind and capabilities.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceType {
    /// API group, `""` for the core group.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Plural resource name used in URLs, e.g. `deployments`.
    pub plural: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether `/status` is a separate subresource (main-resource writes keep the old status).
    pub has_status: bool,
    /// Whether `/scale` is served.
    pub has_scale: bool,
    /// The CRD's `openAPIV3Schema` for this version (used for list types in apply), if any.
    pub crd_schema: Option<Arc<Value>>,
    /// The name of the CRD that registered this type, if any.
    pub crd_name: Option<String>,
}

impl ResourceType {
    /// Whether this is the built-in `namespaces` resource.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces" && self.crd_name.is_none()
    }

    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `DeploymentList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

/// (group, version, plural, singular, kind, namespaced, short names, categories, status, scale)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
    bool,
);

const ALL: &[&str] = &["all"];

const BUILTIN: &[Row] = &[
    (
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        true,
        false,
    ),
    (
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        &["no"],
        true,
        false,
    ),
    ("", "v1", "pods", "pod", "Pod", true, &["po"], true, false),
    (
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        true,
        false,
    ),
    (
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        false,
        false,
    ),
    (
        "",
        "v1",
        "secrets",
        "secret",
        "Secret",
        true,
        &[],
        false,
        false,
    ),
    (
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        false,
        false,
    ),
    (
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        false,
        false,
    ),
    (
        "",
        "v1",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        false,
        false,
    ),
    (
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        true,
        false,
    ),
    (
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        true,
        false,
    ),
    (
        "",
        "v1",
        "limitranges",
        "limitrange",
        "LimitRange",
        true,
        &["limits"],
        false,
        false,
    ),
    (
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        &["quota"],
        true,
        false,
    ),
    (
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        true,
        false,
    ),
    (
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        &[],
        false,
        false,
    ),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        true,
        false,
    ),
    ("batch", "v1", "jobs", "job", "Job", true, &[], true, false),
    (
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        true,
        false,
    ),
    (
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "ingressclass",
        "IngressClass",
        false,
        &[],
        false,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        &[],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        false,
        false,
    ),
    (
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
        &["sc"],
        false,
        false,
    ),
    (
        "apiregistration.k8s.io",
        "v1",
        "apiservices",
        "apiservice",
        "APIService",
        false,
        &[],
        true,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
        false,
    ),
];

/// Kinds listed in kubectl's `all` category.
const IN_ALL: &[&str] = &[
    "pods",
    "services",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "horizontalpodautoscalers",
    "jobs",
    "cronjobs",
];

/// The served resource types: built-ins plus CRD-registered ones.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    builtin: Vec<Arc<ResourceType>>,
    /// CRD name -> the types it serves (one per served version).
    crds: BTreeMap<String, Vec<Arc<ResourceType>>>,
}

/// A served API group with its versions, preferred first.
#[derive(Debug, Clone)]
pub(crate) struct GroupInfo {
    pub name: String,
    pub versions: Vec<String>,
}

impl Registry {
    /// The built-in table.
    pub fn new() -> Self {
        let builtin = BUILTIN
            .iter()
            .map(
                |&(group, version, plural, singular, kind, namespaced, short, status, scale)| {
                    Arc::new(ResourceType {
                        group: group.into(),
                        version: version.into(),
                        plural: plural.into(),
                        singular: singular.into(),
                        kind: kind.into(),
                        namespaced,
                        short_names: short.iter().map(|s| s.to_string()).collect(),
                        categories: if IN_ALL.contains(&plural) {
                            ALL.iter().map(|s| s.to_string()).collect()
                        } else {
                            vec![]
                        },
                        has_status: status,
                        has_scale: scale,
                        crd_schema: None,
                        crd_name: None,
                    })
                },
            )
            .collect();
        Registry {
            builtin,
            crds: BTreeMap::new(),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.builtin.iter().chain(self.crds.values().flatten())
    }

    /// The type served at `/apis/{group}/{version}/{plural}`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Any served version of (group, plural); used for storage-level work such as GC.
    pub fn any_version(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|t| t.group == group && t.plural == plural)
            .cloned()
    }

    /// The types served in one group/version, in table order.
    pub fn resources_in(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.all()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// Served groups (core excluded), each with its versions by Kubernetes version priority.
    pub fn groups(&self) -> Vec<GroupInfo> {
        let mut groups: Vec<GroupInfo> = Vec::new();
        for t in self.all() {
            if t.group.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|g| g.name == t.group) {
                Some(g) => {
                    if !g.versions.contains(&t.version) {
                        g.versions.push(t.version.clone());
                    }
                }
                None => groups.push(GroupInfo {
                    name: t.group.clone(),
                    versions: vec![t.version.clone()],
                }),
            }
        }
        for g in &mut groups {
            g.versions.sort_by(|a, b| {
                version_priority(b)
                    .cmp(&version_priority(a))
                    .then_with(|| a.cmp(b))
            });
        }
        groups
    }

    /// Registers (or re-registers) the types of a CustomResourceDefinition object.
    pub fn register_crd(&mut self, crd: &Value) -> Result<(), Vec<Cause>> {
        let types = crd_types(crd)?;
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.crds.insert(name, types);
        Ok(())
    }

    /// Forgets the types of a CRD.
    pub fn unregister_crd(&mut self, name: &str) {
        self.crds.remove(name);
    }
}

/// Orders versions as Kubernetes does: GA > beta > alpha, higher numbers first.
pub(crate) fn version_priority(v: &str) -> (u8, u64, u64) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u64>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let (level, tail) = if tail.is_empty() {
        (3, "")
    } else if let Some(t) = tail.strip_prefix("beta") {
        (2, t)
    } else if let Some(t) = tail.strip_prefix("alpha") {
        (1, t)
    } else {
        return (0, 0, 0);
    };
    let minor = if tail.is_empty() {
        0
    } else {
        tail.parse::<u64>().unwrap_or(0)
    };
    (level, major, minor)
}

/// Validates a CRD object and builds the types it serves.
pub(crate) fn crd_types(crd: &Value) -> Result<Vec<Arc<ResourceType>>, Vec<Cause>> {
    let mut causes = Vec::new();
    let s = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = s("/metadata/name");
    let group = s("/spec/group");
    let plural = s("/spec/names/plural");
    let kind = s("/spec/names/kind");
    let scope = s("/spec/scope");
    if group.is_empty() {
        causes.push(cause("FieldValueRequired", "spec.group", "Required value"));
    }
    if plural.is_empty() {
        causes.push(cause(
            "FieldValueRequired",
            "spec.names.plural",
            "Required value",
        ));
    }
    if kind.is_empty() {
        causes.push(cause(
            "FieldValueRequired",
            "spec.names.kind",
            "Required value",
        ));
    }
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(cause(
            "FieldValueNotSupported",
            "spec.scope",
            format!("Unsupported value: {scope:?}: supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(cause(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(cause(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
        ));
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage != 1 {
        causes.push(cause(
            "FieldValueInvalid",
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version",
        ));
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let singular = crd
        .pointer("/spec/names/singular")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let strings = |p: &str| -> Vec<String> {
        crd.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let short_names = strings("/spec/names/shortNames");
    let categories = strings("/spec/names/categories");
    let mut out = Vec::new();
    for v in versions.iter() {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let Some(vname) = v.get("name").and_then(Value::as_str) else {
            continue;
        };
        out.push(Arc::new(ResourceType {
            group: group.clone(),
            version: vname.to_string(),
            plural: plural.clone(),
            singular: singular.clone(),
            kind: kind.clone(),
            namespaced: scope == "Namespaced",
            short_names: short_names.clone(),
            categories: categories.clone(),
            has_status: v.pointer("/subresources/status").is_some(),
            has_scale: false,
            crd_schema: v.pointer("/schema/openAPIV3Schema").cloned().map(Arc::new),
            crd_name: Some(name.clone()),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut v = vec!["v1alpha1", "v2", "v1beta2", "v1", "v1beta1", "foo"];
        v.sort_by_key(|x| std::cmp::Reverse(version_priority(x)));
        assert_eq!(v, ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn builtin_lookup() {
        let r = Registry::new();
        let d = r.lookup("apps", "v1", "deployments").expect("deployments");
        assert_eq!(d.kind, "Deployment");
        assert!(d.has_scale && d.namespaced);
        assert!(
            r.lookup("", "v1", "namespaces")
                .is_some_and(|t| !t.namespaced)
        );
        assert!(
            r.groups()
                .iter()
                .any(|g| g.name == "autoscaling" && g.versions == ["v2"])
        );
        assert!(
            r.lookup("apiregistration.k8s.io", "v1", "apiservices")
                .is_some_and(|t| !t.namespaced && t.kind == "APIService" && t.has_status)
        );
    }
}
