//! Checks of one object on its own.

use girder_core::{Diagnostic, Diagnostics, Value};

use super::names::{
    config_key, dns_hostname, dns_label, dns_subdomain, env_name, idna_prefix, label_value,
    port_name, qualified_key,
};
use super::urls::{CONSEQUENCE, fix as url_fix, is_url_setting, parse_absolute};
use super::{ObjectView, at, manifest_of, security, string_map};
use crate::kinds::{Kind, PROVIDER_TYPE};

/// The IRSA annotation on ServiceAccounts.
pub const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

pub(super) fn check(type_name: &str, resource: &str, inputs: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if type_name == PROVIDER_TYPE {
        return diagnostics;
    }
    let Some(kind) = Kind::from_type_token(type_name) else {
        diagnostics.push(
            Diagnostic::error(format!("`{type_name}` is not a Kubernetes type token"))
                .resource(resource)
                .field("type")
                .value(type_name)
                .fix("use `k8s:GROUP/VERSION:Kind` with `core` for the core group, such as `k8s:apps/v1:Deployment` or `k8s:core/v1:ConfigMap`"),
        );
        return diagnostics;
    };
    let manifest = manifest_of(inputs);
    let object = ObjectView {
        resource,
        kind: &kind,
        manifest: &manifest,
        cluster: None,
    };
    let error =
        |message: String, field: &str| Diagnostic::error(message).resource(resource).field(field);

    for (field, expected) in [
        ("apiVersion", kind.api_version()),
        ("kind", kind.kind.clone()),
    ] {
        if let Some(actual) = manifest.get(field).and_then(Value::as_str)
            && actual != expected
        {
            diagnostics.push(
                    error(
                        format!("the manifest's `{field}` does not match the type `{type_name}`"),
                        field,
                    )
                    .value(actual)
                    .fix(format!("set `{field}: {expected}`, or declare the object with the type of its `apiVersion` and `kind`")),
                );
        }
    }

    check_metadata(&object, &mut diagnostics);
    if object.kind.has_pods() {
        check_pods(&object, &mut diagnostics);
        security::check(&object, &mut diagnostics);
        super::images::check(&object, &mut diagnostics);
        super::probes::check(&object, &mut diagnostics);
        super::resources::check(&object, &mut diagnostics);
    }
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Service") => check_service(&object, &mut diagnostics),
        ("", "ConfigMap") | ("", "Secret") => check_data(&object, &mut diagnostics),
        ("", "ServiceAccount") => check_service_account(&object, &mut diagnostics),
        ("autoscaling", "HorizontalPodAutoscaler") => check_hpa(&object, &mut diagnostics),
        _ => {}
    }
    diagnostics
}

