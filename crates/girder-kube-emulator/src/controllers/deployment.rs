//! The Deployment and ReplicaSet controllers.
//!
//! A Deployment's pod template is hashed (`pod-template-hash`); the ReplicaSet with that hash
//! is the new one (created if missing, owned by the Deployment, with the next
//! `deployment.kubernetes.io/revision`). The new ReplicaSet is scaled to `spec.replicas` at
//! once and old ones are scaled down as new Pods become available, so a rollout surges.
//! The Deployment's status and its `Available` / `Progressing` conditions follow the real
//! controller's reasons: `NewReplicaSetCreated`, `ReplicaSetUpdated`, `NewReplicaSetAvailable`,
//! `ProgressDeadlineExceeded`, `MinimumReplicasAvailable`, `MinimumReplicasUnavailable`.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::Memory;
use crate::object::{self, controller_ref, controller_uid, is_deleting};
use crate::ops::{self, Sub};
use crate::store::State;

const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

fn int(v: Option<&Value>, default: i64) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(default)
}

fn revision(rs: &Value) -> i64 {
    rs.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Resolves an int-or-percent (`"25%"`) against `total`, rounding down.
fn int_or_percent(v: Option<&Value>, total: i64, default_pct: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s
            .trim_end_matches('%')
            .parse::<i64>()
            .map(|p| total * p / 100)
            .unwrap_or(0),
        _ => total * default_pct / 100,
    }
}

fn owned_by<'a>(
    state: &'a State,
    group: &str,
    resource: &str,
    namespace: &str,
    uid: &str,
) -> Vec<&'a Value> {
    state
        .list(group, resource, Some(namespace))
        .into_iter()
        .map(|(_, o)| o)
        .filter(|o| controller_uid(o).as_deref() == Some(uid))
        .collect()
}

fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: String,
    previous: Option<&Value>,
    now: &str,
) -> Value {
    let prev = |f: &str| {
        previous
            .and_then(|p| p.get(f))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let same_status = prev("status").as_deref() == Some(status);
    let same_reason = same_status
        && prev("reason").as_deref() == Some(reason)
        && prev("message").as_deref() == Some(message.as_str());
    let transition = if same_status {
        prev("lastTransitionTime").unwrap_or_else(|| now.to_string())
    } else {
        now.to_string()
    };
    let update = if same_reason {
        prev("lastUpdateTime").unwrap_or_else(|| now.to_string())
    } else {
        now.to_string()
    };
    json!({"type": kind, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition, "reason": reason, "message": message})
}

fn find_condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        })
}

