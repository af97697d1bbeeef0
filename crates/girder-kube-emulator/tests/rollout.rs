//! The simulated Deployment / ReplicaSet / Pod controllers: successful rollouts, template
//! updates, and rollouts that fail on never-ready images.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{client, deployment, eventually};
use girder_kube_emulator::{EmulatorConfig, KubeEmulator};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};

fn condition(d: &Deployment, kind: &str) -> Option<(String, String)> {
    let c = d
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)?;
    Some((c.status.clone(), c.reason.clone().unwrap_or_default()))
}

fn complete(d: &Deployment, replicas: i32) -> bool {
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    s.observed_generation == d.metadata.generation
        && s.updated_replicas == Some(replicas)
        && s.available_replicas == Some(replicas)
        && s.replicas == Some(replicas)
        && condition(d, "Progressing") == Some(("True".into(), "NewReplicaSetAvailable".into()))
}

#[tokio::test]
async fn rollout_succeeds_step_by_step() {
    let emu = KubeEmulator::start_with(EmulatorConfig {
        rollout_step: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let started = std::time::Instant::now();
    deploys
        .patch(
            "web",
            &PatchParams::apply("test"),
            &Patch::Apply(deployment("web", "nginx:1.27", 3)),
        )
        .await
        .unwrap();
    let mut seen_ready = BTreeSet::new();
    let mut seen_progressing = BTreeSet::new();
    let done = loop {
        let d = deploys.get("web").await.unwrap();
        seen_ready.insert(
            d.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
        );
        if let Some((_, reason)) = condition(&d, "Progressing") {
            seen_progressing.insert(reason);
        }
        if complete(&d, 3) {
            break d;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "rollout did not complete: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let took = started.elapsed();
    assert!(
        seen_ready.len() >= 3,
        "the rollout goes through intermediate states: {seen_ready:?}"
    );
    assert!(
        seen_progressing.contains("ReplicaSetUpdated")
            || seen_progressing.contains("NewReplicaSetCreated"),
        "{seen_progressing:?}"
    );
    assert!(
        took >= Duration::from_millis(300),
        "three replicas take at least three steps: {took:?}"
    );
    assert_eq!(
        condition(&done, "Available"),
        Some(("True".into(), "MinimumReplicasAvailable".into()))
    );

    let rss: Api<ReplicaSet> = Api::default_namespaced(c.clone());
    let rs = rss
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        rs.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"],
        "1"
    );
    let hash = rs.metadata.labels.as_ref().unwrap()["pod-template-hash"].clone();
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );

    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let pods = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items;
    assert_eq!(pods.len(), 3);
    let mut ips = BTreeSet::new();
    for p in &pods {
        let status = p.status.as_ref().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        ips.insert(status.pod_ip.clone().unwrap());
        let cs = &status.container_statuses.as_ref().unwrap()[0];
        assert!(cs.ready && cs.state.as_ref().unwrap().running.is_some());
        assert_eq!(
            p.spec.as_ref().unwrap().node_name.as_deref(),
            Some(girder_kube_emulator::NODE_NAME)
        );
        assert_eq!(
            p.metadata.owner_references.as_ref().unwrap()[0].name,
            rs.metadata.name.clone().unwrap()
        );
    }
    assert_eq!(ips.len(), 3, "pod IPs are unique");
    emu.stop();
}

#[tokio::test]
async fn new_template_creates_a_new_replicaset_and_scales_the_old_one_down() {
    let emu = common::fast_emulator();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let rss: Api<ReplicaSet> = Api::default_namespaced(c.clone());
    let pp = PatchParams::apply("test");
    deploys
        .patch(
            "web",
            &pp,
            &Patch::Apply(deployment("web", "nginx:1.27", 2)),
        )
        .await
        .unwrap();
    let wait_complete = |generation: i64| {
        let deploys = deploys.clone();
        eventually(Duration::from_secs(10), "rollout", move || {
            let deploys = deploys.clone();
            async move {
                let d = deploys.get("web").await.unwrap();
                (d.metadata.generation == Some(generation) && complete(&d, 2)).then_some(d)
            }
        })
    };
    wait_complete(1).await;
    deploys
        .patch(
            "web",
            &pp,
            &Patch::Apply(deployment("web", "nginx:1.28", 2)),
        )
        .await
        .unwrap();
    let d = wait_complete(2).await;
    assert_eq!(d.status.unwrap().observed_generation, Some(2));
    let mut sets = rss.list(&ListParams::default()).await.unwrap().items;
    sets.sort_by_key(|rs| {
        rs.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"].clone()
    });
    assert_eq!(sets.len(), 2);
    assert_eq!(
        sets[0].spec.as_ref().unwrap().replicas,
        Some(0),
        "old ReplicaSet scaled down"
    );
    assert_eq!(sets[1].spec.as_ref().unwrap().replicas, Some(2));
    let image = sets[1]
        .spec
        .as_ref()
        .unwrap()
        .template
        .as_ref()
        .unwrap()
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("nginx:1.28"));
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    eventually(Duration::from_secs(5), "old pods gone", || {
        let pods = pods.clone();
        async move { (pods.list(&ListParams::default()).await.unwrap().items.len() == 2).then_some(()) }
    })
    .await;
    emu.stop();
}

#[tokio::test]
async fn never_ready_images_fail_the_rollout_after_the_progress_deadline() {
    let emu = KubeEmulator::start_with(EmulatorConfig {
        rollout_step: Duration::from_millis(20),
        failing_image_patterns: vec!["never-ready".into(), "broken-image".into()],
        ..EmulatorConfig::default()
    })
    .unwrap();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let mut manifest = deployment("bad", "ghcr.io/acme/never-ready:1", 2);
    manifest["spec"]["progressDeadlineSeconds"] = serde_json::json!(30); // 300 ms at the default scale
    deploys
        .patch("bad", &PatchParams::apply("test"), &Patch::Apply(&manifest))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let d = eventually(Duration::from_secs(10), "ProgressDeadlineExceeded", || {
        let deploys = deploys.clone();
        async move {
            let d = deploys.get("bad").await.unwrap();
            (condition(&d, "Progressing")
                == Some(("False".into(), "ProgressDeadlineExceeded".into())))
            .then_some(d)
        }
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        condition(&d, "Available"),
        Some(("False".into(), "MinimumReplicasUnavailable".into()))
    );
    let status = d.status.unwrap();
    assert_eq!(status.available_replicas, None);
    assert_eq!(status.unavailable_replicas, Some(2));
    for p in pods
        .list(&ListParams::default().labels("app=bad"))
        .await
        .unwrap()
        .items
    {
        let s = p.status.unwrap();
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        let waiting = s.container_statuses.unwrap()[0]
            .state
            .clone()
            .unwrap()
            .waiting
            .unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("ImagePullBackOff"));
        assert!(waiting.message.unwrap().contains("never-ready"));
    }

    // An update of a healthy Deployment to a failing image (from the config list) keeps the
    // old ReplicaSet serving and times out.
    deploys
        .patch(
            "good",
            &PatchParams::apply("test"),
            &Patch::Apply(deployment("good", "nginx", 2)),
        )
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "good rollout", || {
        let deploys = deploys.clone();
        async move { complete(&deploys.get("good").await.unwrap(), 2).then_some(()) }
    })
    .await;
    let mut broken = deployment("good", "registry.local/broken-image:2", 2);
    broken["spec"]["progressDeadlineSeconds"] = serde_json::json!(30);
    deploys
        .patch("good", &PatchParams::apply("test"), &Patch::Apply(&broken))
        .await
        .unwrap();
    let d = eventually(Duration::from_secs(10), "update times out", || {
        let deploys = deploys.clone();
        async move {
            let d = deploys.get("good").await.unwrap();
            (d.status.as_ref()?.observed_generation == Some(2)
                && condition(&d, "Progressing")
                    == Some(("False".into(), "ProgressDeadlineExceeded".into())))
            .then_some(d)
        }
    })
    .await;
    assert_eq!(
        condition(&d, "Available"),
        Some(("True".into(), "MinimumReplicasAvailable".into()))
    );
    let status = d.status.unwrap();
    assert_eq!(
        status.available_replicas,
        Some(2),
        "the old ReplicaSet keeps serving"
    );
    assert_eq!(status.updated_replicas, Some(2));
    emu.stop();
}
