//! Namespace deletion as the API server and its namespace controller do it: the DELETE
//! leaves the namespace Terminating, the controller empties it later, creating in it is
//! forbidden meanwhile — and so `kubectl delete -f` of a namespace and its objects succeeds.
//! Time is the emulator's manual clock: nothing here waits for a delay to pass.

mod common;

use std::time::Duration;

use common::kubectl::Kubectl;
use common::{api_error, client, eventually};
use girder_kube_emulator::{EmulatorConfig, KubeEmulator, ManualClock};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

const DELAY: Duration = Duration::from_secs(5);

fn emulator(clock: &ManualClock) -> KubeEmulator {
    KubeEmulator::builder()
        .config(EmulatorConfig {
            namespace_deletion_delay: DELAY,
            rollout_step: Duration::from_millis(20),
            ..EmulatorConfig::default()
        })
        .clock(clock.clone())
        .start()
        .expect("emulator starts")
}

fn named<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
}

#[tokio::test]
async fn deleting_a_namespace_terminates_it_asynchronously() {
    let clock = ManualClock::starting_now();
    let emu = emulator(&clock);
    let c = client(&emu).await;
    let namespaces: Api<Namespace> = Api::all(c.clone());
    namespaces
        .create(&PostParams::default(), &named("shop"))
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "shop");
    cms.create(&PostParams::default(), &named("settings"))
        .await
        .unwrap();
    let mut held: ConfigMap = named("held");
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();

    // The DELETE answers with the namespace, Terminating, its finalizer in spec.
    let terminating = namespaces
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("the namespace is returned, not a Status");
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(
        terminating.status.as_ref().unwrap().phase.as_deref(),
        Some("Terminating")
    );
    assert_eq!(
        terminating.spec.as_ref().unwrap().finalizers.as_deref(),
        Some(&["kubernetes".to_string()][..])
    );

    // Until the controller gets to it, the contents are there, and nothing new may be made.
    assert_eq!(
        cms.get("settings").await.unwrap().metadata.name.unwrap(),
        "settings"
    );
    let status = api_error(cms.create(&PostParams::default(), &named("late")).await);
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        r#"configmaps "late" is forbidden: unable to create new content in namespace shop because it is being terminated"#
    );
    let details = status.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("late", "configmaps")
    );
    let cause = &details.causes[0];
    assert_eq!(
        (
            cause.reason.as_str(),
            cause.message.as_str(),
            cause.field.as_str()
        ),
        (
            "NamespaceTerminating",
            "namespace shop is being terminated",
            "metadata.namespace"
        )
    );
    // Changing spec.finalizers takes /finalize; a plain update keeps them.
    namespaces
        .patch(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}, "spec": {"finalizers": []}})),
        )
        .await
        .unwrap();
    let still = namespaces.get("shop").await.unwrap();
    assert_eq!(
        still.spec.unwrap().finalizers.as_deref(),
        Some(&["kubernetes".to_string()][..])
    );

    // Time passes: the controller deletes the contents; the held object keeps the namespace.
    clock.advance(DELAY);
    eventually(Duration::from_secs(60), "contents deleted", || {
        let cms = cms.clone();
        async move {
            cms.get_opt("settings")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    let conditions = eventually(Duration::from_secs(60), "conditions reported", || {
        let namespaces = namespaces.clone();
        async move {
            let ns = namespaces.get("shop").await.unwrap();
            ns.status
                .and_then(|s| s.conditions)
                .filter(|c| c.len() == 2)
        }
    })
    .await;
    let finalizers = conditions
        .iter()
        .find(|c| c.type_ == "NamespaceFinalizersRemaining")
        .unwrap();
    assert_eq!(finalizers.status, "True");
    assert_eq!(
        finalizers.message.as_deref(),
        Some(
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        )
    );
    assert!(
        cms.get("held")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );

    // Releasing it lets the namespace go.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(60), "namespace removed", || {
        let namespaces = namespaces.clone();
        async move {
            namespaces
                .get_opt("shop")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    // And the name can be used again.
    namespaces
        .create(&PostParams::default(), &named("shop"))
        .await
        .unwrap();
    emu.stop();
}

const STACK: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"#;

#[tokio::test]
async fn kubectl_delete_f_of_a_namespace_and_its_objects_succeeds() {
    let clock = ManualClock::starting_now();
    let emu = emulator(&clock);
    let kubectl = Kubectl::new(&emu);
    let dir = tempfile::tempdir().unwrap();
    let out = kubectl.apply(dir.path(), "stack.yaml", STACK, &[]);
    assert!(out.contains("namespace/shop created"), "{out}");
    let c = client(&emu).await;
    let deployments: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let namespaces: Api<Namespace> = Api::all(c.clone());

    // kubectl deletes in file order — the namespace first — then waits for everything to go.
    let file = dir.path().join("stack.yaml");
    let child = kubectl.spawn(&["delete", "-f", file.to_str().unwrap(), "--timeout=120s"]);
    // kubectl's own deletes of the Deployment and the ConfigMap land while the namespace
    // waits for its controller.
    eventually(
        Duration::from_secs(60),
        "kubectl deleted the objects",
        || {
            let (deployments, cms) = (
                deployments.clone(),
                Api::<ConfigMap>::namespaced(c.clone(), "shop"),
            );
            async move {
                (deployments.get_opt("web").await.unwrap().is_none()
                    && cms.get_opt("settings").await.unwrap().is_none())
                .then_some(())
            }
        },
    )
    .await;
    assert!(
        namespaces
            .get("shop")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    // The controller runs; kubectl sees the namespace go and succeeds.
    clock.advance(DELAY);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "kubectl delete failed:\n{stdout}\n{stderr}"
    );
    for deleted in [
        r#"namespace "shop" deleted"#,
        r#"configmap "settings" deleted"#,
        r#"deployment.apps "web" deleted"#,
    ] {
        assert!(stdout.contains(deleted), "{deleted}: {stdout}");
    }
    assert!(namespaces.get_opt("shop").await.unwrap().is_none());
    emu.stop();
}
