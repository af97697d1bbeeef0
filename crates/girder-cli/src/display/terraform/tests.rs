//! Each girder type in the Terraform provider's vocabulary: type name, key attributes, value
//! shapes.

use std::sync::Arc;

use girder_core::{NodeKind, Value, object};
use girder_engine::{Plan, ResourceState, Step, StepKind};
use serde_json::{Value as Json, json};

use super::attrs::{Reference, Source};
use super::names::{local_names, stable_hash};
use super::*;

fn step(name: &str, type_name: &str, inputs: Value) -> Step {
    Step {
        resource: name.into(),
        type_name: type_name.into(),
        kind: StepKind::Create,
        node_kind: NodeKind::Resource,
        provider: None,
        old: None,
        inputs,
        outputs: Value::Unknown,
        diffs: vec![],
        delete_before_replace: false,
        deposed_key: None,
        reason: None,
        dependencies: vec![],
        protect: false,
        retain_on_delete: false,
        metadata_changed: false,
        import_id: None,
        moved_from: None,
        resume: false,
        effects: Vec::new(),
    }
}

fn plan_of(steps: Vec<Step>) -> Plan {
    Plan {
        stack: "dev".into(),
        lineage: "l".into(),
        base_serial: 0,
        steps,
        outputs: Default::default(),
        warnings: Default::default(),
        destroy: false,
        refresh: vec![],
        drift: vec![],
        moves: vec![],
    }
}

/// The resource changes of one step: (address, after).
fn changes(type_name: &str, inputs: Value) -> Vec<(String, Json)> {
    let json = terraform_json(&plan_of(vec![step("r", type_name, inputs)]));
    json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_owned(),
                c["change"]["after"].clone(),
            )
        })
        .collect()
}

/// The single resource change of one step: (type, after, after_unknown).
fn one(type_name: &str, inputs: Value) -> (String, Json, Json) {
    let json = terraform_json(&plan_of(vec![step("r", type_name, inputs)]));
    let change = &json["resource_changes"][0];
    assert_eq!(
        json["resource_changes"].as_array().unwrap().len(),
        1,
        "{json:#}"
    );
    (
        change["type"].as_str().unwrap().to_owned(),
        change["change"]["after"].clone(),
        change["change"]["after_unknown"].clone(),
    )
}

fn tags() -> Value {
    object! { "project" => "yolo" }
}

#[test]
fn vpc_subnet_gateways_and_routes() {
    let (t, after, unknown) = one(
        "aws:ec2/vpc",
        object! { "cidr_block" => "10.10.0.0/16", "enable_dns_support" => true, "enable_dns_hostnames" => true, "tags" => tags() },
    );
    assert_eq!(t, "aws_vpc");
    assert_eq!(after["cidr_block"], "10.10.0.0/16");
    assert_eq!(after["enable_dns_hostnames"], true);
    assert_eq!(after["tags"], json!({ "project": "yolo" }));
    assert_eq!(
        after["tags_all"],
        json!({ "project": "yolo", "girder:stack": "dev", "girder:resource": "r" })
    );
    assert_eq!(unknown["id"], true);
    assert_eq!(unknown["arn"], true);

    let (t, after, unknown) = one(
        "aws:ec2/subnet",
        object! { "vpc_id" => Value::Unknown, "cidr_block" => "10.10.0.0/20", "availability_zone" => "us-east-1a", "map_public_ip_on_launch" => false },
    );
    assert_eq!(t, "aws_subnet");
    assert_eq!(after["availability_zone"], "us-east-1a");
    assert_eq!(after["map_public_ip_on_launch"], false);
    assert_eq!(unknown["vpc_id"], true);

    let (t, _, unknown) = one(
        "aws:ec2/internetGateway",
        object! { "vpc_id" => Value::Unknown },
    );
    assert_eq!(t, "aws_internet_gateway");
    assert_eq!(unknown["vpc_id"], true);

    let (t, after, _) = one("aws:ec2/eip", object! { "tags" => tags() });
    assert_eq!(t, "aws_eip");
    assert_eq!(after["domain"], "vpc");

    let (t, after, unknown) = one(
        "aws:ec2/natGateway",
        object! { "subnet_id" => Value::Unknown, "allocation_id" => Value::Unknown, "connectivity_type" => "public" },
    );
    assert_eq!(t, "aws_nat_gateway");
    assert_eq!(after["connectivity_type"], "public");
    assert_eq!(unknown["allocation_id"], true);

    let (t, _, _) = one("aws:ec2/routeTable", object! { "vpc_id" => Value::Unknown });
    assert_eq!(t, "aws_route_table");

    let (t, after, unknown) = one(
        "aws:ec2/route",
        object! { "route_table_id" => Value::Unknown, "destination_cidr_block" => "0.0.0.0/0", "nat_gateway_id" => Value::Unknown },
    );
    assert_eq!(t, "aws_route");
    assert_eq!(after["destination_cidr_block"], "0.0.0.0/0");
    assert_eq!(unknown["nat_gateway_id"], true);

    let (t, _, unknown) = one(
        "aws:ec2/routeTableAssociation",
        object! { "route_table_id" => Value::Unknown, "subnet_id" => Value::Unknown },
    );
    assert_eq!(t, "aws_route_table_association");
    assert_eq!(unknown["subnet_id"], true);
}

