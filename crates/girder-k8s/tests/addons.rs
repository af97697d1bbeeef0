//! The add-ons: what they declare (planned in memory), what they refuse (with the fix), the
//! manifests they render (valid Kubernetes 1.36, strict), and an apply against the API
//! emulator that converges and is destroyed.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Cluster, small};
use girder_core::{Output, Stack};
use girder_engine::StepKind;
use girder_k8s::addons::{ClusterAutoscaler, DnsPolicy, ExternalDns, MetricsServer, ZoneType};
use girder_k8s::dsl::*;
use girder_testing::plan::TestProgram;
use girder_testing::sim::SimResource;
use serde_json::json;

const CA_ROLE: &str = "arn:aws:iam::123456789012:role/yolo-cluster-autoscaler";
const DNS_ROLE: &str = "arn:aws:iam::123456789012:role/yolo-external-dns";

/// The three add-ons with their required settings.
fn addons(s: &mut Stack) {
    MetricsServer::new().add(DefaultProvider, s);
    ClusterAutoscaler::new("yolo")
        .region("us-east-1")
        .role_arn(CA_ROLE)
        .add(DefaultProvider, s);
    ExternalDns::new()
        .domain_filter("example.com")
        .txt_owner_id("yolo")
        .role_arn(DNS_ROLE)
        .add(DefaultProvider, s);
}

fn program() -> TestProgram {
    TestProgram::new().package(girder_k8s::package())
}

fn args(plan: &girder_testing::plan::PlanView, deployment: &str) -> Vec<String> {
    let resource = plan
        .resource(deployment)
        .expect("the deployment is planned");
    resource
        .input("spec.template.spec.containers[0].args")
        .and_then(|v| v.as_array().map(|a| a.to_vec()))
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_str().unwrap_or("(unknown)").to_owned())
        .collect()
}

#[test]
fn the_addons_pass_the_secure_defaults_and_the_wiring_check_without_warnings() {
    let mut s = Stack::new("prod");
    addons(&mut s);
    let graph = s.finish().expect("the add-ons build");
    // The one piece of advice: girder pins each add-on's version by tag, and only the program
    // can pin the digest it has verified.
    let advice: Vec<_> = graph.warnings().iter().collect();
    assert_eq!(advice.len(), 3, "{}", graph.warnings());
    assert!(
        advice
            .iter()
            .all(|d| d.message.contains("pinned by a tag only")
                && d.field.as_deref().is_some_and(|f| f.ends_with(".image"))),
        "{}",
        graph.warnings()
    );
    let diagnostics = girder_k8s::check::check(&graph);
    assert!(diagnostics.is_empty(), "{diagnostics}");
}

