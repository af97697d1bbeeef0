//! Server-side apply through `kube::Client`: create-or-update, managedFields, conflicts,
//! forced apply and removal of fields a manager stops applying.

mod common;

use common::{client, deployment, fast_emulator};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

fn status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn apply_creates_then_updates_with_managed_fields() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let pp = PatchParams::apply("girder");

    let created = deploys
        .patch(
            "web",
            &pp,
            &Patch::Apply(deployment("web", "nginx:1.27", 2)),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let entry = created
        .metadata
        .managed_fields
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.manager.as_deref() == Some("girder"))
        .unwrap()
        .clone();
    assert_eq!(entry.operation.as_deref(), Some("Apply"));
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"));
    let fields = serde_json::to_value(entry.fields_v1.unwrap()).unwrap();
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    assert_eq!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:image"],
        json!({})
    );
    assert_eq!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["."],
        json!({})
    );

    // Re-applying the same configuration does not change the spec: same generation.
    let again = deploys
        .patch(
            "web",
            &pp,
            &Patch::Apply(deployment("web", "nginx:1.27", 2)),
        )
        .await
        .unwrap();
    assert_eq!(again.metadata.generation, Some(1));

    // A template change bumps the generation.
    let updated = deploys
        .patch(
            "web",
            &pp,
            &Patch::Apply(deployment("web", "nginx:1.28", 2)),
        )
        .await
        .unwrap();
    assert_eq!(updated.metadata.generation, Some(2));
    let containers = updated.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.28"));
    emu.stop();
}

#[tokio::test]
async fn apply_conflicts_name_the_other_manager_and_force_takes_ownership() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    deploys
        .patch(
            "web",
            &PatchParams::apply("girder"),
            &Patch::Apply(deployment("web", "nginx", 2)),
        )
        .await
        .unwrap();

    // Same value: shared ownership, no conflict.
    let partial = |replicas: i64| json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": replicas}});
    deploys
        .patch(
            "web",
            &PatchParams::apply("autoscaler"),
            &Patch::Apply(partial(2)),
        )
        .await
        .unwrap();

    // Different value: 409 naming girder and the field.
    let e = status(
        deploys
            .patch(
                "web",
                &PatchParams::apply("autoscaler"),
                &Patch::Apply(partial(5)),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"girder\": .spec.replicas"
    );
    let cause = &e.details.as_ref().unwrap().causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldManagerConflict", ".spec.replicas")
    );
    assert_eq!(cause.message, "conflict with \"girder\"");

    // Forced: the autoscaler owns .spec.replicas alone; girder now conflicts on it.
    let forced = deploys
        .patch(
            "web",
            &PatchParams::apply("autoscaler").force(),
            &Patch::Apply(partial(5)),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.as_ref().unwrap().replicas, Some(5));
    let e = status(
        deploys
            .patch(
                "web",
                &PatchParams::apply("girder"),
                &Patch::Apply(deployment("web", "nginx", 2)),
            )
            .await
            .unwrap_err(),
    );
    assert!(
        e.message.contains("conflict with \"autoscaler\""),
        "{}",
        e.message
    );

    // An Update (PUT) takes ownership without conflict, and is named with its API version.
    // The controllers write status concurrently, so the PUT retries on a stale version, as
    // real clients must.
    let pp = PostParams {
        field_manager: Some("editor".into()),
        ..PostParams::default()
    };
    let mut attempts = 0;
    loop {
        let mut d = deploys.get("web").await.unwrap();
        let pod = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
        pod.containers[0].image = Some("nginx:edited".into());
        match deploys.replace("web", &pp, &d).await {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 409 && attempts < 20 => attempts += 1,
            Err(e) => panic!("replace failed: {e}"),
        }
    }
    let mut cfg = deployment("web", "nginx:mine", 5);
    cfg["spec"].as_object_mut().unwrap().remove("replicas");
    let e = status(
        deploys
            .patch("web", &PatchParams::apply("girder"), &Patch::Apply(&cfg))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"editor\" using apps/v1: .spec.template.spec.containers[name=\"app\"].image"
    );
    emu.stop();
}

#[tokio::test]
async fn fields_a_manager_stops_applying_are_removed_unless_owned_elsewhere() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let gvk = GroupVersionKind::gvk("", "v1", "ConfigMap");
    let ar = ApiResource::from_gvk(&gvk);
    let cms: Api<DynamicObject> = Api::default_namespaced_with(c.clone(), &ar);
    let cfg = |data: serde_json::Value, labels: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": labels}, "data": data});
    cms.patch(
        "cfg",
        &PatchParams::apply("a"),
        &Patch::Apply(cfg(
            json!({"one": "1", "two": "2", "shared": "s"}),
            json!({"keep": "x", "drop": "y"}),
        )),
    )
    .await
    .unwrap();
    cms.patch(
        "cfg",
        &PatchParams::apply("b"),
        &Patch::Apply(cfg(json!({"shared": "s"}), json!({}))),
    )
    .await
    .unwrap();
    let after = cms
        .patch(
            "cfg",
            &PatchParams::apply("a"),
            &Patch::Apply(cfg(json!({"one": "1"}), json!({"keep": "x"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        after.data["data"],
        json!({"one": "1", "shared": "s"}),
        "two is dropped; shared stays because b owns it"
    );
    assert_eq!(
        after
            .metadata
            .labels
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [("keep".to_string(), "x".to_string())]
    );

    // Re-applying the same configuration is a no-op: the resourceVersion stays.
    let again = cms
        .patch(
            "cfg",
            &PatchParams::apply("a"),
            &Patch::Apply(cfg(json!({"one": "1"}), json!({"keep": "x"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        after.metadata.resource_version
    );

    // Apply without a field manager is a clean 400.
    let e = status(
        cms.patch(
            "cfg",
            &PatchParams::default(),
            &Patch::Apply(cfg(json!({}), json!({}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    emu.stop();
}
