//! The real `kubectl` against the emulator. These tests fail (they do not skip) when kubectl
//! is not installed: the emulator's promise is that kubectl works against it.

mod common;

use common::kubectl::Kubectl;
use girder_kube_emulator::{EmulatorConfig, KubeEmulator};

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 80
        env:
        - {name: MODE, value: blue}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
"#;

#[test]
fn kubectl_apply_get_and_delete() {
    let emu = KubeEmulator::start().unwrap();
    let k = Kubectl::new(&emu);
    let dir = tempfile::tempdir().unwrap();

    let out = k.apply(dir.path(), "app.yaml", APP, &[]);
    assert!(
        out.contains("deployment.apps/web created") && out.contains("service/web created"),
        "{out}"
    );
    let d = k.json(&["get", "deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert!(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    let svc = k.json(&["get", "service", "web"]);
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.9")
    );

    // Client-side apply of a change sends a strategic merge patch.
    let changed = APP
        .replace("nginx:1.27", "nginx:1.28")
        .replace("value: blue", "value: green");
    let out = k.apply(dir.path(), "app.yaml", &changed, &[]);
    assert!(
        out.contains("deployment.apps/web configured") && out.contains("service/web unchanged"),
        "{out}"
    );
    let d = k.json(&["get", "deployment", "web"]);
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.28");
    assert_eq!(
        container["env"],
        serde_json::json!([{"name": "MODE", "value": "green"}])
    );
    assert_eq!(d["metadata"]["generation"], 2);

    // kubectl waits on a watch for the rollout.
    let out = k.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let pods = k.json(&["get", "pods", "-l", "app=web"]);
    assert_eq!(pods["items"].as_array().unwrap().len(), 2);

    // Server-side apply and its conflicts.
    let out = k.apply(dir.path(), "app.yaml", &changed, &["--server-side"]);
    assert!(out.contains("serverside-applied"), "{out}");
    let scaled = changed.replace("replicas: 2", "replicas: 5");
    let file = dir.path().join("scaled.yaml");
    std::fs::write(&file, &scaled).unwrap();
    let out = k.run(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("conflict with \"kubectl\"") && stderr.contains(".spec.replicas"),
        "{stderr}"
    );

    // Human-readable tables come from server-side printing.
    let table = k.ok(&["get", "deployments"]);
    assert!(table.contains("READY") && table.contains("web"), "{table}");

    // Errors are printed from the Status message.
    let out = k.run(&["get", "deployment", "missing"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("deployments.apps \"missing\" not found")
    );

    let out = k.ok(&[
        "delete",
        "-f",
        dir.path().join("app.yaml").to_str().unwrap(),
    ]);
    assert!(out.contains("deployment.apps \"web\" deleted"), "{out}");
    let left = k.json(&["get", "deployments"]);
    assert!(left["items"].as_array().unwrap().is_empty());
    emu.stop();
}

#[test]
fn kubectl_crd_then_custom_resource() {
    let emu = KubeEmulator::start_with(EmulatorConfig::default()).unwrap();
    let k = Kubectl::new(&emu);
    let dir = tempfile::tempdir().unwrap();
    let crd = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;
    let out = k.apply(dir.path(), "crd.yaml", crd, &[]);
    assert!(out.contains("created"), "{out}");
    let widget =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n";
    let out = k.apply(dir.path(), "w.yaml", widget, &[]);
    assert!(out.contains("widget.example.com/w1 created"), "{out}");
    let w = k.json(&["get", "wd", "w1"]);
    assert_eq!(w["spec"]["size"], 3);
    let out = k.apply(
        dir.path(),
        "w.yaml",
        &widget.replace("size: 3", "size: 4"),
        &[],
    );
    assert!(out.contains("configured"), "{out}");
    assert_eq!(k.json(&["get", "widgets", "w1"])["spec"]["size"], 4);
    let resources = k.ok(&["api-resources", "--api-group=example.com"]);
    assert!(resources.contains("widgets"), "{resources}");
    k.ok(&["delete", "widget", "w1"]);
    k.ok(&["delete", "crd", "widgets.example.com"]);
    assert!(
        k.json(&["get", "crd"])["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    emu.stop();
}