#[test]
fn security_groups_and_their_rules_by_direction() {
    let (t, after, unknown) = one(
        "aws:ec2/securityGroup",
        object! { "name_prefix" => "yolo-", "description" => "EKS", "vpc_id" => Value::Unknown },
    );
    assert_eq!(t, "aws_security_group");
    assert_eq!(after["name_prefix"], "yolo-");
    assert_eq!(after["description"], "EKS");
    assert_eq!(unknown["name"], true);

    let rule = |direction: &str, protocol: &str| {
        object! {
            "security_group_id" => Value::Unknown, "direction" => direction, "protocol" => protocol,
            "from_port" => 443, "to_port" => 443, "cidr_ipv4" => "10.10.0.0/16", "description" => "API",
        }
    };
    let (t, after, _) = one("aws:ec2/securityGroupRule", rule("ingress", "tcp"));
    assert_eq!(t, "aws_vpc_security_group_ingress_rule");
    assert_eq!(after["ip_protocol"], "tcp");
    assert_eq!(after["from_port"], 443);
    assert_eq!(after["cidr_ipv4"], "10.10.0.0/16");
    let (t, after, _) = one("aws:ec2/securityGroupRule", rule("egress", "-1"));
    assert_eq!(t, "aws_vpc_security_group_egress_rule");
    assert_eq!(after["ip_protocol"], "-1");
    assert!(after.get("from_port").is_none(), "{after}");
}

#[test]
fn flow_logs_and_log_groups() {
    let (t, after, unknown) = one(
        "aws:ec2/flowLog",
        object! {
            "resource_id" => Value::Unknown, "resource_type" => "VPC", "traffic_type" => "ALL",
            "log_destination_type" => "cloud-watch-logs", "log_group_name" => "/aws/vpc-flow-log/dev/main",
            "deliver_logs_permission_arn" => Value::Unknown, "max_aggregation_interval" => 600,
        },
    );
    assert_eq!(t, "aws_flow_log");
    assert_eq!(after["traffic_type"], "ALL");
    assert_eq!(after["max_aggregation_interval"], 600);
    assert_eq!(unknown["vpc_id"], true);
    assert_eq!(unknown["iam_role_arn"], true);
    assert_eq!(unknown["log_destination"], true);

    let (t, after, _) = one(
        "aws:logs/logGroup",
        object! { "name" => "/aws/eks/yolo/cluster", "retention_in_days" => 90 },
    );
    assert_eq!(t, "aws_cloudwatch_log_group");
    assert_eq!(after["name"], "/aws/eks/yolo/cluster");
    assert_eq!(after["retention_in_days"], 90);
    assert_eq!(after["id"], "/aws/eks/yolo/cluster");
}

