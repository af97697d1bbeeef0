//! Readiness waits: a Deployment's rollout, a LoadBalancer Service's address, an object's
//! deletion. On failure or timeout they say why, with the rollout's conditions and the
//! failing pods' reasons, and what to do.

use std::time::Duration;

use girder_engine::provider::{CallContext, ErrorKind, ProviderError};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value as Json;

use super::Polling;
use crate::error::K8sError;

/// Stop waiting this long before the call's deadline, so the diagnosis (a few API calls)
/// is reported instead of the engine's bare time-out.
const DIAGNOSIS_MARGIN: Duration = Duration::from_millis(1500);

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// Every replica runs the new template and is available.
    Complete,
    /// Still going, with a progress message.
    Progressing(String),
    /// The Deployment controller gave up (`ProgressDeadlineExceeded`).
    Failed(String),
}

fn int(value: &Json, path: &[&str]) -> Option<i64> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Json::as_i64)
}

/// The rollout status of a Deployment, as `kubectl rollout status` decides it.
pub fn rollout_status(deployment: &Json) -> Rollout {
    let generation = int(deployment, &["metadata", "generation"]).unwrap_or(0);
    let observed = int(deployment, &["status", "observedGeneration"]).unwrap_or(-1);
    if observed < generation {
        return Rollout::Progressing(
            "waiting for the deployment controller to observe the new spec".into(),
        );
    }
    let conditions = deployment
        .pointer("/status/conditions")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(failed) = conditions.iter().find(|c| {
        c.get("type").and_then(Json::as_str) == Some("Progressing")
            && c.get("reason").and_then(Json::as_str) == Some("ProgressDeadlineExceeded")
    }) {
        return Rollout::Failed(
            failed
                .get("message")
                .and_then(Json::as_str)
                .unwrap_or("the rollout exceeded its progress deadline")
                .to_owned(),
        );
    }
    let wanted = int(deployment, &["spec", "replicas"]).unwrap_or(1);
    let updated = int(deployment, &["status", "updatedReplicas"]).unwrap_or(0);
    let replicas = int(deployment, &["status", "replicas"]).unwrap_or(0);
    let available = int(deployment, &["status", "availableReplicas"]).unwrap_or(0);
    if updated < wanted {
        return Rollout::Progressing(format!("{updated} of {wanted} replicas updated"));
    }
    if replicas > updated {
        return Rollout::Progressing(format!(
            "{} old replicas pending termination",
            replicas - updated
        ));
    }
    if available < updated {
        return Rollout::Progressing(format!(
            "{available} of {updated} updated replicas available"
        ));
    }
    Rollout::Complete
}

/// The conditions of an object's status, one per line part.
fn conditions_text(object: &Json) -> String {
    let conditions: Vec<String> = object
        .pointer("/status/conditions")
        .and_then(Json::as_array)
        .unwrap_or(&Vec::new())
        .iter()
        .map(|c| {
            let field = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or("");
            format!(
                "{}={} ({}): {}",
                field("type"),
                field("status"),
                field("reason"),
                field("message")
            )
        })
        .collect();
    if conditions.is_empty() {
        "no conditions reported".into()
    } else {
        conditions.join("; ")
    }
}

