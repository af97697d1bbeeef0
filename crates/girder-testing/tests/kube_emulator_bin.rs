//! The `kube-emulator` binary: starts on a free port, writes a kubeconfig, serves kubectl,
//! and stops on SIGTERM. Fails (does not skip) when kubectl is missing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
"#;

/// Kills the emulator process when the test ends, even on failure.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubeconfig: &Path, cache: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("kubectl must be installed for this test: {e}"));
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kube_emulator_binary_serves_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let cache = dir.path().join("cache");
    let child = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--port", "0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the kube-emulator binary starts");
    let mut running = Running(child);

    let started = Instant::now();
    while !kubeconfig.exists() {
        if let Ok(Some(status)) = running.0.try_wait() {
            panic!("kube-emulator exited early with {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no kubeconfig after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains("server: http://127.0.0.1:"), "{config}");

    let namespaces: serde_json::Value = serde_json::from_str(&kubectl(
        &kubeconfig,
        &cache,
        &["get", "namespaces", "-o", "json"],
    ))
    .unwrap();
    let names: Vec<&str> = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    assert!(
        names.contains(&"default") && names.contains(&"kube-system"),
        "{names:?}"
    );

    let manifest = dir.path().join("deployment.yaml");
    std::fs::write(&manifest, DEPLOYMENT).unwrap();
    let out = kubectl(
        &kubeconfig,
        &cache,
        &["apply", "-f", manifest.to_str().unwrap()],
    );
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let d: serde_json::Value = serde_json::from_str(&kubectl(
        &kubeconfig,
        &cache,
        &["get", "deployment", "web", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(d["spec"]["replicas"], 1);

    // SIGTERM stops it cleanly.
    let pid = running.0.id().to_string();
    let term = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "kube-emulator ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "clean exit on SIGTERM, got {status}");
}
