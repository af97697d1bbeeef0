//! Per-kind defaulting, validation and allocation done synchronously on writes, as the real
//! API server's decoding and registry strategies do: canonical resource quantities,
//! namespace phase, Service cluster IPs and node ports,
//! Deployment/ReplicaSet defaults and selector checks, Pod container checks, and CRD
//! acceptance (which registers the custom resource's API).

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause, cause};
use crate::object::{self, meta_mut};
use crate::resources::{ResourceType, crd_types};
use crate::selectors::LabelSelector;
use crate::store::State;

fn is(rt: &ResourceType, group: &str, plural: &str) -> bool {
    rt.group == group && rt.plural == plural && rt.crd_name.is_none()
}

fn invalid(rt: &ResourceType, obj: &Value, causes: Vec<Cause>) -> Result<(), ApiError> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            object::name(obj),
            causes,
        ))
    }
}

/// Defaulting, validation and allocation for a new object.
pub(crate) fn on_create(
    state: &mut State,
    rt: &ResourceType,
    obj: &mut Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    crate::quantities::canonicalize(rt, obj)?;
    if is(rt, "", "namespaces") {
        let name = object::name(obj).to_string();
        let labels = meta_mut(obj)
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(l) = labels.as_object_mut() {
            l.insert("kubernetes.io/metadata.name".into(), Value::from(name));
        }
        set(obj, "spec", json!({"finalizers": ["kubernetes"]}));
        set(obj, "status", json!({"phase": "Active"}));
    } else if is(rt, "", "services") {
        service_defaults(state, rt, None, obj, dry_run)?;
    } else if is(rt, "", "secrets") {
        secret_data(obj);
    } else if is(rt, "apps", "deployments")
        || is(rt, "apps", "replicasets")
        || is(rt, "apps", "statefulsets")
        || is(rt, "apps", "daemonsets")
    {
        workload_defaults(rt, obj);
        invalid(rt, obj, validate_workload(rt, obj))?;
    } else if is(rt, "", "pods") {
        if let Some(spec) = obj.get_mut("spec") {
            pod_spec_defaults(spec);
        }
        let mut causes = Vec::new();
        validate_containers(obj.get("spec"), "spec", &mut causes);
        invalid(rt, obj, causes)?;
    } else if is(rt, "apiextensions.k8s.io", "customresourcedefinitions") {
        accept_crd(rt, obj)?;
    } else if is(rt, "apiregistration.k8s.io", "apiservices") {
        invalid(rt, obj, validate_api_service(obj))?;
    }
    Ok(())
}

/// Defaulting and validation for an update; `old` is the stored object.
pub(crate) fn on_update(
    state: &mut State,
    rt: &ResourceType,
    old: &Value,
    new: &mut Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    crate::quantities::canonicalize(rt, new)?;
    if is(rt, "", "namespaces") {
        if let Some(s) = old.get("status") {
            set(new, "status", s.clone());
        }
        if new.get("spec").is_none()
            && let Some(s) = old.get("spec")
        {
            set(new, "spec", s.clone());
        }
    } else if is(rt, "", "services") {
        service_defaults(state, rt, Some(old), new, dry_run)?;
    } else if is(rt, "", "secrets") {
        secret_data(new);
    } else if is(rt, "apps", "deployments")
        || is(rt, "apps", "replicasets")
        || is(rt, "apps", "statefulsets")
        || is(rt, "apps", "daemonsets")
    {
        workload_defaults(rt, new);
        let mut causes = validate_workload(rt, new);
        if old.pointer("/spec/selector") != new.pointer("/spec/selector") {
            causes.push(cause(
                "FieldValueInvalid",
                "spec.selector",
                "Invalid value: field is immutable",
            ));
        }
        invalid(rt, new, causes)?;
    } else if is(rt, "", "pods") {
        if let Some(spec) = new.get_mut("spec") {
            pod_spec_defaults(spec);
        }
    } else if is(rt, "apiextensions.k8s.io", "customresourcedefinitions") {
        accept_crd(rt, new)?;
    } else if is(rt, "apiregistration.k8s.io", "apiservices") {
        invalid(rt, new, validate_api_service(new))?;
    }
    Ok(())
}

