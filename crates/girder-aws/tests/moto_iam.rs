//! IAM managed policies and instance profiles against moto, importing a role created outside
//! girder, and an EKS add-on through the AWS behaviour layer (moto has no add-ons): each
//! checked through the AWS API, converged after apply, and gone after destroy.

mod support;

use aws_sdk_eks::types::{AddonStatus, VpcConfigRequest};
use girder_aws::dsl::iam::{IamRole, InstanceProfile, ManagedPolicy};
use girder_aws::eks::addon::ADDON;
use girder_aws::iam::document::{PolicyDocument, Statement};
use girder_core::{ResourceDecl, WithOptions};
use girder_engine::StepKind;
use support::{Env, assert_success, build, changes, of_kind};

fn decode(document: &str) -> serde_json::Value {
    // IAM returns policy documents URL-encoded.
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("{e}: {decoded}"))
}

/// The actions of a policy document's first statement, as a list whatever its shape.
fn actions(document: &serde_json::Value) -> Vec<String> {
    match &document["Statement"][0]["Action"] {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("no actions: {other}"),
    }
}

fn nodes_program(actions: &[&str]) -> girder_core::Graph {
    let actions: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
    build(move |s| {
        let policy = ManagedPolicy::new("read-logs")
            .description("reads the node logs")
            .document(
                PolicyDocument::new().statement(Statement::allow(actions.clone()).resource("*")),
            )
            .tag("team", "platform")
            .add(s);
        let role = IamRole::new("nodes")
            .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
            .managed_policy(policy.arn())
            .add(s);
        InstanceProfile::new("nodes-profile").role(&role).add(s);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_policies_and_instance_profiles_apply_update_and_destroy() {
    let env = Env::start().await;
    let graph = nodes_program(&["logs:GetLogEvents"]);
    let (plan, _) = env.apply(&graph).await;
    let created = of_kind(&plan, StepKind::Create);
    for name in ["nodes", "nodes-profile", "read-logs"] {
        assert!(created.contains(&name.to_owned()), "{created:?}");
    }
    assert_eq!(changes(&plan).len(), created.len(), "only creates");
    let state = env.harness.snapshot();
    let id = |name: &str| state.resources[name].id.clone();
    let policy_arn = id("read-logs");
    let role_name = id("nodes");

    // The managed policy: generated name, description, tags and the document.
    let policy = env
        .iam
        .get_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap();
    assert!(
        policy.policy_name().unwrap().starts_with("read-logs"),
        "{policy:?}"
    );
    assert_eq!(policy.description(), Some("reads the node logs"));
    let tags: std::collections::BTreeMap<&str, &str> =
        policy.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags.get("team"), Some(&"platform"), "{tags:?}");
    assert_eq!(tags.get("girder:resource"), Some(&"read-logs"), "{tags:?}");
    let version = |arn: String, version: String| {
        let iam = env.iam.clone();
        async move {
            let got = iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .unwrap();
            decode(got.policy_version().unwrap().document().unwrap())
        }
    };
    let document = version(
        policy_arn.clone(),
        policy.default_version_id().unwrap().to_owned(),
    )
    .await;
    assert_eq!(actions(&document), ["logs:GetLogEvents"]);

    // The role carries the policy; the instance profile carries the role.
    let attached = env
        .iam
        .list_attached_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let attached: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(attached, [policy_arn.as_str()]);
    let profile = env
        .iam
        .get_instance_profile()
        .instance_profile_name(id("nodes-profile"))
        .send()
        .await
        .unwrap();
    let profile = profile.instance_profile().unwrap();
    assert!(profile.instance_profile_name().starts_with("nodes-profile"));
    let roles: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(roles, [role_name.as_str()]);
    assert_eq!(
        state.resources["nodes-profile"].outputs.get("arn"),
        Some(&girder_core::Value::from(profile.arn()))
    );
    env.assert_converged(&graph).await;

    // A changed document updates the policy in place: a new default version.
    let changed = nodes_program(&["logs:GetLogEvents", "logs:DescribeLogStreams"]);
    let plan = env.harness.plan(&changed).await.unwrap();
    assert_eq!(
        changes(&plan)
            .into_iter()
            .map(|(name, kind, _)| (name, kind))
            .collect::<Vec<_>>(),
        [("read-logs".to_owned(), StepKind::Update)]
    );
    env.apply(&changed).await;
    assert_eq!(env.harness.snapshot().resources["read-logs"].id, policy_arn);
    let policy = env
        .iam
        .get_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let document = version(
        policy_arn.clone(),
        policy
            .policy()
            .unwrap()
            .default_version_id()
            .unwrap()
            .to_owned(),
    )
    .await;
    assert_eq!(
        actions(&document),
        ["logs:GetLogEvents", "logs:DescribeLogStreams"]
    );
    env.assert_converged(&changed).await;

    // Destroy leaves neither the policy nor the profile nor the role.
    let report = env.harness.destroy(&changed).await.unwrap();
    assert_success(&report);
    let gone = env.iam.get_policy().policy_arn(&policy_arn).send().await;
    assert!(
        gone.unwrap_err()
            .as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception())
    );
    let gone = env
        .iam
        .get_instance_profile()
        .instance_profile_name(id("nodes-profile"))
        .send()
        .await;
    assert!(
        gone.unwrap_err()
            .as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception())
    );
    let gone = env.iam.get_role().role_name(&role_name).send().await;
    assert!(
        gone.unwrap_err()
            .as_service_error()
            .is_some_and(|e| e.is_no_such_entity_exception())
    );
    assert!(env.harness.snapshot().resources.is_empty());
}

