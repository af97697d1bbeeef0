//! HTTPS with the emulator's own CA and static bearer tokens, through the real
//! `kube::Client` (kubeconfig with `certificate-authority-data`, and `Config::root_cert`) and
//! the real `kubectl`.

mod common;

use common::kubectl::Kubectl;
use common::{api_error, client_from_kubeconfig};
use girder_kube_emulator::{Authentication, KubeEmulator, StaticTokens, UserInfo};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

fn https_with_tokens() -> KubeEmulator {
    KubeEmulator::builder()
        .https()
        .authentication(Authentication::Tokens(
            StaticTokens::new().token("reader-token", UserInfo::new("reader").groups(["readers"])),
        ))
        .admin_token("admin-secret")
        .start()
        .expect("emulator starts")
}

/// A client built by hand: the URL, the CA in DER as a root certificate, and a token.
fn explicit_client(emulator: &KubeEmulator, token: &str) -> Client {
    let mut config = kube::Config::new(emulator.url().parse().unwrap());
    config.root_cert = Some(vec![emulator.ca_der().unwrap().to_vec()]);
    if !token.is_empty() {
        config.auth_info = serde_json::from_value(json!({ "token": token })).unwrap();
    }
    Client::try_from(config).unwrap()
}

#[tokio::test]
async fn kube_client_trusts_the_emulator_ca_from_kubeconfig_and_root_cert() {
    let emu = https_with_tokens();
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    assert!(
        emu.ca_pem()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    // The admin kubeconfig: certificate-authority-data and the admin token.
    let admin = client_from_kubeconfig(&emu.kubeconfig_yaml()).await;
    let version = admin.apiserver_version().await.unwrap();
    assert!(
        version.git_version.starts_with("v1.35.") && version.git_version.contains("-eks-"),
        "{version:?}"
    );
    let cms: Api<ConfigMap> = Api::default_namespaced(admin.clone());
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "over-tls"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();

    // Config::new + root_cert, the way a program does with a cluster's CA.
    let explicit = explicit_client(&emu, "admin-secret");
    let namespaces: Api<Namespace> = Api::all(explicit);
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(names.contains(&"default".to_string()), "{names:?}");
    emu.stop();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused() {
    let emu = https_with_tokens();
    let other = KubeEmulator::builder().https().start().unwrap();
    // The other emulator's CA did not sign this server's certificate.
    let mut config = kube::Config::new(emu.url().parse().unwrap());
    config.root_cert = Some(vec![other.ca_der().unwrap().to_vec()]);
    config.auth_info = serde_json::from_value(json!({ "token": "admin-secret" })).unwrap();
    let client = Client::try_from(config).unwrap();
    let err = client.apiserver_version().await.unwrap_err();
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    other.stop();
    emu.stop();
}

#[tokio::test]
async fn tokens_are_required_and_mapped_to_users() {
    let emu = https_with_tokens();
    // No token, an unknown token: 401 Unauthorized, as a Status.
    for yaml in [
        emu.kubeconfig_yaml()
            .replace("user:\n    token: \"admin-secret\"", "user: {}"),
        emu.kubeconfig_yaml_with_token("nope"),
    ] {
        let client = client_from_kubeconfig(&yaml).await;
        let cms: Api<ConfigMap> = Api::default_namespaced(client);
        let status = api_error(cms.list(&ListParams::default()).await);
        assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
        assert_eq!(status.message, "Unauthorized");
    }
    // The health endpoints stay open without credentials (as on EKS).
    let anonymous = explicit_client(&emu, "");
    let health = anonymous
        .request_text(http::Request::get("/readyz").body(Vec::new()).unwrap())
        .await;
    assert_eq!(health.unwrap(), "ok");

    // A known user without RBAC bindings is authenticated but may do nothing but discover.
    let reader = explicit_client(&emu, "reader-token");
    reader.apiserver_version().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(reader.clone());
    let status = api_error(cms.list(&ListParams::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        r#"configmaps is forbidden: User "reader" cannot list resource "configmaps" in API group "" in the namespace "default""#
    );
    // An RBAC binding of the user's group, made by the admin, lets it read.
    let admin = explicit_client(&emu, "admin-secret");
    let dynamic = |kind: &str, plural: &str| {
        let ar = kube::api::ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        (
            Api::<kube::api::DynamicObject>::all_with(admin.clone(), &ar),
            Api::<kube::api::DynamicObject>::namespaced_with(admin.clone(), "default", &ar),
        )
    };
    let (cluster_roles, _) = dynamic("ClusterRole", "clusterroles");
    let role: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "configmap-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    }))
    .unwrap();
    cluster_roles
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let (_, role_bindings) = dynamic("RoleBinding", "rolebindings");
    let binding: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "readers", "namespace": "default"},
        "subjects": [{"kind": "Group", "name": "readers", "apiGroup": "rbac.authorization.k8s.io"}],
        "roleRef": {"kind": "ClusterRole", "name": "configmap-reader", "apiGroup": "rbac.authorization.k8s.io"}
    }))
    .unwrap();
    role_bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    cms.list(&ListParams::default()).await.unwrap();
    // Only in that namespace, and only reading.
    let elsewhere: Api<ConfigMap> = Api::namespaced(reader.clone(), "kube-system");
    assert_eq!(
        api_error(elsewhere.list(&ListParams::default()).await).code,
        403
    );
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    let status = api_error(cms.create(&PostParams::default(), &cm).await);
    assert_eq!(
        status.message,
        r#"configmaps is forbidden: User "reader" cannot create resource "configmaps" in API group "" in the namespace "default""#
    );
    emu.stop();
}

#[test]
fn kubectl_over_tls_with_certificate_authority_data() {
    let emu = https_with_tokens();
    let kubectl = Kubectl::new(&emu);
    let kubeconfig = std::fs::read_to_string(&kubectl.kubeconfig).unwrap();
    assert!(kubeconfig.contains("certificate-authority-data:"));
    assert!(kubeconfig.contains("server: https://127.0.0.1:"));
    let version = kubectl.json(&["version"]);
    assert!(
        version["serverVersion"]["gitVersion"]
            .as_str()
            .unwrap()
            .contains("-eks-"),
        "{version}"
    );
    let dir = tempfile::tempdir().unwrap();
    kubectl.apply(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tls-check\ndata:\n  a: b\n",
        &[],
    );
    assert_eq!(
        kubectl.json(&["get", "configmap", "tls-check"])["data"]["a"],
        "b"
    );
    // A user without rights sees the API server's Forbidden message.
    let reader = Kubectl::with_kubeconfig(&emu.kubeconfig_yaml_with_token("reader-token"));
    let stderr = reader.fails(&["get", "configmaps"]);
    assert!(
        stderr.contains(r#"configmaps is forbidden: User "reader" cannot list resource "configmaps" in API group "" in the namespace "default""#),
        "{stderr}"
    );
    // A wrong token: kubectl reports that it must log in.
    let stranger = Kubectl::with_kubeconfig(&emu.kubeconfig_yaml_with_token("stranger"));
    let stderr = stranger.fails(&["get", "configmaps"]);
    assert!(
        stderr.contains("You must be logged in to the server") || stderr.contains("Unauthorized"),
        "{stderr}"
    );
    emu.stop();
}
