//! Shared helpers of the integration tests.
#![allow(dead_code)]

pub mod aws;
pub mod kubectl;

use std::time::{Duration, Instant};

use girder_kube_emulator::{EmulatorConfig, KubeEmulator};
use kube::Client;
use serde_json::{Value, json};

/// A kube client for the emulator, built from its kubeconfig (as a user would).
pub async fn client(emulator: &KubeEmulator) -> Client {
    client_from_kubeconfig(&emulator.kubeconfig_yaml()).await
}

/// A kube client from a kubeconfig.
pub async fn client_from_kubeconfig(yaml: &str) -> Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(yaml).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("kube config from kubeconfig");
    Client::try_from(config).expect("client")
}

/// An emulator with fast timings for tests.
pub fn fast_emulator() -> KubeEmulator {
    KubeEmulator::start_with(EmulatorConfig {
        rollout_step: Duration::from_millis(20),
        lb_hostname_delay: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .expect("emulator starts")
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A Deployment manifest.
pub fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
}

/// The `kube::Error::Api` status of a failed call.
pub fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}