/// A role created directly in moto is imported by the program that describes it: the plan
/// shows an import, the apply adopts the same role (no second one), and the next plan shows
/// no changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_created_outside_girder_is_imported_and_then_unchanged() {
    let env = Env::start().await;
    let trust = PolicyDocument::service_trust(["ec2.amazonaws.com"])
        .to_output()
        .known_value()
        .unwrap();
    let created = env
        .iam
        .create_role()
        .role_name("legacy-ci")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let arn = created.role().unwrap().arn().to_owned();

    let graph = build(|s| {
        IamRole::new("ci")
            .role_name("legacy-ci")
            .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
            .import("legacy-ci")
            .add(s);
    });
    let plan = env.harness.plan(&graph).await.unwrap();
    assert_eq!(plan.step("ci").unwrap().kind, StepKind::Import, "{plan:#?}");
    assert!(of_kind(&plan, StepKind::Create).is_empty(), "{plan:#?}");
    env.apply(&graph).await;
    let state = env.harness.snapshot();
    assert_eq!(state.resources["ci"].id, "legacy-ci");
    assert_eq!(
        state.resources["ci"].outputs.get("arn"),
        Some(&girder_core::Value::from(arn.as_str()))
    );
    let roles = env.iam.list_roles().send().await.unwrap();
    let named: Vec<&str> = roles
        .roles()
        .iter()
        .map(|r| r.role_name())
        .filter(|n| n.contains("legacy-ci") || n.starts_with("ci"))
        .collect();
    assert_eq!(
        named,
        ["legacy-ci"],
        "the role was adopted, not created again"
    );
    env.assert_converged(&graph).await;
}

/// `aws:eks/addon` through the AWS behaviour layer (moto has no add-ons): created at the
/// default version for the cluster's Kubernetes, its configuration updated in place, and
/// deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eks_addon_is_created_updated_and_deleted() {
    let env = Env::start_behind_layer().await;
    env.eks
        .create_cluster()
        .name("addons")
        .version("1.33")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
        .send()
        .await
        .unwrap();
    let program = |replicas: Option<u32>| {
        build(move |s| {
            // The inputs `Eks::addon` declares (the DSL states `resolve_conflicts`).
            let mut addon = ResourceDecl::new(ADDON, "coredns")
                .input("cluster_name", "addons")
                .input("addon_name", "coredns")
                .input("resolve_conflicts", "OVERWRITE");
            if let Some(replicas) = replicas {
                addon = addon.input(
                    "configuration_values",
                    serde_json::json!({ "replicaCount": replicas }).to_string(),
                );
            }
            addon.add(s);
        })
    };
    let describe = || async {
        env.eks
            .describe_addon()
            .cluster_name("addons")
            .addon_name("coredns")
            .send()
            .await
    };

    let graph = program(None);
    env.apply(&graph).await;
    let addon = describe().await.unwrap();
    let addon = addon.addon().unwrap();
    assert_eq!(addon.status(), Some(&AddonStatus::Active));
    assert_eq!(addon.addon_version(), Some("v1.12.4-eksbuild.1"));
    assert_eq!(
        addon
            .tags()
            .unwrap()
            .get("girder:resource")
            .map(String::as_str),
        Some("coredns")
    );
    let state = env.harness.snapshot();
    assert_eq!(state.resources["coredns"].id, "addons:coredns");
    assert_eq!(
        state.resources["coredns"].outputs.get("addon_version"),
        Some(&girder_core::Value::from("v1.12.4-eksbuild.1"))
    );
    env.assert_converged(&graph).await;

    let configured = program(Some(3));
    let plan = env.harness.plan(&configured).await.unwrap();
    assert_eq!(
        changes(&plan),
        [(
            "coredns".to_owned(),
            StepKind::Update,
            vec!["configuration_values".to_owned()]
        )]
    );
    env.apply(&configured).await;
    let addon = describe().await.unwrap();
    assert_eq!(
        addon.addon().unwrap().configuration_values(),
        Some(r#"{"replicaCount":3}"#)
    );
    env.assert_converged(&configured).await;

    let report = env.harness.destroy(&configured).await.unwrap();
    assert_success(&report);
    let gone = describe().await.unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{gone:?}"
    );
    assert!(env.harness.snapshot().resources.is_empty());
}
