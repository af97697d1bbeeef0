//! The Kubernetes provider against the API emulator, through the engine, with the real
//! `kube::Client`: apply, no-op re-apply, update, conflicts, drift, delete, rollout waits
//! and failures, load balancers, CRDs, imports and provider nodes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Cluster, seed_app, seed_graph, seed_program_for, small};
use girder_core::{Output, Stack, Timeouts, Value, WithOptions};
use girder_engine::provider::ProviderError;
use girder_engine::{Registry, StepKind};
use girder_k8s::dsl::*;
use girder_k8s::{K8sPackage, TokenSource};
use girder_testing::harness::Harness;
use girder_testing::sim::SimPackage;
use kube::api::{Patch, PatchParams};
use serde_json::json;

fn field<'a>(object: &'a serde_json::Value, pointer: &str) -> &'a serde_json::Value {
    object.pointer(pointer).unwrap_or(&serde_json::Value::Null)
}

async fn live(cluster: &Cluster, name: &str) -> serde_json::Value {
    serde_json::to_value(
        cluster
            .deployments()
            .await
            .get(name)
            .await
            .expect("the deployment exists"),
    )
    .unwrap()
}

#[tokio::test]
async fn apply_waits_for_the_rollout_and_reapplying_changes_nothing() {
    let cluster = Cluster::start();
    let graph = seed_graph("ghcr.io/acme/backend:1.4", 2);

    let started = Instant::now();
    let report = cluster.up(&graph).await;
    let took = started.elapsed();
    eprintln!(
        "apply of the seed app ({} objects) took {took:?}",
        report.succeeded.len()
    );
    assert_eq!(report.succeeded.len(), 4, "{:?}", report.succeeded);

    // The rollout finished before apply returned.
    let backend = live(&cluster, "backend").await;
    assert_eq!(field(&backend, "/status/availableReplicas"), 2);
    assert_eq!(field(&backend, "/status/updatedReplicas"), 2);
    assert_eq!(
        field(&backend, "/metadata/labels/app.kubernetes.io~1managed-by"),
        "girder"
    );
    assert_eq!(
        field(&backend, "/metadata/annotations/girder.dev~1resource"),
        "deployment/default/backend"
    );
    let managers: Vec<&str> = field(&backend, "/metadata/managedFields")
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"girder"), "{managers:?}");
    // Secure defaults reached the cluster.
    let container = field(&backend, "/spec/template/spec/containers/0");
    assert_eq!(container["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );

    // The ConfigMap holds the Service's typed URL, and the frontend reads it by reference.
    let config = cluster
        .api("", "v1", "ConfigMap", "configmaps", "default")
        .await
        .get("frontend-configmap")
        .await
        .unwrap();
    assert_eq!(
        config.data["data"]["BACKEND_URL"],
        "http://backend-service.default.svc.cluster.local:80"
    );
    let frontend = live(&cluster, "frontend").await;
    assert_eq!(
        field(
            &frontend,
            "/spec/template/spec/containers/0/env/0/valueFrom/configMapKeyRef"
        ),
        &json!({"name": "frontend-configmap", "key": "BACKEND_URL"})
    );
    let service = cluster
        .api("", "v1", "Service", "services", "default")
        .await
        .get("backend-service")
        .await
        .unwrap();
    assert_eq!(service.data["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(
        service.data["spec"]["selector"],
        json!({"app.kubernetes.io/name": "backend"})
    );

    let plan = cluster.plan(&graph).await;
    let changed: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.is_change())
        .map(|s| (&s.resource, s.kind, &s.diffs))
        .collect();
    assert!(
        !plan.has_changes(),
        "re-applying the same program changes nothing: {changed:#?}"
    );
}

#[tokio::test]
async fn update_applies_the_new_image_and_waits_for_the_new_rollout() {
    let cluster = Cluster::start();
    cluster.up(&seed_graph("ghcr.io/acme/backend:1.4", 2)).await;
    let v2 = seed_graph("ghcr.io/acme/backend:1.5", 2);
    let plan = cluster.plan(&v2).await;
    let step = plan.step("deployment/default/backend").unwrap();
    assert_eq!(step.kind, StepKind::Update);
    assert_eq!(step.diffs.len(), 1, "{:#?}", step.diffs);
    assert_eq!(
        step.diffs[0].path.to_string(),
        "spec.template.spec.containers[0].image"
    );
    assert_eq!(plan.summary().update, 1, "only the backend changes");

    let report = cluster.harness.apply(&v2, plan).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let backend = live(&cluster, "backend").await;
    assert_eq!(
        field(&backend, "/spec/template/spec/containers/0/image"),
        "ghcr.io/acme/backend:1.5"
    );
    assert_eq!(field(&backend, "/metadata/generation"), 2);
    assert_eq!(field(&backend, "/status/observedGeneration"), 2);
    assert_eq!(field(&backend, "/status/updatedReplicas"), 2);
    assert_eq!(field(&backend, "/status/replicas"), 2, "old pods are gone");
    assert!(!cluster.plan(&v2).await.has_changes());
}

#[tokio::test]
async fn drift_from_kubectl_scale_shows_and_a_conflict_names_the_manager() {
    let cluster = Cluster::start();
    let graph = seed_graph("ghcr.io/acme/backend:1.4", 2);
    cluster.up(&graph).await;

    // Someone scales the deployment by hand, with the real kubectl.
    let kubeconfig = cluster.dir.path().join("kubeconfig.yaml");
    let output = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "scale",
            "deployment",
            "backend",
            "--replicas=5",
        ])
        .output()
        .expect("kubectl must be installed for this test (/usr/bin/kubectl)");
    assert!(
        output.status.success(),
        "kubectl scale: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The plan shows the drift: girder wants 2 again.
    let plan = cluster.plan(&graph).await;
    let step = plan.step("deployment/default/backend").unwrap();
    assert_eq!(step.kind, StepKind::Update);
    let diff = &step.diffs[0];
    assert_eq!(diff.path.to_string(), "spec.replicas");
    assert_eq!(diff.before, Some(Value::from(5)));
    assert_eq!(diff.after, Some(Value::from(2)));
    assert_eq!(plan.summary().update, 1);

    // kubectl now owns .spec.replicas: applying without force is refused, naming it.
    let report = cluster.harness.apply(&graph, plan).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    let error = &report.failed[0].error;
    assert!(
        error.contains("conflicts with other field managers"),
        "{error}"
    );
    assert!(error.contains(".spec.replicas"), "{error}");
    assert!(error.contains("kubectl"), "{error}");
    assert!(error.contains(".force_conflicts()"), "{error}");

    // Opting in takes the field back.
    let mut s = Stack::new("dev");
    Deployment::new("backend")
        .image("ghcr.io/acme/backend:1.4")
        .port(8080)
        .replicas(2)
        .resources(small())
        .force_conflicts()
        .add(DefaultProvider, &mut s);
    let forced = s.finish().unwrap();
    let report = cluster.harness.up(&forced).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(field(&live(&cluster, "backend").await, "/spec/replicas"), 2);
}

