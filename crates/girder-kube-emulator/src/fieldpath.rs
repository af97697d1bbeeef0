//! Field paths and field sets as server-side apply uses them, with the real `FieldsV1`
//! encoding (`f:name`, `k:{"name":"app"}`, `v:"value"`, `i:0`, and `.` for "this node itself").

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::object::canonical;
use crate::schema::{ListType, Schema, key_default};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PathElement {
    /// A map field: `f:name`.
    Field(String),
    /// An associative-list item by its key fields (canonical JSON of the key object).
    Key(String),
    /// A set member (canonical JSON of the value).
    Value(String),
    /// A list index (only used for lists without keys).
    Index(usize),
}

/// A path from the object root.
pub(crate) type Path = Vec<PathElement>;

/// A set of owned paths. Each member is a leaf, an atomic value or a list item.
pub(crate) type FieldSet = BTreeSet<Path>;

/// Fields never tracked in managed fields.
fn ignored(path: &[PathElement]) -> bool {
    match path {
        [PathElement::Field(f)] => f == "apiVersion" || f == "kind",
        [PathElement::Field(m), PathElement::Field(f)] if m == "metadata" => matches!(
            f.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "managedFields"
                | "selfLink"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "generateName"
        ),
        _ => false,
    }
}

/// The field names along a path (list keys dropped), for schema lookups.
pub(crate) fn names(path: &[PathElement]) -> Vec<&str> {
    path.iter()
        .filter_map(|e| match e {
            PathElement::Field(f) => Some(f.as_str()),
            _ => None,
        })
        .collect()
}

/// The key object of an associative-list item, or `None` if it lacks every key field.
pub(crate) fn item_key(item: &Value, keys: &[String]) -> Option<String> {
    let mut key = Map::new();
    for k in keys {
        match item.get(k).cloned().or_else(|| key_default(k)) {
            Some(v) => {
                key.insert(k.clone(), v);
            }
            None => return None,
        }
    }
    Some(canonical(&Value::Object(key)))
}

/// Collects the field set of an object (as an applied configuration or a live object).
/// `only` restricts collection to one top-level field (`status`) or excludes it (`!status`).
pub(crate) fn collect(obj: &Value, schema: &Schema, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            if !scope.includes(k) {
                continue;
            }
            let path = vec![PathElement::Field(k.clone())];
            collect_into(v, &path, schema, &mut out);
        }
    }
    out
}

/// Which top-level fields a field set covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scope {
    /// Everything.
    All,
    /// Everything but `status` (main resource of kinds with a status subresource).
    NoStatus,
    /// Only `status` (the status subresource).
    StatusOnly,
}

impl Scope {
    /// Whether a top-level field is in scope.
    pub fn includes(self, field: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::NoStatus => field != "status",
            Scope::StatusOnly => field == "status",
        }
    }
}

fn collect_into(value: &Value, path: &Path, schema: &Schema, out: &mut FieldSet) {
    if ignored(path) {
        return;
    }
    let names_here = names(path);
    match value {
        Value::Object(map) if !map.is_empty() && !schema.atomic_map(&names_here) => {
            for (k, v) in map {
                let mut p = path.clone();
                p.push(PathElement::Field(k.clone()));
                collect_into(v, &p, schema, out);
            }
        }
        Value::Array(items) if !items.is_empty() => match schema.list_type(&names_here) {
            ListType::Map(keys) => {
                let item_keys: Option<Vec<String>> =
                    items.iter().map(|i| item_key(i, &keys)).collect();
                let Some(item_keys) = item_keys else {
                    out.insert(path.clone());
                    return;
                };
                for (item, key) in items.iter().zip(item_keys) {
                    let mut p = path.clone();
                    p.push(PathElement::Key(key));
                    out.insert(p.clone());
                    if let Some(map) = item.as_object() {
                        for (k, v) in map {
                            let mut fp = p.clone();
                            fp.push(PathElement::Field(k.clone()));
                            collect_into(v, &fp, schema, out);
                        }
                    }
                }
            }
            ListType::Set => {
                for item in items {
                    let mut p = path.clone();
                    p.push(PathElement::Value(canonical(item)));
                    out.insert(p);
                }
            }
            ListType::Atomic => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

/// The value at a path, if present.
pub(crate) fn get<'a>(obj: &'a Value, path: &[PathElement], schema: &Schema) -> Option<&'a Value> {
    let mut cur = obj;
    for (i, el) in path.iter().enumerate() {
        cur = match el {
            PathElement::Field(f) => cur.get(f)?,
            PathElement::Index(n) => cur.get(*n)?,
            PathElement::Key(k) => {
                let ListType::Map(keys) = schema.list_type(&names(&path[..i])) else {
                    return None;
                };
                cur.as_array()?
                    .iter()
                    .find(|item| item_key(item, &keys).as_deref() == Some(k.as_str()))?
            }
            PathElement::Value(v) => cur.as_array()?.iter().find(|item| canonical(item) == *v)?,
        };
    }
    Some(cur)
}

/// Whether two objects agree at a path. List items (`k:`/`v:` members) only need to exist
/// in both: their fields are tracked as separate members.
pub(crate) fn same_at(a: Option<&Value>, b: &Value, path: &[PathElement], schema: &Schema) -> bool {
    let left = a.and_then(|a| get(a, path, schema));
    let right = get(b, path, schema);
    match path.last() {
        Some(PathElement::Key(_) | PathElement::Value(_)) => left.is_some() == right.is_some(),
        _ => left == right,
    }
}

/// Removes the node at a path. Returns whether something was removed.
pub(crate) fn remove(obj: &mut Value, path: &[PathElement], schema: &Schema) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let list_type = schema.list_type(&names(parent_path));
    let Some(parent) = get_mut(obj, parent_path, schema) else {
        return false;
    };
    match last {
        PathElement::Field(f) => parent
            .as_object_mut()
            .is_some_and(|m| m.shift_remove(f).is_some()),
        PathElement::Index(n) => match parent.as_array_mut() {
            Some(a) if *n < a.len() => {
                a.remove(*n);
                true
            }
            _ => false,
        },
        PathElement::Key(k) => {
            let ListType::Map(keys) = list_type else {
                return false;
            };
            let Some(a) = parent.as_array_mut() else {
                return false;
            };
            let before = a.len();
            a.retain(|item| item_key(item, &keys).as_deref() != Some(k.as_str()));
            a.len() != before
        }
        PathElement::Value(v) => {
            let Some(a) = parent.as_array_mut() else {
                return false;
            };
            let before = a.len();
            a.retain(|item| canonical(item) != *v);
            a.len() != before
        }
    }
}

