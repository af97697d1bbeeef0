//! The wiring check: the Kubernetes objects of a program, together.

use std::collections::{BTreeMap, BTreeSet};

use girder_core::{Diagnostic, Diagnostics, FieldPath, Graph, NodeKind, Value};

use super::urls::{CONSEQUENCE, fix as url_fix, is_url_setting, parse_absolute, service_of_host};
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
    let mut planned: Vec<Option<Value>> = vec![None; graph.len()];
    let mut objects = Vec::new();
    for &index in graph.topological_order() {
        let spec = &graph.node_at(index).spec;
        if spec.package() != crate::kinds::PACKAGE {
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

struct Workload<'a> {
    view: ObjectView<'a>,
    namespace: String,
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

    fn selected_by(
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

/// The objects of the program, indexed for the checks.
struct Program<'a> {
    objects: Vec<ObjectView<'a>>,
    workloads: Vec<Workload<'a>>,
}

impl<'a> Program<'a> {
    fn new(objects: &'a [ProgramObject]) -> Program<'a> {
        let objects: Vec<ObjectView<'a>> = objects.iter().map(ProgramObject::view).collect();
        let workloads = objects
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
        Program { objects, workloads }
    }

    fn find(
        &self,
        from: &ObjectView<'_>,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&ObjectView<'a>> {
        self.objects.iter().find(|o| {
            o.cluster == from.cluster
                && o.kind.kind == kind
                && o.name() == Some(name)
                && (namespace.is_none() || o.namespace() == namespace)
        })
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
    for service in program.services() {
        check_service(&program, service, &mut diagnostics);
    }
    for object in &program.objects {
        match (object.kind.group.as_str(), object.kind.kind.as_str()) {
            ("autoscaling", "HorizontalPodAutoscaler") => {
                check_hpa(&program, object, &mut diagnostics)
            }
            ("policy", "PodDisruptionBudget") => check_pdb(&program, object, &mut diagnostics),
            ("rbac.authorization.k8s.io", "RoleBinding") => {
                check_binding(&program, object, &mut diagnostics)
            }
            ("", "ConfigMap") => check_config_urls(&program, object, &mut diagnostics),
            _ => {}
        }
        if object.kind.has_pods() {
            check_pod_references(&program, object, &mut diagnostics);
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
    let selected: Vec<&Workload<'_>> = program
        .workloads
        .iter()
        .filter(|w| w.selected_by(service, namespace, &selector))
        .collect();
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
    let Some(workload) = program.workloads.iter().find(|w| {
        w.view.cluster == hpa.cluster
            && w.view.kind.kind == kind
            && w.view.name() == Some(name)
            && w.namespace == namespace
    }) else {
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
    if !program
        .workloads
        .iter()
        .any(|w| w.selected_by(pdb, namespace, &selector))
    {
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

fn check_binding(program: &Program<'_>, binding: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let role_ref = at(binding.manifest, &["roleRef"]);
    let kind = role_ref.and_then(|r| r.get("kind")).and_then(Value::as_str);
    let name = role_ref.and_then(|r| r.get("name")).and_then(Value::as_str);
    if let (Some("Role"), Some(name)) = (kind, name)
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

/// Reports a reference to a ConfigMap / Secret / ServiceAccount the program does not declare.
struct Reference<'a> {
    kind: &'static str,
    name: &'a str,
    key: Option<&'a str>,
    field: String,
    optional: bool,
    /// The env var consuming the value, for URL checks.
    env: Option<&'a str>,
}

fn references<'a>(container_path: &str, container: &'a Value) -> Vec<Reference<'a>> {
    let mut out = Vec::new();
    for (i, env) in container
        .get("env")
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        for (section, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
            if let Some(source) = env.get("valueFrom").and_then(|v| v.get(section))
                && let Some(name) = source.get("name").and_then(Value::as_str)
            {
                out.push(Reference {
                    kind,
                    name,
                    key: source.get("key").and_then(Value::as_str),
                    field: format!("{container_path}.env[{i}].valueFrom.{section}"),
                    optional: source.get("optional").and_then(Value::as_bool) == Some(true),
                    env: env.get("name").and_then(Value::as_str),
                });
            }
        }
    }
    for (i, from) in container
        .get("envFrom")
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        for (section, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
            if let Some(source) = from.get(section)
                && let Some(name) = source.get("name").and_then(Value::as_str)
            {
                out.push(Reference {
                    kind,
                    name,
                    key: None,
                    field: format!("{container_path}.envFrom[{i}].{section}"),
                    optional: source.get("optional").and_then(Value::as_bool) == Some(true),
                    env: None,
                });
            }
        }
    }
    out
}

fn volume_references<'a>(spec_path: &str, pod: &'a Value) -> Vec<Reference<'a>> {
    let mut out = Vec::new();
    for (i, volume) in pod
        .get("volumes")
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let base = format!("{spec_path}.volumes[{i}]");
        let mut push = |kind: &'static str, source: &'a Value, name_key: &str, field: String| {
            if let Some(name) = source.get(name_key).and_then(Value::as_str) {
                let optional = source.get("optional").and_then(Value::as_bool) == Some(true);
                out.push(Reference {
                    kind,
                    name,
                    key: None,
                    field: field.clone(),
                    optional,
                    env: None,
                });
                for (j, item) in source
                    .get("items")
                    .and_then(Value::as_array)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    if let Some(key) = item.get("key").and_then(Value::as_str) {
                        out.push(Reference {
                            kind,
                            name,
                            key: Some(key),
                            field: format!("{field}.items[{j}].key"),
                            optional,
                            env: None,
                        });
                    }
                }
            }
        };
        if let Some(source) = volume.get("configMap") {
            push("ConfigMap", source, "name", format!("{base}.configMap"));
        }
        if let Some(source) = volume.get("secret") {
            push("Secret", source, "secretName", format!("{base}.secret"));
        }
        for (j, projected) in volume
            .get("projected")
            .and_then(|p| p.get("sources"))
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(source) = projected.get("configMap") {
                push(
                    "ConfigMap",
                    source,
                    "name",
                    format!("{base}.projected.sources[{j}].configMap"),
                );
            }
            if let Some(source) = projected.get("secret") {
                push(
                    "Secret",
                    source,
                    "name",
                    format!("{base}.projected.sources[{j}].secret"),
                );
            }
        }
    }
    out
}

/// The keys of a ConfigMap or Secret, if all are known.
fn keys_of(object: &ObjectView<'_>) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for section in ["data", "binaryData", "stringData"] {
        match at(object.manifest, &[section]) {
            None => {}
            Some(Value::Object(map)) => keys.extend(map.keys().cloned()),
            Some(_) => return None,
        }
    }
    Some(keys)
}

