//! girder's AWS types in the Terraform AWS provider's vocabulary (resource types, attribute
//! names, nested blocks as lists of objects, IAM policies as JSON strings, `tags_all`). The
//! table in `docs/terraform-plan.md` lists the same mapping and what has no counterpart.

use girder_core::Value;
use serde_json::{Value as Json, json};

mod eks;
mod storage;

use super::attrs::{Attrs, Reference, Source, TfResource, object};
use eks::{eks_access_entry, eks_cluster, eks_node_group};
use storage::{dynamodb_table, s3_bucket};

/// The Terraform AWS provider.
pub(crate) const PROVIDER: &str = "registry.terraform.io/hashicorp/aws";

/// The Terraform resources a girder AWS resource maps to (the first is the resource itself,
/// the others settings Terraform keeps in resources of their own); `None` for a type that is
/// not girder's AWS type.
pub(crate) fn map(src: &Source<'_>) -> Option<Vec<TfResource>> {
    let mut a = Attrs::new(src);
    let tf_type = match src.type_name {
        "aws:ec2/vpc" => {
            a.copy("cidr_block", "cidr_block")
                .copy("enable_dns_support", "enable_dns_support")
                .copy("enable_dns_hostnames", "enable_dns_hostnames")
                .tags()
                .id()
                .outputs(&["arn", "owner_id"]);
            "aws_vpc"
        }
        "aws:ec2/subnet" => {
            a.copy("vpc_id", "vpc_id")
                .copy("cidr_block", "cidr_block")
                .copy("availability_zone", "availability_zone")
                .copy("map_public_ip_on_launch", "map_public_ip_on_launch")
                .tags()
                .id()
                .outputs(&["arn", "availability_zone_id"]);
            "aws_subnet"
        }
        "aws:ec2/internetGateway" => {
            a.copy("vpc_id", "vpc_id").tags().id().outputs(&["arn"]);
            "aws_internet_gateway"
        }
        "aws:ec2/eip" => {
            // girder's addresses are always VPC addresses.
            a.set("domain", Value::from("vpc"), &[])
                .tags()
                .id()
                .outputs(&["public_ip"]);
            let id = src.id.clone();
            a.computed("allocation_id", id);
            "aws_eip"
        }
        "aws:ec2/natGateway" => {
            a.copy("subnet_id", "subnet_id")
                .copy("allocation_id", "allocation_id")
                .copy("connectivity_type", "connectivity_type")
                .tags()
                .id()
                .outputs(&["public_ip", "private_ip", "network_interface_id"]);
            "aws_nat_gateway"
        }
        "aws:ec2/routeTable" => {
            a.copy("vpc_id", "vpc_id").tags().id().outputs(&["arn"]);
            "aws_route_table"
        }
        "aws:ec2/route" => {
            for key in [
                "route_table_id",
                "destination_cidr_block",
                "gateway_id",
                "nat_gateway_id",
                "transit_gateway_id",
                "vpc_peering_connection_id",
                "network_interface_id",
            ] {
                a.copy(key, key);
            }
            a.id().outputs(&["state"]);
            "aws_route"
        }
        "aws:ec2/routeTableAssociation" => {
            a.copy("route_table_id", "route_table_id")
                .copy("subnet_id", "subnet_id")
                .id();
            "aws_route_table_association"
        }
        "aws:ec2/securityGroup" => {
            a.copy("name", "name")
                .copy("name_prefix", "name_prefix")
                .copy("description", "description")
                .copy("vpc_id", "vpc_id")
                .tags()
                .id()
                .outputs(&["arn"]);
            if src.input("name").is_none() {
                let name = src.output("name");
                a.computed("name", name);
            }
            "aws_security_group"
        }
        "aws:ec2/securityGroupRule" => {
            a.copy("security_group_id", "security_group_id")
                .copy("ip_protocol", "protocol");
            // Terraform leaves the ports out of an all-protocols rule.
            if src.str("protocol") != Some("-1") {
                a.copy("from_port", "from_port").copy("to_port", "to_port");
            }
            a.copy("cidr_ipv4", "cidr_ipv4")
                .copy(
                    "referenced_security_group_id",
                    "referenced_security_group_id",
                )
                .copy("description", "description")
                .tags()
                .id()
                .computed("security_group_rule_id", src.id.clone())
                .computed("arn", Value::Unknown);
            if src.str("direction") == Some("egress") {
                "aws_vpc_security_group_egress_rule"
            } else {
                "aws_vpc_security_group_ingress_rule"
            }
        }
        "aws:ec2/flowLog" => {
            let target = match src.str("resource_type") {
                Some("Subnet") => "subnet_id",
                Some("NetworkInterface") => "eni_id",
                _ => "vpc_id",
            };
            a.copy(target, "resource_id")
                .copy("traffic_type", "traffic_type")
                .copy("log_destination_type", "log_destination_type");
            if src.input("log_destination").is_some() {
                a.copy("log_destination", "log_destination");
            } else if src.input("log_group_name").is_some() {
                // Terraform names the log group by its ARN, known after apply.
                let refs: Vec<Reference> = src
                    .refs_of("log_group_name")
                    .into_iter()
                    .map(|r| Reference {
                        path: vec![json!("arn")],
                        ..r
                    })
                    .collect();
                a.set_with_refs("log_destination", Value::Unknown, "log_group_name", refs);
            }
            a.copy("iam_role_arn", "deliver_logs_permission_arn")
                .copy("max_aggregation_interval", "max_aggregation_interval")
                .tags()
                .id()
                .computed("arn", Value::Unknown);
            "aws_flow_log"
        }
        "aws:logs/logGroup" => {
            a.copy("name", "name")
                .copy("retention_in_days", "retention_in_days")
                .copy("kms_key_id", "kms_key_id")
                .tags()
                .outputs(&["arn"]);
            let name = src.input("name").cloned().unwrap_or(Value::Unknown);
            a.computed("id", name);
            "aws_cloudwatch_log_group"
        }
        "aws:iam/role" => {
            a.copy("name", "name")
                .copy("name_prefix", "name_prefix")
                .copy("path", "path")
                .copy("description", "description")
                .policy_document("assume_role_policy", "assume_role_policy")
                .copy("max_session_duration", "max_session_duration")
                .copy("permissions_boundary", "permissions_boundary")
                .tags()
                .id()
                .outputs(&["arn", "unique_id"]);
            if src.input("name").is_none() {
                let name = src.output("name");
                a.computed("name", name);
            }
            "aws_iam_role"
        }
        "aws:iam/rolePolicy" => {
            a.copy("role", "role_name")
                .copy("name", "name")
                .policy_document("policy", "policy")
                .id();
            "aws_iam_role_policy"
        }
        "aws:iam/rolePolicyAttachment" => {
            a.copy("role", "role_name")
                .copy("policy_arn", "policy_arn")
                .id();
            "aws_iam_role_policy_attachment"
        }
        "aws:iam/policy" => {
            a.copy("name", "name")
                .copy("name_prefix", "name_prefix")
                .copy("path", "path")
                .copy("description", "description")
                .policy_document("policy", "policy")
                .tags()
                .id()
                .outputs(&["arn"])
                .computed("policy_id", Value::Unknown);
            if src.input("name").is_none() {
                let name = src.output("name");
                a.computed("name", name);
            }
            "aws_iam_policy"
        }
        "aws:iam/instanceProfile" => {
            a.copy("name", "name")
                .copy("name_prefix", "name_prefix")
                .copy("path", "path")
                .copy("role", "role")
                .tags()
                .id()
                .outputs(&["arn"])
                .computed("unique_id", Value::Unknown);
            "aws_iam_instance_profile"
        }
        "aws:iam/openIdConnectProvider" => {
            a.copy("url", "url")
                .copy("client_id_list", "client_ids")
                .copy("thumbprint_list", "thumbprints")
                .tags()
                .id()
                .outputs(&["arn"]);
            "aws_iam_openid_connect_provider"
        }
        "aws:eks/cluster" => {
            eks_cluster(&mut a);
            "aws_eks_cluster"
        }
        "aws:eks/nodegroup" => {
            eks_node_group(&mut a);
            "aws_eks_node_group"
        }
        "aws:eks/addon" => {
            let conflicts = src
                .str("resolve_conflicts")
                .unwrap_or("OVERWRITE")
                .to_owned();
            // On create EKS knows OVERWRITE and NONE; PRESERVE means NONE there.
            let on_create = if conflicts == "PRESERVE" {
                "NONE"
            } else {
                conflicts.as_str()
            };
            a.copy("cluster_name", "cluster_name")
                .copy("addon_name", "addon_name")
                .copy("addon_version", "addon_version")
                .copy("service_account_role_arn", "service_account_role_arn")
                .copy("configuration_values", "configuration_values")
                .set(
                    "resolve_conflicts_on_create",
                    Value::from(on_create),
                    &["resolve_conflicts"],
                )
                .set(
                    "resolve_conflicts_on_update",
                    Value::from(conflicts.as_str()),
                    &["resolve_conflicts"],
                )
                .tags()
                .id()
                .outputs(&["arn"]);
            if src.input("addon_version").is_none() {
                let version = src.output("addon_version");
                a.computed("addon_version", version);
            }
            "aws_eks_addon"
        }
        "aws:eks/accessEntry" => {
            return Some(eks_access_entry(&mut a));
        }
        "aws:route53/hostedZone" => {
            a.copy("name", "name").copy("comment", "comment");
            a.blocks("vpc", "vpcs", |vpc| {
                object([
                    ("vpc_id", vpc.get("vpc_id").cloned()),
                    ("vpc_region", vpc.get("vpc_region").cloned()),
                ])
            });
            a.copy("force_destroy", "force_destroy").tags().outputs(&[
                "zone_id",
                "arn",
                "name_servers",
            ]);
            let zone_id = src.output("zone_id");
            a.computed("id", zone_id);
            "aws_route53_zone"
        }
        "aws:s3/bucket" => return Some(s3_bucket(&mut a)),
        "aws:dynamodb/table" => {
            dynamodb_table(&mut a);
            "aws_dynamodb_table"
        }
        _ => return None,
    };
    Some(vec![a.finish(tf_type, PROVIDER)])
}