#[tokio::test]
async fn conflict_with_another_appliers_field_is_reported_with_the_fix() {
    let cluster = Cluster::start();
    cluster.up(&seed_graph("ghcr.io/acme/backend:1.4", 2)).await;
    // Another tool server-side-applies the image.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend"},
        "spec": {"template": {"spec": {"containers": [{"name": "backend", "image": "ghcr.io/acme/backend:hotfix"}]}}}});
    cluster
        .deployments()
        .await
        .patch(
            "backend",
            &PatchParams::apply("argocd").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    let report = cluster
        .harness
        .up(&seed_graph("ghcr.io/acme/backend:1.5", 2))
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1, "{:#?}", report.failed);
    let error = &report.failed[0].error;
    assert!(error.contains("argocd"), "{error}");
    assert!(error.contains("image"), "{error}");
    assert!(error.contains("Deployment default/backend"), "{error}");
}

#[tokio::test]
async fn destroy_deletes_in_the_foreground_and_waits_until_gone() {
    let cluster = Cluster::start();
    let graph = seed_graph("ghcr.io/acme/backend:1.4", 2);
    cluster.up(&graph).await;
    let report = cluster.harness.destroy(&graph).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.succeeded.len(), 4);
    assert_eq!(cluster.harness.snapshot().resource_count(), 0);
    let client = cluster.client().await;
    for (group, kind, plural) in [
        ("apps", "Deployment", "deployments"),
        ("apps", "ReplicaSet", "replicasets"),
        ("", "Pod", "pods"),
        ("", "Service", "services"),
    ] {
        let api = cluster.api(group, "v1", kind, plural, "default").await;
        let left = api.list(&Default::default()).await.unwrap();
        let names: Vec<_> = left
            .items
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .filter(|n| n != "kubernetes")
            .collect();
        assert!(names.is_empty(), "{kind}s left after destroy: {names:?}");
    }
    drop(client);
}