fn check_pod_references(
    program: &Program<'_>,
    object: &ObjectView<'_>,
    diagnostics: &mut Diagnostics,
) {
    let (Some(pod), Some(spec_path), Some(namespace)) = (
        object.pod_spec(),
        object.pod_spec_path(),
        object.namespace(),
    ) else {
        return;
    };
    let spec_path = spec_path.join(".");
    let mut refs: Vec<Reference<'_>> = object
        .containers()
        .iter()
        .flat_map(|c| references(&c.path, c.value))
        .collect();
    refs.extend(volume_references(&spec_path, pod));
    for (i, secret) in pod
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(name) = secret.get("name").and_then(Value::as_str) {
            refs.push(Reference {
                kind: "Secret",
                name,
                key: None,
                field: format!("{spec_path}.imagePullSecrets[{i}]"),
                optional: false,
                env: None,
            });
        }
    }
    if let Some(account) = pod.get("serviceAccountName").and_then(Value::as_str)
        && account != "default"
    {
        refs.push(Reference {
            kind: "ServiceAccount",
            name: account,
            key: None,
            field: format!("{spec_path}.serviceAccountName"),
            optional: false,
            env: None,
        });
    }
    for reference in refs {
        let severity = |message: String| {
            if reference.optional {
                Diagnostic::warning(message)
            } else {
                Diagnostic::error(message)
            }
        };
        let Some(target) = program.find(object, reference.kind, Some(namespace), reference.name)
        else {
            let consequence = match reference.kind {
                "ServiceAccount" => "the pods are refused at creation (`serviceaccount not found`)",
                _ if reference.optional => "the optional reference is silently empty",
                _ => "the pods never start (`CreateContainerConfigError`)",
            };
            diagnostics.push(
                severity(format!(
                    "{} references {} `{}`, which the program does not declare in namespace `{namespace}`: {consequence}",
                    object.describe(),
                    reference.kind,
                    reference.name
                ))
                .resource(object.resource)
                .field(reference.field)
                .value(reference.name)
                .fix(format!(
                    "declare the {} in `{namespace}` and pass its handle (`.env_from_key(NAME, config.key(KEY))`, `.service_account(&account)`), which cannot name a missing object",
                    reference.kind
                )),
            );
            continue;
        };
        let Some(key) = reference.key else { continue };
        let Some(keys) = keys_of(target) else {
            continue;
        };
        if !keys.contains(key) {
            diagnostics.push(
                severity(format!(
                    "{} reads key `{key}` of {} `{}`, which has no such key (it has {}): {}",
                    object.describe(),
                    reference.kind,
                    reference.name,
                    if keys.is_empty() { "none".into() } else { keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ") },
                    if reference.optional { "the variable is silently unset" } else { "the pods never start (`CreateContainerConfigError`)" }
                ))
                .resource(object.resource)
                .field(reference.field)
                .value(key)
                .fix("use one of the keys above; `config.key(KEY)` checks the key when the program is built"),
            );
            continue;
        }
        // A URL-valued variable fed from a ConfigMap key that does not itself look like a URL
        // setting (the object check covers keys that do).
        if let (Some(env), "ConfigMap") = (reference.env, reference.kind)
            && is_url_setting(env)
            && !is_url_setting(key)
            && let Some(value) = at(target.manifest, &["data", key]).and_then(Value::as_str)
            && let Err(problem) = parse_absolute(value)
        {
            diagnostics.push(
                            Diagnostic::error(format!(
                                "`{env}` of {} holds a URL, but its value `{value}` (key `{key}` of ConfigMap `{}`) is not an absolute URL ({problem}): {CONSEQUENCE}",
                                object.describe(),
                                reference.name
                            ))
                            .resource(target.resource)
                            .field(format!("data[{key:?}]"))
                            .value(value)
                            .fix(url_fix(key)),
                        );
        }
    }
    for container in object.containers() {
        for (i, env) in container
            .value
            .get("env")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let (Some(name), Some(value)) = (
                env.get("name").and_then(Value::as_str),
                env.get("value").and_then(Value::as_str),
            ) {
                url_target(
                    program,
                    object,
                    namespace,
                    &format!("{}.env[{i}].value", container.path),
                    name,
                    value,
                    diagnostics,
                );
            }
        }
    }
}