/// The API server's checks of an APIService: its name is `VERSION.GROUP`, and its
/// priorities are in range. (The emulator stores APIServices but aggregates nothing: the
/// group an APIService announces is not served.)
fn validate_api_service(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (group, version) = (text("/spec/group"), text("/spec/version"));
    if version.is_empty() {
        causes.push(cause(
            "FieldValueRequired",
            "spec.version",
            "Required value",
        ));
    }
    let name = object::name(obj);
    let expected = if group.is_empty() {
        version.to_string()
    } else {
        format!("{version}.{group}")
    };
    if !version.is_empty() && name != expected {
        causes.push(cause(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: {name:?}: must be `spec.version+\".\"+spec.group`"),
        ));
    }
    for (field, max) in [("groupPriorityMinimum", 20000), ("versionPriority", 1000)] {
        let value = obj
            .pointer(&format!("/spec/{field}"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if !(1..=max).contains(&value) && !group.is_empty() {
            causes.push(cause(
                "FieldValueInvalid",
                &format!("spec.{field}"),
                format!("Invalid value: {value}: must be positive and at most {max}"),
            ));
        }
    }
    causes
}

/// Effects of a committed write (CRDs register their API).
pub(crate) fn after_commit(state: &mut State, rt: &ResourceType, stored: &Value) {
    if is(rt, "apiextensions.k8s.io", "customresourcedefinitions")
        && let Err(causes) = state.registry.register_crd(stored)
    {
        tracing::warn!(?causes, "stored CRD could not be registered");
    }
}

/// Moves `stringData` into base64 `data` and defaults `type`, as the API server does.
fn secret_data(obj: &mut Value) {
    use base64::Engine as _;
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    map.entry("type").or_insert(Value::from("Opaque"));
    let Some(Value::Object(strings)) = map.shift_remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in strings {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            data.insert(
                k,
                Value::from(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

fn set(obj: &mut Value, field: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        map.insert(field.into(), value);
    }
}

fn accept_crd(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    crd_types(obj)
        .map_err(|causes| ApiError::invalid(&rt.group, &rt.kind, object::name(obj), causes))?;
    let names = obj
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut accepted = names.clone();
    if let Some(map) = accepted.as_object_mut() {
        let kind = map
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        map.entry("singular")
            .or_insert_with(|| Value::from(kind.to_lowercase()));
        map.entry("listKind")
            .or_insert_with(|| Value::from(format!("{kind}List")));
    }
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    let now = object::now_rfc3339();
    set(
        obj,
        "status",
        json!({
            "acceptedNames": accepted,
            "storedVersions": stored,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
            ]
        }),
    );
    Ok(())
}

fn workload_defaults(rt: &ResourceType, obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if rt.plural != "daemonsets" {
        spec.entry("replicas").or_insert(Value::from(1));
    }
    spec.entry("revisionHistoryLimit")
        .or_insert(Value::from(10));
    if rt.plural == "deployments" {
        spec.entry("progressDeadlineSeconds")
            .or_insert(Value::from(600));
        let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
        if let Some(s) = strategy.as_object_mut() {
            let kind = s
                .entry("type")
                .or_insert(Value::from("RollingUpdate"))
                .as_str()
                .unwrap_or_default()
                .to_string();
            if kind == "RollingUpdate" {
                let ru = s.entry("rollingUpdate").or_insert_with(|| json!({}));
                if let Some(ru) = ru.as_object_mut() {
                    ru.entry("maxSurge").or_insert(Value::from("25%"));
                    ru.entry("maxUnavailable").or_insert(Value::from("25%"));
                }
            }
        }
    }
    if let Some(pod_spec) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
        pod_spec_defaults(pod_spec);
    }
}

fn pod_spec_defaults(spec: &mut Value) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    spec.entry("restartPolicy").or_insert(Value::from("Always"));
    spec.entry("dnsPolicy")
        .or_insert(Value::from("ClusterFirst"));
    spec.entry("terminationGracePeriodSeconds")
        .or_insert(Value::from(30));
    spec.entry("schedulerName")
        .or_insert(Value::from("default-scheduler"));
    for list in ["containers", "initContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let latest = c
                .get("image")
                .and_then(Value::as_str)
                .is_some_and(|i| !i.contains(':') || i.ends_with(":latest"));
            c.entry("imagePullPolicy")
                .or_insert_with(|| Value::from(if latest { "Always" } else { "IfNotPresent" }));
            c.entry("terminationMessagePath")
                .or_insert(Value::from("/dev/termination-log"));
            c.entry("terminationMessagePolicy")
                .or_insert(Value::from("File"));
            if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    p.entry("protocol").or_insert(Value::from("TCP"));
                }
            }
        }
    }
}

