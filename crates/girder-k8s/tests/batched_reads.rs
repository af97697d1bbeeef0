//! Refresh reads each Kubernetes kind with one LIST per namespace (girder's label as the
//! selector, paged with `limit` and `continue`) instead of one GET per object, and reads
//! exactly what the GETs read. Requests are counted twice: by the provider
//! (`K8sPackage::read_requests`) and by the emulator, so neither count is taken on trust.

mod common;

use std::time::Duration;

use common::{Cluster, small};
use girder_core::NodeKind;
use girder_core::Stack;
use girder_engine::provider::{
    CallContext, Observed, Provider, ProviderPackage, ReadItem, ReadRequest, ResourceIdentity,
};
use girder_k8s::dsl::*;
use girder_k8s::{K8sPackage, ReadCount};
use girder_testing::kube::{Authentication, EmulatorConfig, KubeEmulator, StaticTokens, UserInfo};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const CONFIGMAP: &str = "k8s:core/v1:ConfigMap";

fn configmaps(count: usize) -> girder_core::Graph {
    let mut s = Stack::new("dev");
    for i in 0..count {
        ConfigMap::new(format!("settings-{i:02}"))
            .data("INDEX", i.to_string())
            .add(DefaultProvider, &mut s);
    }
    s.finish().expect("the program builds")
}

fn paged(page_size: u32) -> Cluster {
    Cluster::start_with_package(
        EmulatorConfig {
            rollout_step: Duration::from_millis(20),
            lb_hostname_delay: Duration::from_millis(50),
            ..EmulatorConfig::default()
        },
        |package| package.with_list_page_size(page_size),
    )
}

/// A provider of the cluster's package (sharing its read counter), for reads made directly.
async fn provider(cluster: &Cluster) -> std::sync::Arc<dyn Provider> {
    cluster
        .package
        .configure(&girder_core::Value::Null)
        .await
        .expect("the provider configures")
}

/// Read items for every recorded resource of `type_name`, by name; with the recorded inputs,
/// or with none (as an import reads).
fn items(cluster: &Cluster, type_name: &str, recorded: bool) -> Vec<ReadItem> {
    cluster
        .harness
        .snapshot()
        .resources
        .values()
        .filter(|r| r.kind == NodeKind::Resource && r.type_name == type_name)
        .map(|r| ReadItem {
            identity: ResourceIdentity {
                stack: "dev".into(),
                name: r.name.clone(),
                type_name: r.type_name.clone(),
            },
            id: r.id.clone(),
            inputs: recorded.then(|| r.inputs.reveal()),
        })
        .collect()
}

async fn read(
    provider: &dyn Provider,
    type_name: &str,
    items: Vec<ReadItem>,
) -> Vec<Option<Observed>> {
    provider
        .read(
            ReadRequest {
                type_name: type_name.into(),
                items,
            },
            &CallContext::detached(Duration::from_secs(30)),
        )
        .await
        .expect("the read succeeds")
        .items
}

/// The per-object path: each item in a batch of its own, which the provider reads by GET.
async fn read_one_by_one(
    provider: &dyn Provider,
    type_name: &str,
    items: &[ReadItem],
) -> Vec<Option<Observed>> {
    let mut observed = Vec::new();
    for item in items {
        observed.extend(read(provider, type_name, vec![item.clone()]).await);
    }
    observed
}

#[tokio::test]
async fn refreshing_fifty_objects_lists_them_in_pages_instead_of_fifty_gets() {
    let cluster = paged(20);
    let graph = configmaps(50);
    cluster.up(&graph).await;
    cluster.package.read_requests().reset();
    cluster.emulator.reset_requests();

    let plan = cluster.plan(&graph).await;
    assert!(
        !plan.has_changes(),
        "the refresh reads every object as applied"
    );

    let counted = cluster.package.read_requests().of(CONFIGMAP);
    let served = cluster.emulator.requests();
    eprintln!("refresh of 50 ConfigMaps, pages of 20: {counted:?}; served: {served:?}");
    assert_eq!(
        counted,
        ReadCount { lists: 3, gets: 0 },
        "one LIST of three pages (20 + 20 + 10), not 50 GETs"
    );
    assert_eq!(served.count("list", "", "configmaps"), 3);
    assert_eq!(served.count("get", "", "configmaps"), 0);
    assert_eq!(served.total(), 3, "the refresh made no other request");

    // Before batching, the same refresh was one GET per object.
    let provider = provider(&cluster).await;
    let items = items(&cluster, CONFIGMAP, true);
    cluster.package.read_requests().reset();
    read_one_by_one(provider.as_ref(), CONFIGMAP, &items).await;
    assert_eq!(
        cluster.package.read_requests().of(CONFIGMAP),
        ReadCount { lists: 0, gets: 50 }
    );
}

