//! The emulator as an EKS endpoint: HTTPS with its CA, `k8s-aws-v1.` tokens presigned the
//! way girder makes them and verified through a moto STS, access entries and access
//! policies deciding what each IAM principal may do — through the real `kube::Client` and
//! `kubectl`.

mod common;

use std::time::{Duration, SystemTime};

use common::aws::{Moto, assumed_role, iam_user, presigned_token};
use common::kubectl::Kubectl;
use common::{api_error, client_from_kubeconfig};
use girder_kube_emulator::{
    ADMIN_POLICY, AccessEntry, AccessScope, Authentication, CLUSTER_ADMIN_POLICY, Clock,
    EDIT_POLICY, EksAuthentication, InMemoryAccessSource, KubeEmulator, ManualClock,
    StaticSigningSecrets, StsEndpoint, VIEW_POLICY,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

const CLUSTER: &str = "yolo";

fn start(
    moto: &Moto,
    access: &InMemoryAccessSource,
    secrets: StaticSigningSecrets,
    clock: Option<ManualClock>,
) -> KubeEmulator {
    let eks = EksAuthentication::new(CLUSTER, StsEndpoint::moto(&moto.endpoint()).unwrap())
        .signing_secrets(secrets);
    let mut builder = KubeEmulator::builder()
        .https()
        .authentication(Authentication::Eks(eks))
        .access_source(access.clone());
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    builder.start().expect("emulator starts")
}

async fn client_with(emu: &KubeEmulator, token: &str) -> Client {
    client_from_kubeconfig(&emu.kubeconfig_yaml_with_token(token)).await
}

fn configmap(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn access_policies_decide_what_an_iam_user_may_do() {
    let moto = Moto::start();
    let aws = moto.sdk_config().await;
    let (alice_arn, alice) = iam_user(&aws, "alice").await;
    let (viewer_arn, viewer) = iam_user(&aws, "viewer").await;
    let (_, stranger) = iam_user(&aws, "stranger").await;
    let secrets = [&alice, &viewer, &stranger]
        .iter()
        .fold(StaticSigningSecrets::new(), |s, c| {
            s.key(c.access_key_id(), c.secret_access_key())
        });
    let access = InMemoryAccessSource::new();
    access.put(
        AccessEntry::new(&alice_arn)
            .policy(EDIT_POLICY, AccessScope::Namespaces(vec!["apps".into()]))
            .policy(ADMIN_POLICY, AccessScope::Namespaces(vec!["team-*".into()])),
    );
    access.put(AccessEntry::new(&viewer_arn).policy(VIEW_POLICY, AccessScope::Cluster));
    let emu = start(&moto, &access, secrets, None);
    let admin = client_from_kubeconfig(&emu.kubeconfig_yaml()).await;
    for ns in ["apps", "team-a"] {
        let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<k8s_openapi::api::core::v1::Namespace>::all(admin.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
    }

    let now = SystemTime::now();
    let alice_client = client_with(
        &emu,
        &presigned_token(CLUSTER, &moto.endpoint(), &alice, now),
    )
    .await;
    // Edit in `apps`: Deployments, Secrets.
    let apps: Api<Deployment> = Api::namespaced(alice_client.clone(), "apps");
    apps.create(&PostParams::default(), &common_deployment("web"))
        .await
        .unwrap();
    let secrets_in_apps: Api<Secret> = Api::namespaced(alice_client.clone(), "apps");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "db"}, "stringData": {"p": "w"}}))
            .unwrap();
    secrets_in_apps
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    // …but no RBAC objects there, and nothing in `default`.
    let roles = kube::api::ApiResource {
        group: "rbac.authorization.k8s.io".into(),
        version: "v1".into(),
        api_version: "rbac.authorization.k8s.io/v1".into(),
        kind: "Role".into(),
        plural: "roles".into(),
    };
    let role: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    }))
    .unwrap();
    let roles_in_apps =
        Api::<kube::api::DynamicObject>::namespaced_with(alice_client.clone(), "apps", &roles);
    let status = api_error(roles_in_apps.create(&PostParams::default(), &role).await);
    assert_eq!(
        status.message,
        format!(
            r#"roles.rbac.authorization.k8s.io is forbidden: User "{alice_arn}" cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "apps""#
        )
    );
    let default: Api<Deployment> = Api::namespaced(alice_client.clone(), "default");
    let status = api_error(
        default
            .create(&PostParams::default(), &common_deployment("web"))
            .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        format!(
            r#"deployments.apps is forbidden: User "{alice_arn}" cannot create resource "deployments" in API group "apps" in the namespace "default""#
        )
    );
    // Admin in `team-*` namespaces manages Roles there.
    let roles_in_team =
        Api::<kube::api::DynamicObject>::namespaced_with(alice_client.clone(), "team-a", &roles);
    roles_in_team
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    // Namespace-scoped policies give nothing cluster-scoped.
    let nodes: Api<Node> = Api::all(alice_client.clone());
    let status = api_error(nodes.list(&ListParams::default()).await);
    assert_eq!(
        status.message,
        format!(
            r#"nodes is forbidden: User "{alice_arn}" cannot list resource "nodes" in API group "" at the cluster scope"#
        )
    );
    // Discovery and the version are open to every authenticated user.
    let version = alice_client.apiserver_version().await.unwrap();
    assert!(version.git_version.contains("-eks-"));

    // View, cluster-wide: reads Deployments everywhere, not Secrets, writes nothing.
    let viewer_client = client_with(
        &emu,
        &presigned_token(CLUSTER, &moto.endpoint(), &viewer, now),
    )
    .await;
    let seen: Api<Deployment> = Api::namespaced(viewer_client.clone(), "apps");
    assert_eq!(
        seen.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    // Namespaces are in the view policy; nodes are not.
    Api::<k8s_openapi::api::core::v1::Namespace>::all(viewer_client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(
        api_error(
            Api::<Node>::all(viewer_client.clone())
                .list(&ListParams::default())
                .await
        )
        .code,
        403
    );
    let hidden: Api<Secret> = Api::namespaced(viewer_client.clone(), "apps");
    let status = api_error(hidden.get("db").await);
    assert_eq!(
        status.message,
        format!(
            r#"secrets "db" is forbidden: User "{viewer_arn}" cannot get resource "secrets" in API group "" in the namespace "apps""#
        )
    );
    let cms: Api<ConfigMap> = Api::namespaced(viewer_client, "apps");
    assert_eq!(
        api_error(cms.create(&PostParams::default(), &configmap("no")).await).code,
        403
    );

    // A principal without an access entry cannot be mapped: 401.
    let stranger_client = client_with(
        &emu,
        &presigned_token(CLUSTER, &moto.endpoint(), &stranger, now),
    )
    .await;
    let status = api_error(stranger_client.apiserver_version().await);
    assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));

    // A token alice made for another cluster does not open this one.
    let foreign = client_with(
        &emu,
        &presigned_token("other", &moto.endpoint(), &alice, now),
    )
    .await;
    assert_eq!(api_error(foreign.apiserver_version().await).code, 401);
    // Nor one presigned for another STS host, or malformed ones.
    for token in [
        presigned_token(CLUSTER, "http://127.0.0.2:1", &alice, now),
        "k8s-aws-v1.not-base64!".to_string(),
        "k8s-aws-v1.".to_string(),
    ] {
        let client = client_with(&emu, &token).await;
        assert_eq!(
            api_error(client.apiserver_version().await).code,
            401,
            "{token}"
        );
    }

    // Access entries are read per request: removing alice's locks her out at once.
    access.remove(&alice_arn);
    assert_eq!(api_error(apps.list(&ListParams::default()).await).code, 401);
    emu.stop();
}

