//! Resource quantities are stored in the API server's canonical form, so what a client reads
//! back is `500m` for the `0.5` it wrote — through the real `kube::Client`.

mod common;

use common::{api_error, client, fast_emulator};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, PersistentVolumeClaim, ResourceQuota};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

fn deployment(cpu: serde_json::Value, memory: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1.27",
                        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}}],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "0.5Gi"}}]
                }
            }
        }
    })
}

#[tokio::test]
async fn quantities_are_stored_canonically_and_reapplying_them_changes_nothing() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let deployments: Api<Deployment> = Api::default_namespaced(c.clone());
    let applied = deployments
        .patch(
            "web",
            &PatchParams::apply("girder"),
            &Patch::Apply(deployment(json!("0.5"), "1024Mi")),
        )
        .await
        .unwrap();
    let stored = serde_json::to_value(&applied).unwrap();
    let pod = &stored["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["resources"],
        json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}})
    );
    assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "512Mi");

    // Applying the same spelling again is no change at all, and another manager applying
    // the canonical spelling of the same value does not conflict.
    let again = deployments
        .patch(
            "web",
            &PatchParams::apply("girder"),
            &Patch::Apply(deployment(json!("0.5"), "1024Mi")),
        )
        .await
        .unwrap();
    // (The rollout moves the status and the resourceVersion; the spec did not change.)
    assert_eq!(applied.metadata.generation, Some(1));
    assert_eq!(again.metadata.generation, Some(1));
    deployments
        .patch(
            "web",
            &PatchParams::apply("other"),
            &Patch::Apply(deployment(json!("500m"), "1Gi")),
        )
        .await
        .unwrap();
    // A JSON number is a quantity too.
    let numeric = deployments
        .patch(
            "web",
            &PatchParams::apply("girder").force(),
            &Patch::Apply(deployment(json!(1.5), "1.5Gi")),
        )
        .await
        .unwrap();
    let numeric = serde_json::to_value(&numeric).unwrap();
    assert_eq!(
        numeric["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "1500m", "memory": "1536Mi"})
    );

    // A malformed quantity fails as the server's decoder does.
    let status = api_error(
        deployments
            .patch(
                "web",
                &PatchParams::apply("girder"),
                &Patch::Apply(deployment(json!("half"), "1Gi")),
            )
            .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        status.message,
        "Deployment in version \"v1\" cannot be handled as a Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    );
    emu.stop();
}

#[tokio::test]
async fn claims_quotas_and_limit_ranges_store_canonical_quantities() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let claims: Api<PersistentVolumeClaim> = Api::default_namespaced(c.clone());
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0.5Gi"}}}
    }))
    .unwrap();
    let claim = claims.create(&PostParams::default(), &claim).await.unwrap();
    assert_eq!(
        serde_json::to_value(claim.spec.unwrap().resources.unwrap().requests.unwrap()).unwrap(),
        json!({"storage": "512Mi"})
    );
    let quotas: Api<ResourceQuota> = Api::default_namespaced(c.clone());
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "q"},
        "spec": {"hard": {"requests.cpu": "1000m", "requests.memory": "2048Mi", "pods": "10"}}
    }))
    .unwrap();
    let quota = quotas.create(&PostParams::default(), &quota).await.unwrap();
    assert_eq!(
        serde_json::to_value(quota.spec.unwrap().hard.unwrap()).unwrap(),
        json!({"pods": "10", "requests.cpu": "1", "requests.memory": "2Gi"})
    );
    let ranges: Api<LimitRange> = Api::default_namespaced(c.clone());
    let range: LimitRange = serde_json::from_value(json!({
        "metadata": {"name": "l"},
        "spec": {"limits": [{"type": "Container",
            "default": {"cpu": "0.25", "memory": "0.25Gi"},
            "defaultRequest": {"cpu": "100m", "memory": "128974848"},
            "max": {"cpu": "2000m"}}]}
    }))
    .unwrap();
    let range = ranges.create(&PostParams::default(), &range).await.unwrap();
    let limit = serde_json::to_value(&range.spec.unwrap().limits[0]).unwrap();
    assert_eq!(limit["default"], json!({"cpu": "250m", "memory": "256Mi"}));
    assert_eq!(
        limit["defaultRequest"],
        json!({"cpu": "100m", "memory": "128974848"})
    );
    assert_eq!(limit["max"], json!({"cpu": "2"}));
    emu.stop();
}