#[tokio::test]
async fn a_failing_rollout_shows_the_conditions_and_the_pods_reasons() {
    let cluster = Cluster::start();
    let mut s = Stack::new("dev");
    Deployment::new("backend")
        .image("ghcr.io/acme/never-ready:1.0")
        .port(8080)
        .replicas(2)
        .progress_deadline_seconds(30)
        .resources(small())
        .add(DefaultProvider, &mut s);
    let graph = s.finish().unwrap();
    let report = cluster.harness.up(&graph).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    let error = &report.failed[0].error;
    eprintln!("{error}");
    assert!(
        error.contains("rollout of Deployment default/backend did not complete"),
        "{error}"
    );
    assert!(error.contains("ProgressDeadlineExceeded"), "{error}");
    assert!(error.contains("ImagePullBackOff"), "{error}");
    assert!(error.contains("never-ready"), "{error}");
    assert!(
        error.contains("fix: check the image name and tag"),
        "{error}"
    );
    // The object exists: the engine keeps it as tainted, so the next plan replaces it.
    let state = cluster.harness.snapshot();
    assert!(state.resources["deployment/default/backend"].tainted);
    let plan = cluster.plan(&graph).await;
    assert_eq!(
        plan.step("deployment/default/backend").unwrap().kind,
        StepKind::Replace
    );
}

#[tokio::test]
async fn a_rollout_that_outlives_its_time_limit_says_why() {
    let cluster = Cluster::start();
    let mut s = Stack::new("dev");
    Deployment::new("backend")
        .image("ghcr.io/acme/never-ready:1.0")
        .port(8080)
        .resources(small())
        .timeouts(Timeouts {
            create: Some(Duration::from_secs(3)),
            ..Timeouts::default()
        })
        .add(DefaultProvider, &mut s);
    let report = cluster.harness.up(&s.finish().unwrap()).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    let error = &report.failed[0].error;
    assert!(
        error.contains("still progressing when the time limit ran out"),
        "{error}"
    );
    assert!(error.contains("ImagePullBackOff"), "{error}");
    assert!(error.contains("raise the time limit"), "{error}");
}

#[tokio::test]
async fn a_load_balancer_address_is_waited_for_and_exported() {
    let cluster = Cluster::start();
    let mut s = Stack::new("dev");
    let (backend, _, frontend) = seed_app(&mut s, "ghcr.io/acme/backend:1.4", 1);
    let public = frontend
        .expose(ServicePort::http(80, 3000))
        .name("frontend-service")
        .load_balancer()
        .wait_for_address()
        .external_dns_hostname("app.example.com")
        .add(&mut s);
    s.export("url", public.load_balancer_hostname());
    let _ = backend;
    let graph = s.finish().unwrap();
    let report = cluster.up(&graph).await;
    let hostname = report.outputs["url"].as_str().unwrap().to_owned();
    assert!(hostname.starts_with("frontend-service-"), "{hostname}");
    assert!(
        hostname.ends_with(".default.lb.girder-emulator.invalid"),
        "{hostname}"
    );
    assert!(!cluster.plan(&graph).await.has_changes());
}

