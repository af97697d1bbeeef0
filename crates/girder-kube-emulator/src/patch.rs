//! Patch formats: JSON merge patch (RFC 7386), Kubernetes strategic merge patch (the subset
//! kubectl sends: keyed list merges, `$patch`, `$setElementOrder`, `$retainKeys`,
//! `$deleteFromPrimitiveList`) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

use crate::schema::{PatchStrategy, Schema, key_default};

/// Applies an RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (k, v) in patch_map {
        if v.is_null() {
            target_map.shift_remove(k);
        } else {
            merge_patch(target_map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Applies a strategic merge patch to `target`, using `schema` for list merge keys.
pub(crate) fn strategic_merge_patch(
    target: &mut Value,
    patch: &Value,
    schema: &Schema,
) -> Result<(), String> {
    let Value::Object(patch_map) = patch else {
        return Err("a strategic merge patch must be a JSON object".into());
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return Ok(());
    };
    smp_map(target_map, patch_map, &mut Vec::new(), schema)
}

fn smp_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    names: &mut Vec<String>,
    schema: &Schema,
) -> Result<(), String> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip(&Value::Object(patch.clone()))
                .as_object()
                .cloned()
                .unwrap_or_default();
            return Ok(());
        }
        Some("delete") => {
            target.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch directive $patch: {other:?}")),
    }
    for (k, v) in patch {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let remove: Vec<Value> = v.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(items)) = target.get_mut(field) {
                items.retain(|i| !remove.contains(i));
            }
            continue;
        }
        names.push(k.clone());
        match v {
            Value::Null => {
                target.shift_remove(k);
            }
            Value::Object(pm) => match target.get_mut(k) {
                Some(Value::Object(tm)) => {
                    let delete = pm.get("$patch").and_then(Value::as_str) == Some("delete");
                    smp_map(tm, pm, names, schema)?;
                    if delete {
                        target.shift_remove(k);
                    }
                }
                _ => {
                    if pm.get("$patch").and_then(Value::as_str) != Some("delete") {
                        target.insert(k.clone(), strip(v));
                    }
                }
            },
            Value::Array(items) => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let strategy = schema.patch_strategy(&refs);
                let merged = smp_list(target.get(k), items, &strategy, names, schema)?;
                target.insert(k.clone(), Value::Array(merged));
            }
            scalar => {
                target.insert(k.clone(), scalar.clone());
            }
        }
        names.pop();
    }
    for (k, order) in patch {
        if let Some(field) = k.strip_prefix("$setElementOrder/")
            && let (Some(Value::Array(items)), Some(order)) =
                (target.get_mut(field), order.as_array())
        {
            reorder(items, order);
        }
    }
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        target.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(())
}

fn same_key(a: &Value, b: &Value, key: &str) -> bool {
    let get = |v: &Value| v.get(key).cloned().or_else(|| key_default(key));
    get(a).is_some() && get(a) == get(b)
}

fn smp_list(
    current: Option<&Value>,
    patch: &[Value],
    strategy: &PatchStrategy,
    names: &mut Vec<String>,
    schema: &Schema,
) -> Result<Vec<Value>, String> {
    let current: Vec<Value> = current
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("replace"))
            .map(strip)
            .collect());
    }
    match strategy {
        PatchStrategy::Replace => Ok(patch.iter().map(strip).collect()),
        PatchStrategy::MergePrimitives => {
            let mut out = current;
            for item in patch {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        PatchStrategy::MergeByKey(key) => {
            let mut out = current;
            for item in patch {
                let Some(pm) = item.as_object() else {
                    return Err(format!(
                        "expected objects with merge key {key:?} in list {:?}",
                        names.join(".")
                    ));
                };
                let pos = out.iter().position(|c| same_key(c, item, key));
                if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(p) = pos {
                        out.remove(p);
                    }
                    continue;
                }
                match pos.and_then(|p| out.get_mut(p)) {
                    Some(Value::Object(existing)) => smp_map(existing, pm, names, schema)?,
                    _ => out.push(strip(item)),
                }
            }
            Ok(out)
        }
    }
}

fn reorder(items: &mut Vec<Value>, order: &[Value]) {
    let position = |item: &Value| {
        order.iter().position(|o| match (o, item) {
            (Value::Object(om), Value::Object(_)) => om.iter().all(|(k, v)| item.get(k) == Some(v)),
            (o, i) => o == i,
        })
    };
    let mut indexed: Vec<(usize, usize, Value)> = items
        .drain(..)
        .enumerate()
        .map(|(i, v)| (position(&v).unwrap_or(usize::MAX), i, v))
        .collect();
    indexed.sort_by_key(|(p, i, _)| (*p, *i));
    items.extend(indexed.into_iter().map(|(_, _, v)| v));
}

/// Removes strategic-merge directives from a value that is inserted as a whole.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