fn check_metadata(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let resource = object.resource;
    match at(object.manifest, &["metadata", "name"]) {
        None | Some(Value::Null) => diagnostics.push(
            Diagnostic::error(format!("the {} has no name", object.kind.kind))
                .resource(resource)
                .field("metadata.name")
                .fix("set `metadata.name`"),
        ),
        Some(value) => {
            if let Some(name) = value.as_str() {
                // RBAC object names are path segments and may contain `:` (`system:…`).
                let problem = match object.kind.kind.as_str() {
                    "Namespace" | "Service" => dns_label(name),
                    "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
                        (name.is_empty() || name.contains('/') || name.len() > 253)
                            .then(|| "must be 1 to 253 characters without `/`".to_owned())
                    }
                    _ => dns_subdomain(name),
                };
                if let Some(problem) = problem {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "`{name}` is not a valid {} name: it {problem}",
                            object.kind.kind
                        ))
                        .resource(resource)
                        .field("metadata.name")
                        .value(name)
                        .fix("use lowercase letters, digits and `-`, such as `backend-service`"),
                    );
                } else if matches!(object.kind.kind.as_str(), "Namespace" | "Service")
                    && let Some(problem) = idna_prefix(name)
                {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "the {} name `{name}` {problem}",
                            object.kind.kind
                        ))
                        .resource(resource)
                        .field("metadata.name")
                        .value(name)
                        .fix("choose a name that does not start with `xn--`"),
                    );
                }
            }
        }
    }
    if let Some(namespace) = at(object.manifest, &["metadata", "namespace"])
        && let Some(text) = namespace.as_str()
    {
        if object.kind.builtin().is_some_and(|b| !b.namespaced) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "a {} is cluster-scoped and has no namespace",
                    object.kind.kind
                ))
                .resource(resource)
                .field("metadata.namespace")
                .value(text)
                .fix("remove `metadata.namespace`"),
            );
        } else if object.kind.kind == "Service"
            && let Some(problem) = idna_prefix(text)
        {
            diagnostics.push(
                Diagnostic::error(format!("the Service's namespace `{text}` {problem}"))
                    .resource(resource)
                    .field("metadata.namespace")
                    .value(text)
                    .fix("put the Service in a namespace whose name does not start with `xn--`"),
            );
        } else if let Some(problem) = dns_label(text) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "`{text}` is not a valid namespace name: it {problem}"
                ))
                .resource(resource)
                .field("metadata.namespace")
                .value(text)
                .fix("use lowercase letters, digits and `-`"),
            );
        }
    }
    for (section, check_values) in [("labels", true), ("annotations", false)] {
        for (key, value) in string_map(at(object.manifest, &["metadata", section])) {
            let field = format!("metadata.{section}[{key:?}]");
            if let Some(problem) = qualified_key(&key) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "`{key}` is not a valid {} key: {problem}",
                        &section[..section.len() - 1]
                    ))
                    .resource(resource)
                    .field(field.clone())
                    .value(&key)
                    .fix("use `prefix/name` or `name`, such as `app.kubernetes.io/name`"),
                );
            }
            if check_values && let Some(problem) = label_value(&value) {
                diagnostics.push(
                    Diagnostic::error(format!("`{value}` is not a valid label value: {problem}"))
                        .resource(resource)
                        .field(field)
                        .value(&value)
                        .fix("shorten it or move it to an annotation"),
                );
            }
        }
    }
}

fn check_pods(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let resource = object.resource;
    if object.kind.kind != "Pod" && object.kind.kind != "CronJob" && object.kind.kind != "Job" {
        let selector = string_map(at(object.manifest, &["spec", "selector", "matchLabels"]));
        let labels = object.pod_labels().unwrap_or_default();
        for (key, value) in &selector {
            if labels.get(key) != Some(value) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "the selector `{key}={value}` does not match the pod template's labels, so the {} would own no pods (the API server refuses it)",
                        object.kind.kind
                    ))
                    .resource(resource)
                    .field("spec.selector.matchLabels")
                    .value(format!("{key}={value}"))
                    .fix("make every selector label a label of `spec.template.metadata.labels`"),
                );
            }
        }
    }
    let containers = object.containers();
    if containers.iter().all(|c| c.init) {
        diagnostics.push(
            Diagnostic::error(format!("{} has no containers", object.describe()))
                .resource(resource)
                .field(
                    object
                        .pod_spec_path()
                        .map(|p| p.join("."))
                        .unwrap_or_default(),
                )
                .fix("add a container with an image"),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for container in &containers {
        if let Some(problem) = dns_label(&container.name) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "`{}` is not a valid container name: it {problem}",
                    container.name
                ))
                .resource(resource)
                .field(format!("{}.name", container.path))
                .value(&container.name)
                .fix("use lowercase letters, digits and `-`"),
            );
        }
        if !names.insert(container.name.clone()) {
            diagnostics.push(
                Diagnostic::error(format!("two containers are called `{}`", container.name))
                    .resource(resource)
                    .field(format!("{}.name", container.path))
                    .fix("give every container of a pod a distinct name"),
            );
        }
        if container
            .value
            .get("image")
            .is_none_or(|i| i.as_str() == Some(""))
        {
            diagnostics.push(
                Diagnostic::error(format!("container `{}` has no image", container.name))
                    .resource(resource)
                    .field(format!("{}.image", container.path))
                    .fix("set the image, such as `ghcr.io/acme/backend:1.4`"),
            );
        }
        let mut ports = std::collections::BTreeSet::new();
        for (i, port) in container
            .value
            .get("ports")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let field = format!("{}.ports[{i}]", container.path);
            if let Some(number) = port.get("containerPort").and_then(Value::as_i64) {
                if !(1..=65535).contains(&number) {
                    diagnostics.push(
                        Diagnostic::error(format!("container port {number} is out of range"))
                            .resource(resource)
                            .field(format!("{field}.containerPort"))
                            .value(number)
                            .fix("use a port from 1 to 65535"),
                    );
                } else if !ports.insert(number) {
                    diagnostics.push(
                        Diagnostic::error(format!("container port {number} is declared twice"))
                            .resource(resource)
                            .field(format!("{field}.containerPort"))
                            .value(number)
                            .fix("declare each port once"),
                    );
                }
            }
            if let Some(name) = port.get("name").and_then(Value::as_str)
                && let Some(problem) = port_name(name)
            {
                diagnostics.push(
                    Diagnostic::error(format!("`{name}` is not a valid port name: {problem}"))
                        .resource(resource)
                        .field(format!("{field}.name"))
                        .value(name)
                        .fix("use a short name such as `http` or `metrics`"),
                );
            }
        }
        for (i, env) in container
            .value
            .get("env")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Some(name) = env.get("name").and_then(Value::as_str) else {
                continue;
            };
            let field = format!("{}.env[{i}]", container.path);
            if let Some(problem) = env_name(name) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "`{name}` is not a valid environment variable name: {problem}"
                    ))
                    .resource(resource)
                    .field(format!("{field}.name"))
                    .value(name)
                    .fix("use a name like `BACKEND_URL`"),
                );
            }
            if let Some(value) = env.get("value").and_then(Value::as_str) {
                url_setting(
                    resource,
                    &format!("{field}.value"),
                    name,
                    value,
                    diagnostics,
                );
            }
        }
    }
}