fn common_deployment(name: &str) -> Deployment {
    serde_json::from_value(common::deployment(name, "nginx:1.27", 1)).unwrap()
}

#[tokio::test]
async fn assumed_roles_map_to_their_role_entry_and_groups_meet_rbac() {
    let moto = Moto::start();
    let aws = moto.sdk_config().await;
    let (role_arn, session) = assumed_role(&aws, "Deployer", "ci@example.com").await;
    let (admin_role_arn, admin_session) = assumed_role(&aws, "ClusterAdmin", "ops").await;
    let secrets = StaticSigningSecrets::new()
        .key(session.access_key_id(), session.secret_access_key())
        .key(
            admin_session.access_key_id(),
            admin_session.secret_access_key(),
        );
    let access = InMemoryAccessSource::new();
    access.put(AccessEntry::new(&role_arn).kubernetes_groups(["deployers"]));
    access
        .put(AccessEntry::new(&admin_role_arn).policy(CLUSTER_ADMIN_POLICY, AccessScope::Cluster));
    let emu = start(&moto, &access, secrets, None);
    let now = SystemTime::now();

    // The cluster admin policy: everything, cluster-scoped objects included.
    let ops = client_with(
        &emu,
        &presigned_token(CLUSTER, &moto.endpoint(), &admin_session, now),
    )
    .await;
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "deployers"},
        "subjects": [{"kind": "Group", "name": "deployers", "apiGroup": "rbac.authorization.k8s.io"}],
        "roleRef": {"kind": "ClusterRole", "name": "configmap-writer", "apiGroup": "rbac.authorization.k8s.io"}
    });
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "configmap-writer"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]
    });
    for (kind, plural, object) in [
        ("ClusterRole", "clusterroles", role),
        ("ClusterRoleBinding", "clusterrolebindings", binding),
    ] {
        let ar = kube::api::ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        Api::<kube::api::DynamicObject>::all_with(ops.clone(), &ar)
            .create(
                &PostParams::default(),
                &serde_json::from_value(object).unwrap(),
            )
            .await
            .unwrap();
    }

    // The assumed-role session is canonicalised to the role, whose entry gives the group
    // `deployers`, which the ClusterRoleBinding lets write ConfigMaps — and nothing else.
    let ci = client_with(
        &emu,
        &presigned_token(CLUSTER, &moto.endpoint(), &session, now),
    )
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(ci.clone(), "kube-system");
    cms.create(&PostParams::default(), &configmap("from-ci"))
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(ci.clone(), "default");
    let status = api_error(deployments.list(&ListParams::default()).await);
    // The username is EKS's default for a role: the session's STS ARN.
    assert_eq!(
        status.message,
        r#"deployments.apps is forbidden: User "arn:aws:sts::123456789012:assumed-role/Deployer/ci-example.com" cannot list resource "deployments" in API group "apps" in the namespace "default""#
    );

    // kubectl with the same token in its kubeconfig.
    let kubectl = Kubectl::with_kubeconfig(&emu.kubeconfig_yaml_with_token(&presigned_token(
        CLUSTER,
        &moto.endpoint(),
        &session,
        SystemTime::now(),
    )));
    let got = kubectl.json(&["get", "configmap", "from-ci", "-n", "kube-system"]);
    assert_eq!(got["data"]["k"], "v");
    let stderr = kubectl.fails(&["get", "deployments"]);
    assert!(
        stderr.contains("Error from server (Forbidden): deployments.apps is forbidden"),
        "{stderr}"
    );
    // `kubectl auth whoami` and `kubectl auth can-i` see the same mapping and decisions.
    let me = kubectl.json(&["auth", "whoami"]);
    assert_eq!(
        me["status"]["userInfo"]["username"],
        "arn:aws:sts::123456789012:assumed-role/Deployer/ci-example.com"
    );
    let groups = me["status"]["userInfo"]["groups"].as_array().unwrap();
    assert!(
        groups.contains(&json!("deployers")) && groups.contains(&json!("system:authenticated"))
    );
    assert_eq!(
        me["status"]["userInfo"]["extra"]["canonicalArn"],
        json!([role_arn])
    );
    assert_eq!(
        kubectl
            .ok(&["auth", "can-i", "create", "configmaps", "-n", "kube-system"])
            .trim(),
        "yes"
    );
    let denied = kubectl.run(&["auth", "can-i", "list", "deployments.apps"]);
    assert!(!denied.status.success());
    assert_eq!(String::from_utf8_lossy(&denied.stdout).trim(), "no");
    emu.stop();
}