fn validate_containers(spec: Option<&Value>, at: &str, causes: &mut Vec<Cause>) {
    let containers = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match containers {
        None => causes.push(cause(
            "FieldValueRequired",
            &format!("{at}.containers"),
            "Required value",
        )),
        Some(cs) if cs.is_empty() => causes.push(cause(
            "FieldValueRequired",
            &format!("{at}.containers"),
            "Required value",
        )),
        Some(cs) => {
            let mut seen = Vec::new();
            for (i, c) in cs.iter().enumerate() {
                let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                if name.is_empty() {
                    causes.push(cause(
                        "FieldValueRequired",
                        &format!("{at}.containers[{i}].name"),
                        "Required value",
                    ));
                } else if seen.contains(&name) {
                    causes.push(cause(
                        "FieldValueDuplicate",
                        &format!("{at}.containers[{i}].name"),
                        format!("Duplicate value: {name:?}"),
                    ));
                }
                seen.push(name);
                if c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .is_empty()
                {
                    causes.push(cause(
                        "FieldValueRequired",
                        &format!("{at}.containers[{i}].image"),
                        "Required value",
                    ));
                }
            }
        }
    }
}

fn validate_workload(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(spec) = obj.get("spec") else {
        causes.push(cause("FieldValueRequired", "spec", "Required value"));
        return causes;
    };
    if let Some(r) = spec.get("replicas")
        && r.as_i64().is_none_or(|n| n < 0)
    {
        causes.push(cause(
            "FieldValueInvalid",
            "spec.replicas",
            format!("Invalid value: {r}: must be greater than or equal to 0"),
        ));
    }
    match spec.get("selector") {
        None => causes.push(cause(
            "FieldValueRequired",
            "spec.selector",
            "Required value",
        )),
        Some(sel) => match LabelSelector::from_object(sel) {
            Err(e) => causes.push(cause(
                "FieldValueInvalid",
                "spec.selector",
                format!("Invalid value: {e}"),
            )),
            Ok(s) if s.is_empty() => causes.push(cause(
                "FieldValueInvalid",
                "spec.selector",
                format!(
                    "Invalid value: {sel}: empty selector is invalid for {}",
                    rt.singular
                ),
            )),
            Ok(s) => {
                let labels = spec
                    .pointer("/template/metadata/labels")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if !s.matches(&labels) {
                    causes.push(cause(
                        "FieldValueInvalid",
                        "spec.template.metadata.labels",
                        format!(
                            "Invalid value: {}: `selector` does not match template `labels`",
                            Value::Object(labels)
                        ),
                    ));
                }
            }
        },
    }
    validate_containers(
        spec.pointer("/template/spec"),
        "spec.template.spec",
        &mut causes,
    );
    causes
}

