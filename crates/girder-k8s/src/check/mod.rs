//! Checks of Kubernetes objects before anything is deployed.
//!
//! - [`check_object`]: one object on its own — names, ports, security defaults, requests and
//!   limits (present, valid quantities, requests within limits), images (a valid reference
//!   with a version), URL-valued settings. Runs when a builder adds the object (through
//!   `Stack::report`) and again at plan time (the package's `check`).
//! - [`check`]: the objects of a whole program together — the *wiring check*: every Service
//!   selects a workload of the program and targets a declared container port, every HPA
//!   targets a workload whose containers have requests, every ConfigMap, Secret and
//!   ServiceAccount a pod references exists (with the keys it reads), and every URL-valued
//!   setting that names a Service of the program is an absolute URL on one of its ports.
//!
//! Values that are not known yet (outputs of other resources) are skipped: typed outputs
//! such as `service.url()` are right by construction.

mod budgets;
mod external_dns;
mod images;
mod names;
mod namespaces;
mod object;
mod probes;
mod references;
mod resources;
mod security;
mod urls;
mod wiring;

use std::collections::BTreeMap;

use girder_core::{Diagnostics, Graph, NodeKind, Value};

use crate::kinds::{Kind, PROVIDER_TYPE, pod_spec_path};

pub use images::{ImageProblem, image_problem};
pub use names::{
    config_key, dns_hostname, dns_label, dns_subdomain, idna_prefix, label_value, port_name,
    qualified_key,
};
pub use security::{OPT_OUT_PREFIX, OptOut};
pub use wiring::{
    CLUSTER_PROVIDED_ROLES, ProgramObject, program_object, program_objects, program_objects_with,
};

/// Checks one object: `type_name` is its type token, `resource` its node name, `inputs` its
/// inputs as far as they are known.
pub fn check_object(type_name: &str, resource: &str, inputs: &Value) -> Diagnostics {
    object::check(type_name, resource, inputs)
}

/// The wiring check over every Kubernetes object of `graph` (see the module docs).
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let backend = Deployment::new("backend")
///     .image("ghcr.io/acme/backend:1.4")
///     .port(8080)
///     .resources(Resources::new().cpu("100m", "500m").memory("128Mi", "256Mi"))
///     .add(DefaultProvider, &mut s);
/// backend.expose(ServicePort::http(80, 8080)).add(&mut s);
/// let graph = s.finish().unwrap();
/// assert!(girder_k8s::check::check(&graph).is_empty());
/// ```
pub fn check(graph: &Graph) -> Diagnostics {
    wiring::check(&program_objects(graph))
}

/// The wiring check over objects resolved elsewhere — for a plan-time hook that has the
/// planned inputs of every Kubernetes resource (see [`program_objects`] for the shape).
pub fn check_objects(objects: &[ProgramObject]) -> Diagnostics {
    wiring::check(objects)
}

/// A manifest with its kind and node name: what the checks look at.
#[derive(Clone, Copy, Debug)]
pub struct ObjectView<'a> {
    /// The node name.
    pub resource: &'a str,
    /// The kind.
    pub kind: &'a Kind,
    /// The manifest (inputs without girder's settings), possibly with unknowns.
    pub manifest: &'a Value,
    /// The provider node applying it (`None`: the default provider); objects of different
    /// clusters never wire to each other.
    pub cluster: Option<&'a str>,
}

/// The value at `path` below `value` (through secrets), if present.
pub(crate) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = match current {
            Value::Secret(inner) => inner.get(key)?,
            other => other.get(key)?,
        };
    }
    Some(current)
}

/// A string map (labels, selectors, data) as far as its values are known strings.
pub(crate) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A container of a pod spec, with the field path it lives at.
#[derive(Clone, Debug)]
pub struct ContainerView<'a> {
    /// `spec.template.spec.containers[0]`.
    pub path: String,
    /// The container's name, if known.
    pub name: String,
    /// The container.
    pub value: &'a Value,
    /// An init container.
    pub init: bool,
}

impl<'a> ObjectView<'a> {
    /// `metadata.name`, if known.
    pub fn name(&self) -> Option<&'a str> {
        at(self.manifest, &["metadata", "name"]).and_then(Value::as_str)
    }

    /// `metadata.namespace`, if known (namespaced kinds default to `default`).
    pub fn namespace(&self) -> Option<&'a str> {
        if !self.kind.is_namespaced() {
            return None;
        }
        match at(self.manifest, &["metadata", "namespace"]) {
            Some(value) => value.as_str(),
            None => Some("default"),
        }
    }

    /// The annotations (known string values).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        string_map(at(self.manifest, &["metadata", "annotations"]))
    }

    /// The path of the pod spec, for pod-bearing kinds.
    pub fn pod_spec_path(&self) -> Option<&'static [&'static str]> {
        if self.kind.has_pods() {
            pod_spec_path(&self.kind.kind)
        } else {
            None
        }
    }

    /// The pod spec, for pod-bearing kinds.
    pub fn pod_spec(&self) -> Option<&'a Value> {
        at(self.manifest, self.pod_spec_path()?)
    }

    /// The labels pods of this workload get.
    pub fn pod_labels(&self) -> Option<BTreeMap<String, String>> {
        let spec_path = self.pod_spec_path()?;
        let mut path: Vec<&str> = spec_path[..spec_path.len() - 1].to_vec();
        path.extend(["metadata", "labels"]);
        Some(string_map(at(self.manifest, &path)))
    }

    /// The containers and init containers of the pod spec.
    pub fn containers(&self) -> Vec<ContainerView<'a>> {
        let Some(spec_path) = self.pod_spec_path() else {
            return Vec::new();
        };
        let Some(spec) = self.pod_spec() else {
            return Vec::new();
        };
        let base = spec_path.join(".");
        let mut out = Vec::new();
        for (list, init) in [("initContainers", true), ("containers", false)] {
            if let Some(items) = spec.get(list).and_then(Value::as_array) {
                for (i, container) in items.iter().enumerate() {
                    out.push(ContainerView {
                        path: format!("{base}.{list}[{i}]"),
                        name: container
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .to_owned(),
                        value: container,
                        init,
                    });
                }
            }
        }
        out
    }

    /// `Deployment default/backend`, for messages.
    pub fn describe(&self) -> String {
        let name = self.name().unwrap_or("(unnamed)");
        match self.namespace() {
            Some(namespace) => format!("{} {namespace}/{name}", self.kind.kind),
            None => format!("{} {name}", self.kind.kind),
        }
    }
}

/// The manifest part of a node's inputs (without girder's `girder` settings).
pub(crate) fn manifest_of(inputs: &Value) -> Value {
    let mut manifest = inputs.clone();
    if let Some(map) = manifest.as_object_mut() {
        map.remove(crate::GIRDER_SETTINGS);
    }
    manifest
}

/// True for nodes of the Kubernetes package that are objects (not provider nodes).
pub(crate) fn is_object_node(type_name: &str, kind: &NodeKind) -> bool {
    *kind != NodeKind::Provider
        && type_name != PROVIDER_TYPE
        && Kind::from_type_token(type_name).is_some()
}
