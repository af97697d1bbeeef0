//! The app planned in memory: the seed's objects with the defaults, overridden values,
//! the wiring as data flow, values refused with the fix, upgrades as plan diffs, and the
//! rendered manifests validated against the Kubernetes 1.36 schemas.

mod common;

use girder_core::Stack;
use girder_engine::StepKind;
use girder_k8s::dsl::{DefaultProvider, ServiceType};
use girder_testing::plan::TestProgram;
use serde_json::json;
use yolo_app::{
    Autoscaling, BackendValues, FrontendValues, ResourceValues, Scaling, YoloApp, YoloAppValues,
};

fn program() -> TestProgram {
    TestProgram::new().package(girder_k8s::package())
}

fn app(values: YoloAppValues) -> impl Fn(&mut Stack) {
    move |s: &mut Stack| {
        YoloApp::new(values.clone()).add(DefaultProvider, s);
    }
}

#[test]
fn the_defaults_are_the_seeds_deployment() {
    let plan = program().plan(app(YoloAppValues::default())).unwrap();
    for (type_name, count) in [
        ("k8s:apps/v1:Deployment", 2),
        ("k8s:core/v1:Service", 2),
        ("k8s:core/v1:ConfigMap", 1),
        ("k8s:autoscaling/v2:HorizontalPodAutoscaler", 2),
        ("k8s:policy/v1:PodDisruptionBudget", 2),
        ("k8s:networking.k8s.io/v1:NetworkPolicy", 2),
        ("k8s:core/v1:Namespace", 0),
    ] {
        plan.assert_count(type_name, count);
    }
    plan.assert_has(
        "k8s:core/v1:ConfigMap",
        json!({
            "metadata": {"name": "frontend-configmap", "namespace": "default"},
            "data": {"BACKEND_URL": "http://backend-service.default.svc.cluster.local:80"},
        }),
    );
    plan.assert_has(
        "k8s:core/v1:Service",
        json!({"metadata": {"name": "backend-service"}, "spec": {"type": "ClusterIP",
            "ports": [{"port": 80, "targetPort": 8080}],
            "selector": {"app.kubernetes.io/name": "backend"}}}),
    );
    plan.assert_has(
        "k8s:core/v1:Service",
        json!({"metadata": {"name": "frontend-service"}, "spec": {"type": "LoadBalancer",
            "ports": [{"port": 80, "targetPort": 4000}]}}),
    );
    plan.assert_has(
        "k8s:apps/v1:Deployment",
        json!({"metadata": {"name": "frontend"}, "spec": {"template": {"spec": {"containers": [{
            "image": "ghcr.io/acme/frontend:2.0",
            "env": [{"name": "BACKEND_URL", "valueFrom": {"configMapKeyRef": {"name": "frontend-configmap", "key": "BACKEND_URL"}}}],
            "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
        }]}}}}),
    );
    plan.assert_has(
        "k8s:autoscaling/v2:HorizontalPodAutoscaler",
        json!({"metadata": {"name": "backend"}, "spec": {"minReplicas": 2, "maxReplicas": 10,
            "scaleTargetRef": {"kind": "Deployment", "name": "backend"}}}),
    );
    // An autoscaler owns the replica count: the Deployments leave it unset.
    plan.assert_none("sets replicas on an autoscaled Deployment", |r| {
        r.type_name() == "k8s:apps/v1:Deployment" && r.input("spec.replicas").is_some()
    });
    // Data flow is the order: Service before the ConfigMap naming it, before the pods.
    let edges = plan.edges();
    for edge in [
        (
            "configmap/default/frontend-configmap",
            "service/default/backend-service",
        ),
        (
            "deployment/default/frontend",
            "configmap/default/frontend-configmap",
        ),
        (
            "service/default/backend-service",
            "deployment/default/backend",
        ),
    ] {
        assert!(
            edges.contains(&(edge.0.to_owned(), edge.1.to_owned())),
            "{edge:?} in {edges:#?}"
        );
    }
    let graph = plan.graph();
    // The only advice: the two images are pinned by tag, not digest.
    assert_eq!(graph.warnings().len(), 2, "{}", graph.warnings());
    assert!(
        graph
            .warnings()
            .iter()
            .all(|d| d.message.contains("pinned by a tag only")),
        "{}",
        graph.warnings()
    );
    assert!(girder_k8s::check::check(graph).is_empty());
}