#[tokio::test]
async fn raw_yaml_applies_a_crd_before_its_custom_resources() {
    let cluster = Cluster::start();
    let yaml = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 3
---
apiVersion: v1
kind: Namespace
metadata:
  name: tools
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
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
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: tool-settings
  namespace: tools
data:
  MODE: dev
"#;
    let mut s = Stack::new("dev");
    let handles = Manifest::add_all(Manifest::from_yaml(yaml).unwrap(), DefaultProvider, &mut s);
    assert_eq!(handles.len(), 4);
    let graph = s.finish().unwrap();
    cluster.up(&graph).await;
    let widget = cluster
        .api("example.com", "v1", "Widget", "widgets", "default")
        .await
        .get("w1")
        .await
        .unwrap();
    assert_eq!(widget.data["spec"]["size"], 3);
    assert!(!cluster.plan(&graph).await.has_changes());
    let report = cluster.harness.destroy(&graph).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
}

#[tokio::test]
async fn secrets_round_trip_without_drift_and_stay_masked() {
    let cluster = Cluster::start();
    let mut s = Stack::new("dev");
    let secret = Secret::new("db")
        .string_data("password", Output::known_secret("hunter2".to_owned()))
        .add(DefaultProvider, &mut s);
    Deployment::new("api")
        .image("ghcr.io/acme/api:1")
        .env_from_key("DB_PASSWORD", secret.key("password"))
        .resources(small())
        .add(DefaultProvider, &mut s);
    let graph = s.finish().unwrap();
    cluster.up(&graph).await;
    let live = cluster
        .api("", "v1", "Secret", "secrets", "default")
        .await
        .get("db")
        .await
        .unwrap();
    assert_eq!(live.data["data"]["password"], "aHVudGVyMg==");
    let plan = cluster.plan(&graph).await;
    assert!(
        !plan.has_changes(),
        "{:#?}",
        plan.steps.iter().map(|s| &s.diffs).collect::<Vec<_>>()
    );
    let recorded = &cluster.harness.snapshot().resources["secret/default/db"];
    assert!(!recorded.inputs.display().to_string().contains("hunter2"));
}

#[tokio::test]
async fn create_refuses_a_foreign_object_and_import_adopts_it() {
    let cluster = Cluster::start();
    let configs = cluster
        .api("", "v1", "ConfigMap", "configmaps", "default")
        .await;
    let existing = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "legacy"}, "data": {"MODE": "old"}});
    configs
        .patch(
            "legacy",
            &PatchParams::apply("kubectl"),
            &Patch::Apply(&existing),
        )
        .await
        .unwrap();

    let build = |import: bool| {
        let mut s = Stack::new("dev");
        let config = ConfigMap::new("legacy").data("MODE", "new");
        // Adopting takes over the fields kubectl set, which needs `force_conflicts`.
        let config = if import {
            config.import("default/legacy").force_conflicts()
        } else {
            config
        };
        config.add(DefaultProvider, &mut s);
        s.finish().unwrap()
    };
    let report = cluster.harness.up(&build(false)).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    let error = &report.failed[0].error;
    assert!(
        error.contains("already exists and was not created by this stack"),
        "{error}"
    );
    assert!(error.contains(".import(\"default/legacy\")"), "{error}");

    let graph = build(true);
    let plan = cluster.plan(&graph).await;
    assert_eq!(
        plan.step("configmap/default/legacy").unwrap().kind,
        StepKind::Import
    );
    let report = cluster.harness.apply(&graph, plan).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    // The import read the object, then brought it in line with the program in the same run.
    let adopted = configs.get("legacy").await.unwrap();
    assert_eq!(adopted.data["data"]["MODE"], "new");
    assert_eq!(
        adopted.metadata.annotations.unwrap()["girder.dev/resource"],
        "configmap/default/legacy"
    );
    assert!(!cluster.plan(&graph).await.has_changes());
}

struct CountingTokens(AtomicUsize);

