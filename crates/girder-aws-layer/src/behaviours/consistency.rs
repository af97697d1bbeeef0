//! Eventual consistency: for a few seconds after a create returns a new id, requests that
//! name the id fail with the service's real NotFound error, and listings omit the object.

use crate::behaviours::Ctx;
use crate::protocol::{AwsError, Service};
use crate::reply::Reply;
use crate::world::World;

/// The EC2 NotFound error for an id, by its prefix.
fn ec2_not_found(id: &str) -> Option<AwsError> {
    let (prefix, _) = id.split_once('-')?;
    let (code, message) = match prefix {
        "vpc" => (
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        ),
        "subnet" => (
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        ),
        "igw" => (
            "InvalidInternetGatewayID.NotFound",
            format!("The internetGateway ID '{id}' does not exist"),
        ),
        "eigw" => (
            "InvalidGatewayID.NotFound",
            format!("The eigw ID '{id}' does not exist"),
        ),
        "rtb" => (
            "InvalidRouteTableID.NotFound",
            format!("The routeTable ID '{id}' does not exist"),
        ),
        "rtbassoc" => (
            "InvalidAssociationID.NotFound",
            format!("The association ID '{id}' does not exist"),
        ),
        "sg" => (
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        ),
        "nat" => (
            "NatGatewayNotFound",
            format!("The Nat Gateway {id} was not found"),
        ),
        "eipalloc" => (
            "InvalidAllocationID.NotFound",
            format!("The allocation ID '{id}' does not exist"),
        ),
        "acl" => (
            "InvalidNetworkAclID.NotFound",
            format!("The networkAcl ID '{id}' does not exist"),
        ),
        "lt" => (
            "InvalidLaunchTemplateId.NotFound",
            format!("The specified launch template, with template ID {id}, does not exist."),
        ),
        "vpce" => (
            "InvalidVpcEndpointId.NotFound",
            format!("The Vpc Endpoint Id '{id}' does not exist"),
        ),
        "dopt" => (
            "InvalidDhcpOptionID.NotFound",
            format!("The dhcpOption ID '{id}' does not exist"),
        ),
        "eni" => (
            "InvalidNetworkInterfaceID.NotFound",
            format!("The networkInterface ID '{id}' does not exist"),
        ),
        _ => return None,
    };
    Some(AwsError::new(400, code, message))
}

/// IAM parameters that name an entity, with the entity's key prefix and its NotFound text.
const IAM_NAMES: [(&str, &str, &str); 4] = [
    (
        "RoleName",
        "iam-role:",
        "The role with name {} cannot be found.",
    ),
    (
        "PolicyArn",
        "iam-policy:",
        "Policy {} does not exist or is not attachable.",
    ),
    (
        "InstanceProfileName",
        "iam-profile:",
        "Instance Profile {} cannot be found.",
    ),
    (
        "OpenIDConnectProviderArn",
        "iam-oidc:",
        "OpenIDConnect Provider not found for arn {}",
    ),
];

/// IAM creates that name their own new entity (not a young one).
const IAM_CREATES: [&str; 4] = [
    "CreateRole",
    "CreatePolicy",
    "CreateInstanceProfile",
    "CreateOpenIDConnectProvider",
];

fn young(ctx: &Ctx<'_>, world: &World, key: &str, secs: f64) -> bool {
    ctx.within(world.created_at(key), secs)
}

/// Refuses a request that names a young id.
pub(crate) fn check(ctx: &Ctx<'_>, world: &World) -> Option<AwsError> {
    let settings = &ctx.behaviours.consistency;
    if !settings.enabled {
        return None;
    }
    let request = ctx.request;
    match request.service {
        Service::Ec2 => request
            .params
            .iter()
            .filter(|(name, _)| {
                !name.starts_with("Filter.")
                    && !matches!(name.as_str(), "Action" | "Version" | "ClientToken")
            })
            .find(|(_, value)| young(ctx, world, value, settings.ec2_secs))
            .and_then(|(_, id)| ec2_not_found(id)),
        Service::Iam if !IAM_CREATES.contains(&request.operation.as_str()) => {
            IAM_NAMES.iter().find_map(|(param, prefix, text)| {
                let value = request.param(param)?;
                young(ctx, world, &format!("{prefix}{value}"), settings.iam_secs)
                    .then(|| AwsError::new(404, "NoSuchEntity", text.replace("{}", value)))
            })
        }
        _ => None,
    }
}

/// EC2 describes and the element naming each listed object's own id.
const EC2_LISTINGS: [(&str, &str); 13] = [
    ("DescribeVpcs", "vpcId"),
    ("DescribeSubnets", "subnetId"),
    ("DescribeInternetGateways", "internetGatewayId"),
    (
        "DescribeEgressOnlyInternetGateways",
        "egressOnlyInternetGatewayId",
    ),
    ("DescribeRouteTables", "routeTableId"),
    ("DescribeSecurityGroups", "groupId"),
    ("DescribeNatGateways", "natGatewayId"),
    ("DescribeAddresses", "allocationId"),
    ("DescribeNetworkAcls", "networkAclId"),
    ("DescribeLaunchTemplates", "launchTemplateId"),
    ("DescribeVpcEndpoints", "vpcEndpointId"),
    ("DescribeDhcpOptions", "dhcpOptionsId"),
    ("DescribeNetworkInterfaces", "networkInterfaceId"),
];

/// IAM listings: the list element, the member's key element, and the key prefix.
const IAM_LISTINGS: [(&str, &str, &str, &str); 4] = [
    ("ListRoles", "Roles", "RoleName", "iam-role:"),
    ("ListPolicies", "Policies", "Arn", "iam-policy:"),
    (
        "ListInstanceProfiles",
        "InstanceProfiles",
        "InstanceProfileName",
        "iam-profile:",
    ),
    (
        "ListOpenIDConnectProviders",
        "OpenIDConnectProviderList",
        "Arn",
        "iam-oidc:",
    ),
];

/// Removes young objects from listings and filtered describes; answers whether it did.
pub(crate) fn rewrite(ctx: &Ctx<'_>, world: &World, reply: &mut Reply) -> bool {
    let settings = &ctx.behaviours.consistency;
    if !settings.enabled || !reply.is_success() {
        return false;
    }
    let op = ctx.request.operation.as_str();
    match ctx.request.service {
        Service::Ec2 => {
            let Some((_, id_field)) = EC2_LISTINGS.iter().find(|(o, _)| *o == op) else {
                return false;
            };
            let Some(mut document) = reply.body_xml() else {
                return false;
            };
            let mut removed = 0;
            for set in document.root.elements_mut() {
                removed += set.remove_elements(|item| {
                    item.local_name() == "item"
                        && item
                            .child_text(id_field)
                            .is_some_and(|id| young(ctx, world, &id, settings.ec2_secs))
                });
            }
            if removed > 0 {
                reply.set_xml(&document);
            }
            removed > 0
        }
        Service::Iam => {
            let Some((_, list, key, prefix)) = IAM_LISTINGS.iter().find(|(o, ..)| *o == op) else {
                return false;
            };
            let Some(mut document) = reply.body_xml() else {
                return false;
            };
            let mut removed = 0;
            document.root.walk_mut(&mut |e| {
                if e.local_name() == *list {
                    removed += e.remove_elements(|member| {
                        member.child_text(key).is_some_and(|k| {
                            young(ctx, world, &format!("{prefix}{k}"), settings.iam_secs)
                        })
                    });
                }
            });
            if removed > 0 {
                reply.set_xml(&document);
            }
            removed > 0
        }
        _ => false,
    }
}
