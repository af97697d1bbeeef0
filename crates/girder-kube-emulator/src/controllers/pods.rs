//! The "kubelet" (Pod phases, IPs, container statuses) and the Service controller
//! (LoadBalancer hostnames).

use std::time::Instant;

use serde_json::{Value, json};

use super::{Memory, NODE_NAME};
use crate::object::{self, is_deleting};
use crate::ops::{self, Sub};
use crate::store::State;

fn containers(pod: &Value) -> Vec<(String, String)> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let s = |f: &str| {
                        c.get(f)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    (s("name"), s("image"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cond(kind: &str, ok: bool, now: &str, reason: Option<&str>, message: Option<String>) -> Value {
    let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
    if let (Some(r), Some(m)) = (reason, c.as_object_mut()) {
        m.insert("reason".into(), Value::from(r));
        m.insert("message".into(), Value::from(message.unwrap_or_default()));
    }
    c
}

pub(super) fn reconcile_pods(state: &mut State, memory: &mut Memory, now: Instant) {
    let Some(pod_rt) = state.registry.lookup("", "v1", "pods") else {
        return;
    };
    let step = state.config.rollout_step;
    let pods: Vec<Value> = state
        .list("", "pods", None)
        .into_iter()
        .map(|(_, o)| o.clone())
        .filter(|o| !is_deleting(o))
        .collect();
    for pod in pods {
        let uid = object::uid(&pod).to_string();
        let seen = *memory.pod_seen.entry(uid.clone()).or_insert(now);
        let mut pod = pod;
        if pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("nodeName".into(), Value::from(NODE_NAME));
            }
            match ops::controller_write(state, &pod_rt, pod.clone(), Sub::Main) {
                Some(p) => pod = p,
                None => continue,
            }
        }
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if phase == "Running" || phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        let cs = containers(&pod);
        let failing: Vec<&(String, String)> = cs
            .iter()
            .filter(|(_, image)| state.config.image_fails(image))
            .collect();
        let stamp = object::now_rfc3339();
        let started = now.duration_since(seen) >= step;
        if !started {
            memory.waiting = true;
        }
        let waiting_reason = if !started {
            "ContainerCreating"
        } else {
            "ImagePullBackOff"
        };
        if started && failing.is_empty() {
            let ip = memory.next_pod_ip;
            memory.next_pod_ip = memory.next_pod_ip.wrapping_add(1) % 65_000;
            let pod_ip = format!("10.244.{}.{}", ip / 250, ip % 250 + 2);
            let statuses: Vec<Value> = cs
                .iter()
                .map(|(name, image)| {
                    json!({
                        "name": name, "image": image, "imageID": format!("emulated://{image}"),
                        "containerID": format!("emulated://{uid}/{name}"),
                        "ready": true, "started": true, "restartCount": 0,
                        "state": {"running": {"startedAt": stamp}}, "lastState": {}
                    })
                })
                .collect();
            let status = json!({
                "phase": "Running",
                "conditions": [cond("PodReadyToStartContainers", true, &stamp, None, None), cond("Initialized", true, &stamp, None, None),
                               cond("Ready", true, &stamp, None, None), cond("ContainersReady", true, &stamp, None, None), cond("PodScheduled", true, &stamp, None, None)],
                "hostIP": "10.0.0.10", "hostIPs": [{"ip": "10.0.0.10"}],
                "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                "startTime": pod.pointer("/status/startTime").cloned().unwrap_or_else(|| Value::from(stamp.clone())),
                "containerStatuses": statuses,
                "qosClass": "BestEffort",
            });
            pod["status"] = status;
            ops::controller_write(state, &pod_rt, pod, Sub::Status);
            continue;
        }
        // Pending: still creating, or stuck pulling a failing image.
        let statuses: Vec<Value> = cs
            .iter()
            .map(|(name, image)| {
                let bad = state.config.image_fails(image);
                let (reason, message) = if started && bad {
                    (waiting_reason.to_string(), format!("Back-off pulling image \"{image}\": ErrImagePull: image {image:?} never becomes ready in the girder kube emulator"))
                } else {
                    ("ContainerCreating".to_string(), String::new())
                };
                let mut waiting = json!({"reason": reason});
                if !message.is_empty() {
                    waiting["message"] = Value::from(message);
                }
                json!({"name": name, "image": image, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                       "state": {"waiting": waiting}, "lastState": {}})
            })
            .collect();
        let names: Vec<&str> = cs.iter().map(|(n, _)| n.as_str()).collect();
        let unready = format!("containers with unready status: [{}]", names.join(" "));
        let old_status = pod.get("status").cloned().unwrap_or_default();
        let keep_time = |t: &str| -> Value {
            old_status
                .get("conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
                })
                .and_then(|c| c.get("lastTransitionTime"))
                .cloned()
                .unwrap_or_else(|| Value::from(stamp.clone()))
        };
        let mut conditions = vec![
            cond("PodReadyToStartContainers", started, &stamp, None, None),
            cond("Initialized", true, &stamp, None, None),
            cond(
                "Ready",
                false,
                &stamp,
                Some("ContainersNotReady"),
                Some(unready.clone()),
            ),
            cond(
                "ContainersReady",
                false,
                &stamp,
                Some("ContainersNotReady"),
                Some(unready),
            ),
            cond("PodScheduled", true, &stamp, None, None),
        ];
        for c in conditions.iter_mut() {
            let t = c
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let same = old_status
                .get("conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|o| o.get("type").and_then(Value::as_str) == Some(t.as_str()))
                })
                .and_then(|o| o.get("status"))
                == c.get("status");
            if same {
                c["lastTransitionTime"] = keep_time(&t);
            }
        }
        let status = json!({
            "phase": "Pending",
            "conditions": conditions,
            "hostIP": "10.0.0.10", "hostIPs": [{"ip": "10.0.0.10"}],
            "startTime": old_status.get("startTime").cloned().unwrap_or_else(|| Value::from(stamp.clone())),
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        });
        if pod.get("status") != Some(&status) {
            pod["status"] = status;
            ops::controller_write(state, &pod_rt, pod, Sub::Status);
        }
    }
}

pub(super) fn reconcile_services(state: &mut State, memory: &mut Memory, now: Instant) {
    if state.cloud.enabled {
        // The cloud provider's load balancers give the hostnames (cloud.rs).
        return;
    }
    let Some(svc_rt) = state.registry.lookup("", "v1", "services") else {
        return;
    };
    let delay = state.config.lb_hostname_delay;
    let services: Vec<Value> = state
        .list("", "services", None)
        .into_iter()
        .map(|(_, o)| o.clone())
        .filter(|o| {
            !is_deleting(o)
                && o.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
        })
        .filter(|o| {
            o.pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
        .collect();
    for mut svc in services {
        let uid = object::uid(&svc).to_string();
        let seen = *memory.lb_seen.entry(uid.clone()).or_insert(now);
        if now.duration_since(seen) < delay {
            memory.waiting = true;
            continue;
        }
        let short: String = uid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let hostname = format!(
            "{}-{short}.{}.lb.girder-emulator.invalid",
            object::name(&svc),
            object::namespace(&svc)
        );
        let ports: Vec<Value> = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|ps| ps.iter().map(|p| json!({"port": p.get("port").cloned().unwrap_or(Value::Null), "protocol": p.get("protocol").cloned().unwrap_or_else(|| Value::from("TCP"))})).collect())
            .unwrap_or_default();
        svc["status"] =
            json!({"loadBalancer": {"ingress": [{"hostname": hostname, "ports": ports}]}});
        ops::controller_write(state, &svc_rt, svc, Sub::Status);
    }
}