#[test]
fn iam_documents_are_json_strings() {
    let trust = object! {
        "Version" => "2012-10-17",
        "Statement" => Value::Array(vec![object! {
            "Effect" => "Allow", "Action" => "sts:AssumeRole",
            "Principal" => object! { "Service" => "eks.amazonaws.com" },
        }]),
    };
    let (t, after, _) = one(
        "aws:iam/role",
        object! { "name_prefix" => "yolo-", "path" => "/", "assume_role_policy" => trust.clone(), "max_session_duration" => 3600 },
    );
    assert_eq!(t, "aws_iam_role");
    let text = after["assume_role_policy"].as_str().expect("a JSON string");
    let parsed: Json = serde_json::from_str(text).unwrap();
    assert_eq!(
        parsed["Statement"][0]["Principal"]["Service"],
        "eks.amazonaws.com"
    );
    assert_eq!(after["max_session_duration"], 3600);

    // A document with a part known only after apply is unknown as a whole.
    let (t, after, unknown) = one(
        "aws:iam/rolePolicy",
        object! { "role_name" => Value::Unknown, "name" => "deliver", "policy" => object! { "Resource" => Value::Unknown } },
    );
    assert_eq!(t, "aws_iam_role_policy");
    assert_eq!(after["name"], "deliver");
    assert_eq!(after["policy"], Json::Null);
    assert_eq!(unknown["policy"], true);
    assert_eq!(unknown["role"], true);

    let (t, after, _) = one(
        "aws:iam/rolePolicyAttachment",
        object! { "role_name" => "r", "policy_arn" => "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" },
    );
    assert_eq!(t, "aws_iam_role_policy_attachment");
    assert_eq!(after["role"], "r");
    assert_eq!(
        after["policy_arn"],
        "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    );

    let (t, after, _) = one(
        "aws:iam/policy",
        object! { "name" => "p", "path" => "/", "policy" => trust.clone() },
    );
    assert_eq!(t, "aws_iam_policy");
    assert!(after["policy"].as_str().unwrap().contains("sts:AssumeRole"));

    let (t, after, _) = one(
        "aws:iam/instanceProfile",
        object! { "name" => "nodes", "path" => "/", "role" => "node-role" },
    );
    assert_eq!(t, "aws_iam_instance_profile");
    assert_eq!(after["role"], "node-role");

    let (t, after, unknown) = one(
        "aws:iam/openIdConnectProvider",
        object! { "url" => Value::Unknown, "client_ids" => Value::Array(vec!["sts.amazonaws.com".into()]), "thumbprints" => Value::Array(vec!["9e99".into()]) },
    );
    assert_eq!(t, "aws_iam_openid_connect_provider");
    assert_eq!(after["client_id_list"], json!(["sts.amazonaws.com"]));
    assert_eq!(after["thumbprint_list"], json!(["9e99"]));
    assert_eq!(unknown["url"], true);
}

#[test]
fn eks_in_blocks() {
    let (t, after, unknown) = one(
        "aws:eks/cluster",
        object! {
            "name" => "yolo", "role_arn" => Value::Unknown, "version" => "1.36",
            "subnet_ids" => Value::Array(vec![Value::Unknown, Value::Unknown]),
            "endpoint_public_access" => true, "endpoint_private_access" => true,
            "enabled_log_types" => Value::Array(vec!["api".into(), "audit".into()]),
            "authentication_mode" => "API",
        },
    );
    assert_eq!(t, "aws_eks_cluster");
    assert_eq!(after["name"], "yolo");
    assert_eq!(after["enabled_cluster_log_types"], json!(["api", "audit"]));
    let vpc = &after["vpc_config"][0];
    assert_eq!(vpc["endpoint_public_access"], true);
    // EKS's default when no CIDR is given: open to all.
    assert_eq!(vpc["public_access_cidrs"], json!(["0.0.0.0/0"]));
    assert_eq!(unknown["vpc_config"][0]["subnet_ids"], json!([true, true]));
    assert_eq!(after["access_config"][0]["authentication_mode"], "API");
    assert_eq!(unknown["certificate_authority"][0]["data"], true);
    assert!(after.get("encryption_config").is_none());

    let (t, after, _) = one(
        "aws:eks/nodegroup",
        object! {
            "cluster_name" => "yolo", "nodegroup_name_prefix" => "spot-", "node_role_arn" => Value::Unknown,
            "subnet_ids" => Value::Array(vec![Value::Unknown]), "instance_types" => Value::Array(vec!["t3.medium".into()]),
            "capacity_type" => "SPOT", "scaling" => object! { "min_size" => 1, "max_size" => 10, "desired_size" => 2 },
            "taints" => Value::Array(vec![object! { "key" => "spot", "effect" => "NO_SCHEDULE" }]),
        },
    );
    assert_eq!(t, "aws_eks_node_group");
    assert_eq!(after["node_group_name_prefix"], "spot-");
    assert_eq!(after["capacity_type"], "SPOT");
    assert_eq!(
        after["scaling_config"],
        json!([{ "min_size": 1, "max_size": 10, "desired_size": 2 }])
    );
    assert_eq!(
        after["taint"],
        json!([{ "key": "spot", "effect": "NO_SCHEDULE" }])
    );

    let (t, after, _) = one(
        "aws:eks/addon",
        object! { "cluster_name" => "yolo", "addon_name" => "vpc-cni", "resolve_conflicts" => "PRESERVE" },
    );
    assert_eq!(t, "aws_eks_addon");
    assert_eq!(after["addon_name"], "vpc-cni");
    assert_eq!(after["resolve_conflicts_on_update"], "PRESERVE");
    assert_eq!(after["resolve_conflicts_on_create"], "NONE");

    let out = changes(
        "aws:eks/accessEntry",
        object! {
            "cluster_name" => "yolo", "principal_arn" => "arn:aws:iam::1:role/admin",
            "policies" => Value::Array(vec![
                object! { "policy_arn" => "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" },
                object! { "policy_arn" => "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "namespaces" => Value::Array(vec!["apps".into()]) },
            ]),
        },
    );
    assert_eq!(out[0].0, "aws_eks_access_entry.r");
    assert_eq!(out[0].1["type"], "STANDARD");
    assert_eq!(out[0].1["principal_arn"], "arn:aws:iam::1:role/admin");
    assert_eq!(
        out[1].0,
        "aws_eks_access_policy_association.r_AmazonEKSClusterAdminPolicy"
    );
    assert_eq!(out[1].1["access_scope"], json!([{ "type": "cluster" }]));
    assert_eq!(
        out[2].1["access_scope"],
        json!([{ "type": "namespace", "namespaces": ["apps"] }])
    );
}

#[test]
fn zones_buckets_and_tables() {
    let (t, after, unknown) = one(
        "aws:route53/hostedZone",
        object! { "name" => "yolo.example.com", "external_dns_owners" => Value::Array(vec!["yolo".into()]) },
    );
    assert_eq!(t, "aws_route53_zone");
    assert_eq!(after["name"], "yolo.example.com");
    assert!(after.get("external_dns_owners").is_none());
    assert_eq!(unknown["zone_id"], true);

    let out = changes(
        "aws:s3/bucket",
        object! {
            "name_prefix" => "girder-state-", "versioning" => true,
            "encryption" => object! { "sse_algorithm" => "AES256", "bucket_key_enabled" => false },
            "public_access_block" => object! {
                "block_public_acls" => true, "ignore_public_acls" => true,
                "block_public_policy" => true, "restrict_public_buckets" => true,
            },
        },
    );
    let addresses: Vec<&str> = out.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "aws_s3_bucket.r",
            "aws_s3_bucket_versioning.r",
            "aws_s3_bucket_server_side_encryption_configuration.r",
            "aws_s3_bucket_public_access_block.r",
        ]
    );
    assert_eq!(out[0].1["bucket_prefix"], "girder-state-");
    assert_eq!(
        out[1].1["versioning_configuration"],
        json!([{ "status": "Enabled" }])
    );
    assert_eq!(
        out[2].1["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"],
        "AES256"
    );
    assert_eq!(out[3].1["restrict_public_buckets"], true);

    let (t, after, _) = one(
        "aws:dynamodb/table",
        object! {
            "name" => "locks", "hash_key" => object! { "name" => "LockID", "type" => "S" },
            "billing_mode" => "PAY_PER_REQUEST", "point_in_time_recovery" => true,
        },
    );
    assert_eq!(t, "aws_dynamodb_table");
    assert_eq!(after["hash_key"], "LockID");
    assert_eq!(
        after["attribute"],
        json!([{ "name": "LockID", "type": "S" }])
    );
    assert_eq!(
        after["point_in_time_recovery"],
        json!([{ "enabled": true }])
    );
    assert_eq!(after["deletion_protection_enabled"], false);
}

