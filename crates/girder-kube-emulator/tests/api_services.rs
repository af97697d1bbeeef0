//! What metrics-server's manifests need: `apiregistration.k8s.io/v1` APIServices (served in
//! discovery, applied server-side, validated like the API server does) and RBAC objects named
//! like `system:metrics-server`.

mod common;

use common::{client, fast_emulator};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};
use serde_json::json;

fn metrics_api_service(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": name},
        "spec": {
            "group": "metrics.k8s.io",
            "version": "v1beta1",
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
            "insecureSkipTLSVerify": true,
            "service": {"name": "metrics-server", "namespace": "kube-system"}
        }
    })
}

#[tokio::test]
async fn api_services_are_discovered_applied_and_validated() {
    let emulator = fast_emulator();
    let client = client(&emulator).await;

    // Discovery finds the kind, cluster-scoped, as the provider asks for it.
    let gvk = GroupVersionKind::gvk("apiregistration.k8s.io", "v1", "APIService");
    let (resource, capabilities) = pinned_kind(&client, &gvk).await.expect("discovered");
    assert_eq!(resource.plural, "apiservices");
    assert_eq!(capabilities.scope, Scope::Cluster);

    let api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "apiservices"),
    );
    let params = PatchParams::apply("girder");
    let applied = api
        .patch(
            "v1beta1.metrics.k8s.io",
            &params,
            &Patch::Apply(metrics_api_service("v1beta1.metrics.k8s.io")),
        )
        .await
        .expect("applied");
    assert_eq!(applied.data["spec"]["service"]["name"], "metrics-server");
    assert!(
        api.get_opt("v1beta1.metrics.k8s.io")
            .await
            .unwrap()
            .is_some()
    );

    // The name must be VERSION.GROUP.
    let error = api
        .patch(
            "metrics",
            &params,
            &Patch::Apply(metrics_api_service("metrics")),
        )
        .await
        .expect_err("a misnamed APIService is refused");
    let kube::Error::Api(status) = error else {
        panic!("expected an API error, got {error:?}")
    };
    assert_eq!(status.code, 422);
    assert!(
        status.message.contains("spec.version+"),
        "{}",
        status.message
    );

    // Priorities are in range.
    let mut bad = metrics_api_service("v1beta1.metrics.k8s.io");
    bad["spec"]["versionPriority"] = json!(0);
    let error = api
        .patch("v1beta1.metrics.k8s.io", &params, &Patch::Apply(bad))
        .await
        .expect_err("a zero priority is refused");
    assert!(error.to_string().contains("versionPriority"), "{error}");
}

#[tokio::test]
async fn rbac_objects_are_named_like_path_segments() {
    let emulator = fast_emulator();
    let client = client(&emulator).await;
    let gvk = GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "ClusterRole");
    let api: Api<DynamicObject> = Api::all_with(
        client,
        &ApiResource::from_gvk_with_plural(&gvk, "clusterroles"),
    );
    let role = |name: &str| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["get"]}]
        })
    };
    let params = PatchParams::apply("girder");
    api.patch(
        "system:aggregated-metrics-reader",
        &params,
        &Patch::Apply(role("system:aggregated-metrics-reader")),
    )
    .await
    .expect("a colon is allowed");
    let error = api
        .patch("a%b", &params, &Patch::Apply(role("a%b")))
        .await
        .expect_err("a percent sign is not");
    assert!(error.to_string().contains("may not contain"), "{error}");
}