/// A mutable reference to the value at a path, if present.
pub(crate) fn get_mut<'a>(
    obj: &'a mut Value,
    path: &[PathElement],
    schema: &Schema,
) -> Option<&'a mut Value> {
    let mut cur = obj;
    for (i, el) in path.iter().enumerate() {
        cur = match el {
            PathElement::Field(f) => cur.get_mut(f)?,
            PathElement::Index(n) => cur.get_mut(*n)?,
            PathElement::Key(k) => {
                let ListType::Map(keys) = schema.list_type(&names(&path[..i])) else {
                    return None;
                };
                cur.as_array_mut()?
                    .iter_mut()
                    .find(|item| item_key(item, &keys).as_deref() == Some(k.as_str()))?
            }
            PathElement::Value(v) => cur
                .as_array_mut()?
                .iter_mut()
                .find(|item| canonical(item) == *v)?,
        };
    }
    Some(cur)
}

/// Renders a path the way the API server prints it in conflicts:
/// `.spec.template.spec.containers[name="app"].image`.
pub(crate) fn to_string(path: &[PathElement]) -> String {
    let mut s = String::new();
    for el in path {
        match el {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Index(n) => s.push_str(&format!("[{n}]")),
            PathElement::Value(v) => s.push_str(&format!("[={v}]")),
            PathElement::Key(k) => {
                let parsed: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("[{}]", parts.join(",")));
            }
        }
    }
    s
}

fn element_key(el: &PathElement) -> String {
    match el {
        PathElement::Field(f) => format!("f:{f}"),
        PathElement::Key(k) => format!("k:{k}"),
        PathElement::Value(v) => format!("v:{v}"),
        PathElement::Index(n) => format!("i:{n}"),
    }
}

/// Encodes a field set as a `FieldsV1` tree.
pub(crate) fn encode(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for el in path {
            let entry = node
                .entry(element_key(el))
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(child) = entry else { break };
            node = child;
        }
    }
    // Members that also have children carry the "." marker.
    mark_members(&mut root, set, &mut Vec::new());
    Value::Object(root)
}

fn mark_members(node: &mut Map<String, Value>, set: &FieldSet, path: &mut Path) {
    for (k, v) in node.iter_mut() {
        let Some(el) = decode_element(k) else {
            continue;
        };
        path.push(el);
        if let Value::Object(child) = v {
            let has_children = child.keys().any(|c| c != ".");
            if has_children && set.contains(path) {
                child.insert(".".into(), Value::Object(Map::new()));
            }
            mark_members(child, set, path);
        }
        path.pop();
    }
}

fn decode_element(key: &str) -> Option<PathElement> {
    let (kind, rest) = key.split_at_checked(2)?;
    match kind {
        "f:" => Some(PathElement::Field(rest.to_string())),
        "k:" => serde_json::from_str::<Value>(rest)
            .ok()
            .map(|v| PathElement::Key(canonical(&v))),
        "v:" => serde_json::from_str::<Value>(rest)
            .ok()
            .map(|v| PathElement::Value(canonical(&v))),
        "i:" => rest.parse().ok().map(PathElement::Index),
        _ => None,
    }
}

/// Decodes a `FieldsV1` tree into a field set (unknown keys are skipped).
pub(crate) fn decode(tree: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    decode_into(tree, &mut Vec::new(), &mut out);
    out
}

fn decode_into(tree: &Value, path: &mut Path, out: &mut FieldSet) {
    let Some(map) = tree.as_object() else { return };
    if !path.is_empty() && (map.is_empty() || map.contains_key(".")) {
        out.insert(path.clone());
    }
    for (k, v) in map {
        if k == "." {
            continue;
        }
        let Some(el) = decode_element(k) else {
            continue;
        };
        path.push(el);
        decode_into(v, path, out);
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}
        })
    }

    #[test]
    fn collect_and_encode_like_the_api_server() {
        let set = collect(&deployment(), &Schema::builtin(), Scope::All);
        let encoded = encode(&set);
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}, "f:ports": {
                        "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}
                    }}
                }}}}
            })
        );
        assert_eq!(decode(&encoded), set);
    }

    #[test]
    fn get_remove_and_print() {
        let schema = Schema::builtin();
        let mut d = deployment();
        let path = vec![
            PathElement::Field("spec".into()),
            PathElement::Field("template".into()),
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::Key("{\"name\":\"app\"}".into()),
            PathElement::Field("image".into()),
        ];
        assert_eq!(get(&d, &path, &schema), Some(&json!("nginx")));
        assert_eq!(
            to_string(&path),
            ".spec.template.spec.containers[name=\"app\"].image"
        );
        assert!(remove(&mut d, &path[..5], &schema));
        assert_eq!(
            d.pointer("/spec/template/spec/containers"),
            Some(&json!([]))
        );
    }
}
