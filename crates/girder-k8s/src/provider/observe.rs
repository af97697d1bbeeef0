//! Turning a live object into *observed inputs*: the fields girder set, as the cluster has
//! them now, so that the next plan shows drift (someone ran `kubectl scale` or `kubectl set
//! image`) and nothing else (defaults the API server filled in, status, other managers'
//! additions).

use base64::Engine;
use girder_core::Value;

use crate::kinds::Kind;
use crate::{GIRDER_SETTINGS, MANAGED_BY_LABEL, RESOURCE_ANNOTATION, STACK_ANNOTATION};

/// Keys that identify list items in the lists girder writes (containers, env, ports,
/// volumes, …), in order of preference; composite keys like the API server's
/// `containerPort`+`protocol`.
const MERGE_KEYS: [&[&str]; 7] = [
    &["name"],
    &["containerPort", "protocol"],
    &["containerPort"],
    &["port", "protocol"],
    &["port"],
    &["mountPath"],
    &["ip"],
];

fn key_of<'a>(item: &'a Value, key: &[&str]) -> Option<Vec<&'a Value>> {
    key.iter()
        .map(|k| {
            item.get(k)
                .filter(|v| matches!(v, Value::String(_) | Value::Number(_)))
        })
        .collect()
}

/// The merge key of a recorded list: one every item has, with distinct values.
fn merge_key(items: &[Value]) -> Option<&'static [&'static str]> {
    MERGE_KEYS.into_iter().find(|key| {
        let values: Option<Vec<Vec<&Value>>> = items.iter().map(|i| key_of(i, key)).collect();
        values.is_some_and(|values| {
            values
                .iter()
                .enumerate()
                .all(|(i, v)| !values[..i].contains(v))
        })
    })
}

/// `live` restricted to the shape of `recorded`.
///
/// Objects keep the recorded keys (a key missing from the live object stays missing, which
/// the plan shows as drift). Lists of objects are matched item by item on a merge key (or by
/// position) and keep the recorded order; live items girder never wrote are left out, since
/// server-side apply leaves them to their managers too. Lists of scalars and scalars are
/// taken as they are live.
pub fn project(live: &Value, recorded: &Value) -> Value {
    match (live, recorded) {
        (live, Value::Secret(inner)) => project(live, inner),
        (Value::Object(live_map), Value::Object(recorded_map)) => Value::Object(
            recorded_map
                .iter()
                .filter_map(|(key, recorded_value)| {
                    live_map
                        .get(key)
                        .map(|live_value| (key.clone(), project(live_value, recorded_value)))
                })
                .collect(),
        ),
        (Value::Array(live_items), Value::Array(recorded_items))
            if recorded_items.iter().all(|i| matches!(i, Value::Object(_)))
                && !recorded_items.is_empty() =>
        {
            match merge_key(recorded_items) {
                Some(key) => Value::Array(
                    recorded_items
                        .iter()
                        .filter_map(|recorded_item| {
                            let wanted = key_of(recorded_item, key)?;
                            live_items
                                .iter()
                                .find(|l| key_of(l, key).as_ref() == Some(&wanted))
                                .map(|l| project(l, recorded_item))
                        })
                        .collect(),
                ),
                None => Value::Array(
                    live_items
                        .iter()
                        .zip(recorded_items)
                        .map(|(l, r)| project(l, r))
                        .collect(),
                ),
            }
        }
        (live, _) => live.clone(),
    }
}

/// A Secret's `data` decoded into `stringData` for the keys girder wrote as strings (the API
/// server stores `stringData` base64-encoded in `data` and drops it).
fn secret_string_data(live: &mut Value, recorded: &Value) {
    let Some(keys) = recorded.get("stringData").and_then(Value::as_object) else {
        return;
    };
    if live.get("stringData").is_some() {
        return;
    }
    let data = live
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let decoded: std::collections::BTreeMap<String, Value> = keys
        .keys()
        .filter_map(|key| {
            let encoded = data.get(key)?.as_str()?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()?;
            Some((key.clone(), Value::String(String::from_utf8(bytes).ok()?)))
        })
        .collect();
    if let Some(map) = live.as_object_mut() {
        map.insert("stringData".into(), Value::Object(decoded));
    }
}

