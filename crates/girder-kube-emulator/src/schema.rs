//! The little schema knowledge the emulator needs for merging: which lists are keyed by which
//! fields (server-side apply's `listType: map`, strategic merge's `patchMergeKey`), which are
//! sets, and which maps are atomic. Built-in kinds use a table keyed by field names; custom
//! resources read `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` /
//! `x-kubernetes-map-type` from their CRD's `openAPIV3Schema`.

use std::sync::Arc;

use serde_json::Value;

/// How server-side apply treats a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ListType {
    /// Replaced and owned as a whole.
    Atomic,
    /// A set of scalars, owned per value.
    Set,
    /// An associative list keyed by these fields, owned per item.
    Map(Vec<String>),
}

/// How strategic merge patch treats a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatchStrategy {
    /// The patch list replaces the live list.
    Replace,
    /// Items are merged by this key.
    MergeByKey(String),
    /// Scalars are unioned.
    MergePrimitives,
}

/// Merge knowledge for one kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    crd: Option<Arc<Value>>,
}

/// Default values of list-map key fields that Kubernetes defaults (`protocol: TCP`).
pub(crate) fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::from("TCP"))
}

impl Schema {
    /// The schema for built-in kinds.
    pub fn builtin() -> Self {
        Schema { crd: None }
    }

    /// The schema for a custom resource with this `openAPIV3Schema`.
    pub fn crd(schema: Option<Arc<Value>>) -> Self {
        Schema { crd: schema }
    }

    /// Server-side apply list type at a path given by field names (list keys removed).
    pub fn list_type(&self, names: &[&str]) -> ListType {
        if let (Some(schema), Some(first)) = (&self.crd, names.first())
            && *first != "metadata"
        {
            let Some(node) = crd_node(schema, names) else {
                return ListType::Atomic;
            };
            return match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => ListType::Set,
                Some("map") => ListType::Map(
                    node.get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => ListType::Atomic,
            };
        }
        builtin_list_type(names)
    }

    /// Whether the map at this path is atomic (owned and replaced as a whole).
    pub fn atomic_map(&self, names: &[&str]) -> bool {
        if let (Some(schema), Some(first)) = (&self.crd, names.first())
            && *first != "metadata"
        {
            return crd_node(schema, names)
                .and_then(|n| n.get("x-kubernetes-map-type"))
                .and_then(Value::as_str)
                == Some("atomic");
        }
        matches!(names, ["spec", "selector"] | [.., "nodeSelector"])
            || names.ends_with(&["selector", "matchLabels"])
    }

    /// Strategic-merge-patch strategy at a path given by field names.
    pub fn patch_strategy(&self, names: &[&str]) -> PatchStrategy {
        match builtin_list_type(names) {
            ListType::Map(keys) => {
                let key = match names {
                    [.., "ports"] if keys.first().map(String::as_str) == Some("port") => {
                        "port".to_string()
                    }
                    _ => keys.first().cloned().unwrap_or_default(),
                };
                if names.last() == Some(&"topologySpreadConstraints") {
                    return PatchStrategy::MergeByKey("topologyKey".into());
                }
                PatchStrategy::MergeByKey(key)
            }
            ListType::Set => PatchStrategy::MergePrimitives,
            ListType::Atomic => PatchStrategy::Replace,
        }
    }
}

fn builtin_list_type(names: &[&str]) -> ListType {
    let keys = |k: &[&str]| ListType::Map(k.iter().map(|s| s.to_string()).collect());
    match names {
        ["metadata", "finalizers"] => ListType::Set,
        ["metadata", "ownerReferences"] => keys(&["uid"]),
        [.., "containers" | "initContainers" | "ephemeralContainers"] => keys(&["name"]),
        [
            ..,
            "containers" | "initContainers" | "ephemeralContainers",
            "ports",
        ] => keys(&["containerPort", "protocol"]),
        ["spec", "ports"] => keys(&["port", "protocol"]),
        [.., "env"] => keys(&["name"]),
        [.., "volumeMounts"] => keys(&["mountPath"]),
        [.., "volumeDevices"] => keys(&["devicePath"]),
        [.., "spec", "volumes"] => keys(&["name"]),
        [.., "imagePullSecrets"] => keys(&["name"]),
        [.., "hostAliases"] => keys(&["ip"]),
        [.., "resourceClaims"] => keys(&["name"]),
        [.., "schedulingGates"] => keys(&["name"]),
        [.., "topologySpreadConstraints"] => keys(&["topologyKey", "whenUnsatisfiable"]),
        ["status", "conditions"] => keys(&["type"]),
        _ => ListType::Atomic,
    }
}

/// Walks a structural schema along field names (through `properties`, `items` and
/// `additionalProperties`).
fn crd_node<'a>(schema: &'a Value, names: &[&str]) -> Option<&'a Value> {
    let mut node = schema;
    for name in names {
        while node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = match node.get("properties").and_then(|p| p.get(*name)) {
            Some(n) => n,
            None => node.get("additionalProperties").filter(|a| a.is_object())?,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_lists() {
        let s = Schema::builtin();
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers"]),
            ListType::Map(vec!["name".into()])
        );
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "ports"]),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            s.patch_strategy(&["spec", "containers", "ports"]),
            PatchStrategy::MergeByKey("containerPort".into())
        );
        assert_eq!(
            s.patch_strategy(&["spec", "ports"]),
            PatchStrategy::MergeByKey("port".into())
        );
        assert_eq!(
            s.patch_strategy(&["metadata", "finalizers"]),
            PatchStrategy::MergePrimitives
        );
        assert_eq!(
            s.patch_strategy(&["spec", "template", "spec", "tolerations"]),
            PatchStrategy::Replace
        );
        assert!(s.atomic_map(&["spec", "selector"]));
    }

    #[test]
    fn crd_lists() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                      "items": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set"}}}},
            "plain": {"type": "array"}
        }}}});
        let s = Schema::crd(Some(Arc::new(schema)));
        assert_eq!(
            s.list_type(&["spec", "items"]),
            ListType::Map(vec!["id".into()])
        );
        assert_eq!(s.list_type(&["spec", "items", "tags"]), ListType::Set);
        assert_eq!(s.list_type(&["spec", "plain"]), ListType::Atomic);
        assert_eq!(s.list_type(&["metadata", "finalizers"]), ListType::Set);
    }
}
