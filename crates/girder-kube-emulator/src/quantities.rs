//! Resource quantities stored the way the API server stores them: every quantity field of a
//! built-in kind is decoded into a `resource.Quantity` and written back in canonical form
//! (`0.5` → `500m`, `1024Mi` → `1Gi`), and a malformed one fails the request with the
//! decoder's 400.

use serde_json::Value;

use crate::error::ApiError;
use crate::resources::ResourceType;

/// Maps whose values are all quantities.
const RESOURCE_LISTS: [&str; 2] = ["requests", "limits"];

/// Canonicalizes the quantity fields of a built-in object (a whole object or an apply
/// configuration; missing fields are skipped).
pub(crate) fn canonicalize(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    if rt.crd_name.is_some() {
        return Ok(());
    }
    let mut walk = Walk { rt, error: None };
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => {
            walk.pod_spec(obj.get_mut("spec"));
            walk.pod_status(obj.get_mut("status"));
        }
        ("", "podtemplates") => walk.pod_spec(obj.pointer_mut("/template/spec")),
        ("apps", "deployments" | "replicasets" | "daemonsets")
        | ("", "replicationcontrollers")
        | ("batch", "jobs") => walk.pod_spec(obj.pointer_mut("/spec/template/spec")),
        ("apps", "statefulsets") => {
            walk.pod_spec(obj.pointer_mut("/spec/template/spec"));
            for claim in items(obj.pointer_mut("/spec/volumeClaimTemplates")) {
                walk.resource_lists(claim.pointer_mut("/spec/resources"));
            }
        }
        ("batch", "cronjobs") => {
            walk.pod_spec(obj.pointer_mut("/spec/jobTemplate/spec/template/spec"))
        }
        ("", "persistentvolumeclaims") => {
            walk.resource_lists(obj.pointer_mut("/spec/resources"));
            walk.map(obj.pointer_mut("/status/capacity"));
            walk.map(obj.pointer_mut("/status/allocatedResources"));
        }
        ("", "persistentvolumes") => walk.map(obj.pointer_mut("/spec/capacity")),
        ("", "resourcequotas") => {
            walk.map(obj.pointer_mut("/spec/hard"));
            walk.map(obj.pointer_mut("/status/hard"));
            walk.map(obj.pointer_mut("/status/used"));
        }
        ("", "limitranges") => {
            for limit in items(obj.pointer_mut("/spec/limits")) {
                for key in [
                    "max",
                    "min",
                    "default",
                    "defaultRequest",
                    "maxLimitRequestRatio",
                ] {
                    walk.map(limit.get_mut(key));
                }
            }
        }
        ("", "nodes") => {
            walk.map(obj.pointer_mut("/status/capacity"));
            walk.map(obj.pointer_mut("/status/allocatable"));
        }
        ("autoscaling", "horizontalpodautoscalers") => {
            for (list, target) in [
                ("/spec/metrics", "target"),
                ("/status/currentMetrics", "current"),
            ] {
                for metric in items(obj.pointer_mut(list)) {
                    for source in [
                        "resource",
                        "containerResource",
                        "pods",
                        "object",
                        "external",
                    ] {
                        if let Some(t) = metric.get_mut(source).and_then(|s| s.get_mut(target)) {
                            walk.scalar(t.get_mut("value"));
                            walk.scalar(t.get_mut("averageValue"));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    match walk.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn items(list: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    list.and_then(Value::as_array_mut)
        .map(|a| a.iter_mut())
        .into_iter()
        .flatten()
}

struct Walk<'a> {
    rt: &'a ResourceType,
    error: Option<ApiError>,
}

impl Walk<'_> {
    fn pod_spec(&mut self, spec: Option<&mut Value>) {
        let Some(spec) = spec else {
            return;
        };
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for container in items(spec.get_mut(list)) {
                self.resource_lists(container.get_mut("resources"));
            }
        }
        self.resource_lists(spec.get_mut("resources"));
        self.map(spec.get_mut("overhead"));
        for volume in items(spec.get_mut("volumes")) {
            self.scalar(volume.pointer_mut("/emptyDir/sizeLimit"));
            self.resource_lists(
                volume.pointer_mut("/ephemeral/volumeClaimTemplate/spec/resources"),
            );
        }
    }

    fn pod_status(&mut self, status: Option<&mut Value>) {
        let Some(status) = status else {
            return;
        };
        for list in ["containerStatuses", "initContainerStatuses"] {
            for container in items(status.get_mut(list)) {
                self.map(container.get_mut("allocatedResources"));
                self.resource_lists(container.get_mut("resources"));
            }
        }
    }

    fn resource_lists(&mut self, resources: Option<&mut Value>) {
        if let Some(resources) = resources {
            for key in RESOURCE_LISTS {
                self.map(resources.get_mut(key));
            }
        }
    }

    fn map(&mut self, map: Option<&mut Value>) {
        if let Some(map) = map.and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                self.scalar(Some(value));
            }
        }
    }

    fn scalar(&mut self, value: Option<&mut Value>) {
        let Some(value) = value else {
            return;
        };
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => return,
            other => {
                self.fail(format!(
                    "quantities must be a JSON string or number, not {other}"
                ));
                return;
            }
        };
        match girder_k8s_quantity::canonical(&text) {
            Ok(canonical) => *value = Value::from(canonical),
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// The decoder's error (`runtime.Decode` of a typed object).
    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(ApiError::bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: {why}",
                kind = self.rt.kind,
                version = self.rt.version
            )));
        }
    }
}