#[tokio::test]
async fn tokens_expire_fifteen_minutes_after_signing_even_when_cached() {
    let moto = Moto::start();
    let aws = moto.sdk_config().await;
    let (arn, creds) = iam_user(&aws, "alice").await;
    let access = InMemoryAccessSource::new();
    access.put(AccessEntry::new(&arn).policy(VIEW_POLICY, AccessScope::Cluster));
    let signed_at = SystemTime::now();
    let clock = ManualClock::new(signed_at);
    let emu = start(
        &moto,
        &access,
        StaticSigningSecrets::new().key(creds.access_key_id(), creds.secret_access_key()),
        Some(clock.clone()),
    );
    let token = presigned_token(CLUSTER, &moto.endpoint(), &creds, signed_at);
    let client = client_with(&emu, &token).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.list(&ListParams::default()).await.unwrap();
    // X-Amz-Expires says 60 s, but STS (and so EKS) accepts the URL for 15 minutes.
    clock.advance(Duration::from_secs(14 * 60));
    cms.list(&ListParams::default()).await.unwrap();
    // Past 15 minutes the token is refused, although it was cached a moment ago.
    clock.advance(Duration::from_secs(61));
    let status = api_error(cms.list(&ListParams::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
    // A token dated more than five minutes ahead of the server is refused too.
    let future = presigned_token(
        CLUSTER,
        &moto.endpoint(),
        &creds,
        clock.now() + Duration::from_secs(6 * 60),
    );
    let client = client_with(&emu, &future).await;
    assert_eq!(api_error(client.apiserver_version().await).code, 401);
    // A fresh one works.
    let fresh = presigned_token(CLUSTER, &moto.endpoint(), &creds, clock.now());
    let client = client_with(&emu, &fresh).await;
    Api::<ConfigMap>::default_namespaced(client)
        .list(&ListParams::default())
        .await
        .unwrap();
    emu.stop();
}