#[async_trait::async_trait]
impl TokenSource for CountingTokens {
    async fn token(&self, auth: &serde_json::Value) -> Result<String, ProviderError> {
        assert_eq!(auth["cluster"], "yolo");
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok("token-for-yolo".into())
    }
}

#[tokio::test]
async fn provider_nodes_configure_from_a_kubeconfig_or_a_cluster_with_a_token_source() {
    let cluster = Cluster::start();
    let kubeconfig = cluster.dir.path().join("kubeconfig.yaml");
    let tokens = Arc::new(CountingTokens(AtomicUsize::new(0)));
    // No override here: each provider node is configured from its own inputs.
    let package = K8sPackage::new()
        .with_token_source("test-eks", tokens.clone())
        .with_polling(Duration::from_millis(20), Duration::from_millis(200));
    let sim = SimPackage::in_memory();
    let harness =
        Harness::with_registry("dev", sim.clone(), Registry::new().with(sim).with(package));

    let mut s = Stack::new("dev");
    let from_file = Kubernetes::from_kubeconfig(kubeconfig.to_str().unwrap())
        .context("girder-emulator")
        .add(&mut s);
    let endpoint: Output<String> = Output::known(cluster.emulator.url());
    let from_cluster = Kubernetes::cluster(&endpoint, "")
        .auth(json!({"kind": "test-eks", "cluster": "yolo", "region": "eu-west-1"}))
        .named("eks")
        .add(&mut s);
    ConfigMap::new("a").data("K", "1").add(&from_file, &mut s);
    ConfigMap::new("b")
        .data("K", "2")
        .add(&from_cluster, &mut s);
    let graph = s.finish().unwrap();
    let report = harness.up(&graph).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert!(
        tokens.0.load(Ordering::SeqCst) >= 1,
        "the token source was asked"
    );
    let configs = cluster
        .api("", "v1", "ConfigMap", "configmaps", "default")
        .await;
    assert!(configs.get_opt("a").await.unwrap().is_some());
    assert!(configs.get_opt("b").await.unwrap().is_some());
    assert!(!harness.plan(&graph).await.unwrap().has_changes());
}

#[tokio::test]
async fn the_seeds_whole_kubernetes_side_applies_converges_and_is_destroyed() {
    let cluster = Cluster::start();
    let graph = seed_program_for("dev");
    let started = Instant::now();
    let report = cluster.up(&graph).await;
    eprintln!(
        "apply of the seed's Kubernetes side ({} resources) took {:?}",
        report.succeeded.len(),
        started.elapsed()
    );
    // The IRSA annotation carries the role's ARN, known only after the role was created.
    let account = cluster
        .api("", "v1", "ServiceAccount", "serviceaccounts", "tools")
        .await
        .get("external-dns")
        .await
        .unwrap();
    let arn = &account.metadata.annotations.unwrap()["eks.amazonaws.com/role-arn"];
    assert!(
        arn.starts_with("arn:aws:iam::123456789012:role/sim-"),
        "{arn}"
    );
    let hpa = cluster
        .api(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "default",
        )
        .await
        .get("backend")
        .await
        .unwrap();
    assert_eq!(hpa.data["spec"]["metrics"][1]["resource"]["name"], "memory");
    let started = Instant::now();
    let plan = cluster.plan(&graph).await;
    eprintln!(
        "refresh and plan of the converged seed took {:?}",
        started.elapsed()
    );
    let changed: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.is_change())
        .map(|s| (&s.resource, &s.diffs))
        .collect();
    assert!(!plan.has_changes(), "{changed:#?}");
    let started = Instant::now();
    let report = cluster.harness.destroy(&graph).await.unwrap();
    eprintln!("destroy took {:?}", started.elapsed());
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let all: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(cluster.client().await);
    assert!(
        all.get_opt("tools").await.unwrap().is_none(),
        "the namespace is gone"
    );
}

