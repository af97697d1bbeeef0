//! Server-side apply and `managedFields` bookkeeping.
//!
//! Every write records field ownership the way the API server does: an `Apply` entry per
//! applying manager (its set is exactly the fields of its last applied configuration) and an
//! `Update` entry per manager of other writes (it takes the fields it changed from everyone
//! else). An apply that changes a field another manager owns is a conflict unless forced;
//! fields a manager stops applying are removed when nobody else owns them.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause};
use crate::fieldpath::{self, FieldSet, Path, Scope};
use crate::object::now_rfc3339;
use crate::schema::{ListType, Schema};

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Manager {
    /// The field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The API version the manager wrote with.
    pub api_version: String,
    /// When the entry last changed (RFC 3339).
    pub time: String,
    /// `""` or `status` / `scale`.
    pub subresource: String,
    /// The owned fields.
    pub fields: FieldSet,
}

impl Manager {
    fn is(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    /// How the API server names a manager in conflict messages.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Reads `metadata.managedFields`.
pub(crate) fn parse(obj: &Value) -> Vec<Manager> {
    let Some(entries) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return vec![];
    };
    entries
        .iter()
        .filter_map(|e| {
            let s = |k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let manager = s("manager");
            if manager.is_empty() && e.get("fieldsV1").is_none() {
                return None;
            }
            Some(Manager {
                manager,
                operation: s("operation"),
                api_version: s("apiVersion"),
                time: s("time"),
                subresource: s("subresource"),
                fields: e.get("fieldsV1").map(fieldpath::decode).unwrap_or_default(),
            })
        })
        .collect()
}

/// Writes `metadata.managedFields` (entries without fields are dropped).
pub(crate) fn store(obj: &mut Value, managers: &[Manager]) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(|m| {
            let mut e = json!({
                "manager": m.manager,
                "operation": m.operation,
                "apiVersion": m.api_version,
                "time": m.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fieldpath::encode(&m.fields),
            });
            if !m.subresource.is_empty()
                && let Some(map) = e.as_object_mut()
            {
                map.insert("subresource".into(), Value::from(m.subresource.clone()));
            }
            e
        })
        .collect();
    let meta = crate::object::meta_mut(obj);
    if entries.is_empty() {
        meta.shift_remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(entries));
    }
}

/// The parameters of one apply.
pub(crate) struct ApplyRequest<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub schema: &'a Schema,
    pub scope: Scope,
    pub api_version: &'a str,
    pub subresource: &'a str,
}

/// Merges an applied configuration into the live object (or into nothing, on create) and
/// updates ownership. Returns the new object including its `managedFields`.
pub(crate) fn apply(
    live: Option<&Value>,
    config: &Value,
    req: &ApplyRequest<'_>,
) -> Result<Value, ApiError> {
    let schema = req.schema;
    let mut config = config.clone();
    if let Some(map) = config.as_object_mut() {
        map.retain(|k, _| {
            matches!(k.as_str(), "apiVersion" | "kind" | "metadata") || req.scope.includes(k)
        });
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.shift_remove("managedFields");
            meta.shift_remove("resourceVersion");
            meta.shift_remove("uid");
            meta.shift_remove("creationTimestamp");
        }
    }
    let config_set = fieldpath::collect(&config, schema, req.scope);
    let mut managers = live.map(parse).unwrap_or_default();
    let me = managers
        .iter()
        .position(|m| m.is(req.manager, "Apply", req.subresource));
    let previous: FieldSet = me.map(|i| managers[i].fields.clone()).unwrap_or_default();

    let mut merged = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    merge(&mut merged, &config, &mut Vec::new(), schema);

    // Conflicts: fields owned by someone else whose value this apply changes.
    if let Some(live) = live {
        let mut conflicts: Vec<(usize, Path)> = Vec::new();
        for (i, m) in managers.iter().enumerate() {
            if Some(i) == me {
                continue;
            }
            for p in m.fields.intersection(&config_set) {
                if !fieldpath::same_at(Some(live), &merged, p, schema) {
                    conflicts.push((i, p.clone()));
                }
            }
        }
        if !conflicts.is_empty() {
            if !req.force {
                return Err(conflict_error(&managers, &conflicts));
            }
            for (i, p) in &conflicts {
                managers[*i].fields.remove(p);
            }
        }
    }

    // Fields this manager stopped applying are removed unless someone else owns them.
    let others: FieldSet = managers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != me)
        .flat_map(|(_, m)| m.fields.iter().cloned())
        .collect();
    let removed: Vec<&Path> = previous.difference(&config_set).collect();
    for p in removed.into_iter().rev() {
        let owned_elsewhere = others
            .range(p.clone()..)
            .next()
            .is_some_and(|o| o.starts_with(p));
        if !owned_elsewhere && fieldpath::remove(&mut merged, p, schema) {
            prune_empty_parents(&mut merged, p, &others, schema);
        }
    }

    let entry = Manager {
        manager: req.manager.to_string(),
        operation: "Apply".into(),
        api_version: req.api_version.to_string(),
        time: now_rfc3339(),
        subresource: req.subresource.to_string(),
        fields: config_set,
    };
    match me {
        Some(i) => managers[i] = entry,
        None => managers.push(entry),
    }
    store(&mut merged, &managers);
    Ok(merged)
}