#[test]
fn kubernetes_objects_in_the_providers_shape() {
    let (t, after, _) = one(
        "k8s:apps/v1:Deployment",
        object! {
            "apiVersion" => "apps/v1", "kind" => "Deployment",
            "metadata" => object! { "name" => "web", "namespace" => "default", "labels" => object! { "app.kubernetes.io/name" => "web" } },
            "spec" => object! {
                "replicas" => 2,
                "selector" => object! { "matchLabels" => object! { "app" => "web" } },
                "template" => object! { "spec" => object! { "containers" => Value::Array(vec![object! {
                    "name" => "web", "image" => "web:1",
                    "securityContext" => object! { "runAsNonRoot" => true },
                    "ports" => Value::Array(vec![object! { "containerPort" => 8080 }]),
                }]) } },
            },
        },
    );
    assert_eq!(t, "kubernetes_deployment_v1");
    assert_eq!(after["metadata"][0]["name"], "web");
    assert_eq!(
        after["metadata"][0]["labels"]["app.kubernetes.io/name"],
        "web"
    );
    let spec = &after["spec"][0];
    assert_eq!(spec["selector"][0]["match_labels"]["app"], "web");
    let container = &spec["template"][0]["spec"][0]["container"][0];
    assert_eq!(container["image"], "web:1");
    assert_eq!(container["security_context"][0]["run_as_non_root"], true);
    assert_eq!(container["port"][0]["container_port"], 8080);
    assert!(after.get("kind").is_none());

    let (t, after, _) = one(
        "k8s:core/v1:Service",
        object! { "metadata" => object! { "name" => "web" }, "spec" => object! { "selector" => object! { "app" => "web" } } },
    );
    assert_eq!(t, "kubernetes_service_v1");
    assert_eq!(after["spec"][0]["selector"], json!({ "app": "web" }));

    let (t, after, _) = one(
        "k8s:rbac.authorization.k8s.io/v1:ClusterRole",
        object! { "metadata" => object! { "name" => "reader" }, "rules" => Value::Array(vec![object! { "apiGroups" => Value::Array(vec!["".into()]), "verbs" => Value::Array(vec!["get".into()]) }]) },
    );
    assert_eq!(t, "kubernetes_cluster_role_v1");
    assert_eq!(after["rule"][0]["api_groups"], json!([""]));

    let (t, after, _) = one(
        "k8s:example.com/v1:Widget",
        object! { "apiVersion" => "example.com/v1", "kind" => "Widget", "metadata" => object! { "name" => "w" } },
    );
    assert_eq!(t, "kubernetes_manifest");
    assert_eq!(after["manifest"]["kind"], "Widget");
}