#[tokio::test]
async fn batched_reads_observe_exactly_what_gets_observe_for_every_kind() {
    let cluster = paged(500);
    let mut s = Stack::new("dev");
    let tools = Namespace::new("tools").add(DefaultProvider, &mut s);
    Namespace::new("extra").add(DefaultProvider, &mut s);
    for i in 0..4 {
        ConfigMap::new(format!("settings-{i}"))
            .data("INDEX", i.to_string())
            .add(DefaultProvider, &mut s);
    }
    for i in 0..2 {
        ConfigMap::new(format!("tools-{i}"))
            .namespace(&tools)
            .data("INDEX", i.to_string())
            .add(DefaultProvider, &mut s);
    }
    for name in ["web-a", "web-b"] {
        let web = Deployment::new(name)
            .image("ghcr.io/acme/web:1.0")
            .port(8080)
            .replicas(1)
            .resources(small())
            .add(DefaultProvider, &mut s);
        web.expose(ServicePort::http(80, 8080))
            .name(format!("{name}-public"))
            .load_balancer()
            .wait_for_address()
            .add(&mut s);
    }
    for name in ["reader-a", "reader-b"] {
        ClusterRole::new(name)
            .rule(PolicyRule::new([""], ["configmaps"], ["get", "list"]))
            .add(DefaultProvider, &mut s);
    }
    let graph = s.finish().expect("the program builds");
    cluster.up(&graph).await;

    let provider = provider(&cluster).await;
    // (type, namespaces its objects are in, objects)
    let kinds = [
        (CONFIGMAP, 2, 6),
        ("k8s:apps/v1:Deployment", 1, 2),
        ("k8s:core/v1:Service", 1, 2),
        ("k8s:core/v1:Namespace", 1, 2),
        ("k8s:rbac.authorization.k8s.io/v1:ClusterRole", 1, 2),
    ];
    for (type_name, namespaces, objects) in kinds {
        for recorded in [true, false] {
            let items = items(&cluster, type_name, recorded);
            assert_eq!(items.len(), objects, "{type_name}");
            cluster.package.read_requests().reset();
            cluster.emulator.reset_requests();
            let batched = read(provider.as_ref(), type_name, items.clone()).await;
            assert_eq!(
                cluster.package.read_requests().of(type_name),
                ReadCount {
                    lists: namespaces,
                    gets: 0
                },
                "{type_name}: one LIST per namespace"
            );
            assert_eq!(cluster.emulator.requests().verb("list"), namespaces);
            assert_eq!(cluster.emulator.requests().total(), namespaces);

            let one_by_one = read_one_by_one(provider.as_ref(), type_name, &items).await;
            assert_eq!(
                cluster.package.read_requests().of(type_name).gets,
                objects as u64,
                "{type_name}: the per-object path is one GET each"
            );
            assert!(
                batched.iter().all(Option::is_some),
                "{type_name}: {batched:#?}"
            );
            assert_eq!(
                batched, one_by_one,
                "{type_name} (recorded inputs: {recorded}): a LIST observes what a GET observes"
            );
            if type_name == "k8s:core/v1:Service" {
                for observed in batched.iter().flatten() {
                    let hostname = observed
                        .outputs
                        .get("loadBalancer")
                        .and_then(|lb| lb.get("hostname"))
                        .and_then(|h| h.as_str().map(str::to_owned));
                    assert!(
                        hostname.is_some_and(|h| h.ends_with(".lb.girder-emulator.invalid")),
                        "the Service's load balancer is read from its status: {observed:#?}"
                    );
                }
            }
        }
    }
    assert!(
        !cluster.plan(&graph).await.has_changes(),
        "a refresh by LIST shows no drift"
    );
}