fn prune_empty_parents(
    obj: &mut Value,
    removed: &[crate::fieldpath::PathElement],
    owned: &FieldSet,
    schema: &Schema,
) {
    let mut path = removed.to_vec();
    while path.len() > 1 {
        path.pop();
        if !matches!(path.last(), Some(crate::fieldpath::PathElement::Field(_))) {
            return;
        }
        let empty =
            matches!(fieldpath::get(obj, &path, schema), Some(Value::Object(m)) if m.is_empty());
        if !empty || owned.contains(&path) || path.len() == 1 {
            return;
        }
        fieldpath::remove(obj, &path, schema);
    }
}

fn conflict_error(managers: &[Manager], conflicts: &[(usize, Path)]) -> ApiError {
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(i, p)| Cause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", managers[*i].describe()),
            field: fieldpath::to_string(p),
        })
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: {}: {}",
            causes[0].message, causes[0].field
        )
    } else {
        let mut by_manager: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (i, p) in conflicts {
            by_manager
                .entry(managers[*i].describe())
                .or_default()
                .push(fieldpath::to_string(p));
        }
        let mut lines = Vec::new();
        for (m, paths) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::apply_conflict(message, &causes)
}

/// Merges an applied configuration into a value: maps field by field, associative lists by
/// key, sets by value, everything else replaced.
fn merge(target: &mut Value, config: &Value, names: &mut Vec<String>, schema: &Schema) {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    match config {
        Value::Object(cm) if !schema.atomic_map(&refs) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let Value::Object(tm) = target else { return };
            for (k, v) in cm {
                if v.is_null() {
                    tm.shift_remove(k);
                    continue;
                }
                names.push(k.clone());
                merge(tm.entry(k.clone()).or_insert(Value::Null), v, names, schema);
                names.pop();
            }
        }
        Value::Array(items) => match schema.list_type(&refs) {
            ListType::Map(keys) => {
                let mut out: Vec<Value> = target.as_array().cloned().unwrap_or_default();
                for item in items {
                    let key = fieldpath::item_key(item, &keys);
                    let pos = key.as_ref().and_then(|k| {
                        out.iter().position(|o| {
                            fieldpath::item_key(o, &keys).as_deref() == Some(k.as_str())
                        })
                    });
                    match pos {
                        Some(p) => merge(&mut out[p], item, names, schema),
                        None => out.push(item.clone()),
                    }
                }
                *target = Value::Array(out);
            }
            ListType::Set => {
                let mut out: Vec<Value> = target.as_array().cloned().unwrap_or_default();
                for item in items {
                    if !out.contains(item) {
                        out.push(item.clone());
                    }
                }
                *target = Value::Array(out);
            }
            ListType::Atomic => *target = config.clone(),
        },
        other => *target = other.clone(),
    }
}

