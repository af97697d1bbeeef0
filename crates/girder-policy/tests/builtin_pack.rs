//! girder's built-in pack on small Terraform-shaped plans: each rule fires on what it is
//! about, names the resource, the field, the fix and its benchmark item, and stays quiet
//! when the plan is right.

use std::collections::BTreeSet;

use girder_policy::{Enforcement, PolicySet};
use serde_json::{Value as Json, json};

fn change(address: &str, after: Json) -> Json {
    let (type_, _) = address.split_once('.').unwrap();
    json!({"address": address, "type": type_, "mode": "managed",
           "change": {"actions": ["create"], "after": after}})
}

/// `(rule, resource)` of every finding of the pack on `changes` (with `references` as the
/// configuration's `(address, field, referenced address)`).
fn findings(changes: Vec<Json>, references: &[(&str, &str, &str)]) -> BTreeSet<(String, String)> {
    let resources: Vec<Json> = references
        .iter()
        .map(|(address, field, target)| {
            json!({"address": address, "expressions": {*field: {"references": [format!("{target}.id"), target]}}})
        })
        .collect();
    let plan = json!({
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": resources}}
    });
    let mut policies = PolicySet::new();
    policies.load_builtin(Enforcement::Mandatory).unwrap();
    let report = policies.evaluate(&plan).unwrap();
    for finding in &report.findings {
        let benchmark = finding.details.as_ref().unwrap()["benchmark"]
            .as_str()
            .unwrap();
        assert!(
            finding.message.ends_with(&format!("[{benchmark}]")),
            "{finding:?}"
        );
        assert!(
            finding
                .message
                .starts_with(finding.resource.as_deref().unwrap())
        );
    }
    report
        .findings
        .iter()
        .map(|f| (f.rule_path(), f.resource.clone().unwrap()))
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn eks_clusters() {
    let open = change(
        "aws_eks_cluster.open",
        json!({"vpc_config": [{"endpoint_public_access": true, "public_access_cidrs": ["0.0.0.0/0"]}],
               "enabled_cluster_log_types": ["api", "audit"]}),
    );
    let closed = change(
        "aws_eks_cluster.closed",
        json!({"vpc_config": [{"endpoint_public_access": true, "public_access_cidrs": ["203.0.113.0/24"]}],
               "encryption_config": [{"resources": ["secrets"], "provider": [{"key_arn": "arn"}]}],
               "enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}),
    );
    assert_eq!(
        findings(vec![open, closed], &[]),
        set(&[
            (
                "girder.eks.deny_public_endpoint_open",
                "aws_eks_cluster.open"
            ),
            ("girder.eks.deny_secrets_encryption", "aws_eks_cluster.open"),
            ("girder.eks.warn_control_plane_logs", "aws_eks_cluster.open"),
        ])
    );
}

#[test]
fn vpc_flow_logs_and_state_buckets() {
    let changes = vec![
        change("aws_vpc.logged", json!({})),
        change("aws_vpc.dark", json!({})),
        change("aws_flow_log.logged", json!({"traffic_type": "ALL"})),
        change("aws_s3_bucket.state", json!({})),
        change("aws_s3_bucket.bare", json!({})),
        change(
            "aws_s3_bucket_versioning.state",
            json!({"versioning_configuration": [{"status": "Enabled"}]}),
        ),
        change(
            "aws_s3_bucket_public_access_block.state",
            json!({
            "block_public_acls": true, "block_public_policy": true,
            "ignore_public_acls": true, "restrict_public_buckets": true}),
        ),
        change(
            "aws_s3_bucket_server_side_encryption_configuration.state",
            json!({
            "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]}),
        ),
    ];
    let references = [
        ("aws_flow_log.logged", "vpc_id", "aws_vpc.logged"),
        (
            "aws_s3_bucket_versioning.state",
            "bucket",
            "aws_s3_bucket.state",
        ),
        (
            "aws_s3_bucket_public_access_block.state",
            "bucket",
            "aws_s3_bucket.state",
        ),
        (
            "aws_s3_bucket_server_side_encryption_configuration.state",
            "bucket",
            "aws_s3_bucket.state",
        ),
    ];
    assert_eq!(
        findings(changes, &references),
        set(&[
            ("girder.network.deny_vpc_flow_logs", "aws_vpc.dark"),
            ("girder.s3.deny_bucket_encryption", "aws_s3_bucket.bare"),
            ("girder.s3.deny_bucket_public_access", "aws_s3_bucket.bare"),
            ("girder.s3.deny_bucket_versioning", "aws_s3_bucket.bare"),
        ])
    );
}

#[test]
fn irsa_roles_trust_one_service_account() {
    let trust = |condition: Json| {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
            "Condition": condition}]})
        .to_string()
    };
    let scoped = change(
        "aws_iam_role.scoped",
        json!({"assume_role_policy": trust(json!({"StringEquals": {
            "x:sub": "system:serviceaccount:kube-system:cluster-autoscaler", "x:aud": "sts.amazonaws.com"}}))}),
    );
    let wide = change(
        "aws_iam_role.wide",
        json!({"assume_role_policy": trust(json!({"StringEquals": {"x:aud": "sts.amazonaws.com"}}))}),
    );
    let node = change(
        "aws_iam_role.node",
        json!({"assume_role_policy": json!({"Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"],
            "Principal": {"Service": "ec2.amazonaws.com"}}]}).to_string()}),
    );
    assert_eq!(
        findings(vec![scoped, wide, node], &[]),
        set(&[("girder.iam.deny_irsa_unscoped", "aws_iam_role.wide")])
    );
}

