//! Wiring checks of what pods reference — ConfigMaps, Secrets, their keys, ServiceAccounts —
//! and of URL-valued settings that point at Services of the program.

use std::collections::BTreeSet;

use girder_core::{Diagnostic, Diagnostics, Value};

use super::urls::{
    CLUSTER_SERVICES, CONSEQUENCE, HostForm, fix as url_fix, is_url_setting, parse_absolute,
    service_of_host,
};
use super::wiring::Program;
use super::{ObjectView, at, string_map};

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

pub(super) fn check_pod_references(
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

pub(super) fn check_config_urls(
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
    let Some(host) = service_of_host(&target.host, namespace) else {
        return;
    };
    let (name, service_namespace) = (host.name, host.namespace);
    let resource = consumer.resource;
    let Some(service) = program.find(consumer, "Service", Some(service_namespace), name) else {
        missing_service(program, consumer, host, field, key, value, diagnostics);
        return;
    };
    if host.form == HostForm::Pod {
        // A pod of a headless Service is reached on the pod's own port, not a Service port.
        return;
    }
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

/// A URL setting whose host names a Service the program does not declare. A host spelled the
/// way only cluster DNS answers (`NAME.NAMESPACE.svc[.cluster.local]`), or `NAME.NAMESPACE` in
/// a namespace the program uses, can only mean a Service: if the program does not declare it,
/// the name does not resolve and every request fails, so it is an error. A bare name may be
/// another host (`localhost`, a sidecar), so it is a warning.
fn missing_service(
    program: &Program<'_>,
    consumer: &ObjectView<'_>,
    host: super::urls::ServiceHost<'_>,
    field: &str,
    key: &str,
    value: &str,
    diagnostics: &mut Diagnostics,
) {
    if CLUSTER_SERVICES.contains(&(host.name, host.namespace)) || host.name == "localhost" {
        return;
    }
    let namespace_of_program = program.objects.iter().any(|o| {
        o.cluster == consumer.cluster
            && (o.namespace() == Some(host.namespace)
                || (o.kind.kind == "Namespace" && o.name() == Some(host.namespace)))
    });
    let declared: Vec<String> = program
        .objects
        .iter()
        .filter(|o| o.cluster == consumer.cluster && o.kind.kind == "Service")
        .filter_map(|o| Some(format!("{}.{}", o.name()?, o.namespace()?)))
        .collect();
    let known = if declared.is_empty() {
        "the program declares no Service".to_owned()
    } else {
        format!("the program's Services are {}", declared.join(", "))
    };
    let fix = format!(
        "{}; if another program deploys that Service, take its URL from that program's stack (a stack reference output) rather than spelling it here",
        url_fix(key)
    );
    let diagnostic = match host.form {
        HostForm::Bare => Diagnostic::warning(format!(
            "`{key}` points at host `{}`, which is no Service of the program in `{}` ({known})",
            host.name, host.namespace
        )),
        // `name.ns` is an ordinary domain unless `ns` is a namespace of the program.
        HostForm::Short if !namespace_of_program => return,
        HostForm::Short | HostForm::Cluster | HostForm::Pod => Diagnostic::error(format!(
            "`{key}` points at the Service `{}` in namespace `{}`, which the program does not declare ({known}): the name does not resolve in the cluster and every request fails",
            host.name, host.namespace
        )),
    };
    diagnostics.push(
        diagnostic
            .resource(consumer.resource)
            .field(field)
            .value(value)
            .fix(fix),
    );
}
