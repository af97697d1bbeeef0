//! Shared helpers: an emulator, a harness whose Kubernetes package points at it, a kube
//! client for looking at (and tampering with) the live objects, and the seed's workload.
#![allow(dead_code)]

use std::time::Duration;

use girder_core::{Graph, Stack};
use girder_engine::{Plan, Registry};
use girder_k8s::K8sPackage;
use girder_k8s::dsl::*;
use girder_testing::harness::Harness;
use girder_testing::kube::{EmulatorConfig, KubeEmulator};
use girder_testing::sim::SimPackage;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

/// An emulator, its kubeconfig on disk, and a harness using it.
pub struct Cluster {
    pub emulator: KubeEmulator,
    pub dir: tempfile::TempDir,
    pub harness: Harness,
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
        let emulator = KubeEmulator::start_with(config).expect("the emulator starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        emulator
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        // Exactly what `--kubeconfig PATH` / GIRDER_KUBECONFIG does, without touching the
        // process environment (tests run in parallel).
        let package = K8sPackage::new()
            .with_kubeconfig_override(&kubeconfig)
            .with_polling(Duration::from_millis(20), Duration::from_millis(200));
        let sim = SimPackage::in_memory();
        let mut harness =
            Harness::with_registry("dev", sim.clone(), Registry::new().with(sim).with(package));
        harness.apply_options.retry = girder_engine::RetryPolicy {
            max_attempts: 3,
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        };
        Cluster {
            emulator,
            dir,
            harness,
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
