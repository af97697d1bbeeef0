//! girder's Kubernetes objects in the Terraform Kubernetes provider's vocabulary: its typed
//! resources where one exists (`kubernetes_deployment_v1`, …), in their block shape
//! (`metadata = [{…}]`, snake_case names, nested objects as one-element lists, repeated blocks
//! under their singular name: `container`, `port`, `rule`), else `kubernetes_manifest` with
//! the object as its `manifest`.

use std::collections::BTreeMap;

use girder_core::{Segment, Value};
use serde_json::{Map, Value as Json};

use super::attrs::{Source, TfResource, expression};

/// The Terraform Kubernetes provider.
pub(crate) const PROVIDER: &str = "registry.terraform.io/hashicorp/kubernetes";

/// The provider's typed resource for an API group, version and kind.
fn typed(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    Some(match (group, version, kind) {
        ("core", "v1", "Namespace") => "kubernetes_namespace_v1",
        ("core", "v1", "ServiceAccount") => "kubernetes_service_account_v1",
        ("core", "v1", "Service") => "kubernetes_service_v1",
        ("core", "v1", "ConfigMap") => "kubernetes_config_map_v1",
        ("core", "v1", "Secret") => "kubernetes_secret_v1",
        ("core", "v1", "PersistentVolumeClaim") => "kubernetes_persistent_volume_claim_v1",
        ("core", "v1", "LimitRange") => "kubernetes_limit_range_v1",
        ("core", "v1", "ResourceQuota") => "kubernetes_resource_quota_v1",
        ("apps", "v1", "Deployment") => "kubernetes_deployment_v1",
        ("apps", "v1", "StatefulSet") => "kubernetes_stateful_set_v1",
        ("apps", "v1", "DaemonSet") => "kubernetes_daemon_set_v1",
        ("batch", "v1", "Job") => "kubernetes_job_v1",
        ("batch", "v1", "CronJob") => "kubernetes_cron_job_v1",
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => "kubernetes_cluster_role_v1",
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            "kubernetes_cluster_role_binding_v1"
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => "kubernetes_role_v1",
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => "kubernetes_role_binding_v1",
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            "kubernetes_horizontal_pod_autoscaler_v2"
        }
        ("policy", "v1", "PodDisruptionBudget") => "kubernetes_pod_disruption_budget_v1",
        ("networking.k8s.io", "v1", "NetworkPolicy") => "kubernetes_network_policy_v1",
        ("networking.k8s.io", "v1", "Ingress") => "kubernetes_ingress_v1",
        ("networking.k8s.io", "v1", "IngressClass") => "kubernetes_ingress_class_v1",
        ("apiregistration.k8s.io", "v1", "APIService") => "kubernetes_api_service_v1",
        ("scheduling.k8s.io", "v1", "PriorityClass") => "kubernetes_priority_class_v1",
        ("storage.k8s.io", "v1", "StorageClass") => "kubernetes_storage_class_v1",
        _ => return None,
    })
}

/// `(group, version, kind)` of a girder Kubernetes type token (`k8s:apps/v1:Deployment`).
fn gvk(type_name: &str) -> Option<(&str, &str, &str)> {
    let rest = type_name.strip_prefix("k8s:")?;
    let (group_version, kind) = rest.split_once(':')?;
    let (group, version) = group_version.split_once('/')?;
    Some((group, version, kind))
}

/// The Terraform resource a girder Kubernetes object maps to; `None` for other types.
pub(crate) fn map(src: &Source<'_>) -> Option<Vec<TfResource>> {
    let (group, version, kind) = gvk(src.type_name)?;
    let object = src.inputs.as_object().cloned().unwrap_or_default();
    let mut values = BTreeMap::new();
    let mut expressions = Map::new();
    let mut origins = Vec::new();
    let tf_type = match typed(group, version, kind) {
        Some(tf_type) => {
            for (key, value) in &object {
                if matches!(key.as_str(), "apiVersion" | "kind" | "status") {
                    continue;
                }
                let (tf, converted) = field(key, value);
                if let Some(expr) = references(src, key) {
                    expressions.insert(tf.clone(), expr);
                }
                origins.push((key.clone(), vec![tf.clone()]));
                values.insert(tf, converted);
            }
            tf_type
        }
        None => {
            let manifest = Value::Object(object);
            if let Some(expr) = expression(&manifest, &src.refs_of("metadata")) {
                expressions.insert("manifest".into(), expr);
            }
            values.insert("manifest".into(), manifest);
            "kubernetes_manifest"
        }
    };
    values.insert("id".into(), src.id.clone());
    Some(vec![TfResource {
        tf_type: tf_type.to_owned(),
        provider: PROVIDER,
        values: Value::Object(values),
        expressions,
        origins,
        name_suffix: None,
    }])
}