#[test]
fn addresses_are_terraform_identifiers_unique_and_stable() {
    let names = local_names(["yolo.example.com", "yolo_example_com", "9lives", "a/b"].into_iter());
    assert_eq!(names["yolo_example_com"], "yolo_example_com");
    assert_eq!(
        names["yolo.example.com"],
        format!("yolo_example_com_{:08x}", stable_hash("yolo.example.com"))
    );
    assert_eq!(names["9lives"], "_9lives");
    assert_eq!(names["a/b"], "a_b");
    // Other packages keep their inputs under the type token as an identifier.
    let (t, after, _) = one("sim:resource", object! { "size" => 1 });
    assert_eq!(t, "sim_resource");
    assert_eq!(after["size"], 1);
}

#[test]
fn references_list_every_traversal() {
    let reference = Reference {
        address: "aws_eks_cluster.yolo".into(),
        path: vec![json!("certificate_authority"), json!(0), json!("data")],
    };
    assert_eq!(
        reference.traversals(),
        [
            "aws_eks_cluster.yolo.certificate_authority[0].data",
            "aws_eks_cluster.yolo.certificate_authority",
            "aws_eks_cluster.yolo",
        ]
    );
}

#[test]
fn prior_state_and_updates_from_the_recorded_resource() {
    let mut update = step(
        "main",
        "aws:ec2/vpc",
        object! { "cidr_block" => "10.10.0.0/16", "enable_dns_support" => true, "enable_dns_hostnames" => true },
    );
    update.kind = StepKind::Update;
    update.outputs = object! { "arn" => "arn:aws:ec2:us-east-1:1:vpc/vpc-1", "owner_id" => "1" };
    let recorded: ResourceState = serde_json::from_value(json!({
        "name": "main",
        "type": "aws:ec2/vpc",
        "kind": "resource",
        "id": "vpc-1",
        "inputs": { "cidr_block": "10.10.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": false },
        "outputs": { "arn": "arn:aws:ec2:us-east-1:1:vpc/vpc-1", "owner_id": "1" },
    }))
    .unwrap();
    update.old = Some(Arc::new(recorded));
    let json = terraform_json(&plan_of(vec![update]));
    let change = &json["resource_changes"][0];
    assert_eq!(change["address"], "aws_vpc.main");
    assert_eq!(change["change"]["actions"], json!(["update"]));
    assert_eq!(change["change"]["before"]["enable_dns_hostnames"], false);
    assert_eq!(change["change"]["after"]["enable_dns_hostnames"], true);
    assert_eq!(change["change"]["after"]["id"], "vpc-1");
    let prior = &json["prior_state"]["values"]["root_module"]["resources"][0];
    assert_eq!(prior["address"], "aws_vpc.main");
    assert_eq!(prior["values"]["id"], "vpc-1");
    assert_eq!(json["terraform_version"], TERRAFORM_VERSION);
}

#[test]
fn references_into_kubernetes_objects_follow_the_block_shape() {
    let src_inputs = object! {
        "metadata" => object! { "name" => "web" },
        "spec" => object! { "ports" => Value::Array(vec![object! { "port" => 80 }]) },
    };
    let no_refs = |_: &str| Vec::new();
    let src = Source {
        type_name: "k8s:core/v1:Service",
        inputs: &src_inputs,
        outputs: &Value::Null,
        id: Value::Unknown,
        stack: "dev",
        resource: "web",
        name: "web",
        refs: &no_refs,
    };
    let service = kubernetes::map(&src).unwrap().remove(0);
    let path = |text: &str| {
        let path: girder_core::FieldPath = text.parse().unwrap();
        kubernetes::output_path(&service, path.segments())
    };
    assert_eq!(
        path("metadata.name"),
        [json!("metadata"), json!(0), json!("name")]
    );
    assert_eq!(
        path("spec.ports[0].port"),
        [
            json!("spec"),
            json!(0),
            json!("port"),
            json!(0),
            json!("port")
        ]
    );
}