#[test]
fn metrics_server_declares_upstreams_objects() {
    let plan = program()
        .plan(|s| {
            MetricsServer::new().add(DefaultProvider, s);
        })
        .expect("plans");
    for (type_name, count) in [
        ("k8s:core/v1:ServiceAccount", 1),
        ("k8s:rbac.authorization.k8s.io/v1:ClusterRole", 2),
        ("k8s:rbac.authorization.k8s.io/v1:ClusterRoleBinding", 2),
        ("k8s:rbac.authorization.k8s.io/v1:RoleBinding", 1),
        ("k8s:core/v1:Service", 1),
        ("k8s:apps/v1:Deployment", 1),
        ("k8s:apiregistration.k8s.io/v1:APIService", 1),
    ] {
        plan.assert_count(type_name, count);
    }
    plan.assert_count("k8s:policy/v1:PodDisruptionBudget", 0);
    plan.assert_has(
        "k8s:rbac.authorization.k8s.io/v1:ClusterRole",
        json!({
            "metadata": {"name": "system:aggregated-metrics-reader", "labels": {
                "rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}],
        }),
    );
    plan.assert_has(
        "k8s:rbac.authorization.k8s.io/v1:RoleBinding",
        json!({
            "metadata": {"name": "metrics-server-auth-reader", "namespace": "kube-system"},
            "roleRef": {"kind": "Role", "name": "extension-apiserver-authentication-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}],
        }),
    );
    plan.assert_has(
        "k8s:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        json!({"roleRef": {"kind": "ClusterRole", "name": "system:auth-delegator"}}),
    );
    plan.assert_has(
        "k8s:apiregistration.k8s.io/v1:APIService",
        json!({
            "metadata": {"name": "v1beta1.metrics.k8s.io"},
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                "service": {"name": "metrics-server", "namespace": "kube-system"}},
        }),
    );
    let deployment = plan.assert_has(
        "k8s:apps/v1:Deployment",
        json!({"spec": {"template": {"spec": {
            "priorityClassName": "system-cluster-critical",
            "serviceAccountName": "metrics-server",
            "containers": [{
                "image": MetricsServer::IMAGE,
                "ports": [{"containerPort": 10250, "name": "https"}],
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": 10250, "scheme": "HTTPS"}},
                "securityContext": {"readOnlyRootFilesystem": true, "runAsNonRoot": true},
            }],
        }}}}),
    );
    assert!(
        args(&plan, deployment.name()).contains(&"--metric-resolution=15s".to_owned()),
        "{:?}",
        args(&plan, deployment.name())
    );
    // The APIService names the Service, so it is applied after it.
    assert!(plan.edges().contains(&(
        "apiservice/v1beta1.metrics.k8s.io".to_owned(),
        "service/kube-system/metrics-server".to_owned()
    )));

    let ha = program()
        .plan(|s| {
            MetricsServer::new().replicas(2).add(DefaultProvider, s);
        })
        .unwrap();
    ha.assert_has(
        "k8s:policy/v1:PodDisruptionBudget",
        json!({"spec": {"minAvailable": 1}}),
    );
}

#[test]
fn cluster_autoscaler_discovers_the_clusters_groups_and_scales_down_after_ten_minutes() {
    let plan = program()
        .plan(|s| {
            ClusterAutoscaler::new("yolo")
                .region("us-east-1")
                .role_arn(CA_ROLE)
                .add(DefaultProvider, s);
        })
        .expect("plans");
    let args = args(&plan, "deployment/kube-system/cluster-autoscaler");
    for expected in [
        "--cloud-provider=aws",
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/yolo",
        "--scale-down-unneeded-time=10m",
        "--expander=least-waste",
    ] {
        assert!(
            args.contains(&expected.to_owned()),
            "{expected} in {args:?}"
        );
    }
    plan.assert_has(
        "k8s:core/v1:ServiceAccount",
        json!({"metadata": {"name": "cluster-autoscaler", "namespace": "kube-system",
            "annotations": {"eks.amazonaws.com/role-arn": CA_ROLE}}}),
    );
    plan.assert_has(
        "k8s:apps/v1:Deployment",
        json!({"spec": {"replicas": 1, "template": {
        "metadata": {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}},
        "spec": {"containers": [{
            "image": ClusterAutoscaler::IMAGE,
            "command": ["./cluster-autoscaler"],
            "env": [{"name": "AWS_REGION", "value": "us-east-1"}],
            "resources": {"requests": {"cpu": "100m", "memory": "600Mi"}},
        }]}}}}),
    );
    // Least privilege: its own lease and status ConfigMaps only.
    plan.assert_has(
        "k8s:rbac.authorization.k8s.io/v1:Role",
        json!({"rules": [{}, {"resourceNames": ["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"]}]}),
    );

    let custom = program()
        .plan(|s| {
            ClusterAutoscaler::new("yolo")
                .region("us-east-1")
                .role_arn(CA_ROLE)
                .scale_down_unneeded(Duration::from_secs(90))
                .add(DefaultProvider, s);
        })
        .unwrap();
    assert!(
        self::args(&custom, "deployment/kube-system/cluster-autoscaler")
            .contains(&"--scale-down-unneeded-time=90s".to_owned())
    );
}

#[test]
fn a_cluster_name_and_role_from_outputs_flow_into_the_args_and_the_annotation() {
    let build = |s: &mut Stack| {
        // Stand-ins for `eks.name()` and `role.arn()`, known after apply.
        let cluster = SimResource::new("eks").add(s);
        let role = SimResource::new("role").add(s);
        let arn: Output<String> = role
            .id()
            .map(|id| format!("arn:aws:iam::123456789012:role/{id}"));
        ClusterAutoscaler::new(cluster.id())
            .region("eu-west-1")
            .role_arn(&arn)
            .add(DefaultProvider, s);
    };
    let plan = program().plan(build).unwrap();
    let deployment = plan
        .resource("deployment/kube-system/cluster-autoscaler")
        .unwrap();
    assert!(deployment.is_unknown("spec.template.spec.containers[0].args[8]"));
    assert!(
        plan.resource("serviceaccount/kube-system/cluster-autoscaler")
            .unwrap()
            .is_unknown("metadata.annotations[\"eks.amazonaws.com/role-arn\"]")
    );
    assert!(deployment.dependencies().contains(&"eks".to_owned()));

    let deployed = program()
        .apply_mocked(build, |_| girder_core::Value::object())
        .unwrap();
    let discovery = deployed
        .input(
            "deployment/kube-system/cluster-autoscaler",
            "spec.template.spec.containers[0].args[8]",
        )
        .unwrap();
    assert_eq!(
        discovery.as_str(),
        Some(
            "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/mock-eks"
        )
    );
}

#[test]
fn external_dns_publishes_services_upserting_only_with_txt_ownership() {
    let plan = program()
        .plan(|s| {
            ExternalDns::new()
                .domain_filter("example.com")
                .txt_owner_id("yolo")
                .role_arn(DNS_ROLE)
                .region("us-east-1")
                .zone_type(ZoneType::Public)
                .add(DefaultProvider, s);
        })
        .unwrap();
    let args = args(&plan, "deployment/kube-system/external-dns");
    for expected in [
        "--source=service",
        "--provider=aws",
        "--registry=txt",
        "--policy=upsert-only",
        "--txt-owner-id=yolo",
        "--domain-filter=example.com",
        "--aws-zone-type=public",
    ] {
        assert!(
            args.contains(&expected.to_owned()),
            "{expected} in {args:?}"
        );
    }
    plan.assert_has(
        "k8s:apps/v1:Deployment",
        json!({"spec": {"replicas": 1, "template": {"spec": {
            "serviceAccountName": "external-dns",
            "containers": [{"image": ExternalDns::IMAGE, "env": [{"name": "AWS_DEFAULT_REGION", "value": "us-east-1"}]}],
        }}}}),
    );
    let sync = program()
        .plan(|s| {
            ExternalDns::new()
                .domain_filter("example.com")
                .txt_owner_id("yolo")
                .role_arn(DNS_ROLE)
                .policy(DnsPolicy::Sync)
                .add(DefaultProvider, s);
        })
        .unwrap();
    assert!(
        self::args(&sync, "deployment/kube-system/external-dns")
            .contains(&"--policy=sync".to_owned())
    );
}

#[test]
fn missing_roles_regions_and_owner_ids_are_reported_with_the_fix() {
    let mut s = Stack::new("prod");
    ClusterAutoscaler::new("yolo cluster").add(DefaultProvider, &mut s);
    ExternalDns::new().add(DefaultProvider, &mut s);
    MetricsServer::new()
        .metric_resolution(Duration::from_secs(5))
        .add(DefaultProvider, &mut s);
    let diagnostics = s.finish().expect_err("refused");
    let text = diagnostics.to_string();
    for expected in [
        "`yolo cluster` is not an EKS cluster name",
        "cluster-autoscaler needs the cluster's AWS region",
        "add `.region(\"us-east-1\")`",
        "cluster-autoscaler resizes Auto Scaling groups through the AWS API, but has no IAM role",
        "trusted by `system:serviceaccount:kube-system:cluster-autoscaler` only",
        "external-dns has no TXT owner id",
        "`.txt_owner_id(\"prod\")`",
        "external-dns changes Route 53 records through the AWS API, but has no IAM role",
        "external-dns has no domain filter",
        "metrics-server refuses a metric resolution of 5s",
    ] {
        assert!(text.contains(expected), "`{expected}` in:\n{text}");
    }
    assert_eq!(diagnostics.errors().count(), 6, "{text}");
    // The domain filter, and the digest advice for each of the three images.
    assert_eq!(diagnostics.warnings().count(), 4, "{text}");
    assert!(
        diagnostics.errors().all(|d| d
            .resource
            .as_deref()
            .is_some_and(|r| r.starts_with("deployment/kube-system/"))),
        "{text}"
    );
}

#[test]
fn a_hostname_on_a_cluster_ip_service_is_an_error_naming_the_fix() {
    let build = |load_balancer: bool, hostname: &str| {
        let mut s = Stack::new("prod");
        let web = Deployment::new("web")
            .image("ghcr.io/acme/web:1")
            .port(8080)
            .resources(small())
            .add(DefaultProvider, &mut s);
        let mut service = web.expose(ServicePort::http(80, 8080)).hostname(hostname);
        if load_balancer {
            service = service.load_balancer();
        }
        service.add(&mut s);
        s.finish()
    };
    let graph = build(true, "app.example.com").expect("a LoadBalancer with a hostname builds");
    assert!(girder_k8s::check::check(&graph).is_empty());
    let plan = program().plan_graph(graph).unwrap();
    plan.assert_has(
        "k8s:core/v1:Service",
        json!({"metadata": {"annotations": {EXTERNAL_DNS_HOSTNAME: "app.example.com"}},
               "spec": {"type": "LoadBalancer"}}),
    );

    let error = build(false, "app.example.com").unwrap_err().to_string();
    assert!(
        error.contains(
            "asks external-dns for the hostname `app.example.com`, but it is a ClusterIP Service"
        ),
        "{error}"
    );
    assert!(error.contains("`.load_balancer()`"), "{error}");
    assert!(error.contains("service/default/web"), "{error}");

    let error = build(true, "app_example").unwrap_err().to_string();
    assert!(
        error.contains("`app_example` is not a DNS name external-dns can publish"),
        "{error}"
    );
}

#[test]
fn a_binding_to_a_role_no_cluster_provides_is_still_reported() {
    let mut s = Stack::new("prod");
    let mut role_of_another_program = girder_core::ResourceDecl::new(
        "k8s:rbac.authorization.k8s.io/v1:RoleBinding",
        "rolebinding/kube-system/reader",
    );
    for (key, value) in [
        ("apiVersion", json!("rbac.authorization.k8s.io/v1")),
        ("kind", json!("RoleBinding")),
        (
            "metadata",
            json!({"name": "reader", "namespace": "kube-system"}),
        ),
        (
            "roleRef",
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "not-bootstrapped"}),
        ),
        ("subjects", json!([])),
    ] {
        role_of_another_program.set_input(key, girder_core::Value::from_json(value));
    }
    role_of_another_program.add(&mut s);
    MetricsServer::new().add(DefaultProvider, &mut s);
    let graph = s.finish().unwrap();
    let diagnostics = girder_k8s::check::check(&graph).to_string();
    assert!(
        diagnostics.contains("binds Role `not-bootstrapped`"),
        "{diagnostics}"
    );
    assert!(
        !diagnostics.contains("extension-apiserver-authentication-reader"),
        "{diagnostics}"
    );
}

