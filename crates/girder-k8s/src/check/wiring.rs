//! The wiring check: the Kubernetes objects of a program, together — Services and the
//! workloads they select, autoscalers and their targets, budgets, bindings (pod references
//! and URLs are in `references`).

use std::collections::{BTreeMap, HashMap};

use girder_core::{Diagnostic, Diagnostics, FieldPath, Graph, NodeKind, Value};

use super::{ObjectView, at, is_object_node, manifest_of, string_map};
use crate::kinds::Kind;

/// One Kubernetes object of a program, with its inputs resolved as far as the program knows
/// them when it is built (outputs of other Kubernetes objects are known then, because they
/// echo their inputs; outputs of other providers' resources are unknown).
#[derive(Clone, Debug)]
pub struct ProgramObject {
    /// The node name.
    pub resource: String,
    /// The kind.
    pub kind: Kind,
    /// The manifest.
    pub manifest: Value,
    /// The node's resolved inputs (the manifest plus girder's settings).
    pub inputs: Value,
    /// The explicit provider node, if any.
    pub provider: Option<String>,
}

impl ProgramObject {
    /// The object as the checks see it.
    pub fn view(&self) -> ObjectView<'_> {
        ObjectView {
            resource: &self.resource,
            kind: &self.kind,
            manifest: &self.manifest,
            cluster: self.provider.as_deref(),
        }
    }
}

/// Every Kubernetes object of `graph`, in topological order, resolved the way the planner
/// would resolve them against an empty state.
pub fn program_objects(graph: &Graph) -> Vec<ProgramObject> {
    program_objects_with(graph, &|_| None)
}

/// Like [`program_objects`], with the outputs other packages' resources have recorded
/// (`recorded(name)`, from a stack's state): values a cluster's objects take from them (an
/// IRSA role's ARN, a bucket's name) are known where they exist.
pub fn program_objects_with(
    graph: &Graph,
    recorded: &dyn Fn(&str) -> Option<Value>,
) -> Vec<ProgramObject> {
    let mut planned: Vec<Option<Value>> = vec![None; graph.len()];
    let mut objects = Vec::new();
    for &index in graph.topological_order() {
        let spec = &graph.node_at(index).spec;
        if spec.package() != crate::kinds::PACKAGE {
            planned[index] = recorded(&spec.name);
            continue;
        }
        let resolved = spec
            .inputs
            .resolve(&|id| planned[id.index()].as_ref())
            .unwrap_or(Value::Unknown);
        if spec.kind == NodeKind::Provider {
            planned[index] = Some(resolved);
            continue;
        }
        if spec.kind != NodeKind::Resource || !is_object_node(&spec.type_name, &spec.kind) {
            continue;
        }
        let Some(kind) = Kind::from_type_token(&spec.type_name) else {
            continue;
        };
        let mut outputs = resolved.clone();
        for computed in ["id", "uid", "loadBalancer"] {
            let _ = outputs.set(&FieldPath::key(computed), Value::Unknown);
        }
        planned[index] = Some(outputs);
        objects.push(ProgramObject {
            resource: spec.name.clone(),
            manifest: manifest_of(&resolved),
            inputs: resolved,
            kind,
            provider: spec.provider.map(|p| graph.node(p).spec.name.clone()),
        });
    }
    objects
}

/// A declared container port.
#[derive(Clone, Debug)]
struct Port {
    number: Option<i64>,
    name: Option<String>,
}

pub(super) struct Workload<'a> {
    pub(super) view: ObjectView<'a>,
    pub(super) namespace: String,
    labels: BTreeMap<String, String>,
}

