//! Probes aimed where the container listens. A readiness probe that can never connect keeps
//! every pod unready, so the rollout never finishes and the Service never gets an endpoint; a
//! liveness probe that can never connect restarts the container forever. The API server
//! accepts both; the cluster only shows them as a stuck rollout or a `CrashLoopBackOff`.

use girder_core::{Diagnostic, Diagnostics, Value};

use super::{ContainerView, ObjectView};

const PROBES: [&str; 3] = ["readinessProbe", "livenessProbe", "startupProbe"];
const HANDLERS: [&str; 3] = ["httpGet", "tcpSocket", "grpc"];

/// Checks the probes of every container of `object`.
pub(super) fn check(object: &ObjectView<'_>, diagnostics: &mut Diagnostics) {
    for container in object.containers() {
        let declared: Vec<(Option<i64>, Option<&str>)> = container
            .value
            .get("ports")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                (
                    p.get("containerPort").and_then(Value::as_i64),
                    p.get("name").and_then(Value::as_str),
                )
            })
            .collect();
        for probe in PROBES {
            for handler in HANDLERS {
                let Some(port) = container
                    .value
                    .get(probe)
                    .and_then(|p| p.get(handler))
                    .and_then(|h| h.get("port"))
                else {
                    continue;
                };
                let field = format!("{}.{probe}.{handler}.port", container.path);
                check_port(
                    object,
                    &container,
                    probe,
                    &field,
                    port,
                    &declared,
                    diagnostics,
                );
            }
        }
    }
}

fn check_port(
    object: &ObjectView<'_>,
    container: &ContainerView<'_>,
    probe: &str,
    field: &str,
    port: &Value,
    declared: &[(Option<i64>, Option<&str>)],
    diagnostics: &mut Diagnostics,
) {
    let who = format!(
        "the {probe} of container `{}` of {}",
        container.name,
        object.describe()
    );
    let consequence = if probe == "livenessProbe" {
        "the kubelet restarts the container again and again"
    } else {
        "the pods never become ready, so the rollout never finishes"
    };
    let listed = declared
        .iter()
        .map(|(number, name)| match (number, name) {
            (Some(n), Some(name)) => format!("{n} (`{name}`)"),
            (Some(n), None) => n.to_string(),
            (None, Some(name)) => format!("`{name}`"),
            (None, None) => "?".into(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    match port {
        Value::Number(n) => {
            let Some(number) = n.as_i64() else { return };
            if !(1..=65535).contains(&number) {
                diagnostics.push(
                    Diagnostic::error(format!("{who} probes port {number}, which is not a port"))
                        .resource(object.resource)
                        .field(field)
                        .value(number)
                        .fix("probe the port the program listens on, from 1 to 65535"),
                );
            } else if !declared.is_empty() && !declared.iter().any(|(n, _)| *n == Some(number)) {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "{who} probes port {number}, but the container declares only {listed}: unless the program also listens there, {consequence}"
                    ))
                    .resource(object.resource)
                    .field(field)
                    .value(number)
                    .fix("probe a declared port (`.readiness_http(\"/healthz\", PORT)` with the port of `.port(PORT)`), or declare the port the probe uses"),
                );
            }
        }
        Value::String(name) if !declared.iter().any(|(_, n)| *n == Some(name.as_str())) => {
            diagnostics.push(
                    Diagnostic::error(format!(
                        "{who} probes the port named `{name}`, which the container does not declare ({}): the kubelet cannot resolve it and {consequence}",
                        if listed.is_empty() { "it declares no port".to_owned() } else { format!("it declares {listed}") }
                    ))
                    .resource(object.resource)
                    .field(field)
                    .value(name)
                    .fix("name a declared port (`.named_port(\"http\", 8080)`) or probe by number"),
                );
        }
        _ => {}
    }
}