/// Reports a URL-named setting whose literal value is not an absolute URL.
fn url_setting(resource: &str, field: &str, key: &str, value: &str, diagnostics: &mut Diagnostics) {
    if !is_url_setting(key) {
        return;
    }
    if let Err(problem) = parse_absolute(value) {
        diagnostics.push(
            Diagnostic::error(format!(
                "`{key}` holds a URL, but `{value}` is not an absolute URL ({problem}): {CONSEQUENCE}"
            ))
            .resource(resource)
            .field(field)
            .value(value)
            .fix(url_fix(key)),
        );
    }
}

fn check_service(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let resource = object.resource;
    let spec = at(object.manifest, &["spec"]);
    let service_type = spec
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(&service_type) {
        diagnostics.push(
            Diagnostic::error(format!("`{service_type}` is not a Service type"))
                .resource(resource)
                .field("spec.type")
                .value(service_type)
                .fix("use ClusterIP, NodePort, LoadBalancer or ExternalName"),
        );
    }
    check_hostname(object, service_type, diagnostics);
    if service_type == "ExternalName" {
        return;
    }
    let ports = spec
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .unwrap_or_default();
    if ports.is_empty()
        && !spec
            .and_then(|s| s.get("ports"))
            .is_some_and(Value::is_unknown)
    {
        diagnostics.push(
            Diagnostic::error(format!("{} has no ports", object.describe()))
                .resource(resource)
                .field("spec.ports")
                .fix("add a port, such as `ServicePort::http(80, 8080)`"),
        );
    }
    service_port_identities(object, ports, diagnostics);
    for (i, port) in ports.iter().enumerate() {
        let field = format!("spec.ports[{i}]");
        if let Some(number) = port.get("port").and_then(Value::as_i64)
            && !(1..=65535).contains(&number)
        {
            diagnostics.push(
                Diagnostic::error(format!("Service port {number} is out of range"))
                    .resource(resource)
                    .field(format!("{field}.port"))
                    .value(number)
                    .fix("use a port from 1 to 65535"),
            );
        }
        match port.get("targetPort") {
            Some(Value::Number(n)) if !n.as_i64().is_some_and(|p| (1..=65535).contains(&p)) => {
                diagnostics.push(
                    Diagnostic::error(format!("target port {n} is out of range"))
                        .resource(resource)
                        .field(format!("{field}.targetPort"))
                        .value(n)
                        .fix("use a container port from 1 to 65535"),
                )
            }
            Some(Value::String(name))
                if port_name(name).is_some() && name.parse::<u16>().is_err() =>
            {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "target port `{name}` is neither a number nor a valid port name"
                    ))
                    .resource(resource)
                    .field(format!("{field}.targetPort"))
                    .value(name)
                    .fix("use a container port number or the name of a container port"),
                )
            }
            _ => {}
        }
        if let Some(node_port) = port.get("nodePort").and_then(Value::as_i64)
            && !(30000..=32767).contains(&node_port)
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "node port {node_port} is outside the default node port range"
                ))
                .resource(resource)
                .field(format!("{field}.nodePort"))
                .value(node_port)
                .fix("use a port from 30000 to 32767, or leave it out to get one assigned"),
            );
        }
    }
}