/// Applies an RFC 6902 JSON patch.
pub(crate) fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let Value::Array(ops) = ops else {
        return Err("a JSON patch must be an array of operations".into());
    };
    for (i, op) in ops.iter().enumerate() {
        let field = |name: &str| -> Result<&str, String> {
            op.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("operation {i}: missing {name:?}"))
        };
        let kind = field("op")?;
        let path = field("path")?;
        match kind {
            "add" => add(target, path, value_of(op, i)?)?,
            "remove" => {
                take(target, path)?;
            }
            "replace" => {
                take(target, path)?;
                add(target, path, value_of(op, i)?)?;
            }
            "move" => {
                let v = take(target, field("from")?)?;
                add(target, path, v)?;
            }
            "copy" => {
                let v = target
                    .pointer(&normalize(field("from")?))
                    .cloned()
                    .ok_or_else(|| format!("operation {i}: from path not found"))?;
                add(target, path, v)?;
            }
            "test" => {
                if target.pointer(&normalize(path)) != Some(&value_of(op, i)?) {
                    return Err(format!("operation {i}: test failed at {path:?}"));
                }
            }
            other => return Err(format!("operation {i}: unknown op {other:?}")),
        }
    }
    Ok(())
}

fn value_of(op: &Value, i: usize) -> Result<Value, String> {
    op.get("value")
        .cloned()
        .ok_or_else(|| format!("operation {i}: missing \"value\""))
}

fn normalize(path: &str) -> String {
    path.to_string()
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    if path.is_empty() {
        return Err("the root cannot be patched".into());
    }
    let idx = path
        .rfind('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    let last = path[idx + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..idx].to_string(), last))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let (parent, last) = split_pointer(path)?;
    let parent = target
        .pointer_mut(&parent)
        .ok_or_else(|| format!("path {path:?} has no parent"))?;
    match parent {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let n: usize = last
                .parse()
                .map_err(|_| format!("invalid array index in {path:?}"))?;
            if n > a.len() {
                return Err(format!("index out of range in {path:?}"));
            }
            a.insert(n, value);
            Ok(())
        }
        _ => Err(format!("path {path:?}: parent is not a container")),
    }
}

fn take(target: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    let parent = target
        .pointer_mut(&parent)
        .ok_or_else(|| format!("path {path:?} not found"))?;
    match parent {
        Value::Object(m) => m
            .shift_remove(&last)
            .ok_or_else(|| format!("path {path:?} not found")),
        Value::Array(a) => {
            let n: usize = last
                .parse()
                .map_err(|_| format!("invalid array index in {path:?}"))?;
            if n >= a.len() {
                return Err(format!("index out of range in {path:?}"));
            }
            Ok(a.remove(n))
        }
        _ => Err(format!("path {path:?} not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn strategic_merges_containers_ports_and_env() {
        let mut t = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "x:1", "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "1"}]},
            {"name": "b", "image": "y:1"}
        ]}}}});
        let p = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "x:2", "ports": [{"containerPort": 443}], "env": [{"name": "B", "value": "2"}]}]
        }}}});
        strategic_merge_patch(&mut t, &p, &Schema::builtin()).unwrap();
        let cs = t.pointer("/spec/template/spec/containers").unwrap();
        assert_eq!(cs[0]["name"], "b");
        assert_eq!(cs[1]["image"], "x:2");
        assert_eq!(
            cs[1]["ports"],
            json!([{"containerPort": 80}, {"containerPort": 443}])
        );
        assert_eq!(
            cs[1]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn strategic_directives() {
        let mut t = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"containers": [{"name": "a"}, {"name": "b"}], "tolerations": [{"key": "x"}]}});
        let p = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"containers": [{"name": "a", "$patch": "delete"}], "tolerations": [{"key": "y"}]}});
        strategic_merge_patch(&mut t, &p, &Schema::builtin()).unwrap();
        assert_eq!(
            t,
            json!({"metadata": {"finalizers": ["b"]}, "spec": {"containers": [{"name": "b"}], "tolerations": [{"key": "y"}]}})
        );
    }

    #[test]
    fn json_patch_ops() {
        let mut t = json!({"a": [1, 2], "b": {"c": 1}});
        json_patch(
            &mut t,
            &json!([
                {"op": "add", "path": "/a/-", "value": 3},
                {"op": "replace", "path": "/b/c", "value": 2},
                {"op": "test", "path": "/b/c", "value": 2},
                {"op": "move", "from": "/b/c", "path": "/d"},
                {"op": "remove", "path": "/a/0"}
            ]),
        )
        .unwrap();
        assert_eq!(t, json!({"a": [2, 3], "b": {}, "d": 2}));
        assert!(json_patch(&mut t, &json!([{"op": "test", "path": "/d", "value": 9}])).is_err());
    }
}