#[test]
fn overridden_values_reach_the_objects() {
    let values = YoloAppValues::builder()
        .namespace("shop")
        .create_namespace()
        .config_map_name("shop-config")
        .network_policies(false)
        .frontend(
            FrontendValues::builder()
                .name("web")
                .service_name("web")
                .port(3000)
                .service_port(8080)
                .hostname("shop.example.com")
                .health_path("/healthz")
                .scaling(Scaling::Fixed(1))
                .build(),
        )
        .backend(BackendValues {
            image: "ghcr.io/acme/backend:1.5".into(),
            service_name: "api".into(),
            service_port: 9000,
            resources: ResourceValues::builder().memory_limit("1Gi").build(),
            scaling: Scaling::Autoscaled(
                Autoscaling::builder()
                    .min_replicas(3)
                    .max_replicas(30)
                    .memory_percent_opt(None)
                    .build(),
            ),
            env: [("LOG_LEVEL".to_owned(), "debug".to_owned())].into(),
            ..Default::default()
        })
        .build();
    let plan = program().plan(app(values)).unwrap();
    plan.assert_has(
        "k8s:core/v1:Namespace",
        json!({"metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}),
    );
    plan.assert_has(
        "k8s:core/v1:ConfigMap",
        json!({"metadata": {"name": "shop-config", "namespace": "shop"},
            "data": {"BACKEND_URL": "http://api.shop.svc.cluster.local:9000"}}),
    );
    plan.assert_has(
        "k8s:core/v1:Service",
        json!({"metadata": {"name": "web", "annotations": {
            "external-dns.alpha.kubernetes.io/hostname": "shop.example.com"}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 8080, "targetPort": 3000}]}}),
    );
    plan.assert_has(
        "k8s:apps/v1:Deployment",
        json!({"metadata": {"name": "web"}, "spec": {"replicas": 1, "template": {"spec": {"containers": [{
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 3000}},
        }]}}}}),
    );
    plan.assert_has(
        "k8s:apps/v1:Deployment",
        json!({"metadata": {"name": "backend"}, "spec": {"template": {"spec": {"containers": [{
            "image": "ghcr.io/acme/backend:1.5",
            "env": [{"name": "LOG_LEVEL", "value": "debug"}],
            "resources": {"limits": {"memory": "1Gi"}},
        }]}}}}),
    );
    let hpa = plan.assert_has(
        "k8s:autoscaling/v2:HorizontalPodAutoscaler",
        json!({"spec": {"minReplicas": 3, "maxReplicas": 30}}),
    );
    assert_eq!(
        hpa.input("spec.metrics")
            .and_then(|m| m.as_array().map(|a| a.len())),
        Some(1),
        "CPU only"
    );
    // One autoscaler (the frontend has a fixed count), one budget (its single pod has none).
    plan.assert_count("k8s:autoscaling/v2:HorizontalPodAutoscaler", 1);
    plan.assert_count("k8s:policy/v1:PodDisruptionBudget", 1);
    plan.assert_count("k8s:networking.k8s.io/v1:NetworkPolicy", 0);
    // Everything is applied after the namespace (directly, or through its Deployment).
    let edges = plan.edges();
    let reaches_namespace = |start: &str| {
        let mut stack = vec![start.to_owned()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(node) = stack.pop() {
            if node == "namespace/shop" {
                return true;
            }
            if seen.insert(node.clone()) {
                stack.extend(
                    edges
                        .iter()
                        .filter(|(from, _)| *from == node)
                        .map(|(_, to)| to.clone()),
                );
            }
        }
        false
    };
    plan.assert_none("is in `shop` without being ordered after it", |r| {
        r.name().contains("/shop/") && !reaches_namespace(r.name())
    });
}

