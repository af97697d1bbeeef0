//! Pods fit the nodes: a Kubernetes workload whose pod asks for more CPU or memory than any
//! node of the program's EKS nodegroups can give is never scheduled — the apply "succeeds" and
//! the pods stay Pending. Run at plan over every resource of the program (the Kubernetes
//! package's workloads beside this package's nodegroups), reading workloads generically from
//! their manifests, so girder-aws does not depend on girder-k8s.
//!
//! A program's workloads are compared with all its nodegroups together: which cluster a
//! workload lands on is its provider node's, which names the cluster only through outputs
//! known after apply. So a pod is reported when it fits no node of any nodegroup in the
//! program — never wrongly, though a pod too big for its own cluster but not for another of
//! the same program passes.

use girder_core::{Diagnostic, Diagnostics, Value};
use girder_engine::provider::PlannedResource;
use girder_k8s_quantity::Quantity;

use crate::ec2::catalogue::{self, Allocatable, Architecture, InstanceType};
use crate::eks::nodegroup::NODEGROUP;

const MIB: i128 = 1 << 20;

/// Every workload of `resources` whose pods fit no node of the program's nodegroups.
pub(crate) fn pods_fit(resources: &[PlannedResource<'_>]) -> Diagnostics {
    let mut found = Diagnostics::new();
    let Some(nodes) = node_types(resources) else {
        return found;
    };
    for resource in resources {
        let Some((prefix, pod)) = pod_spec(resource) else {
            continue;
        };
        let Some(requests) = pod_requests(pod, &prefix) else {
            continue;
        };
        check_workload(&mut found, resource.name, &requests, &nodes);
    }
    found
}

/// The instance types of the program's nodegroups, or `None` when there are none or one is
/// not known at plan (a type chosen at apply could be any size, so nothing can be said).
fn node_types(resources: &[PlannedResource<'_>]) -> Option<Vec<&'static InstanceType>> {
    let mut types: Vec<&'static InstanceType> = Vec::new();
    for group in resources.iter().filter(|r| r.type_name == NODEGROUP) {
        for name in group.inputs.get("instance_types")?.as_array()? {
            // An unknown name is the instance-type check's to report; it adds no node here.
            if let Some(t) = name.as_str().and_then(catalogue::get) {
                types.push(t);
            } else if name.is_unknown() {
                return None;
            }
        }
    }
    (!types.is_empty()).then_some(types)
}

/// The pod spec of a workload and its field path, by kind.
pub(super) fn pod_spec<'a>(resource: &PlannedResource<'a>) -> Option<(String, &'a Value)> {
    let kind = resource.type_name.strip_prefix("k8s:")?.rsplit_once(':')?.1;
    let path: &[&str] = match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    };
    let mut value = resource.inputs;
    for key in path {
        value = value.get(key)?;
    }
    Some((path.join("."), value))
}

/// One container's request, with where it was written.
#[derive(Clone, Debug)]
struct Request {
    field: String,
    text: String,
    amount: i128,
}

/// A pod's effective requests: the scheduler's `max(sum of containers, largest init
/// container)` per resource, with the request that weighs most (to name in the diagnostic).
#[derive(Debug, Default)]
struct PodRequests {
    cpu_millis: i128,
    memory_bytes: i128,
    cpu_at: Option<Request>,
    memory_at: Option<Request>,
}

/// The pod's requests, or `None` if any is unknown at plan or not a quantity (the
/// Kubernetes checks report malformed quantities).
fn pod_requests(pod: &Value, prefix: &str) -> Option<PodRequests> {
    let list = |name: &str| pod.get(name).and_then(Value::as_array).unwrap_or_default();
    let mut requests = PodRequests::default();
    // The containers and the restartable init containers (sidecars) run together: their
    // requests add up (saturating: no input may overflow the check).
    let mut alone = Vec::new();
    let init = list("initContainers").iter().map(|c| ("initContainers", c));
    let containers = list("containers").iter().map(|c| ("containers", c));
    let mut index = std::collections::BTreeMap::<&str, usize>::new();
    for (name, container) in containers.chain(init) {
        let i = index.entry(name).or_default();
        let field = format!("{prefix}.{name}[{i}].resources");
        *i += 1;
        let cpu = request(container, &field, "cpu", Quantity::milli_value_ceil)?;
        let memory = request(container, &field, "memory", Quantity::value_ceil)?;
        let sidecar = container.get("restartPolicy").and_then(Value::as_str) == Some("Always");
        if name == "containers" || sidecar {
            add(&mut requests.cpu_millis, &mut requests.cpu_at, cpu);
            add(&mut requests.memory_bytes, &mut requests.memory_at, memory);
        } else {
            alone.push((cpu, memory));
        }
    }
    // An init container runs before the others, alone (a simplification: sidecars started
    // before it run beside it): it sets the pod's request when it alone asks for more.
    for (cpu, memory) in alone {
        if let Some(cpu) = cpu.filter(|r| r.amount > requests.cpu_millis) {
            requests.cpu_millis = cpu.amount;
            requests.cpu_at = Some(cpu);
        }
        if let Some(memory) = memory.filter(|r| r.amount > requests.memory_bytes) {
            requests.memory_bytes = memory.amount;
            requests.memory_at = Some(memory);
        }
    }
    Some(requests)
}

/// Adds a running container's request to the pod's total, keeping the largest to name.
fn add(total: &mut i128, top: &mut Option<Request>, candidate: Option<Request>) {
    let Some(candidate) = candidate else {
        return;
    };
    *total = total.saturating_add(candidate.amount);
    if top.as_ref().is_none_or(|t| candidate.amount > t.amount) {
        *top = Some(candidate);
    }
}

/// A container's request for `resource` — its limit when only the limit is set, as the API
/// server defaults it. `Some(None)` when there is none; `None` when it cannot be judged.
fn request(
    container: &Value,
    field: &str,
    resource: &str,
    scale: fn(&Quantity) -> Option<i128>,
) -> Option<Option<Request>> {
    let resources = container.get("resources");
    let found = ["requests", "limits"].into_iter().find_map(|kind| {
        resources
            .and_then(|r| r.get(kind))
            .and_then(|r| r.get(resource))
            .map(|v| (kind, v))
    });
    let Some((kind, value)) = found else {
        // No request: the pod asks for none of it (an unknown `resources` reads as none too,
        // which can only make the pod look smaller, never wrongly unschedulable).
        return Some(None);
    };
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let amount = Quantity::parse(&text).ok().as_ref().and_then(scale)?;
    Some(Some(Request {
        field: format!("{field}.{kind}.{resource}"),
        text,
        amount,
    }))
}

fn check_workload(
    found: &mut Diagnostics,
    workload: &str,
    requests: &PodRequests,
    nodes: &[&'static InstanceType],
) {
    let fits = |a: &Allocatable| {
        requests.cpu_millis <= i128::from(a.cpu_millis)
            && requests.memory_bytes <= i128::from(a.memory_mib) * MIB
    };
    if nodes.iter().any(|t| fits(&t.eks_allocatable())) {
        return;
    }
    // The first node with the most, so the message names the type listed first.
    let most = |key: fn(&Allocatable) -> u64| {
        nodes.iter().copied().reduce(|best, t| {
            if key(&t.eks_allocatable()) > key(&best.eks_allocatable()) {
                t
            } else {
                best
            }
        })
    };
    let most_cpu = most(|a| a.cpu_millis);
    let most_memory = most(|a| a.memory_mib);
    let (Some(most_cpu), Some(most_memory)) = (most_cpu, most_memory) else {
        return;
    };
    let fix = fix(requests, most_cpu);
    let cpu_short = requests.cpu_millis > i128::from(most_cpu.eks_allocatable().cpu_millis);
    let memory_short =
        requests.memory_bytes > i128::from(most_memory.eks_allocatable().memory_mib) * MIB;
    if cpu_short && let Some(at) = &requests.cpu_at {
        found.push(unschedulable(
            workload,
            at,
            format!(
                "the pods of `{workload}` request {}m CPU, more than any node of the program's nodegroups has allocatable: the most is {}m, on `{}`",
                requests.cpu_millis,
                most_cpu.eks_allocatable().cpu_millis,
                most_cpu.name()
            ),
            &fix,
        ));
    }
    if memory_short && let Some(at) = &requests.memory_at {
        found.push(unschedulable(
            workload,
            at,
            format!(
                "the pods of `{workload}` request {}Mi of memory, more than any node of the program's nodegroups has allocatable: the most is {}Mi, on `{}`",
                ceil_mib(requests.memory_bytes),
                most_memory.eks_allocatable().memory_mib,
                most_memory.name()
            ),
            &fix,
        ));
    }
    if !cpu_short
        && !memory_short
        && let Some(at) = &requests.cpu_at
    {
        found.push(unschedulable(
            workload,
            at,
            format!(
                "the pods of `{workload}` request {}m CPU and {}Mi of memory together, which no node of the program's nodegroups has allocatable: `{}` has {}m and {}Mi, `{}` {}m and {}Mi",
                requests.cpu_millis,
                ceil_mib(requests.memory_bytes),
                most_cpu.name(),
                most_cpu.eks_allocatable().cpu_millis,
                most_cpu.eks_allocatable().memory_mib,
                most_memory.name(),
                most_memory.eks_allocatable().cpu_millis,
                most_memory.eks_allocatable().memory_mib,
            ),
            &fix,
        ));
    }
}

fn ceil_mib(bytes: i128) -> i128 {
    bytes.div_euclid(MIB) + i128::from(bytes.rem_euclid(MIB) != 0)
}

fn unschedulable(workload: &str, at: &Request, message: String, fix: &str) -> Diagnostic {
    Diagnostic::error(message)
        .resource(workload)
        .field(&at.field)
        .value(&at.text)
        .fix(fix)
}

/// The smallest current-generation type of the largest node's architecture (and family,
/// when one of its sizes is enough) that takes the pod, or else "request less".
fn fix(requests: &PodRequests, largest: &InstanceType) -> String {
    let arch = largest
        .architectures()
        .first()
        .copied()
        .unwrap_or(Architecture::X86_64);
    let bigger = catalogue::catalogue()
        .types()
        .iter()
        .filter(|t| {
            let a = t.eks_allocatable();
            t.supports(arch)
                && t.is_current_generation()
                && !t.is_bare_metal()
                && !t.has_gpus()
                && requests.cpu_millis <= i128::from(a.cpu_millis)
                && requests.memory_bytes <= i128::from(a.memory_mib) * MIB
        })
        .min_by_key(|t| {
            (
                t.family() != largest.family(),
                t.vcpus(),
                t.memory_mib(),
                t.name(),
            )
        });
    match bigger {
        Some(t) => {
            let a = t.eks_allocatable();
            format!(
                "add a larger instance type to a nodegroup, such as `{}` ({}m CPU and {}Mi allocatable), or lower the request",
                t.name(),
                a.cpu_millis,
                a.memory_mib
            )
        }
        None => "lower the request: no EC2 instance type has that much allocatable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    fn deployment(cpu: &str, memory: &str) -> Value {
        Value::from_json(serde_json::json!({
            "spec": {"template": {"spec": {"containers": [
                {"name": "app", "resources": {"requests": {"cpu": cpu, "memory": memory}}},
                {"name": "agent", "resources": {"limits": {"cpu": "100m"}}},
            ], "initContainers": [
                {"name": "migrate", "resources": {"requests": {"memory": "3Gi"}}},
                {"name": "proxy", "restartPolicy": "Always",
                 "resources": {"requests": {"cpu": "200m", "memory": "64Mi"}}},
            ]}}}
        }))
    }

    fn plan(workload: &Value, types: &[&str]) -> Diagnostics {
        let group = object! {
            "instance_types" => Value::Array(types.iter().map(|t| Value::from(*t)).collect()),
        };
        plan_with(workload, &group)
    }

    /// The workload `web` beside one nodegroup `ng` with the given inputs.
    fn plan_with(workload: &Value, group: &Value) -> Diagnostics {
        pods_fit(&[
            PlannedResource {
                name: "ng",
                type_name: NODEGROUP,
                provider: None,
                inputs: group,
            },
            PlannedResource {
                name: "web",
                type_name: "k8s:apps/v1:Deployment",
                provider: None,
                inputs: workload,
            },
        ])
    }

    #[test]
    fn requests_sum_containers_and_max_init_containers() {
        let pod = deployment("1", "1Gi");
        let (prefix, spec) = pod_spec(&PlannedResource {
            name: "web",
            type_name: "k8s:apps/v1:Deployment",
            provider: None,
            inputs: &pod,
        })
        .expect("a pod spec");
        let requests = pod_requests(spec, &prefix).expect("known");
        // 1 + the second container's limit (its request defaults to it) + the sidecar's.
        assert_eq!(requests.cpu_millis, 1300);
        // The init container's 3Gi is more than the running containers' 1Gi + 64Mi.
        assert_eq!(requests.memory_bytes, 3 << 30);
        assert_eq!(
            requests.memory_at.map(|r| r.field).as_deref(),
            Some("spec.template.spec.initContainers[0].resources.requests.memory")
        );
    }

    #[test]
    fn a_pod_too_big_for_every_node_is_reported() {
        assert!(plan(&deployment("1", "1Gi"), &["t3.medium"]).is_empty());
        let found = plan(&deployment("2", "1Gi"), &["t3.medium"]);
        assert_eq!(found.len(), 1, "{found}");
        let d = found.iter().next().expect("one");
        assert_eq!(
            d.field.as_deref(),
            Some("spec.template.spec.containers[0].resources.requests.cpu")
        );
        assert!(
            d.message.contains("the most is 1930m, on `t3.medium`"),
            "{d}"
        );
        // A larger type is enough.
        assert!(plan(&deployment("2", "1Gi"), &["t3.medium", "t3.xlarge"]).is_empty());
    }

    #[test]
    fn unknowns_and_programs_without_nodegroups_are_not_judged() {
        // A request known only at apply: the pod is not judged.
        let mut unknown = deployment("64", "1Ti");
        let path = girder_core::FieldPath::key("spec")
            .child("template")
            .child("spec")
            .child("containers")
            .index(0)
            .child("resources")
            .child("requests")
            .child("cpu");
        unknown.set(&path, Value::Unknown).expect("the path exists");
        assert!(plan(&unknown, &["t3.medium"]).is_empty());
        // No requests at all: nothing to fit.
        let bare = Value::from_json(serde_json::json!({"spec": {"template": {"spec": {
            "containers": [{"name": "a"}]}}}}));
        assert!(plan(&bare, &["t3.medium"]).is_empty());
        assert!(plan(&deployment("64", "1Ti"), &[]).is_empty());
        let group = object! { "instance_types" => Value::Array(vec![Value::Unknown]) };
        assert!(plan_with(&deployment("64", "1Ti"), &group).is_empty());
    }
}