pub(super) fn reconcile_deployments(state: &mut State, memory: &mut Memory, now: Instant) {
    let Some(deploy_rt) = state.registry.lookup("apps", "v1", "deployments") else {
        return;
    };
    let Some(rs_rt) = state.registry.lookup("apps", "v1", "replicasets") else {
        return;
    };
    let deployments: Vec<Value> = state
        .list("apps", "deployments", None)
        .into_iter()
        .map(|(_, o)| o.clone())
        .filter(|o| !is_deleting(o))
        .collect();
    for d in deployments {
        let ns = object::namespace(&d).to_string();
        let uid = object::uid(&d).to_string();
        let spec = d.get("spec").cloned().unwrap_or_default();
        let want = int(spec.get("replicas"), 1).max(0);
        let template = spec.get("template").cloned().unwrap_or_else(|| json!({}));
        let hash = object::stable_hash(&template);
        let rss: Vec<Value> = owned_by(state, "apps", "replicasets", &ns, &uid)
            .into_iter()
            .cloned()
            .collect();
        let max_rev = rss.iter().map(revision).max().unwrap_or(0);
        let existing = rss.iter().find(|rs| {
            rs.pointer("/metadata/labels")
                .and_then(|l| l.get(HASH))
                .and_then(Value::as_str)
                == Some(hash.as_str())
        });
        let mut new_created = false;
        let new_name = match existing {
            None => {
                let mut labels = template
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                labels.insert(HASH.into(), Value::from(hash.clone()));
                let mut rs_template = template.clone();
                if let Some(m) = rs_template.as_object_mut() {
                    let meta = m.entry("metadata").or_insert_with(|| json!({}));
                    if let Some(meta) = meta.as_object_mut() {
                        meta.insert("labels".into(), Value::Object(labels.clone()));
                    }
                }
                let mut selector = spec.get("selector").cloned().unwrap_or_else(|| json!({}));
                if let Some(sel) = selector.as_object_mut() {
                    let ml = sel
                        .entry("matchLabels")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(ml) = ml.as_object_mut() {
                        ml.insert(HASH.into(), Value::from(hash.clone()));
                    }
                }
                let name = format!("{}-{hash}", object::name(&d));
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {
                        "name": name, "namespace": ns, "labels": labels,
                        "annotations": {REVISION: (max_rev + 1).to_string(), "deployment.kubernetes.io/desired-replicas": want.to_string()},
                        "ownerReferences": [controller_ref(&d)],
                    },
                    "spec": {"replicas": want, "minReadySeconds": int(spec.get("minReadySeconds"), 0), "selector": selector, "template": rs_template},
                });
                ops::controller_create(state, &rs_rt, rs);
                new_created = true;
                name
            }
            Some(rs) => {
                let mut rs = rs.clone();
                let mut changed = false;
                if int(rs.pointer("/spec/replicas"), 0) != want {
                    rs["spec"]["replicas"] = Value::from(want);
                    changed = true;
                }
                let newest = rss
                    .iter()
                    .filter(|o| object::uid(o) != object::uid(&rs))
                    .map(revision)
                    .max()
                    .unwrap_or(0);
                if revision(&rs) < newest {
                    // Rolled back to an older template: it becomes the newest revision.
                    let meta = object::meta_mut(&mut rs);
                    let ann = meta.entry("annotations").or_insert_with(|| json!({}));
                    if let Some(a) = ann.as_object_mut() {
                        a.insert(REVISION.into(), Value::from((max_rev + 1).to_string()));
                    }
                    changed = true;
                }
                if changed {
                    ops::controller_write(state, &rs_rt, rs.clone(), Sub::Main);
                }
                object::name(&rs).to_string()
            }
        };
        // Scale old ReplicaSets down as the new one becomes available.
        let new_rs = state
            .list("apps", "replicasets", Some(&ns))
            .into_iter()
            .map(|(_, o)| o.clone())
            .find(|o| object::name(o) == new_name);
        let new_available = new_rs
            .as_ref()
            .map(|rs| int(rs.pointer("/status/availableReplicas"), 0))
            .unwrap_or(0);
        let mut budget = (want - new_available).max(0);
        let mut olds: Vec<Value> = rss
            .iter()
            .filter(|o| object::name(o) != new_name)
            .cloned()
            .collect();
        olds.sort_by_key(|o| std::cmp::Reverse(revision(o)));
        for mut old in olds {
            let current = int(old.pointer("/spec/replicas"), 0);
            let target = current.min(budget);
            budget -= target;
            if target != current {
                old["spec"]["replicas"] = Value::from(target);
                ops::controller_write(state, &rs_rt, old, Sub::Main);
            }
        }
        // Status.
        let rss: Vec<Value> = owned_by(state, "apps", "replicasets", &ns, &uid)
            .into_iter()
            .cloned()
            .collect();
        let sum = |f: &str| rss.iter().map(|rs| int(rs.pointer(f), 0)).sum::<i64>();
        let replicas = sum("/status/replicas");
        let ready = sum("/status/readyReplicas");
        let available = sum("/status/availableReplicas");
        let new_rs = rss.iter().find(|o| object::name(o) == new_name);
        let updated = new_rs
            .map(|rs| int(rs.pointer("/status/replicas"), 0))
            .unwrap_or(0);
        let new_available = new_rs
            .map(|rs| int(rs.pointer("/status/availableReplicas"), 0))
            .unwrap_or(0);
        let complete =
            updated == want && replicas == want && available == want && new_available == want;
        let max_unavailable = int_or_percent(
            spec.pointer("/strategy/rollingUpdate/maxUnavailable"),
            want,
            25,
        );
        let min_available = (want - max_unavailable).max(0);
        let signature = format!(
            "{new_name}/{updated}/{ready}/{available}/{replicas}/{}",
            int(d.pointer("/metadata/generation"), 0)
        );
        let entry = memory
            .progress
            .entry(uid.clone())
            .or_insert_with(|| (signature.clone(), now));
        if entry.0 != signature {
            *entry = (signature, now);
        }
        let since_progress = now.duration_since(entry.1);
        let deadline = state.config.progress_deadline(
            spec.get("progressDeadlineSeconds")
                .and_then(Value::as_f64)
                .unwrap_or(600.0),
        );
        let stamp = object::now_rfc3339();
        let available_cond = if available >= min_available {
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                find_condition(&d, "Available"),
                &stamp,
            )
        } else {
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                find_condition(&d, "Available"),
                &stamp,
            )
        };
        let prev_progress = find_condition(&d, "Progressing");
        if !complete && since_progress <= deadline {
            memory.waiting = true;
        }
        let progressing = if complete {
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                prev_progress,
                &stamp,
            )
        } else if since_progress > deadline {
            condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                prev_progress,
                &stamp,
            )
        } else if new_created
            || prev_progress
                .and_then(|c| c.get("reason"))
                .and_then(Value::as_str)
                == Some("NewReplicaSetCreated")
                && updated == 0
        {
            condition(
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                format!("Created new replica set \"{new_name}\""),
                prev_progress,
                &stamp,
            )
        } else {
            condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{new_name}\" is progressing."),
                prev_progress,
                &stamp,
            )
        };
        let mut status = json!({
            "observedGeneration": int(d.pointer("/metadata/generation"), 1),
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": [available_cond, progressing],
        });
        let unavailable = (replicas.max(want) - available).max(0);
        if let Some(s) = status.as_object_mut() {
            if unavailable > 0 {
                s.insert("unavailableReplicas".into(), Value::from(unavailable));
            }
            s.retain(|k, v| {
                k == "conditions" || k == "observedGeneration" || v.as_i64() != Some(0)
            });
        }
        if d.get("status") != Some(&status) {
            let mut nd = d.clone();
            nd["status"] = status;
            ops::controller_write(state, &deploy_rt, nd, Sub::Status);
        }
    }
}

