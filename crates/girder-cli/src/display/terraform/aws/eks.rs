//! EKS: clusters, node groups, access entries and their policy associations.

use girder_core::Value;

use super::PROVIDER;
use crate::display::terraform::attrs::{Attrs, TfResource, object};

pub(super) fn eks_cluster(a: &mut Attrs<'_, '_>) {
    let src = a.src();
    a.copy("name", "name").copy("role_arn", "role_arn").copy_or(
        "version",
        "version",
        src.output("version"),
    );
    a.block("vpc_config", |b| {
        b.copy("subnet_ids", "subnet_ids")
            .copy("security_group_ids", "security_group_ids")
            .copy("endpoint_public_access", "endpoint_public_access")
            .copy("endpoint_private_access", "endpoint_private_access");
        match src.input("public_access_cidrs") {
            Some(Value::Array(cidrs)) if !cidrs.is_empty() => {
                b.copy("public_access_cidrs", "public_access_cidrs");
            }
            // What EKS applies when nothing is said: the public endpoint is open to all.
            _ => {
                b.computed(
                    "public_access_cidrs",
                    Value::Array(vec![Value::from("0.0.0.0/0")]),
                );
            }
        }
        let sg = src.output("cluster_security_group_id");
        b.computed("cluster_security_group_id", sg)
            .computed("vpc_id", Value::Unknown);
    });
    if let Some(types) = src.input("enabled_log_types") {
        a.set(
            "enabled_cluster_log_types",
            types.clone(),
            &["enabled_log_types"],
        );
    }
    a.block("kubernetes_network_config", |b| {
        b.copy("service_ipv4_cidr", "service_ipv4_cidr");
    });
    a.block("access_config", |b| {
        b.copy("authentication_mode", "authentication_mode").copy(
            "bootstrap_cluster_creator_admin_permissions",
            "bootstrap_cluster_creator_admin_permissions",
        );
    });
    a.tags()
        .id()
        .outputs(&["arn", "endpoint", "platform_version"]);
    let ca = src.output("certificate_authority_data");
    a.computed(
        "certificate_authority",
        Value::Array(vec![Value::Object(object([("data", Some(ca))]))]),
    );
    let issuer = src.output("oidc_issuer");
    let oidc = Value::Array(vec![Value::Object(object([("issuer", Some(issuer))]))]);
    a.computed(
        "identity",
        Value::Array(vec![Value::Object(object([("oidc", Some(oidc))]))]),
    );
}

pub(super) fn eks_node_group(a: &mut Attrs<'_, '_>) {
    let src = a.src();
    a.copy("cluster_name", "cluster_name")
        .copy("node_group_name", "nodegroup_name")
        .copy("node_group_name_prefix", "nodegroup_name_prefix")
        .copy("node_role_arn", "node_role_arn")
        .copy("subnet_ids", "subnet_ids")
        .copy("instance_types", "instance_types")
        .copy("capacity_type", "capacity_type")
        .copy("ami_type", "ami_type")
        .copy("disk_size", "disk_size");
    a.block("scaling_config", |b| {
        b.copy("desired_size", "scaling.desired_size")
            .copy("max_size", "scaling.max_size")
            .copy("min_size", "scaling.min_size");
    });
    a.copy("labels", "labels");
    a.blocks("taint", "taints", |taint| {
        object([
            ("key", taint.get("key").cloned()),
            ("value", taint.get("value").cloned()),
            ("effect", taint.get("effect").cloned()),
        ])
    });
    a.block("update_config", |b| {
        b.copy("max_unavailable", "update_config.max_unavailable")
            .copy(
                "max_unavailable_percentage",
                "update_config.max_unavailable_percentage",
            );
    });
    a.copy_or("version", "version", src.output("version"))
        .tags()
        .id()
        .outputs(&["arn"]);
    if src.input("nodegroup_name").is_none() {
        let name = src.output("name");
        a.computed("node_group_name", name);
    }
    let groups = match src.output("autoscaling_group_names") {
        Value::Array(names) => Value::Array(
            names
                .into_iter()
                .map(|n| Value::Object(object([("name", Some(n))])))
                .collect(),
        ),
        other => other,
    };
    a.computed(
        "resources",
        Value::Array(vec![Value::Object(object([(
            "autoscaling_groups",
            Some(groups),
        )]))]),
    );
}

pub(super) fn eks_access_entry(a: &mut Attrs<'_, '_>) -> Vec<TfResource> {
    let src = a.src();
    a.copy("cluster_name", "cluster_name")
        .copy("principal_arn", "principal_arn")
        .copy_or("type", "type", Value::from("STANDARD"))
        .copy("kubernetes_groups", "kubernetes_groups")
        .copy_or("user_name", "username", src.output("username"))
        .id()
        .outputs(&["access_entry_arn"]);
    let mut out = vec![a.finish("aws_eks_access_entry", PROVIDER)];
    // Each associated access policy is an aws_eks_access_policy_association of its own.
    for policy in src
        .input("policies")
        .and_then(Value::as_array)
        .unwrap_or(&[])
    {
        let mut p = Attrs::new(src);
        p.copy("cluster_name", "cluster_name")
            .copy("principal_arn", "principal_arn");
        if let Some(arn) = policy.get("policy_arn") {
            p.set("policy_arn", arn.clone(), &["policies"]);
        }
        let namespaces = policy
            .get("namespaces")
            .and_then(Value::as_array)
            .filter(|n| !n.is_empty());
        let scope = object([
            (
                "type",
                Some(Value::from(if namespaces.is_some() {
                    "namespace"
                } else {
                    "cluster"
                })),
            ),
            ("namespaces", namespaces.map(|n| Value::Array(n.to_vec()))),
        ]);
        p.set(
            "access_scope",
            Value::Array(vec![Value::Object(scope)]),
            &["policies"],
        )
        .id();
        let mut resource = p.finish("aws_eks_access_policy_association", PROVIDER);
        resource.name_suffix = policy
            .get("policy_arn")
            .and_then(Value::as_str)
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned);
        out.push(resource);
    }
    out
}
