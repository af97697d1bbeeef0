//! Deletion through `kube::Client`: finalizers, owner-reference cascades with Background,
//! Foreground and Orphan propagation.

mod common;

use std::time::Duration;

use common::{client, deployment, eventually, fast_emulator};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

async fn rollout(deploys: &Api<Deployment>, name: &str) {
    deploys
        .patch(
            name,
            &PatchParams::apply("test"),
            &Patch::Apply(deployment(name, "nginx", 2)),
        )
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "rollout", || {
        let deploys = deploys.clone();
        let name = name.to_string();
        async move {
            (deploys
                .get(&name)
                .await
                .unwrap()
                .status?
                .available_replicas?
                == 2)
                .then_some(())
        }
    })
    .await;
}

async fn count<K>(api: &Api<K>) -> usize
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default()).await.unwrap().items.len()
}

#[tokio::test]
async fn finalizers_keep_objects_until_removed() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let pending = cms
        .delete("held", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("object stays");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let still = cms.get("held").await.unwrap();
    assert_eq!(
        still.metadata.finalizers.as_deref(),
        Some(&["example.com/hold".to_string()][..])
    );
    // No new finalizers while deleting.
    let e = cms
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/hold", "x/y"]}})),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, kube::Error::Api(s) if s.code == 422));
    // Removing the finalizer completes the deletion.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("held").await.unwrap().is_none());
    emu.stop();
}

#[tokio::test]
async fn background_deletion_cascades_to_replicasets_and_pods() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let rss: Api<ReplicaSet> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    rollout(&deploys, "web").await;
    assert_eq!(count(&rss).await, 1);
    assert_eq!(count(&pods).await, 2);
    let rs = rss
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let owner = &rs.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Deployment", Some(true))
    );

    let gone = deploys
        .delete("web", &DeleteParams::background())
        .await
        .unwrap();
    assert!(gone.is_right());
    eventually(Duration::from_secs(60), "dependents deleted", || {
        let (rss, pods) = (rss.clone(), pods.clone());
        async move { (count(&rss).await == 0 && count(&pods).await == 0).then_some(()) }
    })
    .await;
    emu.stop();
}

#[tokio::test]
async fn foreground_deletion_keeps_the_owner_until_dependents_are_gone() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let rss: Api<ReplicaSet> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    rollout(&deploys, "web").await;
    // A finalizer on one pod holds the whole chain.
    let pod_name = pods.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    pods.patch(
        &pod_name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/hold"]}})),
    )
    .await
    .unwrap();

    let pending = deploys
        .delete("web", &DeleteParams::foreground())
        .await
        .unwrap()
        .left()
        .expect("owner stays");
    assert!(
        pending
            .metadata
            .finalizers
            .unwrap()
            .contains(&"foregroundDeletion".to_string())
    );
    // The garbage collector deletes the free pod; the held one keeps its ReplicaSet, which
    // keeps the Deployment.
    eventually(Duration::from_secs(60), "only the held pod is left", || {
        let pods = pods.clone();
        async move { (count(&pods).await == 1).then_some(()) }
    })
    .await;
    let held = pods.get(&pod_name).await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    let owner = deploys.get("web").await.unwrap();
    assert!(owner.metadata.deletion_timestamp.is_some());
    let rs = rss.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(rs.len(), 1, "the ReplicaSet waits for its pod");
    assert!(
        rs[0]
            .metadata
            .finalizers
            .as_deref()
            .is_some_and(|f| f.contains(&"foregroundDeletion".to_string())),
        "the ReplicaSet is deleted in the foreground too"
    );

    pods.patch(
        &pod_name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(60), "owner deleted", || {
        let deploys = deploys.clone();
        async move {
            deploys
                .get_opt("web")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    assert_eq!(count(&rss).await, 0);
    assert_eq!(count(&pods).await, 0);
    emu.stop();
}

#[tokio::test]
async fn orphan_deletion_leaves_dependents_without_owner_references() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let rss: Api<ReplicaSet> = Api::default_namespaced(c.clone());
    rollout(&deploys, "web").await;
    deploys
        .delete("web", &DeleteParams::orphan())
        .await
        .unwrap();
    // The owner goes once its dependents are orphaned; nothing deletes the ReplicaSet.
    eventually(Duration::from_secs(60), "the owner is gone", || {
        let deploys = deploys.clone();
        async move {
            deploys
                .get_opt("web")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    let left = rss.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(left.len(), 1);
    assert!(
        left[0]
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(Vec::is_empty)
    );
    assert!(left[0].metadata.deletion_timestamp.is_none());
    emu.stop();
}