/// The Terraform attribute path of a field of a Kubernetes object (`metadata.name` of a typed
/// resource is `metadata[0].name`; of a `kubernetes_manifest`, `object.metadata.name`).
pub(crate) fn output_path(resource: &TfResource, segments: &[Segment]) -> Vec<Json> {
    let mut path = Vec::new();
    let mut value = Some(&resource.values);
    if resource.tf_type == "kubernetes_manifest" {
        path.push(Json::from("object"));
        for segment in segments {
            path.push(match segment {
                Segment::Key(key) => Json::from(key.as_str()),
                Segment::Index(index) => Json::from(*index),
            });
        }
        return path;
    }
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Key(key) => {
                let here = value.and_then(|v| v.as_object());
                // The key as the provider names it: a repeated block's singular, else snake_case.
                let name = [singular(key), snake(key)]
                    .into_iter()
                    .find(|n| here.is_some_and(|m| m.contains_key(n)))
                    .unwrap_or_else(|| snake(key));
                value = here.and_then(|m| m.get(&name));
                path.push(Json::from(name));
                // A block written once is a one-element list.
                if let Some(Value::Array(items)) = value
                    && items.len() == 1
                    && matches!(items[0], Value::Object(_))
                    && !matches!(segments.get(i + 1), Some(Segment::Index(_)))
                {
                    path.push(Json::from(0));
                    value = items.first();
                }
            }
            Segment::Index(index) => {
                value = value.and_then(|v| v.as_array()).and_then(|a| a.get(*index));
                path.push(Json::from(*index));
            }
        }
    }
    path
}

/// A reference-only expression for a top-level field computed from other resources.
fn references(src: &Source<'_>, key: &str) -> Option<Json> {
    let refs = src.refs_of(key);
    (!refs.is_empty())
        .then(|| expression(&Value::Unknown, &refs))
        .flatten()
}

/// Fields whose object is a map of strings in the provider's schema, not a block.
const MAPS: [&str; 10] = [
    "labels",
    "annotations",
    "matchLabels",
    "nodeSelector",
    "data",
    "binaryData",
    "stringData",
    "limits",
    "requests",
    "hard",
];

/// The provider's name for a list of blocks (`containers` → `container`).
fn singular(key: &str) -> String {
    let name = match key {
        "containers" => "container",
        "initContainers" => "init_container",
        "ports" => "port",
        "volumeMounts" => "volume_mount",
        "volumes" => "volume",
        "rules" => "rule",
        "subjects" => "subject",
        "metrics" => "metric",
        "tolerations" => "toleration",
        "topologySpreadConstraints" => "topology_spread_constraint",
        "hostAliases" => "host_aliases",
        "imagePullSecrets" => "image_pull_secrets",
        "secrets" => "secret",
        "paths" => "path",
        other => return snake(other),
    };
    name.to_owned()
}

/// `camelCase` → `snake_case`.
fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// One field in the provider's shape: its name and value.
fn field(key: &str, value: &Value) -> (String, Value) {
    match value {
        Value::Object(map) => {
            let is_map = MAPS.contains(&key)
                || (key == "selector" && map.values().all(|v| matches!(v, Value::String(_))));
            if is_map {
                (snake(key), value.clone())
            } else {
                (snake(key), Value::Array(vec![block(map)]))
            }
        }
        Value::Array(items) if items.iter().any(|i| matches!(i, Value::Object(_))) => {
            let blocks = items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => block(map),
                    other => other.clone(),
                })
                .collect();
            (singular(key), Value::Array(blocks))
        }
        other => (snake(key), other.clone()),
    }
}

fn block(map: &BTreeMap<String, Value>) -> Value {
    Value::Object(map.iter().map(|(k, v)| field(k, v)).collect())
}