impl Attrs<'_, '_> {
    /// `set`, with references given rather than read from the inputs.
    fn set_with_refs(&mut self, tf: &str, value: Value, girder: &str, refs: Vec<Reference>) {
        let expr = crate::display::terraform::attrs::expression(&value, &refs);
        self.set(tf, value, &[girder]);
        self.set_expression(tf, expr);
    }
}

/// The Terraform attribute path a girder output of an AWS type is read from, for references
/// (`certificate_authority_data` of a cluster is `certificate_authority[0].data`).
pub(crate) fn output_attr(type_name: &str, key: &str) -> Vec<Json> {
    let path: &[Json] = &match (type_name, key) {
        ("aws:eks/cluster", "certificate_authority_data") => {
            vec![json!("certificate_authority"), json!(0), json!("data")]
        }
        ("aws:eks/cluster", "oidc_issuer") => vec![
            json!("identity"),
            json!(0),
            json!("oidc"),
            json!(0),
            json!("issuer"),
        ],
        ("aws:eks/cluster", "cluster_security_group_id") => vec![
            json!("vpc_config"),
            json!(0),
            json!("cluster_security_group_id"),
        ],
        ("aws:eks/nodegroup", "name") => vec![json!("node_group_name")],
        ("aws:eks/nodegroup", "autoscaling_group_names") => vec![json!("resources")],
        ("aws:eks/accessEntry", "username") => vec![json!("user_name")],
        ("aws:iam/openIdConnectProvider", "issuer_host") => vec![json!("url")],
        ("aws:s3/bucket", "name") => vec![json!("bucket")],
        ("aws:iam/policy", "default_version_id") => vec![json!("policy_id")],
        _ => vec![json!(key)],
    };
    path.to_vec()
}
