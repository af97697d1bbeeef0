//! `kube::Client` against the emulator: CRUD, errors, selectors, concurrency, dry runs,
//! subresources, CRDs with discovery, and watches.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{client, deployment, eventually, fast_emulator};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

fn configmap(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

fn api_error(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn typed_crud_round_trip() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());

    let created = cms
        .create(&PostParams::default(), &configmap("one", &[("app", "a")]))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, Some(1));
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    let mut got = cms.get("one").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["k"], "v");
    got.data.as_mut().unwrap().insert("k".into(), "w".into());
    let replaced = cms
        .replace("one", &PostParams::default(), &got)
        .await
        .unwrap();
    let rv2: u64 = replaced
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    assert_eq!(replaced.metadata.generation, Some(2));

    // Metadata-only changes do not bump the generation.
    let patched = cms
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    assert_eq!(patched.metadata.labels.as_ref().unwrap()["x"], "y");

    // Strategic merge and JSON patches.
    let patched = cms
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"extra": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.as_ref().unwrap().len(), 2);
    let request = http::Request::patch("/api/v1/namespaces/default/configmaps/one")
        .header("Content-Type", "application/json-patch+json")
        .body(serde_json::to_vec(&json!([{"op": "remove", "path": "/data/extra"}])).unwrap())
        .unwrap();
    let patched: ConfigMap = c.request(request).await.unwrap();
    assert_eq!(patched.data.as_ref().unwrap().len(), 1);

    // Managed fields record the Update operations.
    let managers: Vec<String> = patched
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(!managers.is_empty());

    let deleted = cms.delete("one", &DeleteParams::default()).await.unwrap();
    assert!(
        deleted.is_right(),
        "immediate deletion answers with a Status"
    );
    assert!(cms.get_opt("one").await.unwrap().is_none());
    emu.stop();
}

