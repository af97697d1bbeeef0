//! EKS access entries through girder, against the AWS behaviour layer (moto has no access
//! entries; the layer serves them as EKS does): a cluster in `API` mode with the creator's
//! admin entry, an entry for a role made by the program and one for a literal user ARN, each
//! with access policies; a re-plan is empty; a scope change updates in place; destroy
//! deletes the entries before the cluster.

mod support;

use girder_aws::prelude::*;
use support::{Env, build};

const CLUSTER: &str = "access";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

fn program(s: &mut girder_core::Stack, alice_namespaces: &[&str]) {
    let vpc = Vpc::new("main")
        .cidr("10.20.0.0/16")
        .region("us-east-1")
        .azs(["us-east-1a", "us-east-1b"])
        .public_subnets(Auto)
        .private_subnets(Auto)
        .nat(Nat::Single)
        .eks_cluster(CLUSTER)
        .add(s);
    let auditor = IamRole::new("auditor")
        .trust(PolicyDocument::service_trust(["ec2.amazonaws.com"]))
        .add(s);
    let _ = Eks::new(CLUSTER)
        .version("1.36")
        .vpc(&vpc)
        .authentication_mode(AuthenticationMode::Api)
        .creator_admin(true)
        .access_entry(
            AccessEntry::new("auditor", &auditor).policy(AccessPolicy::View, AccessScope::Cluster),
        )
        .access_entry(
            AccessEntry::new("alice", ALICE)
                .kubernetes_groups(["developers"])
                .policy(
                    AccessPolicy::Edit,
                    AccessScope::namespaces(alice_namespaces.iter().copied()),
                ),
        )
        .add(s);
}

async fn entries(env: &Env) -> Vec<String> {
    let mut entries = env
        .eks
        .list_access_entries()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap()
        .access_entries()
        .to_vec();
    entries.sort();
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_entries_apply_update_and_destroy_through_the_layer() {
    let env = Env::start_behind_layer().await;
    let graph = build(|s| program(s, &["apps"]));
    env.apply(&graph).await;

    let cluster = env
        .eks
        .describe_cluster()
        .name(CLUSTER)
        .send()
        .await
        .unwrap();
    let access = cluster.cluster().unwrap().access_config().unwrap();
    assert_eq!(access.authentication_mode().unwrap().as_str(), "API");
    let listed = entries(&env).await;
    assert_eq!(
        listed.len(),
        3,
        "the creator, the auditor and alice: {listed:?}"
    );
    assert!(listed.contains(&ALICE.to_owned()));
    assert!(
        listed
            .iter()
            .any(|e| e.contains(":role/") && e.contains("auditor")),
        "the role's ARN output names the auditor's entry: {listed:?}"
    );
    let policies = env
        .eks
        .list_associated_access_policies()
        .cluster_name(CLUSTER)
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    let policy = &policies.associated_access_policies()[0];
    assert_eq!(
        policy.policy_arn(),
        Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
    );
    assert_eq!(policy.access_scope().unwrap().namespaces(), ["apps"]);
    let alice = env
        .eks
        .describe_access_entry()
        .cluster_name(CLUSTER)
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        alice.access_entry().unwrap().kubernetes_groups(),
        ["developers"]
    );
    env.assert_converged(&graph).await;

    // Another namespace for alice: one in-place update.
    let changed = build(|s| program(s, &["apps", "team-a"]));
    let plan = env.harness.plan(&changed).await.unwrap();
    let changes = support::changes(&plan);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    env.apply(&changed).await;
    let policies = env
        .eks
        .list_associated_access_policies()
        .cluster_name(CLUSTER)
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    let mut namespaces = policies.associated_access_policies()[0]
        .access_scope()
        .unwrap()
        .namespaces()
        .to_vec();
    namespaces.sort();
    assert_eq!(namespaces, ["apps", "team-a"]);
    env.assert_converged(&changed).await;

    // Destroy: nothing is left.
    let empty = build(|_| {});
    env.apply(&empty).await;
    let clusters = env.eks.list_clusters().send().await.unwrap();
    assert!(clusters.clusters().is_empty(), "{clusters:?}");
}