#[test]
fn bad_values_are_refused_naming_the_value_and_the_fix() {
    let values = YoloAppValues::builder()
        .frontend(
            FrontendValues::builder()
                .name("app")
                .service_name("app")
                .service_type(ServiceType::ClusterIp)
                .hostname("app.example.com")
                .health_path("healthz")
                .env([("BACKEND_URL".to_owned(), "backend-service".to_owned())].into())
                .build(),
        )
        .backend(
            BackendValues::builder()
                .name("app")
                .service_name("app")
                .scaling(Scaling::Autoscaled(
                    Autoscaling::builder()
                        .min_replicas(5)
                        .max_replicas(2)
                        .cpu_percent(0)
                        .build(),
                ))
                .build(),
        )
        .build();
    let diagnostics = program().build(app(values)).unwrap_err();
    let text = diagnostics.to_string();
    for expected in [
        "field `values.backend.scaling` = `5..=2`: the backend autoscales between 5 and 2 pods",
        "a cpu target of 0% never lets the backend scale down",
        "`healthz` is not an HTTP path",
        "the frontend and the backend are both called `app`",
        "Services are both called `app`",
        "the frontend has the public hostname `app.example.com`, but its Service is ClusterIP",
        "`.service_type(ServiceType::LoadBalancer)`",
        "`values.frontend.env` sets `BACKEND_URL`",
    ] {
        assert!(text.contains(expected), "`{expected}` in:\n{text}");
    }
    // The values' own messages, not the objects' echoes of them.
    assert!(
        !text.contains("is empty or starts at 0\n  fix: use a range such as `.replicas(2, 10)`"),
        "{text}"
    );
    assert!(!text.contains("asks external-dns"), "{text}");
}

#[test]
fn a_new_backend_image_is_a_one_resource_update() {
    let v1 = YoloAppValues::default();
    let v2 = YoloAppValues {
        backend: BackendValues {
            image: "ghcr.io/acme/backend:1.5".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let upgrade = program().upgrade(app(v1.clone()), app(v2)).unwrap();
    upgrade.assert_changes(&[("deployment/default/backend", StepKind::Update)]);

    // A new backend port changes the Service, the URL in the ConfigMap, the frontend that
    // reads it (its configuration checksum rolls the pods) and the policies.
    let v3 = YoloAppValues {
        backend: BackendValues {
            service_port: 8080,
            ..Default::default()
        },
        ..Default::default()
    };
    let upgrade = program().upgrade(app(v1), app(v3)).unwrap();
    upgrade.assert_changes(&[
        ("service/default/backend-service", StepKind::Update),
        ("configmap/default/frontend-configmap", StepKind::Update),
        ("deployment/default/frontend", StepKind::Update),
    ]);
}

#[test]
fn rendered_manifests_are_valid_kubernetes_1_30_objects() {
    let mut defaults = Stack::new("prod");
    YoloApp::new(YoloAppValues::default()).add(DefaultProvider, &mut defaults);
    let rendered = girder_k8s::render(&defaults.finish().unwrap()).unwrap();
    assert_eq!(rendered.len(), 11);
    common::validate(&rendered);

    let mut options = Stack::new("prod");
    YoloApp::new(
        YoloAppValues::builder()
            .namespace("shop")
            .create_namespace()
            .frontend(
                FrontendValues::builder()
                    .hostname("shop.example.com")
                    .health_path("/healthz")
                    .service_type(ServiceType::NodePort)
                    .build(),
            )
            .backend(BackendValues::builder().scaling(Scaling::Fixed(3)).build())
            .build(),
    )
    .add(DefaultProvider, &mut options);
    let rendered = girder_k8s::render(&options.finish().unwrap()).unwrap();
    assert_eq!(
        rendered.len(),
        11,
        "a namespace more, the backend's autoscaler less"
    );
    common::validate(&rendered);
}