#[tokio::test]
async fn errors_are_status_objects() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());
    cms.create(&PostParams::default(), &configmap("dup", &[]))
        .await
        .unwrap();

    let e = api_error(
        cms.create(&PostParams::default(), &configmap("dup", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, "configmaps \"dup\" already exists");

    let e = api_error(cms.get("missing").await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.details.as_ref().unwrap().kind, "configmaps");

    let nowhere: Api<ConfigMap> = Api::namespaced(c.clone(), "nowhere");
    let e = api_error(
        nowhere
            .create(&PostParams::default(), &configmap("x", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "namespaces \"nowhere\" not found");

    let deploys: Api<Deployment> = Api::default_namespaced(c.clone());
    let mut bad = deployment("bad", "nginx", 1);
    bad["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    let bad: Deployment = serde_json::from_value(bad).unwrap();
    let e = api_error(
        deploys
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(
        e.message
            .contains("`selector` does not match template `labels`"),
        "{}",
        e.message
    );

    // A stale resourceVersion on PUT is a conflict.
    let mut cm = cms.get("dup").await.unwrap();
    cm.metadata.resource_version = Some("1".into());
    let e = api_error(
        cms.replace("dup", &PostParams::default(), &cm)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(
        e.message.contains("the object has been modified"),
        "{}",
        e.message
    );
    emu.stop();
}

#[tokio::test]
async fn label_selector_lists() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());
    for (name, labels) in [
        ("a", vec![("app", "web"), ("tier", "front")]),
        ("b", vec![("app", "web"), ("tier", "back")]),
        ("c", vec![("app", "db")]),
        ("d", vec![("legacy", "true")]),
    ] {
        cms.create(&PostParams::default(), &configmap(name, &labels))
            .await
            .unwrap();
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| {
        list.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    let cases = [
        ("app=web", vec!["a", "b"]),
        ("app==web,tier!=back", vec!["a"]),
        ("app in (web, db)", vec!["a", "b", "c"]),
        ("app notin (web)", vec!["c", "d"]),
        ("tier", vec!["a", "b"]),
        ("!app", vec!["d"]),
        ("app,!tier", vec!["c"]),
    ];
    for (selector, want) in cases {
        let got = names(
            cms.list(&ListParams::default().labels(selector))
                .await
                .unwrap(),
        );
        assert_eq!(got, want, "selector {selector:?}");
    }
    let got = names(
        cms.list(&ListParams::default().fields("metadata.name=c"))
            .await
            .unwrap(),
    );
    assert_eq!(got, ["c"]);
    // Paging.
    let page = cms.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let token = page.metadata.continue_.clone().unwrap();
    let rest = cms
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.metadata.continue_.is_none());
    // A bad selector is a 400, not a panic.
    let e = api_error(
        cms.list(&ListParams::default().labels("app in (web"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    emu.stop();
}

#[tokio::test]
async fn concurrent_writers_with_stale_versions_exactly_one_wins() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());
    cms.create(&PostParams::default(), &configmap("race", &[]))
        .await
        .unwrap();
    let base = cms.get("race").await.unwrap();
    let writers = (0..16).map(|i| {
        let cms = cms.clone();
        let mut cm = base.clone();
        async move {
            cm.data
                .as_mut()
                .unwrap()
                .insert("writer".into(), i.to_string());
            cms.replace("race", &PostParams::default(), &cm).await
        }
    });
    let results = futures::future::join_all(writers).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        wins, 1,
        "exactly one writer with the same resourceVersion wins"
    );
    for r in results.into_iter().filter_map(Result::err) {
        let e = api_error(r);
        assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    }
    emu.stop();
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());
    let pp = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let would = cms.create(&pp, &configmap("dry", &[])).await.unwrap();
    assert_eq!(would.metadata.name.as_deref(), Some("dry"));
    assert!(cms.get_opt("dry").await.unwrap().is_none());

    cms.create(&PostParams::default(), &configmap("real", &[]))
        .await
        .unwrap();
    let before = cms.get("real").await.unwrap();
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "real"}, "data": {"k": "changed"}});
    let would = cms
        .patch(
            "real",
            &PatchParams::apply("dry").force().dry_run(),
            &Patch::Apply(&cfg),
        )
        .await
        .unwrap();
    assert_eq!(would.data.unwrap()["k"], "changed");
    let would = cms
        .delete("real", &DeleteParams::default().dry_run())
        .await
        .unwrap();
    assert!(would.is_right());
    let after = cms.get("real").await.unwrap();
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
    assert_eq!(after.data.unwrap()["k"], "v");
    emu.stop();
}

#[tokio::test]
async fn namespaces_and_cluster_scoped_objects() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let nss: Api<Namespace> = Api::all(c.clone());
    let names: Vec<String> = nss
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(names, ["default", "kube-public", "kube-system"]);
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    let created = nss.create(&PostParams::default(), &ns).await.unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));

    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "team-a");
    cms.create(&PostParams::default(), &configmap("inside", &[]))
        .await
        .unwrap();
    let all: Api<ConfigMap> = Api::all(c.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );

    // Deleting a namespace terminates it and removes its contents.
    let pending = nss
        .delete("team-a", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = pending.left().expect("namespace deletion is not immediate");
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    eventually(Duration::from_secs(60), "namespace removal", || {
        let nss = nss.clone();
        async move { nss.get_opt("team-a").await.unwrap().is_none().then_some(()) }
    })
    .await;
    assert!(
        all.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    emu.stop();
}

#[tokio::test]
async fn services_get_cluster_ips_and_load_balancer_hostnames() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let svcs: Api<Service> = Api::default_namespaced(c.clone());
    let mut ips = Vec::new();
    for (name, kind) in [("one", "ClusterIP"), ("two", "LoadBalancer")] {
        let svc: Service = serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"type": kind, "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}})).unwrap();
        let created = svcs.create(&PostParams::default(), &svc).await.unwrap();
        let ip = created.spec.unwrap().cluster_ip.unwrap();
        let addr: std::net::Ipv4Addr = ip.parse().unwrap();
        assert_eq!(
            u32::from(addr) & 0xfff0_0000,
            0x0a60_0000,
            "{ip} is in 10.96.0.0/12"
        );
        ips.push(ip);
    }
    assert_ne!(ips[0], ips[1]);
    let hostname = eventually(Duration::from_secs(5), "load balancer hostname", || {
        let svcs = svcs.clone();
        async move {
            let s = svcs.get("two").await.unwrap();
            s.status?.load_balancer?.ingress?.first()?.hostname.clone()
        }
    })
    .await;
    assert!(hostname.starts_with("two-"), "{hostname}");
    assert!(
        svcs.get("one")
            .await
            .unwrap()
            .status
            .unwrap()
            .load_balancer
            .unwrap()
            .ingress
            .is_none()
    );
    emu.stop();
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer"},
                        "parts": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                                  "items": {"type": "object", "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}}}
                    }},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}}
            }]
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn crd_then_custom_resource_discovery_and_crud() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.clone());
    let created = crds
        .create(&PostParams::default(), &widget_crd())
        .await
        .unwrap();
    let established = created
        .status
        .unwrap()
        .conditions
        .unwrap()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established);

    // Discovery finds the new group and kind.
    let discovery = kube::discovery::Discovery::new(c.clone())
        .run()
        .await
        .unwrap();
    let group = discovery
        .groups()
        .find(|g| g.name() == "example.com")
        .expect("example.com is discovered");
    let (ar, caps) = group
        .recommended_kind("Widget")
        .expect("Widget is discovered");
    assert_eq!(ar.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let (pinned, _) = kube::discovery::pinned_kind(&c, &gvk).await.unwrap();
    assert_eq!(pinned, ApiResource::from_gvk_with_plural(&gvk, "widgets"));

    let widgets: Api<DynamicObject> = Api::default_namespaced_with(c.clone(), &ar);
    let w = DynamicObject::new("w1", &ar)
        .data(json!({"spec": {"size": 1, "parts": [{"id": "a", "qty": 1}]}}));
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.data["spec"]["size"], 1);
    // `parts` is a keyed list in the CRD schema: another manager can add an item.
    let cfg = |size: Option<i64>| {
        let mut spec = json!({"parts": [{"id": "b", "qty": 2}]});
        if let Some(n) = size {
            spec["size"] = json!(n);
        }
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": spec})
    };
    let applied = widgets
        .patch(
            "w1",
            &PatchParams::apply("parts-bot"),
            &Patch::Apply(cfg(None)),
        )
        .await
        .unwrap();
    assert_eq!(
        applied.data["spec"]["parts"],
        json!([{"id": "a", "qty": 1}, {"id": "b", "qty": 2}])
    );
    // spec.size belongs to the creator: changing it conflicts.
    let e = api_error(
        widgets
            .patch(
                "w1",
                &PatchParams::apply("parts-bot"),
                &Patch::Apply(cfg(Some(7))),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.details.as_ref().unwrap().causes[0].field, ".spec.size");
    let merged = widgets
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.data["spec"]["size"], 2);
    assert_eq!(merged.metadata.generation, Some(3));
    let status = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .unwrap();
    assert_eq!(status.data["status"]["ready"], true);
    assert_eq!(
        status.metadata.generation,
        Some(3),
        "status changes do not bump the generation"
    );
    let listed = widgets.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    widgets
        .delete("w1", &DeleteParams::default())
        .await
        .unwrap();
    assert!(widgets.get_opt("w1").await.unwrap().is_none());

    // Deleting the CRD removes the API.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    let e = api_error(widgets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(e.code, 404);
    emu.stop();
}

#[tokio::test]
async fn watch_streams_changes() {
    let emu = fast_emulator();
    let c = client(&emu).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());
    cms.create(&PostParams::default(), &configmap("before", &[("w", "1")]))
        .await
        .unwrap();
    let list = cms.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().labels("w=1").timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    cms.create(&PostParams::default(), &configmap("after", &[("w", "1")]))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &configmap("ignored", &[("w", "2")]))
        .await
        .unwrap();
    cms.patch(
        "after",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .unwrap();
    cms.delete("after", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("event in time")
            .unwrap()
            .expect("stream open");
        match event {
            WatchEvent::Added(o) => seen.push(format!("ADDED {}", o.metadata.name.unwrap())),
            WatchEvent::Modified(o) => seen.push(format!("MODIFIED {}", o.metadata.name.unwrap())),
            WatchEvent::Deleted(o) => seen.push(format!("DELETED {}", o.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    assert_eq!(seen, ["ADDED after", "MODIFIED after", "DELETED after"]);
    emu.stop();
}
