//! Rendering: one YAML file per object, in apply order, secrets masked, unknowns marked —
//! and every rendered manifest valid against the official Kubernetes 1.30 schemas
//! (`kubernetes-validate --strict`).

use std::path::PathBuf;
use std::process::Command;

use girder_core::{Output, Stack};
use girder_k8s::dsl::*;
use girder_k8s::{RenderOptions, render, render_with};
use girder_testing::sim::SimResource;

/// The `kubernetes-validate` executable: `$GIRDER_KUBERNETES_VALIDATE` or the workspace's
/// `.venv` (installed by `scripts/python-deps.sh`). Missing is a failure, not a skip.
fn kubernetes_validate() -> PathBuf {
    if let Some(path) = std::env::var_os("GIRDER_KUBERNETES_VALIDATE") {
        return PathBuf::from(path);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = workspace.join(".venv/bin/kubernetes-validate");
    assert!(
        path.exists(),
        "kubernetes-validate is missing at {}: run scripts/python-deps.sh or set GIRDER_KUBERNETES_VALIDATE",
        path.display()
    );
    path
}

fn small() -> Resources {
    Resources::new()
        .cpu("100m", "500m")
        .memory("128Mi", "256Mi")
}

/// The seed's whole Kubernetes side: the app, its autoscalers, budgets and policies,
/// external-dns with IRSA and RBAC, a namespace of tools and a CRD.
fn seed_program() -> girder_core::Graph {
    let mut s = Stack::new("prod");
    // An AWS role of the program (simulated here): its ARN is only known after apply.
    let role = SimResource::new("external-dns-role").add(&mut s);
    let role_arn: Output<String> = role.arn();

    let backend = Deployment::new("backend")
        .image("ghcr.io/acme/backend:1.4")
        .port(8080)
        .replicas(2)
        .resources(small())
        .readiness_http("/healthz", 8080)
        .add(DefaultProvider, &mut s);
    let backend_svc = backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(&mut s);
    let config = ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", backend_svc.url())
        .add(DefaultProvider, &mut s);
    let session = Secret::new("frontend-session")
        .string_data(
            "SECRET_KEY_BASE",
            Output::known_secret("s3cr3t-hunter2".to_owned()),
        )
        .add(DefaultProvider, &mut s);
    let frontend = Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .port(4000)
        .replicas(2)
        .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
        .env_from_key("SECRET_KEY_BASE", session.key("SECRET_KEY_BASE"))
        .resources(small())
        .writable_dir("/tmp")
        .add(DefaultProvider, &mut s);
    frontend
        .expose(ServicePort::http(80, 4000))
        .name("frontend-service")
        .load_balancer()
        .external_dns_hostname("app.example.com")
        .add(&mut s);
    for workload in [&backend, &frontend] {
        HorizontalPodAutoscaler::for_deployment(workload)
            .replicas(2, 10)
            .cpu_utilization(70)
            .memory_utilization(80)
            .add(&mut s);
        PodDisruptionBudget::for_deployment(workload)
            .min_available(1)
            .add(&mut s);
    }
    NetworkPolicy::for_deployment(&backend)
        .allow_from(&frontend, [8080])
        .add(&mut s);
    NetworkPolicy::for_deployment(&frontend)
        .allow_from_anywhere([4000])
        .allow_to(&backend, [8080])
        .allow_dns()
        .add(&mut s);

    let tools = Namespace::new("tools").add(DefaultProvider, &mut s);
    let dns_account = ServiceAccount::new("external-dns")
        .namespace(&tools)
        .irsa_role_arn(&role_arn)
        .add(DefaultProvider, &mut s);
    let dns_role = ClusterRole::new("external-dns")
        .rule(PolicyRule::new(
            [""],
            ["services", "endpoints", "pods", "nodes"],
            ["get", "watch", "list"],
        ))
        .rule(PolicyRule::new(
            ["networking.k8s.io"],
            ["ingresses"],
            ["get", "watch", "list"],
        ))
        .add(DefaultProvider, &mut s);
    ClusterRoleBinding::new("external-dns-viewer", &dns_role)
        .subject(&dns_account)
        .add(&mut s);
    let leases = Role::new("external-dns-leases")
        .namespace(&tools)
        .rule(PolicyRule::new(
            ["coordination.k8s.io"],
            ["leases"],
            ["get", "create", "update"],
        ))
        .add(DefaultProvider, &mut s);
    RoleBinding::new("external-dns-leases", &leases)
        .subject(&dns_account)
        .add(&mut s);
    Deployment::new("external-dns")
        .namespace(&tools)
        .image("registry.k8s.io/external-dns/external-dns:v0.15.0")
        .args([
            "--source=service",
            "--provider=aws",
            "--domain-filter=example.com",
        ])
        .service_account(&dns_account)
        .resources(Resources::new().cpu("50m", "200m").memory("64Mi", "128Mi"))
        .add(DefaultProvider, &mut s);

    let typed = k8s_openapi::api::core::v1::ConfigMap {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("typed-settings".into()),
            namespace: Some("tools".into()),
            ..Default::default()
        },
        data: Some([("MODE".to_owned(), "prod".to_owned())].into()),
        ..Default::default()
    };
    Manifest::from_typed(&typed)
        .unwrap()
        .namespace(&tools)
        .add(DefaultProvider, &mut s);
    Manifest::add_all(
        Manifest::from_yaml(
            r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#,
        )
        .unwrap(),
        DefaultProvider,
        &mut s,
    );
    s.finish().expect("the seed program builds")
}