#[test]
fn pods_are_locked_down_probed_and_behind_network_policies() {
    let locked = json!({"name": "app", "security_context": [{"run_as_non_root": true, "allow_privilege_escalation": false}],
                        "readiness_probe": [{"http_get": [{"path": "/"}]}], "liveness_probe": [{"tcp_socket": [{"port": "80"}]}]});
    let loose = json!({"name": "tool", "security_context": [{"privileged": true}]});
    let deployment = |name: &str, ns: &str, container: &Json, host_network: bool| {
        change(
            &format!("kubernetes_deployment_v1.{name}"),
            json!({"metadata": [{"name": name, "namespace": ns}],
                   "spec": [{"template": [{"spec": [{"host_network": host_network, "container": [container]}]}]}]}),
        )
    };
    let job = change(
        "kubernetes_cron_job_v1.nightly",
        json!({"metadata": [{"name": "nightly", "namespace": "apps"}],
               "spec": [{"job_template": [{"spec": [{"template": [{"spec": [{
                   "security_context": [{"run_as_non_root": true}],
                   "container": [{"name": "run", "security_context": [{"allow_privilege_escalation": false}]}]}]}]}]}]}]}),
    );
    let policy = change(
        "kubernetes_network_policy_v1.apps",
        json!({"metadata": [{"name": "default-deny", "namespace": "apps"}]}),
    );
    assert_eq!(
        findings(
            vec![
                deployment("good", "apps", &locked, false),
                deployment("bad", "tools", &loose, true),
                job,
                policy,
            ],
            &[]
        ),
        set(&[
            (
                "girder.kubernetes.deny_host_namespaces",
                "kubernetes_deployment_v1.bad"
            ),
            (
                "girder.kubernetes.deny_network_policy_coverage",
                "kubernetes_deployment_v1.bad"
            ),
            (
                "girder.kubernetes.deny_privilege_escalation",
                "kubernetes_deployment_v1.bad"
            ),
            (
                "girder.kubernetes.deny_privileged",
                "kubernetes_deployment_v1.bad"
            ),
            (
                "girder.kubernetes.deny_root",
                "kubernetes_deployment_v1.bad"
            ),
            (
                "girder.kubernetes.warn_probes",
                "kubernetes_deployment_v1.bad"
            ),
        ])
    );
}
