//! Shared helpers: an API emulator with a harness whose Kubernetes package points at it, and
//! the schema validator.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use girder_core::Graph;
use girder_engine::{ApplyReport, Plan, Registry, RetryPolicy};
use girder_k8s::K8sPackage;
use girder_testing::harness::Harness;
use girder_testing::kube::{EmulatorConfig, KubeEmulator};
use girder_testing::sim::SimPackage;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

/// An emulator, its kubeconfig on disk, and a harness applying through it.
pub struct Cluster {
    pub emulator: KubeEmulator,
    pub dir: tempfile::TempDir,
    pub harness: Harness,
}

impl Cluster {
    pub fn start() -> Cluster {
        let emulator = KubeEmulator::start_with(EmulatorConfig {
            rollout_step: Duration::from_millis(20),
            lb_hostname_delay: Duration::from_millis(50),
            ..EmulatorConfig::default()
        })
        .expect("the emulator starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        emulator
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        // What `--kubeconfig PATH` does, without touching the process environment.
        let package = K8sPackage::new()
            .with_kubeconfig_override(&kubeconfig)
            .with_polling(Duration::from_millis(20), Duration::from_millis(200));
        let sim = SimPackage::in_memory();
        let mut harness =
            Harness::with_registry("dev", sim.clone(), Registry::new().with(sim).with(package));
        harness.apply_options.retry = RetryPolicy {
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

    /// The API of a namespaced kind.
    pub async fn api(
        &self,
        (group, version, kind, plural): (&str, &str, &str, &str),
        namespace: &str,
    ) -> Api<DynamicObject> {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        Api::namespaced_with(self.client().await, namespace, &resource)
    }

    /// Plans and applies; panics with the failures if any action failed.
    pub async fn up(&self, graph: &Graph) -> ApplyReport {
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

pub const DEPLOYMENTS: (&str, &str, &str, &str) = ("apps", "v1", "Deployment", "deployments");
pub const SERVICES: (&str, &str, &str, &str) = ("", "v1", "Service", "services");
pub const CONFIG_MAPS: (&str, &str, &str, &str) = ("", "v1", "ConfigMap", "configmaps");

/// Runs `kubernetes-validate -k 1.36.0 --strict` on rendered manifests written to a
/// temporary directory; `$GIRDER_KUBERNETES_VALIDATE` or the workspace's `.venv`. Missing is
/// a failure, not a skip.
pub fn validate(manifests: &[girder_k8s::RenderedManifest]) {
    let validator = girder_testing::tools::kubernetes_validate();
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = manifests
        .iter()
        .map(|manifest| {
            let path = dir.path().join(&manifest.file_name);
            std::fs::write(&path, &manifest.yaml).unwrap();
            path
        })
        .collect();
    let output = Command::new(validator)
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