#[tokio::test]
async fn find_locates_objects_by_their_identity_marks() {
    use girder_engine::provider::{CallContext, FindRequest, ProviderPackage, ResourceIdentity};
    let cluster = Cluster::start();
    cluster.up(&seed_graph("ghcr.io/acme/backend:1.4", 1)).await;
    let package =
        K8sPackage::new().with_kubeconfig_override(cluster.dir.path().join("kubeconfig.yaml"));
    let provider = package.configure(&girder_core::Value::Null).await.unwrap();
    let identity = |name: &str, type_name: &str| ResourceIdentity {
        stack: "dev".into(),
        name: name.into(),
        type_name: type_name.into(),
    };
    let ctx = CallContext::detached(Duration::from_secs(10));
    let found = provider
        .find(
            FindRequest {
                identity: identity("deployment/default/backend", "k8s:apps/v1:Deployment"),
            },
            &ctx,
        )
        .await
        .unwrap()
        .found;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "default/backend");
    assert_eq!(
        found[0]
            .observed
            .inputs
            .lookup(&"spec.template.spec.containers[0].image".parse().unwrap()),
        Some(Value::from("ghcr.io/acme/backend:1.4"))
    );
    let other_stack = ResourceIdentity {
        stack: "prod".into(),
        ..identity("deployment/default/backend", "k8s:apps/v1:Deployment")
    };
    assert!(
        provider
            .find(
                FindRequest {
                    identity: other_stack
                },
                &ctx
            )
            .await
            .unwrap()
            .found
            .is_empty()
    );
}

#[tokio::test]
async fn fields_the_program_stops_setting_are_removed() {
    let cluster = Cluster::start();
    let build = |keys: &[(&str, &str)]| {
        let mut s = Stack::new("dev");
        let mut config = ConfigMap::new("settings");
        for (key, value) in keys {
            config = config.data(*key, *value);
        }
        config.label("tier", "web").add(DefaultProvider, &mut s);
        s.finish().unwrap()
    };
    cluster.up(&build(&[("A", "1"), ("B", "2")])).await;
    let smaller = build(&[("A", "1")]);
    let plan = cluster.plan(&smaller).await;
    let step = plan.step("configmap/default/settings").unwrap();
    assert_eq!(step.kind, StepKind::Update);
    assert_eq!(step.diffs[0].path.to_string(), "data.B");
    assert_eq!(step.diffs[0].after, None);
    let report = cluster.harness.apply(&smaller, plan).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let live = cluster
        .api("", "v1", "ConfigMap", "configmaps", "default")
        .await
        .get("settings")
        .await
        .unwrap();
    assert_eq!(live.data["data"], json!({"A": "1"}));
    assert_eq!(live.metadata.labels.unwrap()["tier"], "web");
    assert!(!cluster.plan(&smaller).await.has_changes());
}

#[tokio::test]
async fn changed_configuration_rolls_the_pods_that_read_it() {
    let cluster = Cluster::start();
    let build = |level: &str| {
        let mut s = Stack::new("dev");
        let config = ConfigMap::new("settings")
            .data("LOG_LEVEL", level)
            .add(DefaultProvider, &mut s);
        Deployment::new("api")
            .image("ghcr.io/acme/api:1")
            .env_from_key("LOG_LEVEL", config.key("LOG_LEVEL"))
            .resources(small())
            .add(DefaultProvider, &mut s);
        s.finish().unwrap()
    };
    cluster.up(&build("info")).await;
    let before = live(&cluster, "api").await;
    let annotation = "/spec/template/metadata/annotations/checksum.girder.dev~1configmap-settings";
    assert_eq!(field(&before, annotation).as_str().map(str::len), Some(16));

    let debug = build("debug");
    let plan = cluster.plan(&debug).await;
    let step = plan.step("deployment/default/api").unwrap();
    assert_eq!(
        step.kind,
        StepKind::Update,
        "the new data changes the pod template"
    );
    assert_eq!(
        step.diffs[0].path.to_string(),
        "spec.template.metadata.annotations[\"checksum.girder.dev/configmap-settings\"]"
    );
    cluster.harness.apply(&debug, plan).await.unwrap();
    let after = live(&cluster, "api").await;
    assert_ne!(field(&after, annotation), field(&before, annotation));
    assert_eq!(field(&after, "/metadata/generation"), 2, "a new rollout");
    assert_eq!(field(&after, "/status/updatedReplicas"), 1);
    assert!(!cluster.plan(&debug).await.has_changes());
}