fn service_defaults(
    state: &mut State,
    rt: &ResourceType,
    old: Option<&Value>,
    obj: &mut Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let name = object::name(obj).to_string();
    let old_spec = old
        .and_then(|o| o.get("spec"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            &name,
            vec![cause("FieldValueRequired", "spec", "Required value")],
        ));
    };
    let kind = spec
        .entry("type")
        .or_insert(Value::from("ClusterIP"))
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    if !matches!(
        kind.as_str(),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            &name,
            vec![cause(
                "FieldValueNotSupported",
                "spec.type",
                format!(
                    "Unsupported value: {kind:?}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
                ),
            )],
        ));
    }
    spec.entry("sessionAffinity").or_insert(Value::from("None"));
    let mut causes = Vec::new();
    if kind == "ExternalName" {
        if spec
            .get("externalName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            causes.push(cause(
                "FieldValueRequired",
                "spec.externalName",
                "Required value",
            ));
        }
    } else {
        spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
        spec.entry("ipFamilyPolicy")
            .or_insert(Value::from("SingleStack"));
        spec.entry("internalTrafficPolicy")
            .or_insert(Value::from("Cluster"));
        let requested = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let previous = old_spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ip = if !previous.is_empty() {
            if !requested.is_empty() && requested != previous {
                causes.push(cause(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    format!("Invalid value: {requested:?}: may not change once set"),
                ));
            }
            previous
        } else if requested == "None" {
            requested
        } else if !requested.is_empty() {
            if !dry_run && !state.claim_cluster_ip(&requested) {
                causes.push(cause("FieldValueInvalid", "spec.clusterIPs", format!("Invalid value: [{requested:?}]: failed to allocate IP {requested}: provided IP is already allocated or outside 10.96.0.0/12")));
            }
            requested
        } else if dry_run {
            "10.96.0.0".to_string()
        } else {
            state.allocate_cluster_ip().unwrap_or_default()
        };
        spec.insert("clusterIP".into(), Value::from(ip.clone()));
        spec.insert("clusterIPs".into(), json!([ip]));
        match spec.get_mut("ports").and_then(Value::as_array_mut) {
            Some(ports) if !ports.is_empty() => {
                let old_ports = old_spec
                    .get("ports")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (i, p) in ports.iter_mut().enumerate() {
                    let Some(p) = p.as_object_mut() else { continue };
                    p.entry("protocol").or_insert(Value::from("TCP"));
                    let Some(port) = p.get("port").cloned().filter(Value::is_u64) else {
                        causes.push(cause(
                            "FieldValueRequired",
                            &format!("spec.ports[{i}].port"),
                            "Required value",
                        ));
                        continue;
                    };
                    p.entry("targetPort").or_insert(port.clone());
                    if kind == "NodePort" || kind == "LoadBalancer" {
                        let kept = old_ports
                            .iter()
                            .find(|o| o.get("port") == Some(&port))
                            .and_then(|o| o.get("nodePort"))
                            .cloned();
                        match (p.get("nodePort").and_then(Value::as_u64), kept) {
                            (None, Some(k)) => {
                                p.insert("nodePort".into(), k);
                            }
                            (None, None) => {
                                let np = if dry_run {
                                    Some(30000)
                                } else {
                                    state.allocate_node_port()
                                };
                                if let Some(np) = np {
                                    p.insert("nodePort".into(), Value::from(np));
                                }
                            }
                            (Some(np), kept) => {
                                let same = kept.and_then(|k| k.as_u64()) == Some(np);
                                let claimed = same
                                    || dry_run
                                    || u16::try_from(np).is_ok_and(|n| state.claim_node_port(n));
                                if !claimed {
                                    causes.push(cause("FieldValueInvalid", &format!("spec.ports[{i}].nodePort"), format!("Invalid value: {np}: provided port is already allocated or outside 30000-32767")));
                                }
                            }
                        }
                    }
                }
            }
            _ if ip == "None" => {}
            _ => causes.push(cause("FieldValueRequired", "spec.ports", "Required value")),
        }
    }
    if old.is_none() {
        set(obj, "status", json!({"loadBalancer": {}}));
    }
    invalid(rt, obj, causes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;
    use crate::store::Store;
    use std::sync::Arc;

    #[test]
    fn services_get_unique_cluster_ips() {
        let store = Store::new(Arc::new(EmulatorConfig::default()), crate::clock::system());
        let mut state = store.lock();
        let rt = state.registry.lookup("", "v1", "services").unwrap();
        let mut ips = Vec::new();
        for _ in 0..3 {
            let mut svc = json!({"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
            on_create(&mut state, &rt, &mut svc, false).unwrap();
            assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
            assert!(svc["spec"]["ports"][0]["nodePort"].as_u64().unwrap() >= 30000);
            ips.push(svc["spec"]["clusterIP"].as_str().unwrap().to_string());
        }
        ips.dedup();
        assert_eq!(ips.len(), 3);
        assert!(ips.iter().all(|ip| ip.starts_with("10.96.")));
    }

    #[test]
    fn secrets_encode_string_data() {
        let store = Store::new(Arc::new(EmulatorConfig::default()), crate::clock::system());
        let mut state = store.lock();
        let rt = state.registry.lookup("", "v1", "secrets").unwrap();
        let mut s = json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}, "data": {"a": "YQ=="}});
        on_create(&mut state, &rt, &mut s, false).unwrap();
        assert_eq!(
            s,
            json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "YQ==", "password": "aHVudGVyMg=="}})
        );
    }

    #[test]
    fn deployment_selector_must_match() {
        let store = Store::new(Arc::new(EmulatorConfig::default()), crate::clock::system());
        let mut state = store.lock();
        let rt = state.registry.lookup("apps", "v1", "deployments").unwrap();
        let mut d = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let err = on_create(&mut state, &rt, &mut d, false).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .contains("`selector` does not match template `labels`"),
            "{}",
            err.message
        );
    }
}