impl Workload<'_> {
    fn ports(&self) -> Vec<(String, Port)> {
        self.view
            .containers()
            .into_iter()
            .filter(|c| !c.init)
            .flat_map(|c| {
                let name = c.name.clone();
                c.value
                    .get("ports")
                    .and_then(Value::as_array)
                    .unwrap_or_default()
                    .iter()
                    .map(move |p| {
                        (
                            name.clone(),
                            Port {
                                number: p.get("containerPort").and_then(Value::as_i64),
                                name: p.get("name").and_then(Value::as_str).map(str::to_owned),
                            },
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn describe_ports(&self) -> String {
        let ports: Vec<String> = self
            .ports()
            .iter()
            .map(|(container, p)| match (&p.name, p.number) {
                (Some(name), Some(n)) => format!("{n} (`{name}`, container `{container}`)"),
                (None, Some(n)) => format!("{n} (container `{container}`)"),
                (Some(name), None) => format!("`{name}` (container `{container}`)"),
                (None, None) => "?".into(),
            })
            .collect();
        if ports.is_empty() {
            "none".into()
        } else {
            ports.join(", ")
        }
    }

    pub(super) fn selected_by(
        &self,
        by: &ObjectView<'_>,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> bool {
        self.view.cluster == by.cluster
            && self.namespace == namespace
            && selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The objects of the program, indexed for the checks: lookups by name and selections by
/// label go through hash maps, so the whole-program check stays linear in the program's size
/// (a scan per reference made 1,000 apps take seconds).
pub(super) struct Program<'a> {
    pub(super) objects: Vec<ObjectView<'a>>,
    pub(super) workloads: Vec<Workload<'a>>,
    /// (cluster, kind, name) → indexes into `objects`.
    by_name: HashMap<(Option<&'a str>, &'a str, &'a str), Vec<usize>>,
    /// (cluster, namespace, label key, label value) → indexes into `workloads`.
    by_label: HashMap<(Option<&'a str>, String, String, String), Vec<usize>>,
    /// (cluster, kind, namespace, name) → index into `workloads`.
    workload_by_name: HashMap<(Option<&'a str>, &'a str, String, &'a str), usize>,
}

impl<'a> Program<'a> {
    fn new(objects: &'a [ProgramObject]) -> Program<'a> {
        let objects: Vec<ObjectView<'a>> = objects.iter().map(ProgramObject::view).collect();
        let workloads: Vec<Workload<'a>> = objects
            .iter()
            .filter(|o| o.kind.has_pods() && o.kind.kind != "Job" && o.kind.kind != "CronJob")
            .filter_map(|o| {
                Some(Workload {
                    view: *o,
                    namespace: o.namespace()?.to_owned(),
                    labels: o.pod_labels()?,
                })
            })
            .collect();
        let mut by_name: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            if let Some(name) = object.name() {
                by_name
                    .entry((object.cluster, object.kind.kind.as_str(), name))
                    .or_default()
                    .push(i);
            }
        }
        let mut by_label: HashMap<_, Vec<usize>> = HashMap::new();
        let mut workload_by_name = HashMap::new();
        for (i, workload) in workloads.iter().enumerate() {
            if let Some(name) = workload.view.name() {
                workload_by_name
                    .entry((
                        workload.view.cluster,
                        workload.view.kind.kind.as_str(),
                        workload.namespace.clone(),
                        name,
                    ))
                    .or_insert(i);
            }
            for (key, value) in &workload.labels {
                by_label
                    .entry((
                        workload.view.cluster,
                        workload.namespace.clone(),
                        key.clone(),
                        value.clone(),
                    ))
                    .or_default()
                    .push(i);
            }
        }
        Program {
            objects,
            workloads,
            by_name,
            by_label,
            workload_by_name,
        }
    }

    pub(super) fn find(
        &self,
        from: &ObjectView<'_>,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&ObjectView<'a>> {
        self.by_name
            .get(&(from.cluster, kind, name))?
            .iter()
            .map(|&i| &self.objects[i])
            .find(|o| namespace.is_none() || o.namespace() == namespace)
    }

    /// The workloads of `by`'s cluster in `namespace` whose pods carry every label of
    /// `selector`.
    pub(super) fn selected(
        &self,
        by: &ObjectView<'_>,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Vec<&Workload<'a>> {
        let Some((key, value)) = selector.iter().next() else {
            return self
                .workloads
                .iter()
                .filter(|w| w.selected_by(by, namespace, selector))
                .collect();
        };
        self.by_label
            .get(&(by.cluster, namespace.to_owned(), key.clone(), value.clone()))
            .map(|found| {
                found
                    .iter()
                    .map(|&i| &self.workloads[i])
                    .filter(|w| w.selected_by(by, namespace, selector))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn services(&self) -> impl Iterator<Item = &ObjectView<'a>> {
        self.objects
            .iter()
            .filter(|o| o.kind.group.is_empty() && o.kind.kind == "Service")
    }
}

/// Runs every cross-object check.
pub(super) fn check(objects: &[ProgramObject]) -> Diagnostics {
    let program = Program::new(objects);
    let mut diagnostics = Diagnostics::new();
    duplicates(&program, &mut diagnostics);
    super::namespaces::check(&program, &mut diagnostics);
    super::external_dns::check(&program, &mut diagnostics);
    for service in program.services() {
        check_service(&program, service, &mut diagnostics);
    }
    for object in &program.objects {
        match (object.kind.group.as_str(), object.kind.kind.as_str()) {
            ("autoscaling", "HorizontalPodAutoscaler") => {
                check_hpa(&program, object, &mut diagnostics)
            }
            ("policy", "PodDisruptionBudget") => {
                check_pdb(&program, object, &mut diagnostics);
                super::budgets::check(&program, object, &mut diagnostics);
            }
            ("rbac.authorization.k8s.io", "RoleBinding") => {
                check_binding(&program, object, &mut diagnostics)
            }
            ("", "ConfigMap") => {
                super::references::check_config_urls(&program, object, &mut diagnostics)
            }
            _ => {}
        }
        if object.kind.has_pods() {
            super::references::check_pod_references(&program, object, &mut diagnostics);
        }
    }
    diagnostics
}

fn duplicates(program: &Program<'_>, diagnostics: &mut Diagnostics) {
    let mut seen: BTreeMap<(String, String, Option<&str>, &str), &str> = BTreeMap::new();
    for object in &program.objects {
        let Some(name) = object.name() else { continue };
        let key = (
            object.cluster.unwrap_or_default().to_owned(),
            format!("{}/{}", object.kind.api_version(), object.kind.kind),
            object.namespace(),
            name,
        );
        if let Some(first) = seen.insert(key, object.resource) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{} is declared twice (also as `{first}`): both would apply to the same object and overwrite each other",
                    object.describe()
                ))
                .resource(object.resource)
                .field("metadata.name")
                .value(name)
                .fix("declare each Kubernetes object once, or give one of them another name"),
            );
        }
    }
}

fn check_service(program: &Program<'_>, service: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let spec = at(service.manifest, &["spec"]);
    if spec.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("ExternalName") {
        return;
    }
    let Some(namespace) = service.namespace() else {
        return;
    };
    let selector_value = spec.and_then(|s| s.get("selector"));
    if selector_value.is_some_and(Value::contains_unknown) {
        return;
    }
    let selector = string_map(selector_value);
    if selector.is_empty() {
        diagnostics.push(
            Diagnostic::warning(format!(
                "{} has no selector, so it routes to no pods unless you manage its Endpoints yourself",
                service.describe()
            ))
            .resource(service.resource)
            .field("spec.selector")
            .fix("create it with `deployment.expose(..)`, which selects the deployment's pods"),
        );
        return;
    }
    let selected: Vec<&Workload<'_>> = program.selected(service, namespace, &selector);
    if selected.is_empty() {
        let candidates: Vec<String> = program
            .workloads
            .iter()
            .map(|w| {
                format!(
                    "`{}` in `{}` has pod labels `{}`",
                    w.view.resource,
                    w.namespace,
                    labels_text(&w.labels)
                )
            })
            .collect();
        diagnostics.push(
            Diagnostic::error(format!(
                "{} selects pods labelled `{}`, but no workload of the program in namespace `{namespace}` has pods with these labels, so the Service has no endpoints and every connection to it fails",
                service.describe(),
                labels_text(&selector)
            ))
            .resource(service.resource)
            .field("spec.selector")
            .value(labels_text(&selector))
            .fix(if candidates.is_empty() {
                "declare the workload the Service is for, and create the Service with `deployment.expose(..)` so its selector is the workload's pod labels".to_owned()
            } else {
                format!(
                    "create the Service with `deployment.expose(..)`, or change the selector to a workload's pod labels: {}",
                    candidates.join("; ")
                )
            }),
        );
        return;
    }
    for (i, port) in spec
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let target = port.get("targetPort").or_else(|| port.get("port"));
        for workload in &selected {
            let ports = workload.ports();
            let (found, shown) = match target {
                Some(Value::Number(n)) => (
                    ports.iter().any(|(_, p)| p.number == n.as_i64()),
                    n.to_string(),
                ),
                Some(Value::String(name)) => match name.parse::<i64>() {
                    Ok(n) => (ports.iter().any(|(_, p)| p.number == Some(n)), name.clone()),
                    Err(_) => (
                        ports
                            .iter()
                            .any(|(_, p)| p.name.as_deref() == Some(name.as_str())),
                        format!("`{name}`"),
                    ),
                },
                _ => continue,
            };
            if !found {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "{} sends port {} to target port {shown}, but `{}` declares no such container port (it declares {}), so connections are refused",
                        service.describe(),
                        port.get("port").map(|p| p.display().to_string()).unwrap_or_default(),
                        workload.view.resource,
                        workload.describe_ports()
                    ))
                    .resource(service.resource)
                    .field(format!("spec.ports[{i}].targetPort"))
                    .value(shown.trim_matches('`'))
                    .fix("target one of the workload's container ports (`ServicePort::http(80, PORT)` with a port given to `.port(PORT)`), or declare the port on the container"),
                );
            }
        }
    }
}

/// The resources an HPA computes utilization for, with the metric's field.
fn hpa_utilization_resources(hpa: &ObjectView<'_>) -> Vec<(String, String)> {
    let metrics = at(hpa.manifest, &["spec", "metrics"]).and_then(Value::as_array);
    let Some(metrics) = metrics else {
        // autoscaling/v2 defaults to 80% average CPU utilization.
        return vec![("cpu".into(), "spec.metrics".into())];
    };
    metrics
        .iter()
        .enumerate()
        .filter_map(|(i, metric)| {
            let kind = metric.get("type").and_then(Value::as_str)?;
            let section = match kind {
                "Resource" => "resource",
                "ContainerResource" => "containerResource",
                _ => return None,
            };
            let body = metric.get(section)?;
            let target_type = body
                .get("target")
                .and_then(|t| t.get("type"))
                .and_then(Value::as_str);
            if target_type.is_some_and(|t| t != "Utilization") {
                return None;
            }
            let name = body.get("name").and_then(Value::as_str)?;
            Some((name.to_owned(), format!("spec.metrics[{i}].{section}.name")))
        })
        .collect()
}

fn check_hpa(program: &Program<'_>, hpa: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let Some(target) = at(hpa.manifest, &["spec", "scaleTargetRef"]) else {
        return;
    };
    let (Some(kind), Some(name)) = (
        target.get("kind").and_then(Value::as_str),
        target.get("name").and_then(Value::as_str),
    ) else {
        return;
    };
    let Some(namespace) = hpa.namespace() else {
        return;
    };
    let Some(workload) = program
        .workload_by_name
        .get(&(hpa.cluster, kind, namespace.to_owned(), name))
        .map(|&i| &program.workloads[i])
    else {
        let known: Vec<String> = program
            .workloads
            .iter()
            .filter(|w| w.namespace == namespace)
            .filter_map(|w| Some(format!("{} {}", w.view.kind.kind, w.view.name()?)))
            .collect();
        diagnostics.push(
            Diagnostic::error(format!(
                "{} scales {kind} `{name}`, but the program declares no such workload in namespace `{namespace}`, so the autoscaler does nothing",
                hpa.describe()
            ))
            .resource(hpa.resource)
            .field("spec.scaleTargetRef")
            .value(format!("{kind}/{name}"))
            .fix(format!(
                "target a workload of the program with `.target(&deployment)`{}",
                if known.is_empty() { String::new() } else { format!(" (in `{namespace}`: {})", known.join(", ")) }
            )),
        );
        return;
    };
    for (resource, field) in hpa_utilization_resources(hpa) {
        for container in workload.view.containers().iter().filter(|c| !c.init) {
            let request = at(container.value, &["resources", "requests", &resource]);
            if request.is_none() {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "{} scales `{}` on {resource} utilization, which is a percentage of the containers' {resource} requests, but container `{}` has no {resource} request: the HPA reports `missing request for {resource}` and never scales",
                        hpa.describe(),
                        workload.view.resource,
                        container.name
                    ))
                    .resource(hpa.resource)
                    .field(field.clone())
                    .value(&resource)
                    .fix(format!(
                        "give container `{}` of `{}` a {resource} request (`.resources(Resources::new().cpu(..).memory(..))`), or scale on another metric",
                        container.name, workload.view.resource
                    )),
                );
            }
        }
    }
}

fn check_pdb(program: &Program<'_>, pdb: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let selector_value = at(pdb.manifest, &["spec", "selector", "matchLabels"]);
    if selector_value.is_none_or(Value::contains_unknown) {
        return;
    }
    let selector = string_map(selector_value);
    let Some(namespace) = pdb.namespace() else {
        return;
    };
    if program.selected(pdb, namespace, &selector).is_empty() {
        diagnostics.push(
            Diagnostic::error(format!(
                "{} protects pods labelled `{}`, but no workload of the program in `{namespace}` has them, so it protects nothing",
                pdb.describe(),
                labels_text(&selector)
            ))
            .resource(pdb.resource)
            .field("spec.selector.matchLabels")
            .value(labels_text(&selector))
            .fix("create it with `PodDisruptionBudget::new(..).selects(&deployment)`"),
        );
    }
}

/// The Roles every cluster creates when it bootstraps (namespace, name): bindings to them are
/// not bindings to a missing Role.
pub const CLUSTER_PROVIDED_ROLES: &[(&str, &str)] = &[
    ("kube-system", "extension-apiserver-authentication-reader"),
    (
        "kube-system",
        "system::leader-locking-kube-controller-manager",
    ),
    ("kube-system", "system::leader-locking-kube-scheduler"),
    ("kube-system", "system:controller:bootstrap-signer"),
    ("kube-system", "system:controller:cloud-provider"),
    ("kube-system", "system:controller:token-cleaner"),
    ("kube-public", "system:controller:bootstrap-signer"),
];

fn check_binding(program: &Program<'_>, binding: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let role_ref = at(binding.manifest, &["roleRef"]);
    let kind = role_ref.and_then(|r| r.get("kind")).and_then(Value::as_str);
    let name = role_ref.and_then(|r| r.get("name")).and_then(Value::as_str);
    if let (Some("Role"), Some(name)) = (kind, name)
        && !CLUSTER_PROVIDED_ROLES.contains(&(binding.namespace().unwrap_or_default(), name))
        && program
            .find(binding, "Role", binding.namespace(), name)
            .is_none()
    {
        diagnostics.push(
                Diagnostic::error(format!(
                    "{} binds Role `{name}`, which the program does not declare in its namespace, so the binding grants nothing",
                    binding.describe()
                ))
                .resource(binding.resource)
                .field("roleRef.name")
                .value(name)
                .fix("declare the Role in the same namespace and bind it with `.role(&role)`"),
            );
    }
}

/// One planned object of the program, from a plan step (for the plan-time wiring check).
pub fn program_object(
    resource: &str,
    type_name: &str,
    provider: Option<&str>,
    inputs: &Value,
) -> Option<ProgramObject> {
    if !super::is_object_node(type_name, &NodeKind::Resource) {
        return None;
    }
    let kind = Kind::from_type_token(type_name)?;
    Some(ProgramObject {
        resource: resource.to_owned(),
        manifest: super::manifest_of(inputs),
        inputs: inputs.clone(),
        kind,
        provider: provider.map(str::to_owned),
    })
}
