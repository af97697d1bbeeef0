//! Rendering: one YAML file per object, in apply order, secrets masked, unknowns marked —
//! and every rendered manifest valid against the official Kubernetes 1.36 schemas
//! (`kubernetes-validate --strict`).

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{seed_program, small};
use girder_core::Stack;
use girder_k8s::dsl::*;
use girder_k8s::{RenderOptions, render, render_with};

/// The `kubernetes-validate` executable: `$GIRDER_KUBERNETES_VALIDATE` or the workspace's
/// `.venv` (installed by `scripts/python-deps.sh`). Missing is a failure, not a skip.
fn kubernetes_validate() -> PathBuf {
    girder_testing::tools::kubernetes_validate()
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
        .args(["-k", "1.36.0", "--strict"])
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