#[test]
fn rendered_manifests_are_valid_kubernetes_1_30_objects() {
    let graph = seed_program();
    let rendered = render(&graph).expect("renders");
    assert_eq!(
        rendered.len(),
        21,
        "{:#?}",
        rendered.iter().map(|r| &r.file_name).collect::<Vec<_>>()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for manifest in &rendered {
        let path = dir.path().join(&manifest.file_name);
        std::fs::write(&path, &manifest.yaml).unwrap();
        files.push(path);
    }
    let output = Command::new(kubernetes_validate())
        .args(["-k", "1.30.0", "--strict"])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubernetes-validate failed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("WARN") && !stdout.contains("ERROR"),
        "{stdout}"
    );
}

#[test]
fn files_come_in_apply_order_with_secrets_masked_and_unknowns_marked() {
    let graph = seed_program();
    let rendered = render(&graph).unwrap();
    let names: Vec<&str> = rendered.iter().map(|r| r.file_name.as_str()).collect();
    let position = |needle: &str| {
        names
            .iter()
            .position(|n| n.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {names:?}"))
    };
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "file names sort in apply order: {names:?}"
    );
    assert!(position("namespace-tools") < position("serviceaccount-tools-external-dns"));
    assert!(
        position("service-default-backend-service")
            < position("configmap-default-frontend-configmap")
    );
    assert!(
        position("deployment-default-backend")
            < position("horizontalpodautoscaler-default-backend")
    );

    let secret = rendered
        .iter()
        .find(|r| r.file_name.contains("secret-default-frontend-session"))
        .unwrap();
    assert!(!secret.yaml.contains("hunter2"), "{}", secret.yaml);
    assert!(
        secret
            .yaml
            .contains("(secret: render with secrets revealed to see it)"),
        "{}",
        secret.yaml
    );
    let revealed = render_with(
        &graph,
        &RenderOptions {
            reveal_secrets: true,
            check: true,
        },
    )
    .unwrap();
    let secret = revealed
        .iter()
        .find(|r| r.file_name.contains("frontend-session"))
        .unwrap();
    assert!(secret.yaml.contains("s3cr3t-hunter2"), "{}", secret.yaml);

    let account = rendered
        .iter()
        .find(|r| r.file_name.contains("serviceaccount-tools-external-dns"))
        .unwrap();
    assert!(
        account
            .yaml
            .contains("eks.amazonaws.com/role-arn: (known after apply)"),
        "{}",
        account.yaml
    );
    let config = rendered
        .iter()
        .find(|r| r.file_name.contains("frontend-configmap"))
        .unwrap();
    assert!(
        config
            .yaml
            .contains("BACKEND_URL: http://backend-service.default.svc.cluster.local:80"),
        "{}",
        config.yaml
    );
    assert!(
        config.yaml.contains("girder.dev/stack: prod"),
        "{}",
        config.yaml
    );
    assert!(
        config.yaml.contains("app.kubernetes.io/managed-by: girder"),
        "{}",
        config.yaml
    );
}

#[test]
fn rendering_refuses_a_miswired_program() {
    let mut s = Stack::new("dev");
    Deployment::new("backend")
        .image("b:1")
        .port(8080)
        .resources(small())
        .add(DefaultProvider, &mut s);
    Service::new("backend-service")
        .selector("app", "backend")
        .port(ServicePort::http(80, 8080))
        .add(DefaultProvider, &mut s);
    let graph = s.finish().unwrap();
    let error = render(&graph).unwrap_err().to_string();
    assert!(
        error.contains("selects pods labelled `app=backend`, but no workload"),
        "{error}"
    );
    let unchecked = render_with(
        &graph,
        &RenderOptions {
            reveal_secrets: false,
            check: false,
        },
    )
    .unwrap();
    assert_eq!(unchecked.len(), 2);
}