#[tokio::test]
async fn objects_the_list_does_not_return_are_read_by_get_and_deleted_ones_are_gone() {
    let cluster = paged(20);
    cluster.up(&configmaps(50)).await;
    let provider = provider(&cluster).await;
    let items = items(&cluster, CONFIGMAP, true);
    let api = cluster
        .api("", "v1", "ConfigMap", "configmaps", "default")
        .await;
    // Someone removed girder's label from one object and deleted another.
    api.patch(
        "settings-07",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": null}}})),
    )
    .await
    .unwrap();
    api.delete("settings-08", &Default::default())
        .await
        .unwrap();

    cluster.package.read_requests().reset();
    cluster.emulator.reset_requests();
    let batched = read(provider.as_ref(), CONFIGMAP, items.clone()).await;
    let counted = cluster.package.read_requests().of(CONFIGMAP);
    assert_eq!(
        counted,
        ReadCount { lists: 3, gets: 2 },
        "three pages, then a GET for each object the LIST did not return"
    );
    let served = cluster.emulator.requests();
    assert_eq!(served.count("list", "", "configmaps"), 3);
    assert_eq!(served.count("get", "", "configmaps"), 2);

    let position = |name: &str| {
        items
            .iter()
            .position(|i| i.id == format!("default/{name}"))
            .unwrap()
    };
    assert!(
        batched[position("settings-08")].is_none(),
        "a deleted object is gone"
    );
    let unlabelled = batched[position("settings-07")]
        .as_ref()
        .expect("an object without girder's label is still read");
    assert_eq!(
        unlabelled
            .inputs
            .get("data")
            .and_then(|d| d.get("INDEX"))
            .and_then(|v| v.as_str().map(str::to_owned)),
        Some("7".to_owned())
    );
    assert_eq!(batched.iter().filter(|o| o.is_some()).count(), 49);
    assert_eq!(
        batched,
        read_one_by_one(provider.as_ref(), CONFIGMAP, &items).await,
        "what a GET per object reads"
    );
}

#[tokio::test]
async fn paging_through_other_stacks_objects_stops_where_gets_are_cheaper() {
    let cluster = paged(20);
    cluster.up(&configmaps(2)).await;
    // Sixty objects of other girder stacks, listed before ours (names sort first).
    let api = cluster
        .api("", "v1", "ConfigMap", "configmaps", "default")
        .await;
    for i in 0..60 {
        let object: kube::api::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": format!("other-{i:02}"),
                "labels": {"app.kubernetes.io/managed-by": "girder"},
            },
        }))
        .unwrap();
        api.create(&PostParams::default(), &object).await.unwrap();
    }
    let provider = provider(&cluster).await;
    let items = items(&cluster, CONFIGMAP, true);
    cluster.package.read_requests().reset();
    let batched = read(provider.as_ref(), CONFIGMAP, items.clone()).await;
    assert!(batched.iter().all(Option::is_some));
    assert_eq!(
        cluster.package.read_requests().of(CONFIGMAP),
        ReadCount { lists: 2, gets: 2 },
        "two pages found neither object, so both are read by GET instead of a third page: never more than twice the GETs"
    );
    assert_eq!(
        batched,
        read_one_by_one(provider.as_ref(), CONFIGMAP, &items).await
    );
}

#[tokio::test]
async fn an_identity_that_may_get_but_not_list_reads_by_get() {
    let emulator = KubeEmulator::builder()
        .authentication(Authentication::Tokens(
            StaticTokens::new()
                .token("admin-token", UserInfo::cluster_admin())
                .token("reader-token", UserInfo::new("reader")),
        ))
        .start()
        .expect("the emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let admin_config = dir.path().join("admin.yaml");
    let reader_config = dir.path().join("reader.yaml");
    emulator
        .write_kubeconfig_with_token(&admin_config, "admin-token")
        .unwrap();
    emulator
        .write_kubeconfig_with_token(&reader_config, "reader-token")
        .unwrap();
    // The admin applies three objects and lets `reader` get (not list) ConfigMaps.
    let admin = K8sPackage::new()
        .with_kubeconfig_override(&admin_config)
        .configure(&girder_core::Value::Null)
        .await
        .unwrap();
    let ctx = CallContext::detached(Duration::from_secs(30));
    let create = |name: &str, manifest: serde_json::Value| {
        let admin = admin.clone();
        let name = name.to_owned();
        let ctx = &ctx;
        async move {
            admin
                .create(
                    girder_engine::provider::CreateRequest {
                        identity: ResourceIdentity {
                            stack: "dev".into(),
                            name: name.clone(),
                            type_name: manifest["type"].as_str().unwrap().into(),
                        },
                        inputs: girder_core::Value::from_json(manifest["inputs"].clone()),
                    },
                    ctx,
                )
                .await
                .unwrap()
                .id
        }
    };
    create(
        "getter",
        json!({"type": "k8s:rbac.authorization.k8s.io/v1:ClusterRole", "inputs": {
            "metadata": {"name": "getter"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        }}),
    )
    .await;
    create(
        "getter-binding",
        json!({"type": "k8s:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "inputs": {
            "metadata": {"name": "getter"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "getter"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "reader"}],
        }}),
    )
    .await;
    let mut items = Vec::new();
    for i in 0..3 {
        let name = format!("settings-{i}");
        let id = create(
            &name,
            json!({"type": CONFIGMAP, "inputs": {
                "metadata": {"name": name, "namespace": "default"},
                "data": {"INDEX": i.to_string()},
            }}),
        )
        .await;
        items.push(ReadItem {
            identity: ResourceIdentity {
                stack: "dev".into(),
                name: name.clone(),
                type_name: CONFIGMAP.into(),
            },
            id,
            inputs: None,
        });
    }

    let reader = K8sPackage::new().with_kubeconfig_override(&reader_config);
    let provider = reader.configure(&girder_core::Value::Null).await.unwrap();
    let batched = read(provider.as_ref(), CONFIGMAP, items).await;
    assert!(
        batched.iter().all(Option::is_some),
        "a refused LIST falls back to the GETs the identity may make: {batched:#?}"
    );
    assert_eq!(
        reader.read_requests().of(CONFIGMAP),
        ReadCount { lists: 1, gets: 3 }
    );
    emulator.stop();
}