fn check_config_urls(
    program: &Program<'_>,
    config: &ObjectView<'_>,
    diagnostics: &mut Diagnostics,
) {
    let Some(namespace) = config.namespace() else {
        return;
    };
    for (key, value) in string_map(at(config.manifest, &["data"])) {
        url_target(
            program,
            config,
            namespace,
            &format!("data[{key:?}]"),
            &key,
            &value,
            diagnostics,
        );
    }
}

/// An absolute URL in a URL setting whose host is a Service of the program must use one of
/// that Service's ports.
fn url_target(
    program: &Program<'_>,
    consumer: &ObjectView<'_>,
    namespace: &str,
    field: &str,
    key: &str,
    value: &str,
    diagnostics: &mut Diagnostics,
) {
    if !is_url_setting(key) {
        return;
    }
    let Ok(target) = parse_absolute(value) else {
        return;
    };
    let Some((name, service_namespace)) = service_of_host(&target.host, namespace) else {
        return;
    };
    let resource = consumer.resource;
    let Some(service) = program.find(consumer, "Service", Some(service_namespace), name) else {
        if !target.host.contains('.') {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "`{key}` points at host `{}`, which is no Service of the program in `{namespace}`",
                    target.host
                ))
                .resource(resource)
                .field(field)
                .value(value)
                .fix(url_fix(key)),
            );
        }
        return;
    };
    let ports: Vec<i64> = at(service.manifest, &["spec", "ports"])
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.get("port").and_then(Value::as_i64))
        .collect();
    if let Some(port) = target.port
        && !ports.is_empty()
        && !ports.contains(&i64::from(port))
    {
        diagnostics.push(
                Diagnostic::error(format!(
                    "`{key}` = `{value}` connects to port {port} of {}, which listens on {}: connections are refused or time out",
                    service.describe(),
                    ports.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                ))
                .resource(resource)
                .field(field)
                .value(value)
                .fix(url_fix(key)),
            );
    }
}