/// Maps of resource quantities (`resources.requests`, `ResourceQuota.spec.hard`,
/// `LimitRange` limits, a pod's `overhead`, …): the API server stores their values in
/// canonical form.
const QUANTITY_MAPS: [&str; 11] = [
    "requests",
    "limits",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];

fn quantity_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Keeps the recorded spelling of quantities the server stores in canonical form (`0.5`
/// written, `500m` stored), so that a spelling is not mistaken for drift; a changed value
/// still shows.
fn quantities_as_recorded(observed: &mut Value, recorded: &Value) {
    fn keep_if_same(observed: &mut Value, recorded: &Value) {
        if let (Some(live), Some(wanted)) = (quantity_text(observed), quantity_text(recorded))
            && live != wanted
            && girder_k8s_quantity::same_stored_value(&live, &wanted)
        {
            *observed = recorded.clone();
        }
    }
    let recorded = match recorded {
        Value::Secret(inner) => inner.as_ref(),
        other => other,
    };
    match (observed, recorded) {
        (Value::Object(live), Value::Object(wanted)) => {
            for (key, live_value) in live.iter_mut() {
                let Some(wanted_value) = wanted.get(key) else {
                    continue;
                };
                let quantity_map = QUANTITY_MAPS.contains(&key.as_str());
                // emptyDir's sizeLimit; an HPA metric target's value and averageValue.
                let quantity_scalar = key == "sizeLimit"
                    || (matches!(key.as_str(), "value" | "averageValue")
                        && matches!(
                            wanted.get("type").and_then(Value::as_str),
                            Some("Value" | "AverageValue")
                        ));
                match (live_value, wanted_value) {
                    (Value::Object(entries), Value::Object(wanted_entries)) if quantity_map => {
                        for (name, quantity) in entries.iter_mut() {
                            if let Some(wanted_quantity) = wanted_entries.get(name) {
                                keep_if_same(quantity, wanted_quantity);
                            }
                        }
                    }
                    (scalar, wanted_scalar) if quantity_scalar => {
                        keep_if_same(scalar, wanted_scalar)
                    }
                    (nested, wanted_nested) => quantities_as_recorded(nested, wanted_nested),
                }
            }
        }
        (Value::Array(live), Value::Array(wanted)) => {
            for (item, wanted_item) in live.iter_mut().zip(wanted) {
                quantities_as_recorded(item, wanted_item);
            }
        }
        _ => {}
    }
}

/// Observed inputs for a recorded resource: the live object projected onto the recorded
/// inputs, with girder's own settings carried over unchanged.
pub fn observed_inputs(kind: &Kind, live: &Value, recorded: &Value) -> Value {
    let mut live = live.clone();
    if kind.group.is_empty() && kind.kind == "Secret" {
        secret_string_data(&mut live, recorded);
    }
    let mut observed = project(&live, recorded);
    quantities_as_recorded(&mut observed, recorded);
    if let (Some(settings), Some(map)) = (recorded.get(GIRDER_SETTINGS), observed.as_object_mut()) {
        map.insert(GIRDER_SETTINGS.into(), settings.clone());
    }
    observed
}

/// Observed inputs for an object girder has no record of (import, recovery): the live
/// object without what the server maintains (status, uid, resource version, managed fields,
/// revision annotations) and without girder's identity marks.
pub fn stripped(live: &Value) -> Value {
    let mut object = live.clone();
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    map.remove("status");
    if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            metadata.remove(key);
        }
        for (section, drop) in [
            (
                "annotations",
                &[
                    "kubectl.kubernetes.io/last-applied-configuration",
                    "deployment.kubernetes.io/revision",
                    STACK_ANNOTATION,
                    RESOURCE_ANNOTATION,
                ][..],
            ),
            ("labels", &[MANAGED_BY_LABEL.0][..]),
        ] {
            let empty = match metadata.get_mut(section).and_then(Value::as_object_mut) {
                Some(entries) => {
                    for key in drop {
                        entries.remove(*key);
                    }
                    entries.is_empty()
                }
                None => false,
            };
            if empty {
                metadata.remove(section);
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    fn deployment(replicas: i64, image: &str) -> Value {
        Value::from_json(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": image, "ports": [{"containerPort": 8080}]}
            ]}}},
            "girder": {"forceConflicts": false}
        }))
    }

    #[test]
    fn projection_ignores_defaults_and_shows_drift() {
        let recorded = deployment(2, "nginx:1.27");
        let mut live = deployment(5, "nginx:1.27").to_json();
        live["metadata"]["uid"] = "u-1".into();
        live["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "girder".into();
        live["spec"]["progressDeadlineSeconds"] = 600.into();
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] =
            "IfNotPresent".into();
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .insert(0, serde_json::json!({"name": "sidecar", "image": "envoy"}));
        live["status"] = serde_json::json!({"replicas": 5});
        live.as_object_mut().unwrap().remove("girder");
        let kind = Kind::new("apps", "v1", "Deployment");
        let observed = observed_inputs(&kind, &Value::from_json(live), &recorded);
        assert_eq!(observed, deployment(5, "nginx:1.27"));
    }

    #[test]
    fn canonical_quantities_are_not_drift_but_changed_ones_are() {
        let resources = |cpu: &str, memory: &str| serde_json::json!({"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}});
        let with = |resources: serde_json::Value, size: &str, average: &str| {
            Value::from_json(serde_json::json!({
                "spec": {"template": {"spec": {
                    "containers": [{"name": "web", "image": "nginx", "resources": resources}],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": size}}]
                }}},
                "metrics": [{"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": average}}}]
            }))
        };
        let kind = Kind::new("apps", "v1", "Deployment");
        let recorded = with(resources("0.5", "1024Mi"), "0.5Gi", "1000m");
        // What the API server stores for the same program.
        let stored = with(resources("500m", "1Gi"), "512Mi", "1");
        assert_eq!(observed_inputs(&kind, &stored, &recorded), recorded);
        // A real change still shows, in the server's spelling.
        let scaled = with(resources("750m", "1Gi"), "512Mi", "1");
        let observed = observed_inputs(&kind, &scaled, &recorded);
        assert_ne!(observed, recorded);
        assert_eq!(
            observed.to_json()["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"],
            serde_json::json!({"cpu": "750m", "memory": "1024Mi"})
        );
    }

    #[test]
    fn list_items_match_on_composite_keys() {
        let recorded = Value::from_json(serde_json::json!([
            {"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}
        ]));
        let live = Value::from_json(serde_json::json!([
            {"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}
        ]));
        assert_eq!(project(&live, &recorded), recorded);
    }

    #[test]
    fn secrets_decode_data_into_string_data() {
        let recorded = object! { "stringData" => object! { "password" => Value::from("hunter2").into_secret() } };
        let live =
            object! { "data" => object! { "password" => "aHVudGVyMg==" }, "type" => "Opaque" };
        let observed = observed_inputs(&Kind::new("", "v1", "Secret"), &live, &recorded);
        assert_eq!(
            observed,
            object! { "stringData" => object! { "password" => "hunter2" } }
        );
    }

    #[test]
    fn stripping_removes_server_fields_and_identity() {
        let live = Value::from_json(serde_json::json!({
            "metadata": {"name": "x", "uid": "1", "resourceVersion": "7", "managedFields": [],
                "annotations": {"girder.dev/stack": "dev", "girder.dev/resource": "x"},
                "labels": {"app.kubernetes.io/managed-by": "girder", "app": "x"}},
            "status": {"phase": "Active"}
        }));
        assert_eq!(
            stripped(&live),
            Value::from_json(
                serde_json::json!({"metadata": {"name": "x", "labels": {"app": "x"}}})
            )
        );
    }
}