pub(super) fn reconcile_replicasets(state: &mut State, memory: &mut Memory, now: Instant) {
    let Some(rs_rt) = state.registry.lookup("apps", "v1", "replicasets") else {
        return;
    };
    let Some(pod_rt) = state.registry.lookup("", "v1", "pods") else {
        return;
    };
    let step = state.config.rollout_step;
    let sets: Vec<Value> = state
        .list("apps", "replicasets", None)
        .into_iter()
        .map(|(_, o)| o.clone())
        .filter(|o| !is_deleting(o))
        .collect();
    for rs in sets {
        let ns = object::namespace(&rs).to_string();
        let uid = object::uid(&rs).to_string();
        let want = int(rs.pointer("/spec/replicas"), 1).max(0) as usize;
        let mut pods: Vec<Value> = owned_by(state, "", "pods", &ns, &uid)
            .into_iter()
            .filter(|p| !is_deleting(p))
            .cloned()
            .collect();
        if pods.len() < want {
            memory.waiting = true;
            let due = memory
                .rs_last_create
                .get(&uid)
                .is_none_or(|t| now.duration_since(*t) >= step);
            if due {
                let template = rs
                    .pointer("/spec/template")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                let mut meta = template
                    .get("metadata")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                meta.insert(
                    "name".into(),
                    Value::from(format!(
                        "{}-{}",
                        object::name(&rs),
                        object::random_suffix(5)
                    )),
                );
                meta.insert("namespace".into(), Value::from(ns.clone()));
                meta.insert("ownerReferences".into(), json!([controller_ref(&rs)]));
                let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec").cloned().unwrap_or_else(|| json!({}))});
                if ops::controller_create(state, &pod_rt, pod).is_some() {
                    memory.rs_last_create.insert(uid.clone(), now);
                }
            }
        } else if pods.len() > want {
            // Remove unready pods first, then the newest.
            pods.sort_by_key(|p| {
                (
                    pod_ready(p),
                    std::cmp::Reverse(object::meta_str(p, "creationTimestamp").to_string()),
                )
            });
            for p in pods.iter().take(pods.len() - want) {
                let _ = crate::deletion::delete(
                    state,
                    &pod_rt,
                    Some(&ns),
                    object::name(p),
                    &Default::default(),
                );
            }
        }
        let pods: Vec<Value> = owned_by(state, "", "pods", &ns, &uid)
            .into_iter()
            .filter(|p| !is_deleting(p))
            .cloned()
            .collect();
        let ready = pods.iter().filter(|p| pod_ready(p)).count();
        let mut status = json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": int(rs.pointer("/metadata/generation"), 1),
        });
        if let Some(s) = status.as_object_mut() {
            s.retain(|k, v| k == "replicas" || k == "observedGeneration" || v.as_i64() != Some(0));
        }
        if rs.get("status") != Some(&status) {
            let mut nrs = rs.clone();
            nrs["status"] = status;
            ops::controller_write(state, &rs_rt, nrs, Sub::Status);
        }
    }
}

/// Whether a Pod's `Ready` condition is true.
pub(super) fn pod_ready(pod: &Value) -> bool {
    find_condition(pod, "Ready")
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}
