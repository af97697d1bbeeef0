//! Shared helpers: an emulator, a harness whose Kubernetes package points at it, a kube
//! client for looking at (and tampering with) the live objects, and the seed's workload.
#![allow(dead_code)]

use std::time::Duration;

use girder_core::{Graph, Output, Stack};
use girder_engine::{Plan, Registry};
use girder_k8s::K8sPackage;
use girder_k8s::dsl::*;
use girder_testing::harness::Harness;
use girder_testing::kube::{EmulatorConfig, KubeEmulator};
use girder_testing::sim::{SimPackage, SimResource};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

/// An emulator, its kubeconfig on disk, and a harness using it.
pub struct Cluster {
    pub emulator: KubeEmulator,
    pub dir: tempfile::TempDir,
    pub harness: Harness,
    /// A clone of the package in the harness's registry: it shares the read counter.
    pub package: K8sPackage,
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with(EmulatorConfig {
            rollout_step: Duration::from_millis(20),
            lb_hostname_delay: Duration::from_millis(50),
            ..EmulatorConfig::default()
        })
    }

    pub fn start_with(config: EmulatorConfig) -> Cluster {
        Cluster::start_with_package(config, |package| package)
    }

    /// [`Cluster::start_with`] with the Kubernetes package adjusted by `adjust` (a page size,
    /// say).
    pub fn start_with_package(
        config: EmulatorConfig,
        adjust: impl FnOnce(K8sPackage) -> K8sPackage,
    ) -> Cluster {
        let emulator = KubeEmulator::start_with(config).expect("the emulator starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        emulator
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        // Exactly what `--kubeconfig PATH` / GIRDER_KUBECONFIG does, without touching the
        // process environment (tests run in parallel).
        let package = adjust(
            K8sPackage::new()
                .with_kubeconfig_override(&kubeconfig)
                .with_polling(Duration::from_millis(20), Duration::from_millis(200)),
        );
        let sim = SimPackage::in_memory();
        let mut harness = Harness::with_registry(
            "dev",
            sim.clone(),
            Registry::new().with(sim).with(package.clone()),
        );
        harness.apply_options.retry = girder_engine::RetryPolicy {
            max_attempts: 3,
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        };
        Cluster {
            emulator,
            dir,
            harness,
            package,
        }
    }

    pub async fn client(&self) -> kube::Client {
        let kubeconfig =
            kube::config::Kubeconfig::from_yaml(&self.emulator.kubeconfig_yaml()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    pub async fn api(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespace: &str,
    ) -> Api<DynamicObject> {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        Api::namespaced_with(self.client().await, namespace, &resource)
    }

    pub async fn deployments(&self) -> Api<DynamicObject> {
        self.api("apps", "v1", "Deployment", "deployments", "default")
            .await
    }

    /// Plans and applies; panics with the failures if any action failed.
    pub async fn up(&self, graph: &Graph) -> girder_engine::ApplyReport {
        let report = self.harness.up(graph).await.expect("plan and apply");
        assert!(
            report.failed.is_empty(),
            "apply failed: {:#?}",
            report.failed
        );
        report
    }

    pub async fn plan(&self, graph: &Graph) -> Plan {
        self.harness.plan(graph).await.expect("a plan")
    }
}

pub fn small() -> Resources {
    Resources::new().cpu("100m", "500m").memory("64Mi", "128Mi")
}

/// The seed's application, wired the typed way: backend behind `backend-service`, the
/// frontend reading `BACKEND_URL` from `frontend-configmap`, which holds the Service's URL.
pub fn seed_app(
    s: &mut Stack,
    backend_image: &str,
    replicas: u32,
) -> (DeploymentHandle, ServiceHandle, DeploymentHandle) {
    let backend = Deployment::new("backend")
        .image(backend_image)
        .port(8080)
        .replicas(replicas)
        .resources(small())
        .add(DefaultProvider, s);
    let service = backend
        .expose(ServicePort::http(80, 8080))
        .name("backend-service")
        .add(s);
    let config = ConfigMap::new("frontend-configmap")
        .data("BACKEND_URL", service.url())
        .add(DefaultProvider, s);
    let frontend = Deployment::new("frontend")
        .image("ghcr.io/acme/frontend:2.0")
        .port(3000)
        .env_from_key("BACKEND_URL", config.key("BACKEND_URL"))
        .resources(small())
        .writable_dir("/tmp")
        .add(DefaultProvider, s);
    (backend, service, frontend)
}

pub fn seed_graph(backend_image: &str, replicas: u32) -> Graph {
    let mut s = Stack::new("dev");
    seed_app(&mut s, backend_image, replicas);
    s.finish().expect("the seed program builds")
}

/// The seed's whole Kubernetes side: the app, its autoscalers, budgets and policies,
/// external-dns with IRSA and RBAC, a namespace of tools and a CRD.
pub fn seed_program() -> girder_core::Graph {
    seed_program_for("prod")
}

/// [`seed_program`] in stack `stack`.
pub fn seed_program_for(stack: &str) -> girder_core::Graph {
    let mut s = Stack::new(stack);
    // An AWS role of the program (simulated here): its ARN is only known after apply.
    let role = SimResource::new("external-dns-role").add(&mut s);
    let role_arn: Output<String> = role
        .id()
        .map(|id| format!("arn:aws:iam::123456789012:role/{id}"));

    let backend = Deployment::new("backend")
        .image("ghcr.io/acme/backend:1.4")
        .port(8080)
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