/// Why the pods of a workload are not ready, one entry per distinct reason, with a fix.
pub async fn pod_reasons(pods: &Api<DynamicObject>, selector: &str) -> Vec<String> {
    let list = match pods.list(&ListParams::default().labels(selector)).await {
        Ok(list) => list,
        Err(error) => return vec![format!("(could not list the pods: {error})")],
    };
    let mut reasons: Vec<String> = Vec::new();
    let mut fixes: Vec<&'static str> = Vec::new();
    for pod in list
        .items
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
    {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_owned();
        let mut found = false;
        for list in ["initContainerStatuses", "containerStatuses"] {
            for status in pod
                .pointer(&format!("/status/{list}"))
                .and_then(Json::as_array)
                .unwrap_or(&Vec::new())
            {
                if status.get("ready").and_then(Json::as_bool) == Some(true) {
                    continue;
                }
                let container = status.get("name").and_then(Json::as_str).unwrap_or("?");
                for state in ["waiting", "terminated"] {
                    if let Some(detail) = status.pointer(&format!("/state/{state}")) {
                        let reason = detail
                            .get("reason")
                            .and_then(Json::as_str)
                            .unwrap_or("unknown");
                        let message = detail.get("message").and_then(Json::as_str).unwrap_or("");
                        found = true;
                        fixes.push(fix_for(reason));
                        let text = format!(
                            "pod {name}: container `{container}` {state}: {reason}{}",
                            if message.is_empty() {
                                String::new()
                            } else {
                                format!(" ({message})")
                            }
                        );
                        if !reasons
                            .iter()
                            .any(|r| r.ends_with(&text[text.find(':').unwrap_or(0)..]))
                        {
                            reasons.push(text);
                        }
                    }
                }
            }
        }
        if !found {
            for condition in pod
                .pointer("/status/conditions")
                .and_then(Json::as_array)
                .unwrap_or(&Vec::new())
            {
                if condition.get("status").and_then(Json::as_str) == Some("False") {
                    let reason = condition.get("reason").and_then(Json::as_str).unwrap_or("");
                    if reason.is_empty() {
                        continue;
                    }
                    fixes.push(fix_for(reason));
                    reasons.push(format!(
                        "pod {name}: {} {reason}: {}",
                        condition.get("type").and_then(Json::as_str).unwrap_or("?"),
                        condition
                            .get("message")
                            .and_then(Json::as_str)
                            .unwrap_or("")
                    ));
                }
            }
        }
        if reasons.len() >= 5 {
            break;
        }
    }
    fixes.sort_unstable();
    fixes.dedup();
    reasons.extend(fixes.into_iter().map(|f| format!("fix: {f}")));
    reasons
}

fn fix_for(reason: &str) -> &'static str {
    match reason {
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => {
            "check the image name and tag, and that the cluster can pull it (registry access, `imagePullSecrets`)"
        }
        "CrashLoopBackOff" | "Error" | "OOMKilled" => {
            "the container exits: read its logs with `kubectl logs POD --previous`; OOMKilled means the memory limit is too low"
        }
        "CreateContainerConfigError" => "a ConfigMap, Secret or key the pod references is missing",
        "Unschedulable" | "PodScheduled" => {
            "no node fits the pod: lower its requests, add nodes, or fix affinity and tolerations"
        }
        _ => "`kubectl describe pod POD` shows the pod's events",
    }
}

/// The `a=b,c=d` label selector of a workload's `spec.selector.matchLabels`.
pub fn selector_of(workload: &Json) -> Option<String> {
    let labels = workload
        .pointer("/spec/selector/matchLabels")?
        .as_object()?;
    Some(
        labels
            .iter()
            .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
            .collect::<Vec<_>>()
            .join(","),
    )
}

async fn pause(ctx: &CallContext, delay: Duration, what: &str) -> Result<bool, ProviderError> {
    let remaining = ctx.remaining();
    if remaining <= DIAGNOSIS_MARGIN {
        return Ok(false);
    }
    ctx.wait(delay.min(remaining - DIAGNOSIS_MARGIN), what)
        .await?;
    Ok(true)
}

/// Waits until the rollout of Deployment `name` completes.
pub async fn wait_for_rollout(
    deployments: &Api<DynamicObject>,
    pods: &Api<DynamicObject>,
    name: &str,
    object: &str,
    ctx: &CallContext,
    polling: Polling,
) -> Result<(), ProviderError> {
    let mut delay = polling.initial;
    let mut last = String::new();
    loop {
        let live = deployments
            .get(name)
            .await
            .map_err(|e| K8sError::from_kube("read", object, e))?;
        let json = serde_json::to_value(&live).unwrap_or(Json::Null);
        let failure = match rollout_status(&json) {
            Rollout::Complete => return Ok(()),
            Rollout::Failed(message) => Some((message, false)),
            Rollout::Progressing(message) => {
                if message != last {
                    ctx.progress(&format!("rollout: {message}"));
                    tracing::debug!(object, %message, "waiting for rollout");
                    last = message;
                }
                None
            }
        };
        let (message, timed_out) = match failure {
            Some(failure) => failure,
            None => {
                if pause(ctx, delay, &format!("the rollout of {object}")).await? {
                    delay = (delay * 2).min(polling.max);
                    continue;
                }
                (
                    format!("still progressing when the time limit ran out ({last})"),
                    true,
                )
            }
        };
        let mut details = vec![message, format!("conditions: {}", conditions_text(&json))];
        if let Some(selector) = selector_of(&json) {
            details.extend(pod_reasons(pods, &selector).await);
        }
        if timed_out {
            details.push("fix: if the rollout is just slow, raise the time limit with `.timeouts(Timeouts { create: Some(..), update: Some(..), .. })`".into());
        }
        return Err(K8sError::Rollout {
            object: object.to_owned(),
            details: details.join("\n  "),
            timed_out,
        }
        .into());
    }
}