#[tokio::test]
async fn the_seeds_refresh_makes_at_most_one_request_per_kind_and_namespace() {
    let cluster = paged(500);
    let graph = common::seed_program_for("dev");
    cluster.up(&graph).await;
    // What each type's objects are: how many, in how many namespaces.
    let mut spread: std::collections::BTreeMap<String, (u64, std::collections::BTreeSet<String>)> =
        Default::default();
    for r in cluster.harness.snapshot().resources.values() {
        if r.kind == NodeKind::Resource && r.type_name.starts_with("k8s:") {
            let entry = spread.entry(r.type_name.clone()).or_default();
            entry.0 += 1;
            entry.1.insert(
                r.id.split_once('/')
                    .map(|(ns, _)| ns.to_owned())
                    .unwrap_or_default(),
            );
        }
    }
    cluster.package.read_requests().reset();
    cluster.emulator.reset_requests();
    assert!(!cluster.plan(&graph).await.has_changes());

    let counted = cluster.package.read_requests().snapshot();
    let objects: u64 = spread.values().map(|(n, _)| n).sum();
    let requests = cluster.package.read_requests().total().requests();
    eprintln!(
        "refresh of the seed's Kubernetes side: {objects} objects of {} kinds, {requests} requests (one GET each before): {counted:#?}",
        spread.len()
    );
    for (type_name, (count, namespaces)) in &spread {
        let made = counted.get(type_name).copied().unwrap_or_default();
        assert!(
            made.requests() <= namespaces.len() as u64,
            "{type_name}: {count} objects in {} namespaces took {made:?}",
            namespaces.len()
        );
    }
    assert_eq!(
        cluster.emulator.requests().total(),
        requests,
        "the emulator served exactly the requests the provider counted"
    );
}

/// A kind with more objects than the engine's default read batch (100) is still listed once:
/// the provider asks for the whole type in one read, and refresh reports the requests it made.
#[tokio::test]
async fn a_kind_larger_than_a_read_batch_is_listed_once_and_its_requests_reported() {
    let cluster = paged(100);
    let graph = configmaps(250);
    cluster.up(&graph).await;
    cluster.package.read_requests().reset();
    cluster.emulator.reset_requests();

    let report = girder_engine::refresh(
        &cluster.harness.snapshot(),
        Some(&graph),
        &cluster.harness.ctx,
        8,
        girder_engine::RetryPolicy::default(),
    )
    .await
    .expect("the refresh succeeds");
    assert!(report.changed.is_empty() && report.gone.is_empty());
    assert_eq!(report.calls, 1, "one read call for the whole kind");
    // Pages of 100: 100 + 100 + 50. In batches of 100, each batch would have listed all three.
    assert_eq!(
        report.requests.get(CONFIGMAP),
        Some(&3),
        "{:?}",
        report.requests
    );
    assert_eq!(
        cluster.emulator.requests().count("list", "", "configmaps"),
        3
    );
}
