//! Server-side printing: `meta.k8s.io/v1` `Table` responses for `kubectl get` without `-o`,
//! with the usual columns for common kinds and NAME/AGE for everything else.

use serde_json::{Value, json};

use crate::object;
use crate::resources::ResourceType;

/// Whether an `Accept` header asks for a Table.
pub(crate) fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

fn age(obj: &Value) -> String {
    let created = object::meta_str(obj, "creationTimestamp");
    let Ok(ts) = created.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - ts.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn i(obj: &Value, p: &str) -> i64 {
    obj.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

fn s<'a>(obj: &'a Value, p: &str) -> &'a str {
    obj.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn columns(rt: &ResourceType) -> Vec<&'static str> {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => vec!["Name", "Ready", "Status", "Restarts", "Age"],
        ("apps", "deployments") => vec!["Name", "Ready", "Up-to-date", "Available", "Age"],
        ("apps", "replicasets") => vec!["Name", "Desired", "Current", "Ready", "Age"],
        ("", "services") => vec![
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
        ],
        ("", "namespaces") => vec!["Name", "Status", "Age"],
        ("", "nodes") => vec!["Name", "Status", "Roles", "Age", "Version"],
        _ => vec!["Name", "Age"],
    }
}

fn cells(rt: &ResourceType, o: &Value) -> Vec<Value> {
    let name = Value::from(object::name(o));
    let age = Value::from(age(o));
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => {
            let statuses = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = o
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses
                .iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count();
            let waiting = statuses
                .iter()
                .find_map(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str));
            let phase = if object::is_deleting(o) {
                "Terminating"
            } else {
                waiting.unwrap_or_else(|| s(o, "/status/phase"))
            };
            vec![
                name,
                format!("{ready}/{total}").into(),
                phase.into(),
                0.into(),
                age,
            ]
        }
        ("apps", "deployments") => vec![
            name,
            format!(
                "{}/{}",
                i(o, "/status/readyReplicas"),
                i(o, "/spec/replicas")
            )
            .into(),
            i(o, "/status/updatedReplicas").into(),
            i(o, "/status/availableReplicas").into(),
            age,
        ],
        ("apps", "replicasets") => vec![
            name,
            i(o, "/spec/replicas").into(),
            i(o, "/status/replicas").into(),
            i(o, "/status/readyReplicas").into(),
            age,
        ],
        ("", "services") => {
            let external = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|i| i.get("hostname").or_else(|| i.get("ip")))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    if s(o, "/spec/type") == "LoadBalancer" {
                        "<pending>".into()
                    } else {
                        "<none>".into()
                    }
                });
            let ports: Vec<String> = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| match p.get("nodePort").and_then(Value::as_i64) {
                            Some(np) => format!("{}:{np}/{}", i(p, "/port"), s(p, "/protocol")),
                            None => format!("{}/{}", i(p, "/port"), s(p, "/protocol")),
                        })
                        .collect()
                })
                .unwrap_or_default();
            vec![
                name,
                s(o, "/spec/type").into(),
                s(o, "/spec/clusterIP").into(),
                external.into(),
                ports.join(",").into(),
                age,
            ]
        }
        ("", "namespaces") => vec![name, s(o, "/status/phase").into(), age],
        ("", "nodes") => vec![
            name,
            "Ready".into(),
            "<none>".into(),
            age,
            crate::discovery::GIT_VERSION.into(),
        ],
        _ => vec![name, age],
    }
}

/// A Table of `items`; `include` is the `includeObject` parameter (`None`, `Metadata`, `Object`).
pub(crate) fn table(
    rt: &ResourceType,
    items: &[Value],
    rv: u64,
    cont: Option<String>,
    include: &str,
) -> Value {
    let defs: Vec<Value> = columns(rt)
        .iter()
        .map(|c| json!({"name": c, "type": "string", "format": if *c == "Name" { "name" } else { "" }, "description": c, "priority": 0}))
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(rt, o)});
            let object = match include {
                "None" => None,
                "Object" => Some(o.clone()),
                _ => Some(json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or_default()})),
            };
            if let (Some(obj), Some(m)) = (object, row.as_object_mut()) {
                m.insert("object".into(), obj);
            }
            row
        })
        .collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let (Some(c), Some(m)) = (cont, meta.as_object_mut()) {
        m.insert("continue".into(), Value::from(c));
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs, "rows": rows})
}
