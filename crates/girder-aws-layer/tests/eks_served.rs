//! What the layer serves for EKS because moto has none of it: add-ons with their versions,
//! access entries and access policies, and the registry a Kubernetes emulator reads.

mod support;

use aws_sdk_eks::types::{
    AccessScope, AccessScopeType, AddonStatus, AuthenticationMode, CreateAccessConfigRequest,
    UpdateStatus, VpcConfigRequest,
};
use girder_aws_layer::Behaviours;
use girder_aws_layer::eks::AccessScope as Scope;
use support::Env;

async fn cluster(env: &Env, name: &str, mode: Option<AuthenticationMode>) {
    let mut create = env
        .eks()
        .create_cluster()
        .name(name)
        .version("1.33")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build());
    if let Some(mode) = mode {
        create = create.access_config(
            CreateAccessConfigRequest::builder()
                .authentication_mode(mode)
                .build(),
        );
    }
    create.send().await.unwrap();
}

#[tokio::test]
async fn addons_have_current_versions_and_a_slow_lifecycle() {
    let env = Env::start(Behaviours::parse_list("lifecycle").unwrap()).await;
    let eks = env.eks();
    let versions = eks
        .describe_addon_versions()
        .kubernetes_version("1.33")
        .addon_name("coredns")
        .send()
        .await
        .unwrap();
    let coredns = &versions.addons()[0];
    let default = coredns
        .addon_versions()
        .iter()
        .find(|v| v.compatibilities().iter().any(|c| c.default_version()))
        .unwrap();
    assert_eq!(default.addon_version(), Some("v1.12.4-eksbuild.1"));

    cluster(&env, "with-addons", None).await;
    let e = eks
        .create_addon()
        .cluster_name("with-addons")
        .addon_name("vpc-cni")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_invalid_request_exception(),
        "not before ACTIVE"
    );
    env.advance(600);
    let created = eks
        .create_addon()
        .cluster_name("with-addons")
        .addon_name("coredns")
        .send()
        .await
        .unwrap();
    let addon = created.addon().unwrap();
    assert_eq!(addon.status(), Some(&AddonStatus::Creating));
    assert_eq!(addon.addon_version(), Some("v1.12.4-eksbuild.1"));
    let e = eks
        .create_addon()
        .cluster_name("with-addons")
        .addon_name("coredns")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_in_use_exception());
    let e = eks
        .create_addon()
        .cluster_name("with-addons")
        .addon_name("kube-proxy")
        .addon_version("v1.31.13-eksbuild.2")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "a version for another Kubernetes"
    );
    let describe = || {
        eks.describe_addon()
            .cluster_name("with-addons")
            .addon_name("coredns")
            .send()
    };
    env.advance(120);
    assert_eq!(
        describe().await.unwrap().addon().unwrap().status(),
        Some(&AddonStatus::Active)
    );

    let update = eks
        .update_addon()
        .cluster_name("with-addons")
        .addon_name("coredns")
        .configuration_values(r#"{"replicaCount": 3}"#)
        .send()
        .await
        .unwrap();
    let id = update.update().unwrap().id().unwrap().to_owned();
    assert_eq!(
        describe().await.unwrap().addon().unwrap().status(),
        Some(&AddonStatus::Updating)
    );
    env.advance(60);
    let done = eks
        .describe_update()
        .name("with-addons")
        .addon_name("coredns")
        .update_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.update().unwrap().status(),
        Some(&UpdateStatus::Successful)
    );
    assert_eq!(
        describe()
            .await
            .unwrap()
            .addon()
            .unwrap()
            .configuration_values(),
        Some(r#"{"replicaCount": 3}"#)
    );
    assert_eq!(
        eks.list_addons()
            .cluster_name("with-addons")
            .send()
            .await
            .unwrap()
            .addons(),
        ["coredns"]
    );
    eks.delete_addon()
        .cluster_name("with-addons")
        .addon_name("coredns")
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe().await.unwrap().addon().unwrap().status(),
        Some(&AddonStatus::Deleting)
    );
    env.advance(60);
    assert!(
        describe()
            .await
            .unwrap_err()
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert!(env.layer.eks().addons("with-addons").is_empty());
}