/// Hands out `refused-token` first (what an expired EKS token looks like to the API server),
/// then `fresh-token`, or only refused ones when `always_refused`.
struct ExpiringTokens {
    fetched: AtomicUsize,
    always_refused: bool,
}

#[async_trait::async_trait]
impl TokenSource for ExpiringTokens {
    async fn token(&self, _auth: &serde_json::Value) -> Result<String, ProviderError> {
        let n = self.fetched.fetch_add(1, Ordering::SeqCst);
        Ok(if n == 0 || self.always_refused {
            format!("refused-token-{n}")
        } else {
            "fresh-token".into()
        })
    }
}

/// An HTTPS emulator that knows only `fresh-token`, and a harness whose provider node takes
/// tokens from `tokens` and does not retry failed calls (so only the provider's own token
/// refresh can rescue a call).
fn token_checking_cluster(
    tokens: Arc<ExpiringTokens>,
) -> (
    girder_testing::kube::KubeEmulator,
    Harness,
    girder_core::Graph,
) {
    use girder_testing::kube::{Authentication, KubeEmulator, StaticTokens, UserInfo};
    let emulator = KubeEmulator::builder()
        .https()
        .authentication(Authentication::Tokens(
            StaticTokens::new().token("fresh-token", UserInfo::cluster_admin()),
        ))
        .start()
        .expect("the emulator starts");
    let package = K8sPackage::new()
        .with_token_source("expiring", tokens)
        .with_polling(Duration::from_millis(20), Duration::from_millis(200));
    let sim = SimPackage::in_memory();
    let mut harness =
        Harness::with_registry("dev", sim.clone(), Registry::new().with(sim).with(package));
    harness.apply_options.retry = girder_engine::RetryPolicy {
        max_attempts: 1,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
    };
    let ca = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(emulator.ca_pem().expect("https"))
    };
    let mut s = Stack::new("dev");
    let endpoint: Output<String> = Output::known(emulator.url());
    let cluster = Kubernetes::cluster(&endpoint, Output::known(ca))
        .auth(json!({"kind": "expiring", "cluster": "yolo"}))
        .named("eks")
        .add(&mut s);
    ConfigMap::new("settings")
        .data("MODE", "1")
        .add(&cluster, &mut s);
    (emulator, harness, s.finish().unwrap())
}

#[tokio::test]
async fn a_refused_token_is_renewed_and_the_call_retried_once() {
    let tokens = Arc::new(ExpiringTokens {
        fetched: AtomicUsize::new(0),
        always_refused: false,
    });
    let (emulator, harness, graph) = token_checking_cluster(tokens.clone());
    let report = harness.up(&graph).await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(
        tokens.fetched.load(Ordering::SeqCst),
        2,
        "the refused token was replaced exactly once"
    );
    // The fresh token is kept: a re-plan reads with it and asks for no other.
    assert!(!harness.plan(&graph).await.unwrap().has_changes());
    assert_eq!(tokens.fetched.load(Ordering::SeqCst), 2);
    emulator.stop();
}

#[tokio::test]
async fn a_token_refused_twice_fails_the_call_with_the_servers_answer() {
    let tokens = Arc::new(ExpiringTokens {
        fetched: AtomicUsize::new(0),
        always_refused: true,
    });
    let (emulator, harness, graph) = token_checking_cluster(tokens.clone());
    let report = harness.up(&graph).await.unwrap();
    let failure = format!("{:?}", report.failed);
    assert_eq!(report.failed.len(), 1, "{failure}");
    assert!(
        failure.contains("credentials were refused"),
        "the error says what was refused and where to look: {failure}"
    );
    assert_eq!(
        tokens.fetched.load(Ordering::SeqCst),
        2,
        "one renewal, not a loop"
    );
    emulator.stop();
}