/// The API server refuses a Service with two ports on the same number and protocol, and,
/// when it has more than one port, any port without a name or two ports with one name.
fn service_port_identities(
    object: &ObjectView<'_>,
    ports: &[Value],
    diagnostics: &mut Diagnostics,
) {
    let mut numbers = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let field = format!("spec.ports[{i}]");
        let protocol = port
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP");
        if let Some(number) = port.get("port").and_then(Value::as_i64)
            && !numbers.insert((number, protocol.to_owned()))
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "{} has two {protocol} ports numbered {number}; the API server refuses it (`Duplicate value`)",
                    object.describe()
                ))
                .resource(object.resource)
                .field(format!("{field}.port"))
                .value(number)
                .fix("give each Service port its own number"),
            );
        }
        if ports.len() < 2 {
            continue;
        }
        match port.get("name") {
            Some(Value::String(name)) if !names.insert(name.clone()) => diagnostics.push(
                Diagnostic::error(format!(
                    "{} has two ports named `{name}`; the API server refuses it",
                    object.describe()
                ))
                .resource(object.resource)
                .field(format!("{field}.name"))
                .value(name)
                .fix("give each Service port its own name (`ServicePort::tcp(..).named(\"admin\")`)"),
            ),
            None => diagnostics.push(
                Diagnostic::error(format!(
                    "{} has {} ports and port {} has no name; the API server requires a name on every port of a multi-port Service",
                    object.describe(),
                    ports.len(),
                    port.get("port").map(|p| p.display().to_string()).unwrap_or_default()
                ))
                .resource(object.resource)
                .field(format!("{field}.name"))
                .fix("name every port (`ServicePort::tcp(9000, 9000).named(\"admin\")`)"),
            ),
            _ => {}
        }
    }
}

/// A Service with an external-dns hostname: the names must be DNS names, and the Service
/// must have an address outside the cluster for external-dns to publish.
fn check_hostname(object: &ObjectView<'_>, service_type: &str, diagnostics: &mut Diagnostics) {
    let key = crate::dsl::EXTERNAL_DNS_HOSTNAME;
    let Some(value) = at(object.manifest, &["metadata", "annotations", key]) else {
        return;
    };
    let field = format!("metadata.annotations[{key:?}]");
    let shown = value.as_str().map(str::to_owned);
    for name in shown.iter().flat_map(|names| names.split(',')) {
        let name = name.trim();
        if let Some(problem) = dns_hostname(name) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "`{name}` is not a DNS name external-dns can publish: it {problem}"
                ))
                .resource(object.resource)
                .field(field.clone())
                .value(name)
                .fix("give the full name in a zone external-dns manages, such as `.hostname(\"app.example.com\")`"),
            );
        }
    }
    let type_unknown = at(object.manifest, &["spec", "type"]).is_some_and(Value::is_unknown);
    if service_type == "ClusterIP" && !type_unknown {
        diagnostics.push(Diagnostic::error(format!(
            "{} asks external-dns for the hostname {}, but it is a ClusterIP Service: it has no address outside the cluster, so external-dns publishes no record and the name never resolves",
            object.describe(),
            shown.as_deref().map(|s| format!("`{s}`")).unwrap_or_else(|| "(known after apply)".into())
        ))
        .resource(object.resource)
        .field("spec.type")
        .value(service_type)
        .fix("make the Service reachable from outside with `.load_balancer()` (or `.node_port()`), or remove `.hostname(..)`"));
    }
}