/// Waits until a LoadBalancer Service has an address; returns `{hostname, ip}`.
pub async fn wait_for_load_balancer(
    services: &Api<DynamicObject>,
    name: &str,
    object: &str,
    ctx: &CallContext,
    polling: Polling,
) -> Result<Json, ProviderError> {
    let mut delay = polling.initial;
    loop {
        let live = services
            .get(name)
            .await
            .map_err(|e| K8sError::from_kube("read", object, e))?;
        let json = serde_json::to_value(&live).unwrap_or(Json::Null);
        if let Some(address) = load_balancer_address(&json) {
            return Ok(address);
        }
        ctx.progress("waiting for a load balancer address");
        if !pause(ctx, delay, &format!("an address for {object}")).await? {
            return Err(ProviderError::new(
                ErrorKind::Timeout,
                format!(
                    "{object} got no load balancer address in time\n  fix: check that the cluster runs a load balancer controller (the AWS Load Balancer Controller or the cloud provider's), and read `kubectl describe service {name}` for its events; or drop `.wait_for_address()`"
                ),
            ));
        }
        delay = (delay * 2).min(polling.max);
    }
}

/// `{hostname, ip}` of a Service's first load balancer ingress, if it has one.
pub fn load_balancer_address(service: &Json) -> Option<Json> {
    let ingress = service.pointer("/status/loadBalancer/ingress/0")?;
    let hostname = ingress.get("hostname").and_then(Json::as_str);
    let ip = ingress.get("ip").and_then(Json::as_str);
    (hostname.is_some() || ip.is_some())
        .then(|| serde_json::json!({"hostname": hostname, "ip": ip}))
}

/// Waits until `name` is gone (foreground deletion waits for its dependents).
pub async fn wait_until_gone(
    api: &Api<DynamicObject>,
    name: &str,
    object: &str,
    ctx: &CallContext,
    polling: Polling,
) -> Result<(), ProviderError> {
    let mut delay = polling.initial;
    loop {
        match api.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(live)) => {
                let finalizers = live.metadata.finalizers.clone().unwrap_or_default();
                ctx.progress(&if finalizers.is_empty() {
                    "waiting until deleted".to_owned()
                } else {
                    format!(
                        "waiting until deleted (finalizers: {})",
                        finalizers.join(", ")
                    )
                });
                if !pause(ctx, delay, &format!("the deletion of {object}")).await? {
                    return Err(ProviderError::new(
                        ErrorKind::Timeout,
                        format!(
                            "{object} was still being deleted when the time limit ran out{}\n  fix: a controller must remove its finalizers; check that it runs, or raise the delete time limit",
                            if finalizers.is_empty() {
                                String::new()
                            } else {
                                format!(" (finalizers: {})", finalizers.join(", "))
                            }
                        ),
                    ));
                }
                delay = (delay * 2).min(polling.max);
            }
            Err(error) => return Err(K8sError::from_kube("read", object, error).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollout_states() {
        let base = |status: Json| json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": status});
        assert!(matches!(
            rollout_status(&base(json!({"observedGeneration": 1}))),
            Rollout::Progressing(_)
        ));
        assert_eq!(
            rollout_status(&base(
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1})
            )),
            Rollout::Progressing("1 of 2 replicas updated".into())
        );
        assert_eq!(
            rollout_status(&base(
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
            )),
            Rollout::Complete
        );
        assert!(matches!(
            rollout_status(&base(json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}]}))),
            Rollout::Failed(m) if m.contains("timed out")
        ));
        assert_eq!(
            load_balancer_address(
                &json!({"status": {"loadBalancer": {"ingress": [{"hostname": "a.elb"}]}}})
            ),
            Some(json!({"hostname": "a.elb", "ip": null}))
        );
    }
}