/// Records a non-apply write (create, update, patch) by `manager`: it takes ownership of the
/// fields it changed; fields that no longer exist leave every manager.
pub(crate) fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    schema: &Schema,
    scope: Scope,
    api_version: &str,
    subresource: &str,
) {
    let mut managers = old.map(parse).unwrap_or_default();
    let new_set = fieldpath::collect(new, schema, scope);
    let old_set = old
        .map(|o| fieldpath::collect(o, schema, scope))
        .unwrap_or_default();
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| !old_set.contains(*p) || !fieldpath::same_at(old, new, p, schema))
        .cloned()
        .collect();
    let in_scope = |p: &Path| match p.first() {
        Some(crate::fieldpath::PathElement::Field(f)) => scope.includes(f),
        _ => true,
    };
    for m in managers.iter_mut() {
        m.fields
            .retain(|p| !in_scope(p) || (new_set.contains(p) && !changed.contains(p)));
    }
    let me = managers
        .iter()
        .position(|m| m.is(manager, "Update", subresource));
    if !changed.is_empty() {
        let previous = me.map(|i| managers[i].fields.clone()).unwrap_or_default();
        let entry = Manager {
            manager: manager.to_string(),
            operation: "Update".into(),
            api_version: api_version.to_string(),
            time: now_rfc3339(),
            subresource: subresource.to_string(),
            fields: previous.union(&changed).cloned().collect(),
        };
        match me {
            Some(i) => managers[i] = entry,
            None => managers.push(entry),
        }
    }
    store(new, &managers);
}

/// Ownership without timestamps, to tell real changes from no-op writes.
pub(crate) fn ownership(obj: &Value) -> Vec<(String, String, String, FieldSet)> {
    parse(obj)
        .into_iter()
        .map(|m| (m.manager, m.operation, m.subresource, m.fields))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(manager: &'a str, force: bool, schema: &'a Schema) -> ApplyRequest<'a> {
        ApplyRequest {
            manager,
            force,
            schema,
            scope: Scope::NoStatus,
            api_version: "apps/v1",
            subresource: "",
        }
    }

    fn config(replicas: i64, image: &str, labels: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": labels},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn apply_conflict_force_and_removal() {
        let schema = Schema::builtin();
        let a = apply(
            None,
            &config(2, "nginx", json!({"a": "1", "b": "2"})),
            &req("alice", false, &schema),
        )
        .unwrap();
        // Same values: shared ownership, no conflict.
        let b = apply(Some(&a), &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}), &req("bob", false, &schema)).unwrap();
        // Different value: conflict naming alice.
        let err = apply(Some(&b), &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}), &req("bob", false, &schema)).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message.contains("conflict with \"alice\""),
            "{}",
            err.message
        );
        assert_eq!(
            err.details.as_ref().unwrap()["causes"][0]["field"],
            ".spec.replicas"
        );
        assert_eq!(
            err.details.as_ref().unwrap()["causes"][0]["reason"],
            "FieldManagerConflict"
        );
        // Forced: bob takes .spec.replicas.
        let c = apply(Some(&b), &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}), &req("bob", true, &schema)).unwrap();
        assert_eq!(c["spec"]["replicas"], 5);
        // Alice drops label b and replicas: b is removed, replicas stays (bob owns it).
        let d = apply(Some(&c), &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}}}), &req("alice", false, &schema)).unwrap();
        assert_eq!(d["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(d["spec"]["replicas"], 5);
        let owners = parse(&d);
        assert_eq!(owners.len(), 2);
    }

    #[test]
    fn update_takes_ownership() {
        let schema = Schema::builtin();
        let a = apply(
            None,
            &config(2, "nginx", json!({"a": "1"})),
            &req("alice", false, &schema),
        )
        .unwrap();
        let mut b = a.clone();
        b["spec"]["replicas"] = json!(3);
        record_update(
            Some(&a),
            &mut b,
            "kubectl-edit",
            &schema,
            Scope::NoStatus,
            "apps/v1",
            "",
        );
        let owners = parse(&b);
        let edit = owners.iter().find(|m| m.manager == "kubectl-edit").unwrap();
        assert_eq!(edit.fields.len(), 1);
        let err = apply(
            Some(&b),
            &config(2, "nginx", json!({"a": "1"})),
            &req("alice", false, &schema),
        )
        .unwrap_err();
        assert!(
            err.message.contains("\"kubectl-edit\" using apps/v1"),
            "{}",
            err.message
        );
    }
}