/// What the API server stores at most in one ConfigMap's or Secret's data.
const MAX_DATA_BYTES: usize = 1024 * 1024;

fn check_data(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    // The API server counts keys and values of a ConfigMap, values of a Secret; a Secret's
    // `data` is base64, which girder's Secret builder writes as plain `stringData`.
    let counts_keys = object.kind.kind == "ConfigMap";
    let mut total = 0usize;
    for section in ["data", "binaryData", "stringData"] {
        let Some(map) = at(object.manifest, &[section]).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in map {
            let text = match value {
                Value::Secret(inner) => inner.as_str(),
                other => other.as_str(),
            };
            total += text.map_or(0, str::len) + if counts_keys { key.len() } else { 0 };
        }
    }
    if total > MAX_DATA_BYTES {
        diagnostics.push(
            Diagnostic::error(format!(
                "{} holds {total} bytes, more than the 1 MiB ({MAX_DATA_BYTES} bytes) the API server stores in one object (`Too long`)",
                object.describe()
            ))
            .resource(object.resource)
            .field("data")
            .value(format!("{total} bytes"))
            .fix("split the data over several objects, or keep large files in S3 or a volume and put only their location here"),
        );
    }
    for section in ["data", "binaryData", "stringData"] {
        let Some(map) = at(object.manifest, &[section]).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in map {
            let field = format!("{section}[{key:?}]");
            if let Some(problem) = config_key(key) {
                diagnostics.push(
                    Diagnostic::error(format!("`{key}` is not a valid key: {problem}"))
                        .resource(object.resource)
                        .field(field.clone())
                        .value(key)
                        .fix("use letters, digits, `-`, `_` and `.`"),
                );
            }
            if section != "binaryData"
                && !matches!(value, Value::Secret(_))
                && let Some(text) = value.as_str()
            {
                url_setting(object.resource, &field, key, text, diagnostics);
            }
        }
    }
}

/// True if `arn` looks like an IAM role ARN.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.starts_with("role/")
            && resource.len() > 5)
}

fn check_service_account(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    if let Some(arn) = object.annotations().get(IRSA_ANNOTATION)
        && !is_role_arn(arn)
    {
        diagnostics.push(
                Diagnostic::error(format!("`{arn}` is not an IAM role ARN, so pods using this ServiceAccount get no AWS credentials"))
                    .resource(object.resource)
                    .field(format!("metadata.annotations[{IRSA_ANNOTATION:?}]"))
                    .value(arn)
                    .fix("pass the role's ARN output, such as `role.arn()`, which looks like `arn:aws:iam::123456789012:role/NAME`"),
            );
    }
}

fn check_hpa(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    let spec = at(object.manifest, &["spec"]);
    let min = spec
        .and_then(|s| s.get("minReplicas"))
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let max = spec
        .and_then(|s| s.get("maxReplicas"))
        .and_then(Value::as_i64);
    match max {
        None if !spec
            .and_then(|s| s.get("maxReplicas"))
            .is_some_and(Value::is_unknown) =>
        {
            diagnostics.push(
                Diagnostic::error("the HorizontalPodAutoscaler has no maxReplicas")
                    .resource(object.resource)
                    .field("spec.maxReplicas")
                    .fix("set the replica range, such as `.replicas(2, 10)`"),
            )
        }
        Some(max) if max < min.max(1) => diagnostics.push(
            Diagnostic::error(format!("maxReplicas {max} is below minReplicas {min}"))
                .resource(object.resource)
                .field("spec.maxReplicas")
                .value(max)
                .fix("make the maximum at least the minimum (and at least 1)"),
        ),
        _ => {}
    }
    if spec.and_then(|s| s.get("scaleTargetRef")).is_none() {
        diagnostics.push(
            Diagnostic::error("the HorizontalPodAutoscaler has no scaleTargetRef")
                .resource(object.resource)
                .field("spec.scaleTargetRef")
                .fix("target a workload, such as `.target(&deployment)`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/external-dns"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/x"));
        assert!(!is_role_arn("external-dns"));
        assert!(!is_role_arn("arn:aws:iam::1234:role/x"));
    }
}
