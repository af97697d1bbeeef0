//! The seed's nodes and pods agree, checked when the whole seed program (the AWS and the
//! Kubernetes package together) is planned — no cloud, no credentials: every nodegroup's
//! instance types are known EC2 types of one architecture, and every pod's requests fit the
//! allocatable of every node type; a pod too big for every node is refused at plan.

use girder::aws::ec2::catalogue::{self, InstanceType};
use girder::core::{Stack, Value};
use girder::prelude::ProviderHandle;
use girder::testing::plan::{PlanView, TestProgram};
use girder_examples::yolo::{self, ClusterFacts, Settings};
use girder_k8s_quantity::Quantity;
use yolo_app::{BackendValues, ResourceValues, YoloApp, YoloAppValues};

fn program() -> TestProgram {
    TestProgram::new()
        .package(girder::aws::package())
        .package(girder::k8s::package())
}

/// The seed's defaults, not the environment's.
fn settings() -> Settings {
    Settings {
        region: "us-east-1".into(),
        domain: "yolo.example.com".into(),
        frontend_image: "ghcr.io/acme/frontend:2.0".into(),
        backend_image: "ghcr.io/acme/backend:1.4".into(),
        infra_stack: "yolo-infra".into(),
    }
}

/// The seed's infra and its Kubernetes provider.
fn infra(s: &mut Stack) -> (yolo::Infra, ProviderHandle) {
    let infra = yolo::infra(s, &settings());
    let k8s = infra.eks.kubernetes(s);
    (infra, k8s)
}

/// The `yolo` program, as `examples/yolo.rs` builds it.
fn seed(s: &mut Stack) {
    let (infra, k8s) = infra(s);
    let facts = ClusterFacts {
        cluster_name: infra.eks.name().map(|name| name.to_string()),
        cluster_autoscaler_role: infra.cluster_autoscaler_role.arn(),
        external_dns_role: infra.external_dns_role.arn(),
    };
    yolo::platform_and_app(s, &k8s, facts, &settings());
}

fn node_types(plan: &PlanView) -> Vec<&'static InstanceType> {
    plan.of_type("aws:eks/nodegroup")
        .iter()
        .flat_map(|group| {
            let types = group.input("instance_types").unwrap_or(Value::Null);
            let names: Vec<String> = types
                .as_array()
                .unwrap_or_default()
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            assert!(!names.is_empty(), "{} has instance types", group.name());
            let known: Vec<&'static InstanceType> = names
                .iter()
                .map(|n| catalogue::get(n).unwrap_or_else(|| panic!("{n} is an EC2 type")))
                .collect();
            let arches: Vec<_> = known.iter().map(|t| t.architectures()).collect();
            assert!(
                arches.windows(2).all(|w| w[0] == w[1]),
                "{} mixes architectures: {names:?}",
                group.name()
            );
            known
        })
        .collect()
}

/// The sum of the containers' requests of every Deployment (millicores, bytes).
fn pod_requests(plan: &PlanView) -> Vec<(String, i128, i128)> {
    plan.of_type("k8s:apps/v1:Deployment")
        .iter()
        .map(|d| {
            let containers = d
                .input("spec.template.spec.containers")
                .unwrap_or(Value::Null);
            let (mut cpu, mut memory) = (0, 0);
            for c in containers.as_array().unwrap_or_default() {
                let request = |resource: &str| {
                    let requests = c.get("resources").and_then(|r| r.get("requests"));
                    requests
                        .and_then(|r| r.get(resource))
                        .and_then(Value::as_str)
                        .map(|q| Quantity::parse(q).expect("a quantity"))
                };
                cpu += request("cpu")
                    .and_then(|q| q.milli_value_ceil())
                    .unwrap_or(0);
                memory += request("memory").and_then(|q| q.value_ceil()).unwrap_or(0);
            }
            (d.name().to_owned(), cpu, memory)
        })
        .collect()
}

#[test]
fn the_seeds_nodegroups_share_an_architecture_and_fit_its_pods() {
    let plan = program().plan(seed).unwrap_or_else(|d| panic!("{d}"));
    // The whole seed plans with one kind of advice only: its images (the app's and the
    // add-ons') are pinned by tag, not digest. No IRSA role lacks its workload, no URL names a
    // missing Service, no budget blocks drains.
    let warnings = &plan.plan().warnings;
    assert!(
        warnings
            .iter()
            .all(|d| d.message.contains("pinned by a tag only")),
        "{warnings}"
    );
    let nodes = node_types(&plan);
    assert_eq!(nodes.len(), 3, "t3.medium, and t3.medium + t3a.medium");
    let pods = pod_requests(&plan);
    assert!(pods.len() >= 2, "the app's frontend and backend at least");
    assert!(pods.iter().any(|(_, cpu, _)| *cpu > 0), "{pods:?}");
    for node in &nodes {
        let allocatable = node.eks_allocatable();
        for (name, cpu, memory) in &pods {
            assert!(
                *cpu <= i128::from(allocatable.cpu_millis)
                    && *memory <= i128::from(allocatable.memory_mib) << 20,
                "{name} ({cpu}m, {memory} bytes) does not fit {}: {allocatable:?}",
                node.name()
            );
        }
    }
}

#[test]
fn an_app_too_big_for_the_seeds_nodes_is_refused_at_plan() {
    let big = ResourceValues::builder()
        .cpu_request("4")
        .cpu_limit("4")
        .build();
    let planned = program().plan(|s| {
        let (_, k8s) = infra(s);
        let values = YoloAppValues::builder()
            .backend(BackendValues::builder().resources(big).build())
            .build();
        YoloApp::new(values).add(&k8s, s);
    });
    let Err(diagnostics) = planned else {
        panic!("the plan is refused");
    };
    let d = diagnostics
        .iter()
        .find(|d| d.message.contains("request 4000m CPU"))
        .unwrap_or_else(|| panic!("no pods-fit diagnostic in:\n{diagnostics}"));
    assert!(
        d.resource.as_deref().is_some_and(|r| r.contains("backend")),
        "{d}"
    );
    assert_eq!(
        d.field.as_deref(),
        Some("spec.template.spec.containers[0].resources.requests.cpu")
    );
    assert_eq!(d.value.as_deref(), Some("4"));
    assert!(
        d.message.ends_with("the most is 1930m, on `t3.medium`"),
        "{d}"
    );
    assert!(
        d.fix
            .as_deref()
            .is_some_and(|f| f
                .starts_with("add a larger instance type to a nodegroup, such as `t3.2xlarge`")),
        "{d}"
    );
}