#[test]
fn changing_the_scale_down_time_updates_only_the_autoscalers_deployment() {
    let version = |minutes: u64| {
        move |s: &mut Stack| {
            MetricsServer::new().add(DefaultProvider, s);
            ClusterAutoscaler::new("yolo")
                .region("us-east-1")
                .role_arn(CA_ROLE)
                .scale_down_unneeded(Duration::from_secs(minutes * 60))
                .namespace("autoscaling")
                .add(DefaultProvider, s);
        }
    };
    let upgrade = program().upgrade(version(10), version(20)).unwrap();
    upgrade.assert_changes(&[(
        "deployment/autoscaling/cluster-autoscaler",
        StepKind::Update,
    )]);
}

/// The `kubernetes-validate` executable (`$GIRDER_KUBERNETES_VALIDATE` or the workspace's
/// `.venv`); missing is a failure, not a skip.
fn kubernetes_validate() -> PathBuf {
    girder_testing::tools::kubernetes_validate()
}

#[test]
fn rendered_addons_are_valid_kubernetes_1_30_objects() {
    let mut defaults = Stack::new("prod");
    addons(&mut defaults);
    // Every option set, in another namespace.
    let mut options = Stack::new("prod");
    let tools = Namespace::new("tools").add(DefaultProvider, &mut options);
    MetricsServer::new()
        .namespace(&tools)
        .replicas(2)
        .add(DefaultProvider, &mut options);
    ClusterAutoscaler::new("yolo")
        .region("eu-west-1")
        .role_arn(CA_ROLE)
        .namespace(&tools)
        .expander(girder_k8s::addons::Expander::MostPods)
        .add(DefaultProvider, &mut options);
    ExternalDns::new()
        .domain_filter("example.com")
        .domain_filter("example.org")
        .txt_owner_id("yolo")
        .role_arn(DNS_ROLE)
        .region("eu-west-1")
        .zone_type(ZoneType::Private)
        .policy(DnsPolicy::Sync)
        .namespace(&tools)
        .add(DefaultProvider, &mut options);
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    // 9 objects of metrics-server, 6 of cluster-autoscaler, 4 of external-dns; the options
    // add the namespace and metrics-server's PodDisruptionBudget.
    for (label, stack, count) in [("defaults", defaults, 19), ("options", options, 21)] {
        let rendered =
            girder_k8s::render(&stack.finish().unwrap_or_else(|d| panic!("{d}"))).unwrap();
        assert_eq!(rendered.len(), count, "{label}");
        std::fs::create_dir(dir.path().join(label)).unwrap();
        for manifest in &rendered {
            let path = dir.path().join(label).join(&manifest.file_name);
            std::fs::write(&path, &manifest.yaml).unwrap();
            files.push(path);
        }
    }
    let output = Command::new(kubernetes_validate())
        .args(["-k", "1.36.0", "--strict"])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kubernetes-validate failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("WARN") && !stdout.contains("ERROR"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_addons_apply_against_the_emulator_converge_and_are_destroyed() {
    let cluster = Cluster::start();
    let mut s = Stack::new("dev");
    addons(&mut s);
    let graph = s.finish().unwrap();

    let started = Instant::now();
    let report = cluster.up(&graph).await;
    eprintln!(
        "apply of the three add-ons ({} objects) took {:?}",
        report.succeeded.len(),
        started.elapsed()
    );
    assert_eq!(report.succeeded.len(), graph.len());
    for name in ["metrics-server", "cluster-autoscaler", "external-dns"] {
        let live = cluster
            .api("apps", "v1", "Deployment", "deployments", "kube-system")
            .await
            .get(name)
            .await
            .unwrap();
        assert_eq!(
            live.data["status"]["availableReplicas"], 1,
            "{name}: {:#}",
            live.data["status"]
        );
    }
    let api_services: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(
        cluster.client().await,
        &kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("apiregistration.k8s.io", "v1", "APIService"),
            "apiservices",
        ),
    );
    let api_service = api_services
        .get("v1beta1.metrics.k8s.io")
        .await
        .expect("the APIService exists");
    assert_eq!(
        api_service.data["spec"]["service"]["name"],
        "metrics-server"
    );
    let account = cluster
        .api("", "v1", "ServiceAccount", "serviceaccounts", "kube-system")
        .await
        .get("cluster-autoscaler")
        .await
        .unwrap();
    assert_eq!(
        account.metadata.annotations.unwrap()["eks.amazonaws.com/role-arn"],
        CA_ROLE
    );

    let plan = cluster.plan(&graph).await;
    let changed: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.is_change())
        .map(|s| (&s.resource, &s.diffs))
        .collect();
    assert!(!plan.has_changes(), "{changed:#?}");

    let report = cluster.harness.destroy(&graph).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let deployments = cluster
        .api("apps", "v1", "Deployment", "deployments", "kube-system")
        .await;
    for name in ["metrics-server", "cluster-autoscaler", "external-dns"] {
        assert!(deployments.get_opt(name).await.unwrap().is_none(), "{name}");
    }
}