#[tokio::test]
async fn access_entries_are_served_and_readable_by_an_emulator() {
    let env = Env::start(Behaviours::none()).await;
    let eks = env.eks();
    cluster(&env, "api", Some(AuthenticationMode::ApiAndConfigMap)).await;
    let registry = env.layer.eks();
    // The creator (moto's default identity) got an admin entry, as bootstrapping does.
    let creator = registry
        .access_entry_for("api", "arn:aws:sts::123456789012:user/moto")
        .expect("the creator's entry");
    assert_eq!(creator.principal_arn, "arn:aws:iam::123456789012:user/moto");
    assert_eq!(
        registry.creator("api").as_deref(),
        Some("arn:aws:iam::123456789012:user/moto")
    );
    assert_eq!(
        creator.policies[0].policy_arn,
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    );
    let described = eks.describe_cluster().name("api").send().await.unwrap();
    let access = described.cluster().unwrap().access_config().unwrap();
    assert_eq!(
        access.authentication_mode(),
        Some(&AuthenticationMode::ApiAndConfigMap)
    );

    let dev = "arn:aws:iam::123456789012:role/team/dev";
    let entry = eks
        .create_access_entry()
        .cluster_name("api")
        .principal_arn(dev)
        .kubernetes_groups("developers")
        .send()
        .await
        .unwrap();
    assert_eq!(
        entry.access_entry().unwrap().username(),
        Some("arn:aws:sts::123456789012:assumed-role/dev/{{SessionName}}")
    );
    let e = eks
        .create_access_entry()
        .cluster_name("api")
        .principal_arn(dev)
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_resource_in_use_exception());
    let e = eks
        .create_access_entry()
        .cluster_name("api")
        .principal_arn("arn:aws:iam::123456789012:role/ops")
        .kubernetes_groups("system:masters")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );

    eks.associate_access_policy()
        .cluster_name("api")
        .principal_arn(dev)
        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .namespaces("apps")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listed = eks
        .list_associated_access_policies()
        .cluster_name("api")
        .principal_arn(dev)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.associated_access_policies().len(), 1);
    // An assumed-role session of the role matches the entry (its path dropped, as STS does).
    let found = registry
        .access_entry_for("api", "arn:aws:sts::123456789012:assumed-role/dev/laptop")
        .unwrap();
    assert_eq!(found.kubernetes_groups, ["developers"]);
    assert_eq!(
        found.policies[0].scope,
        Scope::Namespace {
            namespaces: vec!["apps".into()]
        }
    );
    eks.disassociate_access_policy()
        .cluster_name("api")
        .principal_arn(dev)
        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
        .send()
        .await
        .unwrap();
    eks.update_access_entry()
        .cluster_name("api")
        .principal_arn(dev)
        .kubernetes_groups("viewers")
        .send()
        .await
        .unwrap();
    let entries = eks
        .list_access_entries()
        .cluster_name("api")
        .send()
        .await
        .unwrap();
    assert_eq!(entries.access_entries().len(), 2);
    eks.delete_access_entry()
        .cluster_name("api")
        .principal_arn(dev)
        .send()
        .await
        .unwrap();
    assert_eq!(registry.access_entries("api").len(), 1);
    let policies = eks.list_access_policies().send().await.unwrap();
    assert!(
        policies
            .access_policies()
            .iter()
            .any(|p| p.name() == Some("AmazonEKSViewPolicy"))
    );

    // A managed nodegroup's role gets an EC2_LINUX entry.
    eks.create_nodegroup()
        .cluster_name("api")
        .nodegroup_name("workers")
        .node_role("arn:aws:iam::123456789012:role/node")
        .subnets("subnet-1")
        .send()
        .await
        .unwrap();
    let node = registry
        .access_entry_for("api", "arn:aws:sts::123456789012:assumed-role/node/i-0123")
        .unwrap();
    assert_eq!(
        (node.kind.as_str(), node.username.as_str()),
        ("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}")
    );
}

#[tokio::test]
async fn a_config_map_cluster_has_no_access_entries_until_its_mode_changes() {
    let env = Env::start(Behaviours::none()).await;
    let eks = env.eks();
    cluster(&env, "legacy", None).await;
    let e = eks
        .list_access_entries()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_invalid_request_exception());
    assert!(
        env.layer
            .eks()
            .access_entry_for("legacy", "arn:aws:sts::123456789012:user/moto")
            .is_none()
    );
    let update = eks
        .update_cluster_config()
        .name("legacy")
        .access_config(
            aws_sdk_eks::types::UpdateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::Api)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        update.update().unwrap().r#type(),
        Some(&aws_sdk_eks::types::UpdateType::AccessConfigUpdate)
    );
    eks.list_access_entries()
        .cluster_name("legacy")
        .send()
        .await
        .unwrap();
    let e = eks
        .update_cluster_config()
        .name("legacy")
        .access_config(
            aws_sdk_eks::types::UpdateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::ConfigMap)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "never back"
    );
    // The endpoint update moto applies is reported as an update too (moto answers a cluster).
    let update = eks
        .update_cluster_config()
        .name("legacy")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .endpoint_private_access(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let update = update.update().unwrap();
    assert_eq!(
        update.r#type(),
        Some(&aws_sdk_eks::types::UpdateType::EndpointAccessUpdate)
    );
    let id = update.id().unwrap();
    let listed = eks.list_updates().name("legacy").send().await.unwrap();
    assert!(listed.update_ids().iter().any(|u| u == id));
}
