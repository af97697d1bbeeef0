//! The app, with the cluster add-ons, applied through the engine against the Kubernetes API
//! emulator with the real `kube::Client`: rollouts complete, `BACKEND_URL` names the backend
//! Service and one of its ports, a re-plan is empty, an image change is a one-resource
//! update, and destroy leaves nothing.

mod common;

use std::time::{Duration, Instant};

use common::{CONFIG_MAPS, Cluster, DEPLOYMENTS, SERVICES};
use girder_core::{Graph, Stack};
use girder_engine::StepKind;
use girder_k8s::addons::{ClusterAutoscaler, ExternalDns, MetricsServer};
use girder_k8s::dsl::DefaultProvider;
use serde_json::{Value, json};
use yolo_app::{BackendValues, FrontendValues, YoloApp, YoloAppValues};

/// The seed's Kubernetes side: the three add-ons and the app in namespace `shop`.
fn seed(backend_image: &str) -> Graph {
    let mut s = Stack::new("dev");
    let metrics = MetricsServer::new().add(DefaultProvider, &mut s);
    ClusterAutoscaler::new("yolo")
        .region("us-east-1")
        .role_arn("arn:aws:iam::123456789012:role/yolo-cluster-autoscaler")
        .scale_down_unneeded(Duration::from_secs(10 * 60))
        .add(DefaultProvider, &mut s);
    ExternalDns::new()
        .domain_filter("example.com")
        .txt_owner_id("yolo")
        .role_arn("arn:aws:iam::123456789012:role/yolo-external-dns")
        .add(DefaultProvider, &mut s);
    let values = YoloAppValues::builder()
        .namespace("shop")
        .create_namespace()
        .frontend(
            FrontendValues::builder()
                .hostname("shop.example.com")
                .build(),
        )
        .backend(BackendValues::builder().image(backend_image).build())
        .build();
    YoloApp::new(values)
        .depends_on(&metrics)
        .add(DefaultProvider, &mut s);
    s.finish().expect("the seed builds")
}

fn available(deployment: &Value) -> bool {
    let status = &deployment["status"];
    let wanted = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    status["observedGeneration"] == deployment["metadata"]["generation"]
        && status["updatedReplicas"].as_i64() == Some(wanted)
        && status["availableReplicas"].as_i64() == Some(wanted)
        && status["replicas"].as_i64() == Some(wanted)
}

#[tokio::test]
async fn the_app_and_the_addons_apply_roll_out_and_wire_backend_url_to_the_backend_service() {
    let cluster = Cluster::start();
    let graph = seed("ghcr.io/acme/backend:1.4");

    let started = Instant::now();
    let report = cluster.up(&graph).await;
    let took = started.elapsed();
    eprintln!(
        "apply of the add-ons and the app ({} objects) against the emulator took {took:?}",
        report.succeeded.len()
    );
    assert_eq!(report.succeeded.len(), graph.len());

    // Every rollout completed before the apply returned.
    for (namespace, name) in [
        ("shop", "frontend"),
        ("shop", "backend"),
        ("kube-system", "metrics-server"),
        ("kube-system", "cluster-autoscaler"),
        ("kube-system", "external-dns"),
    ] {
        let live = cluster
            .api(DEPLOYMENTS, namespace)
            .await
            .get(name)
            .await
            .unwrap();
        let live = serde_json::to_value(live).unwrap();
        assert!(available(&live), "{namespace}/{name}: {:#}", live["status"]);
    }

    // `BACKEND_URL` names the backend Service and one of its ports.
    let config = cluster
        .api(CONFIG_MAPS, "shop")
        .await
        .get("frontend-configmap")
        .await
        .unwrap();
    let backend_url = config.data["data"]["BACKEND_URL"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed = url::Url::parse(&backend_url).expect("an absolute URL");
    assert_eq!(parsed.scheme(), "http");
    let host = parsed.host_str().unwrap();
    let service_name = host
        .strip_suffix(".shop.svc.cluster.local")
        .unwrap_or_else(|| panic!("`{host}` is a Service of `shop`"));
    let service = cluster
        .api(SERVICES, "shop")
        .await
        .get(service_name)
        .await
        .expect("the Service BACKEND_URL names exists");
    let ports: Vec<i64> = service.data["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    // `url` elides a scheme's default port; the value itself names it.
    let port = i64::from(parsed.port_or_known_default().expect("a port"));
    assert!(backend_url.ends_with(&format!(":{port}")), "{backend_url}");
    assert!(ports.contains(&port), "{port} in {ports:?}");
    assert_eq!(
        service.data["spec"]["selector"],
        json!({"app.kubernetes.io/name": "backend"})
    );
    let backend = cluster
        .api(DEPLOYMENTS, "shop")
        .await
        .get("backend")
        .await
        .unwrap();
    assert_eq!(
        backend.data["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        service.data["spec"]["ports"][0]["targetPort"],
        "the Service sends to the port the backend listens on"
    );
    let frontend = cluster
        .api(DEPLOYMENTS, "shop")
        .await
        .get("frontend")
        .await
        .unwrap();
    assert_eq!(
        frontend.data["spec"]["template"]["spec"]["containers"][0]["env"][0],
        json!({"name": "BACKEND_URL", "valueFrom": {"configMapKeyRef": {"name": "frontend-configmap", "key": "BACKEND_URL"}}})
    );
    let public = cluster
        .api(SERVICES, "shop")
        .await
        .get("frontend-service")
        .await
        .unwrap();
    assert_eq!(
        public.metadata.annotations.unwrap()["external-dns.alpha.kubernetes.io/hostname"],
        "shop.example.com"
    );
    assert_eq!(public.data["spec"]["type"], "LoadBalancer");

    let started = Instant::now();
    let plan = cluster.plan(&graph).await;
    eprintln!(
        "refresh and plan of the converged program took {:?}",
        started.elapsed()
    );
    let changed: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.is_change())
        .map(|s| (&s.resource, &s.diffs))
        .collect();
    assert!(!plan.has_changes(), "{changed:#?}");

    // A new backend image: one update, rolled out.
    let v2 = seed("ghcr.io/acme/backend:1.5");
    let plan = cluster.plan(&v2).await;
    let changes: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.is_change())
        .map(|s| (s.resource.as_str(), s.kind))
        .collect();
    assert_eq!(changes, vec![("deployment/shop/backend", StepKind::Update)]);
    let started = Instant::now();
    let report = cluster.harness.apply(&v2, plan).await.unwrap();
    eprintln!("the image update's rollout took {:?}", started.elapsed());
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let backend = cluster
        .api(DEPLOYMENTS, "shop")
        .await
        .get("backend")
        .await
        .unwrap();
    let backend = serde_json::to_value(backend).unwrap();
    assert!(available(&backend), "{:#}", backend["status"]);
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/backend:1.5"
    );

    let started = Instant::now();
    let report = cluster.harness.destroy(&v2).await.unwrap();
    eprintln!("destroy took {:?}", started.elapsed());
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(cluster.client().await);
    assert!(namespaces.get_opt("shop").await.unwrap().is_none());
    for name in ["metrics-server", "cluster-autoscaler", "external-dns"] {
        assert!(
            cluster
                .api(DEPLOYMENTS, "kube-system")
                .await
                .get_opt(name)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
    assert!(cluster.harness.snapshot().resources.is_empty());
}
